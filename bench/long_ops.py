#!/usr/bin/env python3
"""How long Gannet's long store operations take, and how long they keep the
user's index write lock from everyone else (issue 14).

A release server (build/gannet) gets a user whose folder Src holds COUNT
messages from bench/gen_mail.py. Then, one after the other: the first SELECT
of Src (indexing every file), COPY 1:* to Dst, UID STORE +FLAGS over all of
Dst, MOVE 1:* from Dst back to Src, EXPUNGE of everything in Src, and the
adoption of COUNT files dropped into a new folder's new/. While each runs, a
probe thread takes the index's write lock (BEGIN IMMEDIATE, then ROLLBACK)
over and over, as `gannet deliver` would: the longest it had to wait is the
longest single transaction the operation held, give or take a millisecond.

    bench/long_ops.py [--count 16384] [--cache DIR] [--bin build/gannet]
"""

import argparse
import imaplib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class Probe(threading.Thread):
    """Takes and drops the write lock in a loop; records the longest wait."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db = db
        self.stop = threading.Event()
        self.longest = 0.0
        self.grabs = 0

    def run(self):
        # no busy timeout: it tries every half millisecond itself, as
        # gannet's busy handler does every millisecond (SQLite's own one
        # backs off to 100 ms between tries)
        con = sqlite3.connect(self.db, timeout=0, isolation_level=None)
        while not self.stop.is_set():
            t = time.monotonic()
            while True:
                try:
                    con.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError:
                    time.sleep(0.0005)
            waited = time.monotonic() - t
            con.execute("ROLLBACK")
            self.grabs += 1
            self.longest = max(self.longest, waited)
            time.sleep(0.001)
        con.close()


def timed(db, what, fn):
    p = Probe(db)
    p.start()
    t = time.monotonic()
    r = fn()
    took = time.monotonic() - t
    p.stop.set()
    p.join()
    print("%-34s %8.2f s   longest wait for the lock %7.1f ms  (%d grabs)" %
          (what, took, p.longest * 1000, p.grabs), flush=True)
    return r


def check(r):
    typ, data = r
    assert typ == "OK", r
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=16384)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "gannet-long-ops-cache"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "gannet"))
    a = ap.parse_args()
    top = tempfile.mkdtemp(prefix="gannet-long-ops-")
    data = os.path.join(top, "data")
    os.mkdir(data)
    if os.geteuid() == 0:
        os.chmod(top, 0o755)
        os.chown(data, 65534, 65534)
    pw = "bench-pw"
    subprocess.run([a.bin, "user", "add", "bench", "--data", data, "--password-stdin"],
                   input=(pw + "\n").encode(), check=True)
    maildir = os.path.join(data, "users", "bench", "Maildir")
    gen = [sys.executable, os.path.join(HERE, "gen_mail.py"), "--cache", a.cache, "--count", str(a.count)]
    drop = os.path.join(top, "drop")
    subprocess.run(gen + ["--maildir", drop], check=True, stdout=subprocess.DEVNULL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = subprocess.Popen([a.bin, "serve", "--data", data, "--listen", "127.0.0.1:%d" % port,
                            "--foreground", "--workers", "1", "--log-level", "warn"])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        db = os.path.join(data, "users", "bench", "gannet.db")
        c = imaplib.IMAP4("127.0.0.1", port, timeout=600)
        check(c.login("bench", pw))
        check(c.create("Dst"))
        check(c.create("Src"))
        subprocess.run(gen + ["--maildir", os.path.join(maildir, ".Src")], check=True, stdout=subprocess.DEVNULL)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "65534:65534", maildir], check=True)
        n = a.count
        timed(db, "first SELECT Src (%d files)" % n, lambda: check(c.select("Src")))
        timed(db, "COPY 1:* Dst", lambda: check(c.copy("1:*", "Dst")))
        check(c.select("Dst"))
        timed(db, "STORE 1:* +FLAGS (\\Flagged)", lambda: check(c.store("1:*", "+FLAGS.SILENT", "(\\Flagged)")))
        timed(db, "MOVE 1:* Src", lambda: check(c._simple_command("MOVE", "1:*", "Src")))
        check(c.select("Src"))
        check(c.store("1:*", "+FLAGS.SILENT", "(\\Deleted)"))
        timed(db, "EXPUNGE (%d messages)" % (2 * n), lambda: check(c.expunge()))
        check(c.create("Drop"))
        time.sleep(2.5)  # a directory changed in the last 2 s is scanned whole again
        check(c.status("Drop", "(MESSAGES)"))  # new/ alone changes from now on: sync_new
        new = os.path.join(maildir, ".Drop", "new")
        for name in os.listdir(os.path.join(drop, "cur")):
            os.link(os.path.join(drop, "cur", name), os.path.join(new, name.split(":")[0]))
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "65534:65534", new], check=True)
        timed(db, "STATUS Drop (%d files in new/)" % n, lambda: check(c.status("Drop", "(MESSAGES)")))
        c.logout()
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
