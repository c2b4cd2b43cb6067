"""`gannet serve --workers 2`: many connections at once over two worker
processes, and a worker killed with SIGKILL does not stop the service: new
connections are served within seconds and the master starts a new worker."""

import os
import re
import signal
import socket
import subprocess
import threading
import time

import harness

WORKERS = 2


class WorkerServer(harness.Server):
    """harness.Server, started with --workers 2 instead of 1."""

    def start(self):
        self.port = harness.free_port()
        self.log_path = os.path.join(self.dir, "server-%d.log" % len(self.logs))
        self.logs.append(self.log_path)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [harness.BIN, "serve", "--data", self.data, "--listen", "127.0.0.1:%d" % self.port,
             "--foreground", "--workers", str(WORKERS), *self.args],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gannet exited at start:\n" + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("gannet did not start listening")


def children(pid):
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid=,stat="], capture_output=True, timeout=10).stdout
    pids = []
    for ln in out.decode().splitlines():
        p, stat = ln.split()
        if not stat.startswith("Z"):
            pids.append(int(p))
    return sorted(pids)


def wait_children(pid, n, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        kids = children(pid)
        if len(kids) == n or time.time() > deadline:
            return kids
        time.sleep(0.1)


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def session(port, results, i):
    """Logs in and NOOPs on a raw socket; returns the open client in results."""
    try:
        c = harness.Raw(port)
        assert c.greeting.startswith(b"* OK"), c.greeting
        c.login()
        _, tagged = c.cmd("n%d" % i, "NOOP")
        assert tagged.startswith(b"n%d OK" % i), tagged
        results[i] = c
    except Exception as e:  # noqa: B902 - reported by the caller
        results[i] = e


def open_many(port, n):
    results = [None] * n
    threads = [threading.Thread(target=session, args=(port, results, i)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def served(port):
    try:
        c = harness.Raw(port)
        c.sock.settimeout(5)
        c.login()
        _, tagged = c.cmd("s1", "NOOP")
        c.close()
        return tagged.startswith(b"s1 OK")
    except (OSError, AssertionError, EOFError):
        return False


def test_two_workers_survive_a_killed_worker():
    srv = WorkerServer()
    conns = []
    try:
        master = srv.proc.pid
        workers = wait_children(master, WORKERS)
        assert len(workers) == WORKERS, ("worker processes", workers)

        # one login first, so that the user's store exists (concurrent first
        # logins have their own test below)
        assert served(srv.port), "first login failed:\n" + srv.log()[-3000:]

        # 20 sessions at once
        results = open_many(srv.port, 20)
        errors = [r for r in results if not isinstance(r, harness.Raw)]
        assert not errors, errors
        conns = results

        # kill one worker outright
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.time() + 10
        while not gone(victim) and time.time() < deadline:
            time.sleep(0.05)
        assert gone(victim), "worker %d did not die" % victim

        # new connections are served within a few seconds ...
        t0 = time.time()
        while not served(srv.port):
            assert time.time() - t0 < 5, "no new connection served within 5 s of the worker's death"
            time.sleep(0.1)
        # ... and from then on every one of them
        for i in range(20):
            assert served(srv.port), "connection %d after the worker's death was not served" % i
        assert srv.alive(), "the master died with its worker:\n" + srv.log()[-3000:]

        # the dead worker is replaced
        kids = wait_children(master, WORKERS)
        assert len(kids) == WORKERS and victim not in kids, ("workers after the kill", workers, kids)

        # the old sessions: on the surviving worker they still work; on the
        # dead one they are closed, never left hanging
        alive = closed = 0
        for i, c in enumerate(conns):
            c.sock.settimeout(5)
            try:
                _, tagged = c.cmd("m%d" % i, "NOOP")
                assert tagged.startswith(b"m%d OK" % i), tagged
                alive += 1
            except (EOFError, ConnectionResetError, BrokenPipeError):
                closed += 1
        assert alive + closed == 20

        # 20 more at once, spread over the old and the new worker
        results = open_many(srv.port, 20)
        errors = [r for r in results if not isinstance(r, harness.Raw)]
        assert not errors, errors
        for c in results:
            c.close()

        # stopping the master stops its workers
        kids = children(master)
        srv.stop()
        deadline = time.time() + 10
        while not all(gone(k) for k in kids) and time.time() < deadline:
            time.sleep(0.1)
        assert all(gone(k) for k in kids), ("workers outlived the master", [k for k in kids if not gone(k)])
        report = srv.sanitizer_report()
        assert report is None, report + "\n" + srv.log()[-4000:]
    finally:
        for c in conns:
            if isinstance(c, harness.Raw):
                c.close()
        srv.cleanup()


def test_two_workers_share_one_mailbox():
    """Sessions on different workers see each other's changes."""
    srv = WorkerServer()
    try:
        assert served(srv.port), "first login failed:\n" + srv.log()[-3000:]
        results = open_many(srv.port, 10)
        errors = [r for r in results if not isinstance(r, harness.Raw)]
        assert not errors, errors
        _, tagged = results[0].cmd("c1", "CREATE Shared")
        assert tagged.startswith(b"c1 OK"), tagged
        for i, c in enumerate(results):
            untagged, tagged = c.cmd("l%d" % i, 'LIST "" Shared')
            assert tagged.startswith(b"l%d OK" % i), tagged
            assert len(untagged) == 1 and re.match(rb'^\* LIST \([^)]*\) "/" (Shared|"Shared")$', untagged[0]), \
                (i, untagged)
            c.close()
        srv.stop()
        report = srv.sanitizer_report()
        assert report is None, report + "\n" + srv.log()[-4000:]
    finally:
        srv.cleanup()


def test_concurrent_first_logins():
    """20 clients log in at the same moment as a brand-new user (two devices
    set up at once): the store is created once and every login succeeds,
    whichever worker runs it.  Several fresh servers, as the race is narrow."""
    for rnd in range(10):
        srv = WorkerServer()
        try:
            results = open_many(srv.port, 20)
            errors = [r for r in results if not isinstance(r, harness.Raw)]
            for c in results:
                if isinstance(c, harness.Raw):
                    c.close()
            assert not errors, ("round %d" % rnd, errors, [ln for ln in srv.log().splitlines()
                                                           if "error" in ln or "warn" in ln][:5])
            srv.stop()
            report = srv.sanitizer_report()
            assert report is None, report + "\n" + srv.log()[-4000:]
        finally:
            srv.cleanup()
