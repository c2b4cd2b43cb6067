"""A stock client: Debian's curl (scripts/deps.sh installs it) lists the
mailboxes, runs LIST/STATUS/EXAMINE custom requests, uploads a message with
APPEND, and fails with a non-zero exit on a wrong password.  FETCH is not
built yet, so nothing here downloads a message."""

import os
import re
import subprocess

CURL = "/usr/bin/curl"
DEFAULT_MAILBOXES = {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}
SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk",
               "Archive": "\\Archive"}
CURLE_LOGIN_DENIED = 67

MESSAGE = (b"From: Bob <bob@example.org>\r\n"
           b"To: Alice <alice@example.org>\r\n"
           b"Subject: curl test\r\n"
           b"Date: Mon, 6 May 2024 10:00:00 +0000\r\n"
           b"Message-ID: <curl-test-1@example.org>\r\n"
           b"\r\n"
           b"Hello from curl.\r\n")


def curl(srv, path="", *args, user="alice:secret-pw", timeout=60):
    cmd = [CURL, "-s", "-S", "--max-time", "40", "imap://127.0.0.1:%d/%s" % (srv.port, path), "-u", user, *args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


def list_lines(out):
    """{name: set of attributes} from untagged LIST lines."""
    boxes = {}
    for ln in out.splitlines():
        m = re.match(rb'^\* LIST \(([^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.*?)\r?$', ln)
        if not m:
            continue
        name = m.group(2)
        if name.startswith(b'"'):
            name = re.sub(rb'\\(.)', rb"\1", name[1:-1])
        boxes[name.decode()] = set(a.decode() for a in m.group(1).split())
    return boxes


def append_with_imaplib(srv, data=MESSAGE):
    c = srv.imap()
    typ, resp = c.append("INBOX", None, None, data)
    assert typ == "OK", resp
    c.logout()


def status(srv, mailbox, items):
    c = srv.imap()
    typ, resp = c.status(mailbox, "(%s)" % items)
    c.logout()
    assert typ == "OK", resp
    m = re.search(rb"\(([^)]*)\)", resp[0])
    words = m.group(1).split()
    return {words[i].decode(): int(words[i + 1]) for i in range(0, len(words), 2)}


def test_curl_lists_mailboxes(srv):
    r = curl(srv)
    assert r.returncode == 0, (r.returncode, r.stderr)
    boxes = list_lines(r.stdout)
    assert set(boxes) == DEFAULT_MAILBOXES, r.stdout
    for name, flag in SPECIAL_USE.items():
        assert flag in boxes[name], (name, boxes[name])
    for name in DEFAULT_MAILBOXES:
        assert "\\HasNoChildren" in boxes[name], (name, boxes[name])
    # every line curl passed through is a LIST response, nothing else
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == len(DEFAULT_MAILBOXES), r.stdout


def test_curl_lists_created_folders(srv):
    c = srv.imap()
    for name in ("Work", "Work/Projects", "Lists"):
        typ, resp = c.create(name)
        assert typ == "OK", (name, resp)
    c.logout()
    r = curl(srv)
    assert r.returncode == 0, (r.returncode, r.stderr)
    boxes = list_lines(r.stdout)
    assert set(boxes) == DEFAULT_MAILBOXES | {"Work", "Work/Projects", "Lists"}, r.stdout
    assert "\\HasChildren" in boxes["Work"], boxes["Work"]
    assert "\\HasNoChildren" in boxes["Work/Projects"], boxes["Work/Projects"]
    assert "\\HasNoChildren" in boxes["Lists"], boxes["Lists"]
    # a custom LIST with the % wildcard stops at the hierarchy separator
    r = curl(srv, "", "-X", 'LIST "" %')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert set(list_lines(r.stdout)) == DEFAULT_MAILBOXES | {"Work", "Lists"}, r.stdout
    r = curl(srv, "", "-X", 'LIST "Work/" *')
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert set(list_lines(r.stdout)) == {"Work/Projects"}, r.stdout


def test_curl_status_and_examine(srv):
    append_with_imaplib(srv)
    st = status(srv, "INBOX", "MESSAGES UIDNEXT UIDVALIDITY")
    assert st["MESSAGES"] == 1 and st["UIDNEXT"] == 2, st
    r = curl(srv, "", "-X", "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY)")
    assert r.returncode == 0, (r.returncode, r.stderr)
    m = re.search(rb"^\* STATUS \"?INBOX\"? \(([^)]*)\)\r?$", r.stdout, re.M)
    assert m, r.stdout
    words = m.group(1).split()
    got = {words[i].decode(): int(words[i + 1]) for i in range(0, len(words), 2)}
    assert got == st, (got, st)

    r = curl(srv, "", "-v", "-X", "EXAMINE INBOX")
    assert r.returncode == 0, (r.returncode, r.stderr)
    out = r.stdout
    assert re.search(rb"^\* 1 EXISTS\r?$", out, re.M), out
    assert re.search(rb"^\* OK \[UIDVALIDITY %d\]" % st["UIDVALIDITY"], out, re.M), out
    assert re.search(rb"^\* OK \[UIDNEXT 2\]", out, re.M), out
    assert re.search(rb"^\* FLAGS \(", out, re.M), out
    # the tagged completion (curl -v shows it) says READ-ONLY
    assert re.search(rb"^< \S+ OK \[READ-ONLY\]", r.stderr, re.M), r.stderr
    # EXAMINE changed nothing
    assert status(srv, "INBOX", "MESSAGES UIDNEXT UIDVALIDITY") == st

    # a URL with a mailbox makes curl SELECT it first, then run the request
    r = curl(srv, "INBOX", "-v", "-X", "STATUS Sent (MESSAGES)")
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert re.search(rb"^> \S+ SELECT INBOX\r?$", r.stderr, re.M), r.stderr
    assert re.search(rb"^\* STATUS \"?Sent\"? \(MESSAGES 0\)\r?$", r.stdout, re.M), r.stdout


def test_curl_upload_appends(srv):
    path = os.path.join(srv.dir, "message.eml")
    with open(path, "wb") as f:
        f.write(MESSAGE)
    r = curl(srv, "Sent", "-T", path)
    assert r.returncode == 0, (r.returncode, r.stderr)
    st = status(srv, "Sent", "MESSAGES UIDNEXT")
    assert st == {"MESSAGES": 1, "UIDNEXT": 2}, st
    # the Maildir file holds exactly the uploaded bytes
    found = []
    folder = os.path.join(srv.maildir(), ".Sent")
    for sub in ("new", "cur"):
        d = os.path.join(folder, sub)
        for name in os.listdir(d) if os.path.isdir(d) else []:
            with open(os.path.join(d, name), "rb") as f:
                found.append(f.read())
    assert found == [MESSAGE], found


def test_curl_wrong_password(srv):
    r = curl(srv, "", user="alice:wrong-pw")
    assert r.returncode == CURLE_LOGIN_DENIED, (r.returncode, r.stdout, r.stderr)
    assert b"* LIST" not in r.stdout, r.stdout
    r = curl(srv, "", "--login-options", "AUTH=PLAIN", user="alice:wrong-pw")
    assert r.returncode == CURLE_LOGIN_DENIED, (r.returncode, r.stdout, r.stderr)
    r = curl(srv, "", user="nobody:secret-pw")
    assert r.returncode == CURLE_LOGIN_DENIED, (r.returncode, r.stdout, r.stderr)
    # and the right password still works, with curl's choice and with SASL PLAIN
    # (curl 7.88 cannot be told to use LOGIN while AUTH=PLAIN is advertised)
    for opts in ([], ["--login-options", "AUTH=PLAIN"]):
        r = curl(srv, "", *opts)
        assert r.returncode == 0, (opts, r.returncode, r.stderr)
        assert set(list_lines(r.stdout)) == DEFAULT_MAILBOXES, (opts, r.stdout)
