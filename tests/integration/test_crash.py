"""Crash safety of MOVE and EXPUNGE (issue 4, design.md section 2 invariants):
while a client moves random messages between folders A and B and appends and
expunges scratch messages, the server (worker, then master) gets SIGKILL at a
random moment. After each restart every one of the original messages is in
exactly one of A and B, no expunged message is back, and no UID is reused
within a folder's UIDVALIDITY."""

import os
import random
import re
import signal
import subprocess
import threading
import time

from helpers_fetch import FClient, fclient
from helpers_states import code_args, status_word

N = 30
ROUNDS = 12
BUDGET = 30.0  # seconds for all rounds together (kills and restarts included)


def original(i):
    return ("From: loop@example.org\r\nTo: alice@example.org\r\nSubject: crash test %d\r\n"
            "Message-ID: <orig-%d@crash.example.org>\r\n\r\nBody of message %d.\r\n" % (i, i, i)).encode()


def scratch(tag):
    return ("From: loop@example.org\r\nSubject: scratch\r\nMessage-ID: <%s@scratch.example.org>\r\n\r\n"
            "to be expunged\r\n" % tag).encode()


def server_pids(srv):
    """The master's pid, its children, and any process still running our binary on our data
    directory (a worker the master started in the moment before it died)."""
    pids = []
    if srv.proc is not None:
        pids.append(srv.proc.pid)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args and os.path.basename(args[0]) == b"gannet" and srv.data.encode() in args and int(d) not in pids:
            pids.append(int(d))
    return pids


def children(pid):
    r = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def kill9(srv):
    master = srv.proc.pid
    for w in children(master):
        try:
            os.kill(w, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for w in children(master):  # a worker restarted in between
        try:
            os.kill(w, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.kill(master, signal.SIGKILL)
    srv.proc.wait(timeout=10)
    srv.proc = None
    deadline = time.time() + 5
    while time.time() < deadline:
        rest = [p for p in server_pids(srv) if p != master]
        if not rest:
            return
        for p in rest:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


class Loop(threading.Thread):
    def __init__(self, port, rnd):
        super().__init__(daemon=True)
        self.port = port
        self.rnd = rnd
        self.killed = threading.Event()
        self.errors = []
        self.expunged = []  # scratch Message-IDs whose UID EXPUNGE returned OK
        self.ops = 0

    def fail(self, what):
        if not self.killed.is_set():
            self.errors.append(what)

    def run(self):
        try:
            c = FClient(self.port, timeout=10)
            c.login()
            k = 0
            while True:
                box = self.rnd.choice("AB")
                other = "B" if box == "A" else "A"
                lines, tagged = c.run("SELECT " + box)
                if status_word(tagged) != "OK":
                    return self.fail("SELECT %s: %r" % (box, tagged))
                exists = next(int(m.group(1)) for m in (re.match(rb"\* (\d+) EXISTS", ln) for ln in lines) if m)
                if exists:
                    x = self.rnd.random()
                    if x < 0.1:
                        cmd = "MOVE 1:* %s" % other
                    elif x < 0.25:
                        cmd = "UID MOVE %d:* %s" % (self.rnd.randint(1, 400), other)
                    else:
                        seqs = self.rnd.sample(range(1, exists + 1), self.rnd.randint(1, min(4, exists)))
                        cmd = "MOVE %s %s" % (",".join(map(str, seqs)), other)
                    lines, tagged = c.run(cmd)
                    if status_word(tagged) != "OK":
                        return self.fail("%s: %r %r" % (cmd, lines, tagged))
                    self.ops += 1
                k += 1
                if k % 3 == 0:
                    tag = "x%d-%d" % (os.getpid(), self.rnd.randrange(1 << 30))
                    lines, tagged = c.append(box, scratch(tag), flags=["\\Deleted"])
                    if status_word(tagged) != "OK":
                        return self.fail("APPEND scratch: %r" % tagged)
                    uid = int(code_args(tagged, "APPENDUID").split()[1])
                    c.run("NOOP")
                    lines, tagged = c.run("UID EXPUNGE %d" % uid)
                    if status_word(tagged) != "OK":
                        return self.fail("UID EXPUNGE: %r" % tagged)
                    self.expunged.append("<%s@scratch.example.org>" % tag)
                    self.ops += 1
        except (OSError, EOFError):
            if not self.killed.is_set():
                self.errors.append("connection lost before the kill")
        except Exception as e:  # noqa: BLE001 - reported to the test
            self.fail("loop: %r" % e)


MID_RE = re.compile(rb"Message-ID:\s*(<[^>\r\n]+>)", re.I)


def snapshot(srv):
    """{box: (uidvalidity, {uid: message-id})} after a restart."""
    c = fclient(srv, timeout=30)
    out = {}
    for box in "AB":
        lines, tagged = c.select(box)
        uidv = int(next(code_args(ln, "UIDVALIDITY") for ln in lines if code_args(ln, "UIDVALIDITY")))
        fr, _, _ = c.fetch("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        got = {}
        for r in fr:
            hdr = r["BODY[HEADER.FIELDS (MESSAGE-ID)]"]
            m = MID_RE.search(hdr)
            assert m, "no Message-ID in %r" % hdr
            uid = int(r["UID"])
            assert uid not in got, "UID %d twice in %s" % (uid, box)
            got[uid] = m.group(1).decode()
        out[box] = (uidv, got)
    c.logout()
    return out


def test_kill9_during_move_and_expunge_loop(srv):
    seed = int(os.environ.get("GANNET_CRASH_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    c = fclient(srv)
    c.ok("CREATE A")
    c.ok("CREATE B")
    for i in range(N):
        c.append_ok("A", original(i))
    c.logout()
    want = {"<orig-%d@crash.example.org>" % i for i in range(N)}
    # per (box, uidvalidity): uid -> message-id ever seen, uids seen then gone, highest uid seen
    seen, gone, high = {}, {}, {}
    expunged = []
    t_start = time.time()
    rounds = 0
    report = []

    def check(snap, when):
        ids = []
        for box, (uidv, got) in snap.items():
            key = (box, uidv)
            seen.setdefault(key, {})
            gone.setdefault(key, set())
            prev = seen[key]
            for uid, mid in got.items():
                if uid in prev:
                    assert prev[uid] == mid, "%s: UID %d of %s was %s, is now %s (UID reused)" % (
                        when, uid, box, prev[uid], mid)
                    assert uid not in gone[key], "%s: UID %d (%s) came back to %s" % (when, uid, mid, box)
                else:
                    assert uid > high.get(key, 0), "%s: new UID %d in %s is not above the highest seen %d" % (
                        when, uid, box, high.get(key, 0))
            gone[key] |= set(prev) - set(got)
            prev.update(got)
            if got:
                high[key] = max(high.get(key, 0), max(got))
            ids += got.values()
        orig = [m for m in ids if m in want]
        dup = sorted({m for m in orig if orig.count(m) > 1})
        assert not dup, "%s: in both folders or twice: %r\n%r" % (when, dup, snap)
        missing = sorted(want - set(orig))
        assert not missing, "%s: lost: %r\n%r" % (when, missing, snap)
        back = sorted(set(ids) & set(expunged))
        assert not back, "%s: expunged scratch messages are back: %r" % (when, back)
        scr = [m for m in ids if m not in want]
        assert len(scr) == len(set(scr)), "%s: a scratch message twice: %r" % (when, scr)

    check(snapshot(srv), "before the first kill")
    while rounds < ROUNDS and time.time() - t_start < BUDGET - 4:
        loop = Loop(srv.port, random.Random(rnd.randrange(1 << 30)))
        loop.start()
        delay = rnd.uniform(0.15, 1.5)
        time.sleep(delay)
        loop.killed.set()
        kill9(srv)
        loop.join(timeout=15)
        assert not loop.is_alive(), "the client loop did not end after the kill"
        assert not loop.errors, "seed %d round %d: %r" % (seed, rounds, loop.errors)
        expunged += loop.expunged
        srv.start()
        rounds += 1
        when = "seed %d, after kill %d (at %.2fs, %d operations)" % (seed, rounds, delay, loop.ops)
        check(snapshot(srv), when)
        report.append("%.2fs/%d ops" % (delay, loop.ops))
    assert rounds >= 3, "only %d rounds in the time budget" % rounds
    # the index agrees with the files: STATUS counts what FETCH sees
    c = fclient(srv)
    snap = snapshot(srv)
    for box in "AB":
        st = c.status(box, "MESSAGES UIDVALIDITY")
        assert st["MESSAGES"] == len(snap[box][1]) and st["UIDVALIDITY"] == snap[box][0], (box, st)
    print("crash test seed %d: %s" % (seed, ", ".join(report)))
