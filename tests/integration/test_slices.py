"""Long operations in bounded steps (issue 14): a COPY, MOVE or first
indexing of thousands of messages commits in slices, so other processes (a
`gannet deliver`, another worker) get the user's index write lock between two
slices instead of waiting for the whole operation; a COPY that fails part way
takes back what its earlier slices added (RFC 9051 6.4.7), a MOVE that fails
part way leaves each message in exactly one mailbox (RFC 6851 3.3), and a
kill -9 in the middle of either leaves an index `gannet index check` agrees
with, once the mailboxes were synced again."""

import os
import re
import sqlite3
import subprocess
import threading
import time

import harness
from helpers_fetch import copyuid, fclient
from helpers_states import status_word
from test_crash import kill9

N = 3000  # many slices (50 ms each) even in the sanitised build


def body(i):
    return ("From: bulk@example.org\r\nTo: alice@example.org\r\nSubject: bulk %d\r\n"
            "Message-ID: <bulk-%d@slices.example.org>\r\n\r\nMessage %d.\r\n" % (i, i, i)).encode()


def fill_folder(srv, name, n=N):
    """Makes folder name with n message files in cur/, as another program
    would leave them; the first SELECT indexes them."""
    c = fclient(srv)
    c.ok("CREATE " + name)
    cur = os.path.join(srv.maildir(), "." + name, "cur")
    for i in range(n):
        path = os.path.join(cur, "1700000000.M%dP1Q%d.slices,S=%d:2," % (i, i, len(body(i))))
        with open(path, "wb") as f:
            f.write(body(i))
        if os.geteuid() == 0:
            os.chown(path, harness.MAIL_UID, harness.MAIL_GID)
    return c


def db_path(srv):
    return os.path.join(srv.data, "users", harness.USER, "gannet.db")


def count_in(srv, name):
    """Rows the index has for mailbox name, read without waiting for any lock."""
    con = sqlite3.connect("file:%s?mode=ro" % db_path(srv), uri=True, timeout=5)
    try:
        row = con.execute("SELECT count(*) FROM message JOIN mailbox ON mailbox.id = mailbox_id"
                          " WHERE mailbox.name = ?", (name,)).fetchone()
        return row[0]
    finally:
        con.close()


class Prober(threading.Thread):
    """Takes the index write lock (BEGIN IMMEDIATE, then ROLLBACK) again and
    again, trying every half millisecond as gannet's own busy handler does;
    remembers when it got it."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.db = db_path(srv)
        self.done = threading.Event()
        self.grabs = []

    def run(self):
        con = sqlite3.connect(self.db, timeout=0, isolation_level=None)
        while not self.done.is_set():
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                time.sleep(0.0005)
                continue
            con.execute("ROLLBACK")
            self.grabs.append(time.monotonic())
            time.sleep(0.005)
        con.close()


def run_in_thread(c, cmd):
    out = {}

    def go():
        out["t0"] = time.monotonic()
        try:
            out["resp"] = c.run(cmd)
        except (OSError, EOFError) as e:  # the server was killed
            out["resp"] = e
        out["t1"] = time.monotonic()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def wait_until(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.002)
    return False


def test_big_copy_lets_others_write_between_slices(srv):
    c = fill_folder(srv, "Src")
    c.ok("CREATE Dst")
    lines, tagged = c.run("SELECT Src")
    assert status_word(tagged) == "OK" and b"* %d EXISTS" % N in lines, (tagged, lines[:5])
    probe = Prober(srv)
    probe.start()
    t, out = run_in_thread(c, "COPY 1:* Dst")
    # a delivery in the middle of the COPY is done long before the COPY is
    assert wait_until(lambda: count_in(srv, "Dst") > 0), "the COPY never started"
    d0 = time.monotonic()
    p = harness.gannet("deliver", harness.USER, "--data", srv.data, stdin=body(99999))
    d1 = time.monotonic()
    t.join(120)
    probe.done.set()
    probe.join()
    lines, tagged = out["resp"]
    assert status_word(tagged) == "OK", tagged
    uv, src, dst = copyuid(tagged)
    assert src == list(range(1, N + 1)) and len(dst) == N and len(set(dst)) == N, tagged
    assert p.returncode == 0
    assert d1 < out["t1"], "gannet deliver waited for the whole COPY (%.2fs after it began, the COPY took %.2fs)" % (
        d1 - out["t0"], out["t1"] - out["t0"])
    during = [g for g in probe.grabs if out["t0"] < g < out["t1"]]
    assert len(during) >= 3, "another writer got the lock %d times during a %.2fs COPY" % (
        len(during), out["t1"] - out["t0"])
    gaps = [b - a for a, b in zip([out["t0"]] + during, during)]
    print("COPY of %d: %.2fs, %d grabs, longest gap %.0f ms, deliver %.2fs" % (
        N, out["t1"] - out["t0"], len(during), max(gaps) * 1000, d1 - d0))
    assert c.status("Dst", "MESSAGES")["MESSAGES"] == N


def test_first_indexing_of_a_big_folder_lets_others_write(srv):
    c = fill_folder(srv, "Big", n=2 * N)
    probe = Prober(srv)
    probe.start()
    t, out = run_in_thread(c, "SELECT Big")
    t.join(120)
    probe.done.set()
    probe.join()
    lines, tagged = out["resp"]
    assert status_word(tagged) == "OK" and b"* %d EXISTS" % (2 * N) in lines, tagged
    during = [g for g in probe.grabs if out["t0"] < g < out["t1"]]
    assert len(during) >= 2, "another writer got the lock %d times during a %.2fs first SELECT" % (
        len(during), out["t1"] - out["t0"])
    fr, _, _ = c.fetch("UID FETCH 1:* (UID)")
    assert sorted(int(r["UID"]) for r in fr) == list(range(1, 2 * N + 1))


def files(srv, name):
    return sorted(os.listdir(os.path.join(srv.maildir(), "." + name, "cur")))


def fail_later_slice(srv, c, cmd, into):
    """Runs cmd and, once its first slices are in, makes the target's cur/
    unwritable for the server (it runs as nobody), so a later slice fails."""
    t, out = run_in_thread(c, cmd)
    cur = os.path.join(srv.maildir(), "." + into, "cur")
    assert wait_until(lambda: count_in(srv, into) > 0), "%s never started" % cmd
    os.chmod(cur, 0o500)
    t.join(120)
    os.chmod(cur, 0o700)
    return out["resp"]


def test_copy_failing_in_a_later_slice_restores_the_destination(srv):
    """The COPY fails at a message two thirds in (a later slice: a slice is
    50 ms, a message about 0.3 ms): its file is made root's and unreadable
    after the SELECT indexed it, so neither the hard link (the kernel's
    fs.protected_hardlinks) nor the copy that replaces it can be made. The
    failing slice takes its own links back, and the undo expunges the
    committed slices' copies, so the destination is as before."""
    if os.geteuid() != 0:
        return  # the server must not be able to read what we say
    c = fill_folder(srv, "Src")
    c.ok("CREATE Dst")
    c.ok("SELECT Src")
    bad = os.path.join(srv.maildir(), ".Src", "cur", files(srv, "Src")[2 * N // 3])
    os.chown(bad, 0, 0)
    os.chmod(bad, 0)
    lines, tagged = c.run("COPY 1:* Dst")
    os.chmod(bad, 0o600)
    assert status_word(tagged) == "NO", tagged
    st = c.status("Dst", "MESSAGES UIDNEXT")
    assert st["MESSAGES"] == 0, st
    # earlier slices had committed copies (their UIDs stay used) and were undone
    assert st["UIDNEXT"] > 1, st
    c.ok("SELECT Dst")
    assert files(srv, "Dst") == []
    assert len(files(srv, "Src")) == N


def test_move_failing_in_a_later_slice_leaves_each_message_once(srv):
    if os.geteuid() != 0:
        return
    c = fill_folder(srv, "Src")
    c.ok("CREATE Dst")
    c.ok("SELECT Src")
    lines, tagged = fail_later_slice(srv, c, "MOVE 1:* Dst", "Dst")
    assert status_word(tagged) == "NO", tagged
    moved = len([ln for ln in lines if re.match(rb"\* \d+ EXPUNGE", ln)])
    s1 = c.status("Src", "MESSAGES")["MESSAGES"]
    s2 = c.status("Dst", "MESSAGES")["MESSAGES"]
    assert 0 < s2 < N and s1 + s2 == N, (s1, s2)
    assert moved in (0, s2), "%d EXPUNGEs for %d moved" % (moved, s2)
    assert len(files(srv, "Src")) + len(files(srv, "Dst")) == N
    assert harness.gannet("index", "check", harness.USER, "--data", srv.data, check=False).returncode == 0


def all_ids(srv):
    c = fclient(srv, timeout=120)
    ids = []
    for box in ("Src", "Dst"):
        c.ok("SELECT " + box)
        fr, _, _ = c.fetch("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        ids += [re.search(rb"<([^>]+)>", r["BODY[HEADER.FIELDS (MESSAGE-ID)]"]).group(1) for r in fr]
    c.logout()
    return ids


def kill_in_the_middle(srv, cmd):
    c = fill_folder(srv, "Src")
    c.ok("CREATE Dst")
    c.ok("SELECT Src")
    t, out = run_in_thread(c, cmd)
    assert wait_until(lambda: count_in(srv, "Dst") > 0), "%s never started" % cmd
    time.sleep(0.05)
    kill9(srv)
    t.join(30)
    srv.start()
    ids = all_ids(srv)  # the SELECTs sync both mailboxes with their files
    check = harness.gannet("index", "check", harness.USER, "--data", srv.data, check=False)
    assert check.returncode == 0, check.stdout.decode()[-2000:]
    return ids


def test_kill9_in_the_middle_of_a_big_move(srv):
    ids = kill_in_the_middle(srv, "MOVE 1:* Dst")
    assert len(ids) == N and len(set(ids)) == N, "%d messages, %d different" % (len(ids), len(set(ids)))


def test_kill9_in_the_middle_of_a_big_copy(srv):
    ids = kill_in_the_middle(srv, "COPY 1:* Dst")
    # the copies committed before the kill stay (the client never heard OK),
    # each whole and once; the source has every message
    assert set(ids) == {b"bulk-%d@slices.example.org" % i for i in range(N)}
    assert N <= len(ids) < 2 * N
