"""A stock client downloads messages: curl's IMAP URL `imap://host:port/INBOX;UID=N`
(RFC 5092) SELECTs INBOX and runs UID FETCH N BODY[]; what it writes out must be
exactly the bytes that were APPENDed, for a small and a 1 MB message."""

import hashlib
import os
import random
import subprocess

from helpers_fetch import fclient

CURL = "/usr/bin/curl"


def curl(srv, path, timeout=60):
    cmd = [CURL, "-s", "-S", "--max-time", "50", "imap://127.0.0.1:%d/%s" % (srv.port, path), "-u", "alice:secret-pw"]
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


SMALL = (b"From: Bob <bob@example.org>\r\n"
         b"To: Alice <alice@example.org>\r\n"
         b"Subject: curl fetch\r\n"
         b"Date: Mon, 6 May 2024 10:00:00 +0000\r\n"
         b"Message-ID: <curl-fetch-1@example.org>\r\n"
         b"\r\n"
         b"Hello from the server, via curl.\r\n"
         b"Trailing spaces stay   \r\n"
         b"\r\n")


def big_message():
    rnd = random.Random(5)
    alphabet = bytes(range(33, 127))
    lines = []
    size = 0
    while size < 1024 * 1024:
        n = rnd.randint(0, 200)
        ln = bytes(rnd.choice(alphabet) for _ in range(n)) + b"\r\n"
        lines.append(ln)
        size += len(ln)
    return (b"From: Bob <bob@example.org>\r\nSubject: one megabyte\r\nMessage-ID: <curl-big@example.org>\r\n\r\n"
            + b"".join(lines))


def test_curl_fetches_exact_bytes(srv):
    big = big_message()
    assert len(big) >= 1024 * 1024
    c = fclient(srv)
    _, u1 = c.append_ok("INBOX", SMALL)
    _, u2 = c.append_ok("INBOX", big)
    _, u3 = c.append_ok("INBOX", b"From: x@example.org\r\nSubject: third\r\n\r\nthird\r\n")
    c.logout()
    for uid, data in ((u1, SMALL), (u2, big)):
        r = curl(srv, "INBOX;UID=%d" % uid)
        assert r.returncode == 0, (uid, r.returncode, r.stderr)
        assert len(r.stdout) == len(data), "UID %d: %d bytes from curl, %d appended" % (uid, len(r.stdout), len(data))
        assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest(), \
            "UID %d: curl's bytes differ from the APPENDed ones (first difference at %d)" % (
                uid, next(i for i, (a, b) in enumerate(zip(r.stdout, data)) if a != b))
    # a section: curl asks for BODY[TEXT]
    r = curl(srv, "INBOX;UID=%d;SECTION=TEXT" % u1)
    assert r.returncode == 0, r.stderr
    assert r.stdout == SMALL.split(b"\r\n\r\n", 1)[1], r.stdout
    # a UID that does not exist: curl fails (the UID FETCH answers no data), and writes nothing
    r = curl(srv, "INBOX;UID=%d" % (u3 + 100))
    assert r.returncode != 0 and r.stdout == b"", (r.returncode, r.stdout[:200])
    # curl asks for BODY[] (not BODY.PEEK[]), which sets \Seen (RFC 9051 6.4.5)
    c = fclient(srv)
    st = c.status("INBOX", "MESSAGES UNSEEN")
    assert st["MESSAGES"] == 3, st
    assert st["UNSEEN"] == 1, "curl's UID FETCH BODY[] sets \\Seen on the two it read: %r" % st
    if os.environ.get("GANNET_VERBOSE"):
        print("curl fetched %d and %d bytes" % (len(SMALL), len(big)))
