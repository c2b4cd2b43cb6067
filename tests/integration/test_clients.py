"""Real third-party IMAP clients against a running Gannet (issue 8).

Each test starts a server with TLS (harness.Server(tls=True): a self-signed
certificate for localhost and 127.0.0.1), appends the same corpus (plain
text, an RFC 2047 encoded-word subject and sender, multipart messages with
attachments, a forwarded message/rfc822, one message over 160 KB, mixed
flags) and runs a client installed from Debian (scripts/deps.sh) with a
private HOME and configuration, over plain IMAP, implicit TLS and STARTTLS,
trusting only the generated certificate. Clients that check the
certificate's DNS name connect to "localhost" (127.0.0.1 in /etc/hosts;
curl and fetchmail are pinned to 127.0.0.1 explicitly); the others to
127.0.0.1.

- curl: LIST and every message by UID, byte for byte, over imaps:// and
  STARTTLS, and refusal without the certificate (test_curl.py and
  test_curl_fetch.py cover curl over plain IMAP).
- mbsync (isync): two-way sync into a Maildir (every message, its flags);
  local flag changes, a local new message, a trashed and a deleted message,
  a server-side flag and delivery, all synced both ways; then a run that
  does nothing (no STORE/APPEND/EXPUNGE/body FETCH, both sides unchanged).
- offlineimap3: sync, then flags set and cleared on either side reach the
  other, a local deletion is expunged and a local 150 KB message uploaded.
- fetchmail: everything retrieved with keep into an MDA that writes files;
  the server keeps every message; a second run finds nothing new.
- neomutt in tmux: the index shows every subject, decoded, in date order;
  a message appended meanwhile appears (IDLE); q quits cleanly.

Every client runs under a subprocess timeout; nothing leaves 127.0.0.1."""

import base64
import contextlib
import email
import email.parser
import email.policy
import os
import pwd
import random
import re
import shutil
import subprocess
import time

import harness

TIMEOUT = 30  # seconds: bound on any one client run

CURL = shutil.which("curl") or "/usr/bin/curl"
MBSYNC = shutil.which("mbsync") or "/usr/bin/mbsync"
OFFLINEIMAP = shutil.which("offlineimap") or "/usr/bin/offlineimap"
FETCHMAIL = shutil.which("fetchmail") or "/usr/bin/fetchmail"
NEOMUTT = shutil.which("neomutt") or "/usr/bin/neomutt"
TMUX = shutil.which("tmux") or "/usr/bin/tmux"


# ---------------------------------------------------------------- the corpus

def _b64_lines(data):
    enc = base64.b64encode(data)
    return b"".join(enc[i:i + 76] + b"\r\n" for i in range(0, len(enc), 76))


def _blob(seed, n):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


def corpus():
    """[(subject as displayed, flags appended with, message bytes)]. CRLF line
    ends throughout, as IMAP carries them."""
    msgs = []

    def add(subject_shown, flags, headers, body):
        head = b"".join(h + b"\r\n" for h in headers)
        msgs.append((subject_shown, flags, head + b"\r\n" + body))

    add("Plain hello", "",
        [b"From: Bob Example <bob@example.org>", b"To: Alice <alice@example.org>",
         b"Subject: Plain hello", b"Date: Mon, 6 May 2024 10:00:00 +0000",
         b"Message-ID: <clients-1@example.org>"],
        b"Hello Alice,\r\n\r\njust a short plain message.\r\nTrailing spaces stay   \r\n\r\n-- \r\nBob\r\n")

    add("Grüße aus Köln", "\\Seen",
        [b"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>", b"To: alice@example.org",
         b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", b"Date: Tue, 7 May 2024 11:30:00 +0200",
         b"Message-ID: <clients-2@example.de>", b"MIME-Version: 1.0",
         b"Content-Type: text/plain; charset=UTF-8", b"Content-Transfer-Encoding: quoted-printable"],
        b"Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus K=C3=B6ln!\r\n")

    pdf = b"%PDF-1.4\n" + _blob(3, 20000) + b"\n%%EOF\n"
    add("Report with attachment", "\\Flagged",
        [b"From: Carol <carol@example.net>", b"To: alice@example.org",
         b"Subject: Report with attachment", b"Date: Wed, 8 May 2024 09:15:00 +0000",
         b"Message-ID: <clients-3@example.net>", b"MIME-Version: 1.0",
         b'Content-Type: multipart/mixed; boundary="=-=-=outer"'],
        b"This is a multi-part message in MIME format.\r\n"
        b"--=-=-=outer\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"The report is attached.\r\n"
        b"--=-=-=outer\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
        b"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64_lines(pdf) +
        b"--=-=-=outer--\r\n")

    big = _blob(4, 120 * 1024)
    add("Big photo archive", "",
        [b"From: Dave <dave@example.com>", b"To: alice@example.org",
         b"Subject: Big photo archive", b"Date: Thu, 9 May 2024 18:45:00 -0700",
         b"Message-ID: <clients-4@example.com>", b"MIME-Version: 1.0",
         b'Content-Type: multipart/mixed; boundary="b1"'],
        b"--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
        b"--b2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Photos from the trip — enjoy.\r\n".encode() +
        b"--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>Photos from the trip &mdash; enjoy.</p></body></html>\r\n"
        b"--b2--\r\n"
        b"--b1\r\nContent-Type: image/jpeg; name=photos.jpg\r\n"
        b"Content-Disposition: attachment; filename=photos.jpg\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64_lines(big) +
        b"--b1--\r\n")

    add("Fwd: meeting notes", "\\Seen \\Answered",
        [b"From: Erin <erin@example.org>", b"To: alice@example.org",
         b"Subject: Fwd: meeting notes", b"Date: Fri, 10 May 2024 08:00:00 +0000",
         b"Message-ID: <clients-5@example.org>", b"MIME-Version: 1.0",
         b'Content-Type: multipart/mixed; boundary="fw"'],
        b"--fw\r\nContent-Type: text/plain\r\n\r\nForwarding the notes.\r\n"
        b"--fw\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: Frank <frank@example.org>\r\nSubject: meeting notes\r\n"
        b"Date: Thu, 9 May 2024 16:00:00 +0000\r\n\r\n"
        b"1. budget\r\n2. timeline\r\n"
        b"--fw--\r\n")

    add("Numbers in a long line", "",
        [b"From: Grace <grace@example.org>", b"To: alice@example.org",
         b"Subject: Numbers in a long line", b"Date: Sat, 11 May 2024 12:00:00 +0000",
         b"Message-ID: <clients-6@example.org>"],
        b" ".join(str(i).encode() for i in range(1500)) + b"\r\n")
    return msgs


CORPUS = corpus()
SUBJECTS = [s for s, _, _ in CORPUS]


def append_corpus(srv):
    """Appends CORPUS to INBOX; returns the UIDs in order."""
    c = srv.imap()
    uids = []
    for _, flags, data in CORPUS:
        typ, resp = c.append("INBOX", "(%s)" % flags if flags else None, None, data)
        assert typ == "OK", resp
        m = re.search(rb"\[APPENDUID \d+ (\d+)\]", resp[0])
        assert m, resp
        uids.append(int(m.group(1)))
    c.logout()
    return uids


# ------------------------------------------------------------------ helpers

@contextlib.contextmanager
def corpus_server():
    """A TLS-enabled server with CORPUS appended: yields (srv, uids). Fails
    the test if the server printed a sanitizer report."""
    with harness.serving(tls=True) as srv:
        yield srv, append_corpus(srv)


def need(path, package):
    assert os.access(path, os.X_OK), "%s is missing: install the Debian package %s (scripts/deps.sh)" % (
        path, package)


def workdir(srv, name):
    """A private directory (the client's HOME and config) inside the
    server's temporary directory, removed with it."""
    d = os.path.join(srv.dir, name)
    os.mkdir(d, 0o700)
    return d


def run(cmd, home, timeout=TIMEOUT, **kw):
    """Runs a client with HOME=home and nothing else of the caller's
    environment but PATH; no stdin; returns CompletedProcess."""
    env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "TMPDIR": home}
    env.update(kw.pop("env", {}))
    return subprocess.run(cmd, env=env, cwd=home, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, **kw)


def show(p):
    """A client's exit code and the tail of its output, for assertion messages."""
    out = (p.stdout + b"\n" + p.stderr).decode("utf-8", "replace")
    return "exit %d\n%s" % (p.returncode, out[-3000:])


def server_state(srv):
    """{uid: (flags without \\Recent, message bytes)} of INBOX, and
    (UIDVALIDITY, UIDNEXT), read with imaplib (BODY.PEEK: no flag changes)."""
    c = srv.imap()
    typ, data = c.status("INBOX", "(UIDVALIDITY UIDNEXT)")
    assert typ == "OK", data
    st = tuple(int(re.search(rb"%s (\d+)" % k, data[0]).group(1)) for k in (b"UIDVALIDITY", b"UIDNEXT"))
    typ, data = c.select("INBOX", readonly=True)
    assert typ == "OK", data
    msgs = {}
    if int(data[0]):
        typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert typ == "OK", data
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
                msgs[uid] = (frozenset(f for f in flags if f != "\\Recent"), item[1])
    c.logout()
    return msgs, st


def imap_flags(flags):
    return frozenset(flags.split())


MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def maildir_flags(info):
    """The IMAP flags a Maildir file name's ':2,' part stands for."""
    return frozenset(MAILDIR_FLAGS[ch] for ch in info if ch in MAILDIR_FLAGS)


def maildir_files(folder):
    """{file name: (subdir, bytes)} for every message in a Maildir folder."""
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(folder, sub)
        for name in os.listdir(d) if os.path.isdir(d) else []:
            with open(os.path.join(d, name), "rb") as f:
                out[name] = (sub, f.read())
    return out


def snapshot(top):
    """Every file under top (relative path -> bytes): what "unchanged" means."""
    out = {}
    for dirpath, _, names in os.walk(top):
        for n in names:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, top)] = f.read()
    return out


def lf(data):
    """Line ends as a Unix client writes them."""
    return data.replace(b"\r\n", b"\n")


def strip_header(data, name):
    """data without the header field `name` (and its continuation lines);
    line ends untouched."""
    crlf = data.find(b"\r\n\r\n")
    end = crlf + 2 if crlf >= 0 else data.find(b"\n\n") + 1  # just after the last field's line end
    head, rest = data[:end], data[end:]
    out, skip = [], False
    for ln in re.split(rb"(?<=\n)", head):
        if ln[:1] in (b" ", b"\t") and skip:
            continue
        skip = ln.lower().startswith(name.lower() + b":")
        if not skip:
            out.append(ln)
    return b"".join(out) + rest


def same_message(got, want, drop=()):
    """got (as a client stored it) is want modulo CRLF/LF and the header
    fields the client adds (drop)."""
    for name in drop:
        got = strip_header(got, name)
    return lf(got) == lf(want)


def first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


# --------------------------------------------------------------------- curl

def curl(url, port, home, *args):
    """curl on url (host localhost, the certificate's name), which --resolve
    pins to 127.0.0.1:port whatever the system's resolver says."""
    return run([CURL, "-s", "-S", "--max-time", str(TIMEOUT - 5), "--resolve", "localhost:%d:127.0.0.1" % port,
                url, "-u", "%s:%s" % (harness.USER, harness.PASSWORD), *args], home)


def test_curl_over_tls():
    """curl over implicit TLS (imaps://) and STARTTLS (--ssl-reqd), trusting
    the test certificate: LIST, and every message by UID byte for byte (the
    plain-IMAP cases are in test_curl.py and test_curl_fetch.py). Without the
    certificate curl refuses the server, so verification really happens."""
    need(CURL, "curl")
    with corpus_server() as (srv, uids):
        home = workdir(srv, "curl")
        imaps = "imaps://localhost:%d/" % srv.tls_port
        starttls = "imap://localhost:%d/" % srv.port
        for base, port, extra in ((imaps, srv.tls_port, []), (starttls, srv.port, ["--ssl-reqd"])):
            p = curl(base, port, home, "--cacert", srv.cert, *extra)
            assert p.returncode == 0, show(p)
            names = re.findall(rb'^\* LIST \([^)]*\) "/" "?([^"\r\n]*)"?\r?$', p.stdout, re.M)
            assert set(names) == {b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk", b"Archive"}, p.stdout
        for base, port, extra in ((imaps, srv.tls_port, []), (starttls, srv.port, ["--ssl-reqd"])):
            for uid, (subject, _, data) in zip(uids, CORPUS):
                p = curl(base + "INBOX;UID=%d" % uid, port, home, "--cacert", srv.cert, *extra)
                assert p.returncode == 0, (subject, show(p))
                assert p.stdout == data, "%s over %s: %d bytes, %d appended, first difference at %d" % (
                    subject, base, len(p.stdout), len(data), first_difference(p.stdout, data))
        # the STARTTLS exchange really happened, and no password went before it
        p = curl(starttls, srv.port, home, "--cacert", srv.cert, "--ssl-reqd", "-v")
        assert p.returncode == 0, show(p)
        log = p.stderr.decode("utf-8", "replace")
        assert re.search(r"^> \S+ STARTTLS", log, re.M), log
        assert log.index("STARTTLS") < log.index("AUTHENTICATE" if "AUTHENTICATE" in log else "LOGIN"), log
        # no --cacert: the self-signed certificate is not trusted (CURLE_PEER_FAILED_VERIFICATION)
        for base, port, extra in ((imaps, srv.tls_port, []), (starttls, srv.port, ["--ssl-reqd"])):
            p = curl(base, port, home, *extra)
            assert p.returncode == 60, show(p)
            assert b"* LIST" not in p.stdout


# ------------------------------------------------------------ mbsync (isync)

def mbsync_config(srv, home, transport):
    """An mbsync configuration: far side Gannet's INBOX over transport
    (plain, imaps, starttls), near side the Maildir home/mail/INBOX, both
    ways, expunging both sides, state kept beside the mail."""
    if transport == "plain":
        host, port, tls = "127.0.0.1", srv.port, "SSLType None"
    else:
        # mbsync checks the certificate's DNS names, so the host is localhost
        # (127.0.0.1 in /etc/hosts); the certificate is the only one trusted
        host, port = "localhost", srv.tls_port if transport == "imaps" else srv.port
        tls = "SSLType %s\nCertificateFile %s" % ("IMAPS" if transport == "imaps" else "STARTTLS", srv.cert)
    mail = os.path.join(home, "mail")
    os.mkdir(mail)
    rc = os.path.join(home, "mbsyncrc")
    with open(rc, "w") as f:
        f.write("IMAPAccount gannet\nHost %s\nPort %d\nUser %s\nPass %s\n%s\nTimeout 10\n\n"
                "IMAPStore remote\nAccount gannet\n\n"
                "MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
                "Channel c\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Both\nExpunge Both\n"
                "SyncState *\nSync All\n" % (host, port, harness.USER, harness.PASSWORD, tls, mail, mail))
    return rc, os.path.join(mail, "INBOX")


def mbsync(rc, home):
    """One mbsync run with the IMAP traffic logged (-Dn); asserts it succeeded."""
    p = run([MBSYNC, "-c", rc, "-a", "-Dn"], home)
    assert p.returncode == 0, show(p)
    err = p.stderr.decode("utf-8", "replace")
    assert "Error" not in err and "Warning" not in err, err[-3000:]
    return p.stdout.decode("utf-8", "replace")


def mbsync_local(inbox):
    """{mbsync UID: (file name, flags, bytes)} from the near-side Maildir; a
    file without ',U=' (not yet synced) is under None."""
    out = {}
    for name, (_, data) in maildir_files(inbox).items():
        m = re.search(r",U=(\d+)", name)
        info = name.split(":2,", 1)[1] if ":2," in name else ""
        key = int(m.group(1)) if m else None
        assert key not in out, (name, out.get(key))
        out[key] = (name, maildir_flags(info), data)
    return out


def rename_flags(inbox, name, info):
    """Gives the Maildir file `name` the flags `info` (moving it to cur/), as
    a mail reader does."""
    for sub in ("new", "cur"):
        p = os.path.join(inbox, sub, name)
        if os.path.exists(p):
            os.rename(p, os.path.join(inbox, "cur", name.split(":2,")[0] + ":2," + info))
            return
    raise AssertionError("no file " + name)


LOCAL_NEW = (b"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: written offline\n"
             b"Date: Sun, 12 May 2024 07:00:00 +0000\nMessage-ID: <clients-local@example.org>\n\n"
             b"Drafted on the train, synced later.\n")
SERVER_NEW = (b"From: Heidi <heidi@example.org>\r\nTo: alice@example.org\r\nSubject: arrived meanwhile\r\n"
              b"Date: Sun, 12 May 2024 08:00:00 +0000\r\nMessage-ID: <clients-server@example.org>\r\n\r\n"
              b"Delivered while the laptop was offline.\r\n")


def server_store(srv, uid, op, flags):
    c = srv.imap()
    c.select("INBOX")
    typ, data = c.uid("STORE", str(uid), op, "(%s)" % flags)
    assert typ == "OK", data
    c.logout()


def server_append(srv, data):
    c = srv.imap()
    typ, data = c.append("INBOX", None, None, data)
    assert typ == "OK", data
    c.logout()
    return int(re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0]).group(1))


def mbsync_round_trip(transport):
    """Sync down, change both sides, sync (both ways), sync again (nothing)."""
    need(MBSYNC, "isync")
    with corpus_server() as (srv, uids):
        home = workdir(srv, "mbsync-" + transport)
        rc, inbox = mbsync_config(srv, home, transport)
        before, _ = server_state(srv)

        # 1. the first run copies every message down, with its flags
        log = mbsync(rc, home)
        if transport != "plain":
            assert "Connection is now encrypted" in log, log[-3000:]
        local = mbsync_local(inbox)
        assert sorted(local) == uids, (sorted(local), uids)
        for uid, (subject, flags, data) in zip(uids, CORPUS):
            name, lflags, got = local[uid]
            assert same_message(got, data, drop=[b"X-TUID"]), (
                "%s: local copy differs (at %d)" % (
                    subject, first_difference(lf(strip_header(got, b"X-TUID")), lf(data))))
            assert lflags == imap_flags(flags), (subject, name, flags)
        assert server_state(srv)[0] == before, "mbsync's download changed the server"

        # 2. changes on both sides: locally one message read, one flagged, one
        # trashed, one file deleted and one new message; on the server one
        # message flagged and one delivered
        u_plain, u_umlaut, u_report, u_big, u_fwd, u_numbers = uids
        rename_flags(inbox, local[u_plain][0], "S")
        rename_flags(inbox, local[u_numbers][0], "F")
        rename_flags(inbox, local[u_fwd][0], "RST")
        os.unlink(os.path.join(inbox, "cur", local[u_umlaut][0]))
        with open(os.path.join(inbox, "new", "1715497200.local.host"), "wb") as f:
            f.write(LOCAL_NEW)
        server_store(srv, u_big, "+FLAGS", "\\Flagged")
        u_server_new = server_append(srv, SERVER_NEW)
        mbsync(rc, home)

        msgs, _ = server_state(srv)
        pushed = [u for u in msgs if u not in uids and u != u_server_new]
        assert len(pushed) == 1, ("the local new message did not arrive once", sorted(msgs))
        u_pushed = pushed[0]
        assert sorted(msgs) == sorted([u_plain, u_report, u_big, u_numbers, u_server_new, u_pushed]), (
            "deleted/trashed messages not expunged on the server", sorted(msgs))
        want = {u_plain: {"\\Seen"}, u_report: {"\\Flagged"}, u_big: {"\\Flagged"},
                u_numbers: {"\\Flagged"}, u_server_new: set(), u_pushed: set()}
        assert {u: set(f) for u, (f, _) in msgs.items()} == want
        assert same_message(msgs[u_pushed][1], LOCAL_NEW, drop=[b"X-TUID"]), msgs[u_pushed][1]
        assert b"\r\n" in msgs[u_pushed][1] and b"\n" not in msgs[u_pushed][1].replace(b"\r\n", b"")
        for u in (u_plain, u_report, u_big, u_numbers):
            assert msgs[u][1] == before[u][1], "content of UID %d changed" % u

        local = mbsync_local(inbox)
        assert None not in local, "the new local message was not given a UID"
        assert len(local) == 6, sorted(n for n, _, _ in local.values())
        by_id = {re.search(rb"Message-ID: (<[^>]*>)", d).group(1): (n, f, d) for n, f, d in local.values()}
        assert set(by_id) == {b"<clients-1@example.org>", b"<clients-3@example.net>", b"<clients-4@example.com>",
                              b"<clients-6@example.org>", b"<clients-local@example.org>",
                              b"<clients-server@example.org>"}, sorted(by_id)
        assert by_id[b"<clients-4@example.com>"][1] == {"\\Flagged"}, "server flag not pulled down"
        assert same_message(by_id[b"<clients-server@example.org>"][2], SERVER_NEW, drop=[b"X-TUID"])

        # 3. a run with nothing to do: no STORE, APPEND, EXPUNGE or body FETCH,
        # and neither side changes
        server_before, local_before = server_state(srv), snapshot(inbox)
        log = mbsync(rc, home)
        busy = re.findall(r">>> \d+ (UID STORE.*|APPEND.*|EXPUNGE|UID EXPUNGE.*|UID FETCH \S+ \(BODY.*)", log)
        assert not busy, busy
        assert re.search(r"^far side: 6 messages, 0 recent$", log, re.M), log[-3000:]
        assert re.search(r"^near side: 6 messages", log, re.M), log[-3000:]
        assert server_state(srv) == server_before
        assert snapshot(inbox) == local_before


def test_mbsync_plain():
    mbsync_round_trip("plain")


def test_mbsync_imaps():
    mbsync_round_trip("imaps")


def test_mbsync_starttls():
    mbsync_round_trip("starttls")


# ------------------------------------------------------------- offlineimap3

def offlineimap_config(srv, home, transport):
    if transport == "plain":
        remote = "remotehost = 127.0.0.1\nremoteport = %d\nssl = no\nstarttls = no\n" % srv.port
    else:
        # offlineimap checks the certificate's names: localhost (127.0.0.1 in /etc/hosts)
        remote = "remotehost = localhost\nremoteport = %d\nssl = %s\nstarttls = %s\nsslcacertfile = %s\n" % (
            srv.tls_port if transport == "imaps" else srv.port, "yes" if transport == "imaps" else "no",
            "no" if transport == "imaps" else "yes", srv.cert)
    rc = os.path.join(home, "offlineimaprc")
    with open(rc, "w") as f:
        f.write("[general]\naccounts = test\nmetadata = %s/meta\n\n"
                "[Account test]\nlocalrepository = local\nremoterepository = remote\n\n"
                "[Repository local]\ntype = Maildir\nlocalfolders = %s/mail\n\n"
                "[Repository remote]\ntype = IMAP\n%sremoteuser = %s\nremotepass = %s\n"
                "folderfilter = lambda f: f == 'INBOX'\n"
                % (home, home, remote, harness.USER, harness.PASSWORD))
    return rc, os.path.join(home, "mail", "INBOX")


def offlineimap(rc, home):
    p = run([OFFLINEIMAP, "-c", rc, "-o", "-u", "basic"], home)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    assert p.returncode == 0, show(p)
    assert "ERROR" not in out and "Traceback" not in out, out[-3000:]
    return out


def offlineimap_form(data):
    """What offlineimap3 stores for a message it FETCHed as data: it parses
    every message with Python's email package and writes it out again
    (folder/IMAP.py and folder/Maildir.py: BytesParser with an 8-bit policy,
    as_bytes with LF line ends), which, for one, puts a blank line between a
    part's closing boundary and the next boundary. The bytes it got from the
    server are therefore compared through the same regeneration."""
    rfc = email.policy.default.clone(cte_type="8bit", utf8=True, refold_source="none", linesep="\r\n")
    out = email.policy.default.clone(cte_type="8bit", utf8=True, refold_source="none")
    return email.parser.BytesParser(policy=rfc).parsebytes(data).as_bytes(policy=out)


def offlineimap_local(inbox):
    """{server UID: (file name, flags, bytes)} from offlineimap's Maildir."""
    out = {}
    for name, (_, data) in maildir_files(inbox).items():
        uid = int(re.search(r",U=(\d+)", name).group(1))
        out[uid] = (name, maildir_flags(name.split(":2,", 1)[1] if ":2," in name else ""), data)
    return out


def offlineimap_round_trip(transport):
    """Sync down; then a flag set and one cleared locally reach the server,
    and a flag set and one cleared on the server reach the Maildir; a file
    deleted locally is expunged on the server and a new local one (150 KB)
    is uploaded."""
    need(OFFLINEIMAP, "offlineimap3")
    with corpus_server() as (srv, uids):
        home = workdir(srv, "offlineimap-" + transport)
        rc, inbox = offlineimap_config(srv, home, transport)
        before, _ = server_state(srv)
        out = offlineimap(rc, home)
        local = offlineimap_local(inbox)
        assert sorted(local) == uids, (sorted(local), out[-2000:])
        for uid, (subject, flags, data) in zip(uids, CORPUS):
            name, lflags, got = local[uid]
            want = offlineimap_form(data)
            assert got == want, "%s: local copy differs (at %d)" % (subject, first_difference(got, want))
            assert lflags == imap_flags(flags), (subject, name, flags)
        assert server_state(srv)[0] == before, "offlineimap's download changed the server"

        u_plain, u_umlaut, u_report, u_big, u_fwd, u_numbers = uids
        # local: Plain hello read, Report no longer flagged
        rename_flags(inbox, local[u_plain][0], "S")
        rename_flags(inbox, local[u_report][0], "")
        # server: Big photo archive flagged, the umlaut message unread again
        server_store(srv, u_big, "+FLAGS", "\\Flagged")
        server_store(srv, u_umlaut, "-FLAGS", "\\Seen")
        # local: the forwarded message deleted, a large new one written
        os.unlink(os.path.join(inbox, "cur", local[u_fwd][0]))
        big_new = LOCAL_NEW + b"".join(b"%06d %s\n" % (i, b"z" * 70) for i in range(2000))
        with open(os.path.join(inbox, "new", "1715497200.local.host"), "wb") as f:
            f.write(big_new)
        offlineimap(rc, home)

        msgs, _ = server_state(srv)
        kept = [u_plain, u_umlaut, u_report, u_big, u_numbers]
        new = sorted(set(msgs) - set(uids))
        assert len(new) == 1 and sorted(msgs) == kept + new, ("want %r and one new" % kept, sorted(msgs))
        assert msgs[new[0]][1] == big_new.replace(b"\n", b"\r\n"), "the uploaded message differs"
        got = {u: set(f) for u, (f, _) in msgs.items()}
        assert got == {u_plain: {"\\Seen"}, u_umlaut: set(), u_report: set(), u_big: {"\\Flagged"},
                       u_numbers: set(), new[0]: set()}, got
        assert all(msgs[u][1] == before[u][1] for u in kept), "a message's content changed"
        local = offlineimap_local(inbox)
        assert sorted(local) == kept + new, sorted(local)
        assert {u: set(f) for u, (_, f, _) in local.items()} == got, local
        assert all(local[u][2] == offlineimap_form(before[u][1]) for u in kept)


def test_offlineimap_plain():
    offlineimap_round_trip("plain")


def test_offlineimap_imaps():
    offlineimap_round_trip("imaps")


def test_offlineimap_starttls():
    offlineimap_round_trip("starttls")


# ---------------------------------------------------------------- fetchmail

MDA = """#!/bin/sh
# fetchmail's MDA: each message it hands over goes to a file of its own
set -e
cat > "$(mktemp %s/msg.XXXXXX)"
"""


def fetchmail_config(srv, home, transport):
    out = os.path.join(home, "out")
    os.mkdir(out)
    mda = os.path.join(home, "mda")
    with open(mda, "w") as f:
        f.write(MDA % out)
    os.chmod(mda, 0o700)
    if transport == "plain":
        port, tls = srv.port, 'sslproto ""'  # no opportunistic STARTTLS
    else:
        # `via` makes fetchmail connect to 127.0.0.1, sslcommonname is the
        # name the certificate must carry; sslproto without ssl is STARTTLS
        port = srv.tls_port if transport == "imaps" else srv.port
        tls = '%s sslcertck sslcertfile "%s" sslcommonname localhost' % (
            "ssl" if transport == "imaps" else 'sslproto "tls1.2+"', srv.cert)
    rc = os.path.join(home, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('set no syslog\n'
                'poll localhost via 127.0.0.1 service %d protocol IMAP auth password timeout %d\n'
                '  user "%s" there with password "%s" is "%s" here\n'
                '  folder INBOX\n  keep no rewrite\n  %s\n  mda "%s"\n'
                % (port, TIMEOUT - 10, harness.USER, harness.PASSWORD, pwd.getpwuid(os.getuid()).pw_name, tls, mda))
    os.chmod(rc, 0o600)  # fetchmail refuses a readable rc file with passwords in it
    return rc, out


def fetchmail(rc, home, *args):
    return run([FETCHMAIL, "-f", rc, "-N", "-v", "--pidfile", os.path.join(home, "pid"),
                "-i", os.path.join(home, "ids"), *args], home)


def fetchmail_keep(transport):
    """fetchmail --all with keep: every message reaches the MDA as it was
    appended (modulo LF line ends and the Received: field fetchmail adds),
    the server keeps all of them (now \\Seen), and a second run without --all
    finds nothing new."""
    need(FETCHMAIL, "fetchmail")
    with corpus_server() as (srv, uids):
        home = workdir(srv, "fetchmail-" + transport)
        rc, out = fetchmail_config(srv, home, transport)
        before, _ = server_state(srv)
        p = fetchmail(rc, home, "--all")
        assert p.returncode == 0, show(p)  # 0: mail was retrieved
        log = (p.stdout + p.stderr).decode("utf-8", "replace")
        assert ("SSL/TLS: using protocol" in log) == (transport != "plain"), log[-3000:]
        assert bool(re.search(r"IMAP> A\d+ STARTTLS", log)) == (transport == "starttls"), log[-3000:]
        assert "%d messages for %s" % (len(CORPUS), harness.USER) in log, log[-3000:]

        got = {}
        for name in os.listdir(out):
            with open(os.path.join(out, name), "rb") as f:
                data = f.read()
            mid = re.search(rb"^Message-ID: (<[^>]*>)", data, re.M | re.I).group(1)
            assert mid not in got, "delivered twice: %r" % mid
            assert data.startswith(b"Received: from 127.0.0.1"), data[:200]
            got[mid] = strip_header(data, b"Received")
        assert len(got) == len(CORPUS), sorted(got)
        for subject, _, data in CORPUS:
            mid = re.search(rb"^Message-ID: (<[^>]*>)", data, re.M).group(1)
            assert lf(data) == got[mid], "%s: delivered copy differs (at %d)" % (
                subject, first_difference(got[mid], lf(data)))

        msgs, _ = server_state(srv)
        assert sorted(msgs) == uids, "keep: the server lost messages: %r" % sorted(msgs)
        for u in uids:
            assert msgs[u][1] == before[u][1], "UID %d changed" % u
            assert msgs[u][0] == before[u][0] | {"\\Seen"}, (u, msgs[u][0], before[u][0])

        p = fetchmail(rc, home)
        assert p.returncode == 1, show(p)  # 1: no new mail
        assert len(os.listdir(out)) == len(CORPUS)
        assert sorted(server_state(srv)[0]) == uids


def test_fetchmail_plain():
    fetchmail_keep("plain")


def test_fetchmail_imaps():
    fetchmail_keep("imaps")


def test_fetchmail_starttls():
    fetchmail_keep("starttls")


# -------------------------------------------------------- neomutt in tmux

MUTTRC = """set folder = "%(url)s"
set spoolfile = "+INBOX"
set imap_user = "%(user)s"
set imap_pass = "%(password)s"
set ssl_starttls = %(starttls)s
set ssl_force_tls = %(force_tls)s
set ssl_ca_certificates_file = "%(cert)s"
set certificate_file = "%(home)s/certificates"
set header_cache = ""
set message_cachedir = ""
set mailcap_path = ""
set record = ""
set postponed = ""
set sort = date
set index_format = "%%4C %%-20.20F %%s"
set quit = yes
set imap_idle = yes
set mail_check = 1
set timeout = 1
"""


def tmux(sock, *args, timeout=10):
    return subprocess.run([TMUX, "-S", sock, *args], capture_output=True, timeout=timeout,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                               "TERM": "xterm-256color", "HOME": os.path.dirname(sock)})


def neomutt_index(transport):
    """neomutt (private HOME, -n: no system muttrc) opens INBOX in a detached
    tmux pane; the captured screen must list every subject of the corpus,
    RFC 2047 decoded, in date order, and the status line the message count;
    a message appended meanwhile appears (neomutt waits in IDLE). `q` quits
    neomutt with exit code 0, and the server's messages and flags are as
    before but for neomutt's keyword Old."""
    need(NEOMUTT, "neomutt")
    need(TMUX, "tmux")
    with corpus_server() as (srv, uids):
        home = workdir(srv, "neomutt-" + transport)
        if transport == "plain":
            url = "imap://127.0.0.1:%d/" % srv.port
        elif transport == "imaps":
            url = "imaps://localhost:%d/" % srv.tls_port  # the certificate's name; 127.0.0.1 in /etc/hosts
        else:
            url = "imap://localhost:%d/" % srv.port
        rc = os.path.join(home, "muttrc")
        with open(rc, "w") as f:
            f.write(MUTTRC % {"url": url, "user": harness.USER, "password": harness.PASSWORD, "cert": srv.cert,
                              "home": home, "starttls": "yes" if transport == "starttls" else "no",
                              "force_tls": "no" if transport == "plain" else "yes"})
        before, _ = server_state(srv)
        sock = os.path.join(home, "tmux.sock")
        status = os.path.join(home, "exit-status")
        cmd = "HOME=%s %s -n -F %s; echo $? > %s; sleep 1" % (home, NEOMUTT, rc, status)
        p = tmux(sock, "-u", "-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "40", cmd)
        assert p.returncode == 0, p.stderr
        try:
            deadline = time.time() + TIMEOUT

            def screen_with(*texts):
                while True:
                    screen = tmux(sock, "capture-pane", "-p").stdout.decode("utf-8", "replace")
                    if all(x in screen for x in texts) or time.time() > deadline:
                        return screen
                    time.sleep(0.2)

            screen = screen_with("Msgs:%d" % len(CORPUS), *SUBJECTS)
            rows = [ln for ln in screen.splitlines() if re.match(r"^ +\d+ ", ln)]
            shown = [next((s for s in SUBJECTS if ln.rstrip().endswith(s)), ln) for ln in rows]
            assert shown == SUBJECTS, "neomutt's index:\n" + screen
            assert "Msgs:%d" % len(CORPUS) in screen, screen
            assert "Jürgen Müller" in screen, screen
            # a message delivered while neomutt waits (in IDLE) shows up
            time.sleep(1.5)
            u_new = server_append(srv, SERVER_NEW)
            screen = screen_with("arrived meanwhile", "Msgs:%d" % (len(CORPUS) + 1))
            assert "arrived meanwhile" in screen and "Msgs:%d" % (len(CORPUS) + 1) in screen, screen
            tmux(sock, "send-keys", "q")
            while time.time() < deadline and not os.path.exists(status):
                time.sleep(0.1)
            assert os.path.exists(status), "neomutt did not quit; screen:\n" + screen
            with open(status) as f:
                assert f.read().strip() == "0", "neomutt's exit status; screen:\n" + screen
        finally:
            tmux(sock, "kill-server")
        # leaving a mailbox, neomutt (mark_old) keeps "seen in the index but
        # not read" as the keyword Old on the unread messages; nothing else
        # may change
        after, _ = server_state(srv)
        assert sorted(after) == uids + [u_new], sorted(after)
        before[u_new] = (frozenset(), SERVER_NEW)
        for u in uids + [u_new]:
            want = before[u][0] | ({"Old"} if "\\Seen" not in before[u][0] else set())
            assert after[u] == (want, before[u][1]), (u, after[u][0], want)


def test_neomutt_plain():
    neomutt_index("plain")


def test_neomutt_imaps():
    neomutt_index("imaps")


def test_neomutt_starttls():
    neomutt_index("starttls")
