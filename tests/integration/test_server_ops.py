"""Running the server: connection caps (total, per client address, per user),
SIGTERM draining, SIGHUP starting new workers, the IDLE time limit, and
sessions of one user sharing one store in a worker."""

import os
import signal
import subprocess
import threading
import time

import harness


def expect_eof(r, timeout=5):
    r.sock.settimeout(timeout)
    rest = []
    while True:
        ln = r.line()
        if ln == b"":
            return rest
        rest.append(ln)


def worker_pids(srv):
    out = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def test_user_cap_refuses_with_bye_and_frees_on_logout():
    srv = harness.Server(args=("--workers", "2", "--max-user-connections", "2"))
    try:
        a, b = srv.raw().login(), srv.raw().login()
        c = srv.raw()
        untagged, tagged = c.cmd("L1", 'LOGIN %s "%s"' % (harness.USER, harness.PASSWORD))
        assert untagged and untagged[0].startswith(b"* BYE [LIMIT]"), untagged
        assert tagged.startswith(b"L1 NO [LIMIT]"), tagged
        assert expect_eof(c) == []
        a.cmd("O", "LOGOUT")
        a.close()
        time.sleep(0.2)
        d = srv.raw().login()  # the slot came free
        d.cmd("N", "NOOP")
        b.close()
        d.close()
    finally:
        srv.cleanup()


def test_ip_cap_refuses_at_greeting():
    srv = harness.Server(args=("--max-ip-connections", "3"))
    try:
        kept = [srv.raw() for _ in range(3)]
        over = srv.raw()
        assert over.greeting.startswith(b"* BYE [UNAVAILABLE]"), over.greeting
        assert expect_eof(over) == []
        kept[0].close()
        time.sleep(0.2)
        again = srv.raw()
        assert again.greeting.startswith(b"* OK"), again.greeting
        for r in kept[1:] + [again]:
            r.close()
    finally:
        srv.cleanup()


def test_total_cap_counts_every_worker():
    srv = harness.Server(args=("--workers", "3", "--max-connections", "4"))
    try:
        time.sleep(0.3)  # the harness's probe connection is closed and counted out
        kept = [srv.raw() for _ in range(4)]
        for r in kept:
            assert r.greeting.startswith(b"* OK"), r.greeting
        for _ in range(3):  # whichever worker takes it, the total is over
            over = srv.raw()
            assert over.greeting.startswith(b"* BYE [UNAVAILABLE]"), over.greeting
            over.close()
        for r in kept:
            r.close()
    finally:
        srv.cleanup()


def test_sigterm_lets_a_running_fetch_finish_then_says_bye():
    srv = harness.Server()
    try:
        body = b"Subject: big\r\n\r\n" + b"x" * 76 + b"\r\n"
        big = body * 60000  # about 4.7 MB: more than the output buffer takes at once
        c = srv.imap()
        c.append("INBOX", None, None, big)
        c.logout()
        idle = srv.raw().login()
        idle.cmd("S", "SELECT INBOX")
        idle.send("I IDLE\r\n")
        assert idle.line().startswith(b"+")
        busy = srv.raw().login()
        busy.cmd("S", "SELECT INBOX")
        busy.send("F FETCH 1 BODY.PEEK[]\r\n")
        time.sleep(0.3)  # the FETCH is under way and waits for us to read
        srv.proc.send_signal(signal.SIGTERM)
        assert idle.line().startswith(b"* BYE"), "an idle session is told at once"
        busy.sock.settimeout(10)
        head = busy.line()
        assert head.startswith(b"* 1 FETCH (BODY[] {%d}" % len(big)), head
        got = b""
        while len(got) < len(big):
            chunk = busy.buf or busy.sock.recv(1 << 20)
            busy.buf = b""
            got += chunk
        busy.buf = got[len(big):]
        assert got[: len(big)] == big
        assert busy.line() == b")"
        assert busy.line().startswith(b"F OK")
        assert busy.line().startswith(b"* BYE")
        srv.proc.wait(timeout=10)
    finally:
        srv.cleanup()


def test_sighup_new_workers_take_over_and_the_old_drain():
    srv = harness.Server(args=("--workers", "2"))
    try:
        before = worker_pids(srv)
        assert len(before) == 2, before
        idle = srv.raw().login()
        idle.cmd("S", "SELECT INBOX")
        idle.send("I IDLE\r\n")
        assert idle.line().startswith(b"+")
        srv.proc.send_signal(signal.SIGHUP)
        assert idle.line().startswith(b"* BYE")
        deadline = time.time() + 10
        while time.time() < deadline and (set(worker_pids(srv)) & set(before) or len(worker_pids(srv)) != 2):
            time.sleep(0.1)
        after = worker_pids(srv)
        assert len(after) == 2 and not set(after) & set(before), (before, after)
        assert srv.alive()
        r = srv.raw().login()
        _, tagged = r.cmd("N", "NOOP")
        assert tagged.startswith(b"N OK")
        r.close()
    finally:
        srv.cleanup()


def test_idle_past_the_inactivity_limit_ends_with_bye():
    srv = harness.Server(args=("--idle-timeout", "2"))
    try:
        r = srv.raw().login()
        r.cmd("S", "SELECT INBOX")
        r.send("I IDLE\r\n")
        assert r.line().startswith(b"+")
        t = time.time()
        r.sock.settimeout(10)
        bye = r.line()
        assert bye.startswith(b"* BYE IDLE ran for"), bye
        assert 1.5 < time.time() - t < 6
        assert expect_eof(r) == []
    finally:
        srv.cleanup()


def test_sessions_of_one_user_share_a_store_safely(srv):
    """Twenty sessions of one user in one worker come and go in any order
    while one idles; the survivor still sees every change."""
    idle = srv.raw().login()
    idle.cmd("S", "SELECT INBOX")
    others = [srv.raw().login() for _ in range(20)]
    for i, r in enumerate(others):
        r.cmd("S", "SELECT INBOX" if i % 2 else "EXAMINE INBOX")
    idle.send("I IDLE\r\n")
    assert idle.line().startswith(b"+")
    for i in (3, 17, 0, 9, 19, 1):
        others[i].cmd("O", "LOGOUT")
    others[5].cmd("A", b"APPEND INBOX {24+}\r\nSubject: shared\r\n\r\nhello")
    idle.sock.settimeout(2)
    assert idle.line() == b"* 1 EXISTS"
    for r in others:
        r.close()
    time.sleep(0.2)
    late = srv.raw().login()
    late.cmd("A", b"APPEND INBOX {24+}\r\nSubject: second\r\n\r\nhello")
    lines = [idle.line(), idle.line()]
    assert b"* 2 EXISTS" in lines, lines
    idle.send("DONE\r\n")
    _, tagged = idle.until("I")
    assert tagged.startswith(b"I OK")


def test_mta_file_in_new_wakes_idle(srv):
    r = srv.raw().login()
    r.cmd("S", "SELECT INBOX")
    r.send("I IDLE\r\n")
    assert r.line().startswith(b"+")
    md = srv.maildir()
    tmp = os.path.join(md, "tmp", "1700000000.P1.test")
    with open(tmp, "wb") as f:
        f.write(b"Subject: from the MTA\n\nbody\n")
    t = time.time()
    os.rename(tmp, os.path.join(md, "new", "1700000000.P1.test"))
    r.sock.settimeout(3)
    assert r.line() == b"* 1 EXISTS"
    assert time.time() - t < 1.0
    r.send("DONE\r\n")
    _, tagged = r.until("I")
    assert tagged.startswith(b"I OK")
    untagged, tagged = r.cmd("F", "FETCH 1 (RFC822.SIZE FLAGS)")
    assert tagged.startswith(b"F OK")
    assert untagged == [b"* 1 FETCH (RFC822.SIZE 31 FLAGS (\\Recent))"], untagged  # LF became CRLF


def test_selected_mailbox_deleted_elsewhere_ends_with_bye(srv):
    a = srv.raw().login()
    a.cmd("C", "CREATE Gone")
    a.cmd("S", "SELECT Gone")
    b = srv.raw().login()
    _, tagged = b.cmd("D", "DELETE Gone")
    assert tagged.startswith(b"D OK"), tagged
    a.send("N NOOP\r\n")
    a.sock.settimeout(5)
    lines = expect_eof(a)
    assert lines and lines[0].startswith(b"* BYE"), lines
    _, tagged = b.cmd("N", "NOOP")  # the other session carries on
    assert tagged.startswith(b"N OK")


def test_long_search_does_not_hold_up_other_sessions(srv):
    """SEARCH runs in slices: while one session searches every body of a big
    mailbox, another session of the same worker is answered."""
    cur = os.path.join(srv.maildir(), "cur")
    body = ("x" * 75 + "\r\n") * 500  # about 38 KB
    for i in range(3000):
        with open(os.path.join(cur, "17000%05d.M%d.test:2,S" % (i, i)), "w") as f:
            f.write("Subject: m%d\r\n\r\n%s" % (i, body))
    a = srv.raw().login()
    a.sock.settimeout(60)
    a.cmd("S", "SELECT INBOX")
    b = srv.raw().login()
    done = {}

    def wait_search():
        done["answer"] = a.until("Q")
        done["t"] = time.time()

    reader = threading.Thread(target=wait_search)
    t0 = time.time()
    a.send("Q SEARCH BODY zzz-not-there\r\n")
    reader.start()
    time.sleep(0.05)
    t_sent = time.time()
    _, tagged = b.cmd("N", "NOOP")
    noop_latency = time.time() - t_sent
    assert tagged.startswith(b"N OK")
    reader.join(60)
    untagged, tagged = done["answer"]
    assert tagged.startswith(b"Q OK") and untagged == [b"* SEARCH"], (untagged, tagged)
    took = done["t"] - t0
    assert took > 0.25, "the search was too quick to tell (%.2f s)" % took
    assert noop_latency < took / 3, "NOOP took %.2f s during a %.2f s SEARCH" % (noop_latency, took)
