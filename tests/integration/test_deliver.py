"""`gannet deliver USER --data DIR [--mailbox NAME] [--append-limit BYTES]`
(issue 6): one message from stdin into the user's mailbox while the server
runs, the mbox envelope line an MTA prepends dropped, bare LFs stored as
CRLF, a missing folder falling back to INBOX, and sysexits.h exit codes
(67 unknown user, 65 too big or empty, 64 bad arguments) that an MTA maps
to bounce or retry."""

import datetime
import os
import re
import subprocess
import time

import harness
from helpers_fetch import fclient, flagset
from helpers_states import list_lines, message, server, untagged

EX_USAGE, EX_DATAERR, EX_NOUSER = 64, 65, 67


def deliver(srv, msg, *args, user=harness.USER):
    """Runs `gannet deliver`; returns CompletedProcess (never raises on exit status)."""
    return harness.gannet("deliver", user, "--data", srv.data, *args, stdin=msg, check=False)


def deliver_ok(srv, msg, *args):
    r = deliver(srv, msg, *args)
    assert r.returncode == 0, "deliver exited %d: %r" % (r.returncode, r.stderr)
    return r


def exists_after_noop(c):
    """The EXISTS count a NOOP reports (None if it reports none)."""
    lines, _ = c.ok("NOOP")
    found = [int(ln.split()[1]) for ln in untagged(lines, "EXISTS")]
    return found[-1] if found else None


def body(c, seq):
    return c.fetch1("FETCH %d BODY.PEEK[]" % seq)["BODY[]"]


def tmp_files(srv):
    return os.listdir(os.path.join(srv.maildir(), "tmp"))


def test_selected_session_sees_delivery(srv):
    c = fclient(srv)
    c.select("INBOX")
    msg = message("delivered while selected", body="Line one.\r\nLine two.\r\n")
    before = datetime.datetime.now(datetime.timezone.utc)
    deliver_ok(srv, msg)
    assert exists_after_noop(c) == 1
    r = c.fetch1("FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert r["BODY[]"] == msg, r["BODY[]"]
    assert r["RFC822.SIZE"] == str(len(msg))
    assert flagset(r["FLAGS"]) == set(), "delivery sets no flags: %r" % r["FLAGS"]
    date = datetime.datetime.strptime(r["INTERNALDATE"].decode(), "%d-%b-%Y %H:%M:%S %z")
    assert abs((date - before).total_seconds()) < 60, "INTERNALDATE is the time of delivery: %s" % date
    # a second delivery gets the next UID and shows up the same way
    deliver_ok(srv, message("second"))
    assert exists_after_noop(c) == 2
    uids = [int(x["UID"]) for x in c.fetch("FETCH 1:* UID")[0]]
    assert uids[0] < uids[1], uids
    assert tmp_files(srv) == [], "a delivery leaves nothing in tmp/"


def test_envelope_from_line_dropped(srv):
    msg = message("with an envelope line")
    deliver_ok(srv, b"From bob@example.org  Mon Feb  7 21:52:25 1994\n" + msg)
    # the header field From: (and the obsolete "From :") is message content, not an envelope
    obs = b"From : Carol <carol@example.org>\r\nSubject: obsolete syntax\r\n\r\nx\r\n"
    deliver_ok(srv, obs)
    c = fclient(srv)
    c.select("INBOX")
    assert body(c, 1) == msg
    assert body(c, 2) == obs
    # only the first line is an envelope: a later "From " line stays
    later = message("later From line", body="From here on it is body.\r\n")
    deliver_ok(srv, b"From MAILER-DAEMON Thu Jan  1 00:00:00 2024\r\n" + later)
    assert exists_after_noop(c) == 3
    assert body(c, 3) == later


def test_mailbox_option(srv):
    c = fclient(srv)
    c.ok('CREATE "Work/Projects"')
    c.ok('CREATE "Entw&APw-rfe"')  # "Entwürfe" in modified UTF-7
    m1, m2, m3 = message("to a folder"), message("to a nested folder"), message("to a UTF-8 name")
    deliver_ok(srv, m1, "--mailbox", "Work")
    deliver_ok(srv, m2, "--mailbox", "Work/Projects")
    deliver_ok(srv, m3, "--mailbox", "Entwürfe")
    assert c.status("INBOX")["MESSAGES"] == 0
    for name, m in (("Work", m1), ("Work/Projects", m2), ("Entw&APw-rfe", m3)):
        assert c.status(name)["MESSAGES"] == 1, name
        c.ok('EXAMINE "%s"' % name)
        assert body(c, 1) == m, name
    # INBOX is spelled in any case, as in IMAP
    deliver_ok(srv, message("inbox"), "--mailbox", "inbox")
    assert c.status("INBOX")["MESSAGES"] == 1


def test_missing_or_invalid_mailbox_lands_in_inbox(srv):
    c = fclient(srv)
    c.select("INBOX")
    m1, m2, m3 = message("missing folder"), message("invalid name"), message("case differs")
    r = deliver_ok(srv, m1, "--mailbox", "No/Such/Folder")
    assert b"warning" in r.stderr and b"INBOX" in r.stderr, r.stderr
    r = deliver_ok(srv, m2, "--mailbox", "a//b")
    assert b"warning" in r.stderr, r.stderr
    r = deliver_ok(srv, m3, "--mailbox", "sent")  # names other than INBOX are case-sensitive
    assert b"warning" in r.stderr, r.stderr
    assert exists_after_noop(c) == 3
    assert [body(c, i) for i in (1, 2, 3)] == [m1, m2, m3]
    names = sorted(p.name for p in list_lines(c.list('"" "*"')))
    assert names == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"], "delivery creates no mailbox: %r" % names
    assert c.status("Sent")["MESSAGES"] == 0


def test_unknown_user(srv):
    r = deliver(srv, message("nobody"), user="mallory")
    assert r.returncode == EX_NOUSER, (r.returncode, r.stderr)
    assert b"mallory" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(srv.data, "users", "mallory")), "no home made for an unknown user"
    r = deliver(srv, message("bad name"), user="../alice")
    assert r.returncode == EX_NOUSER, (r.returncode, r.stderr)


def test_bad_arguments(srv):
    msg = message("args")
    for args in ([harness.BIN, "deliver", harness.USER],  # no --data
                 [harness.BIN, "deliver", "--data", srv.data],  # no user
                 [harness.BIN, "deliver", harness.USER, "bob", "--data", srv.data],
                 [harness.BIN, "deliver", harness.USER, "--data", srv.data, "--bogus"],
                 [harness.BIN, "deliver", harness.USER, "--data", srv.data, "--append-limit", "0"],
                 [harness.BIN, "deliver", harness.USER, "--data", srv.data, "--append-limit", "x"]):
        r = subprocess.run(args, input=msg, capture_output=True, timeout=60)
        assert r.returncode == EX_USAGE, (args, r.returncode, r.stderr)
    c = fclient(srv)
    assert c.status("INBOX")["MESSAGES"] == 0


def test_empty_message(srv):
    for data in (b"", b"From bob@example.org Mon Feb  7 21:52:25 1994\n"):
        r = deliver(srv, data)
        assert r.returncode == EX_DATAERR, (data, r.returncode, r.stderr)
        assert b"empty" in r.stderr, r.stderr
    assert fclient(srv).status("INBOX")["MESSAGES"] == 0
    assert tmp_files(srv) == []


def test_over_append_limit():
    limit = 1000
    with server("--append-limit", str(limit)) as srv:
        c = fclient(srv)
        c.select("INBOX")
        head = message("limit", body="")
        fits = head + b"x" * (limit - len(head))
        big = fits + b"y"
        r = deliver(srv, big, "--append-limit", str(limit))
        assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)
        assert b"limit" in r.stderr, r.stderr
        # the envelope line does not count: the message is what is stored
        deliver_ok(srv, b"From bob@example.org Mon Feb  7 21:52:25 1994\n" + fits, "--append-limit", str(limit))
        assert exists_after_noop(c) == 1
        assert body(c, 1) == fits
        assert tmp_files(srv) == [], "the refused message left a temporary file"
        # the server's --append-limit is its own: deliver without the flag has the default, 64 MiB
        lines, _ = c.ok("CAPABILITY")
        assert re.search(rb"APPENDLIMIT=%d\b" % limit, lines[0]), lines
        r = deliver(srv, big)
        assert r.returncode == 0, (r.returncode, r.stderr)


def test_default_limit_and_streaming(srv):
    """A message just over the default 64 MiB limit is refused; a large one
    that fits goes through without deliver holding it in memory."""
    c = fclient(srv)
    lines, _ = c.ok("CAPABILITY")
    limit = int(re.search(rb"APPENDLIMIT=(\d+)", lines[0]).group(1))
    assert limit == 64 * 1024 * 1024, lines
    head = message("large", body="")
    line = b"x" * 1022 + b"\r\n"
    big = head + line * ((limit - len(head)) // len(line) + 1)
    assert len(big) > limit
    r = deliver(srv, big)
    assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)
    # 40 MiB in; deliver's peak RSS (of its own image: VmHWM after exec) is
    # read while the last bytes are still to come, and must stay far below
    size = 40 * 1024 * 1024
    nlines = (size - len(head)) // len(line)
    p = subprocess.Popen([harness.BIN, "deliver", harness.USER, "--data", srv.data],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    p.stdin.write(head)
    for _ in range(nlines - 1):
        p.stdin.write(line)
    p.stdin.flush()
    time.sleep(0.3)  # the pipe drains into the file
    with open("/proc/%d/status" % p.pid) as f:
        hwm_kib = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
    p.stdin.write(line)
    p.stdin.close()
    p.wait(timeout=60)
    err = p.stderr.read()
    p.stderr.close()
    assert p.returncode == 0, (p.returncode, err)
    assert hwm_kib * 1024 < size // 2, "deliver held the message in memory: peak RSS %d KiB" % hwm_kib
    c.select("INBOX")
    r = c.fetch1("FETCH 1 RFC822.SIZE")
    assert r["RFC822.SIZE"] == str(len(head) + nlines * len(line))


def test_bare_lf_stored_as_crlf(srv):
    c = fclient(srv)
    c.select("INBOX")
    lf = (b"From: Bob <bob@example.org>\nTo: alice@example.org\nSubject: bare LF\n\n"
          b"one\ntwo\n\nthree with CRLF\r\nlast line without an end")
    crlf = re.sub(rb"(?<!\r)\n", b"\r\n", lf)
    deliver_ok(srv, b"From bob@example.org Mon Feb  7 21:52:25 1994\n" + lf)
    assert exists_after_noop(c) == 1
    r = c.fetch1("FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    assert r["BODY[]"] == crlf, r["BODY[]"]
    assert r["RFC822.SIZE"] == str(len(crlf)), (r["RFC822.SIZE"], len(crlf))
    text = c.fetch1("FETCH 1 BODY.PEEK[TEXT]")["BODY[TEXT]"]
    assert text == b"one\r\ntwo\r\n\r\nthree with CRLF\r\nlast line without an end", text


def test_concurrent_deliveries(srv):
    c = fclient(srv)
    c.select("INBOX")
    msgs = [message("concurrent %d" % i, body="Message number %d.\r\n" % i) for i in range(20)]
    procs = [subprocess.Popen([harness.BIN, "deliver", harness.USER, "--data", srv.data],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in msgs]
    # every process is started and holds its input before any gets to write
    for p, m in zip(procs, msgs):
        p.stdin.write(m)
    for p in procs:
        p.stdin.close()
    for p in procs:
        p.wait(timeout=60)
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        assert p.returncode == 0, (p.returncode, err)
    assert exists_after_noop(c) == 20
    fr, _, _ = c.fetch("FETCH 1:* (UID BODY.PEEK[])")
    uids = [int(r["UID"]) for r in fr]
    assert len(set(uids)) == 20 and uids == sorted(uids), uids
    assert sorted(r["BODY[]"] for r in fr) == sorted(msgs)
    st = c.status("INBOX")
    assert st["MESSAGES"] == 20 and st["UIDNEXT"] > max(uids), st
