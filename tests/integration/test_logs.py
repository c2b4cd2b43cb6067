"""Logs (issue 8): one line per session event, key=value style.

    connect: from=ADDR:PORT port=LISTENPORT tls=yes|no
    starttls: from=ADDR:PORT
    login: user=U mech=LOGIN|PLAIN|PREAUTH from=ADDR:PORT
    logout: user=U|- from=ADDR:PORT in=N out=N commands=N secs=N reason=R

Every session has exactly one connect and one logout line, whatever ended it
(LOGOUT, a timeout, the client leaving, the server stopping); in and out are
the IMAP bytes the client sent and received (inside TLS, before encryption),
commands the command lines it sent. Passwords, SASL responses, message
contents and search terms never reach the log; a client-chosen name with
CR, LF or ESC in it cannot make a line of its own. --log-level warn hides the
info lines, debug adds one per command. Syslog (facility mail, ident gannet)
is checked in a private mount namespace whose /dev/log is the test's socket,
so the machine's own /dev/log is never touched."""

import base64
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import harness

USER = harness.USER
LINE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d gannet\[\d+\] (error|warn|info|debug): (.*)$")
EVENT_RE = re.compile(r"^([a-z]+): (.*)$")


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex)


def log_server(password, args=(), tls=False):
    return harness.serving(users=((USER, password),), args=args, tls=tls)


def events(log, kind):
    """The key=value fields of each `kind: ...` line, in order."""
    out = []
    for ln in log.splitlines():
        m = LINE_RE.match(ln)
        e = EVENT_RE.match(m.group(2)) if m else None
        if e and e.group(1) == kind:
            out.append(dict(re.findall(r"([a-z]+)=(\S*)", e.group(2))))
    return out


def only(log, kind, peer):
    found = [e for e in events(log, kind) if e.get("from") == peer]
    assert len(found) == 1, "%d %s lines from %s:\n%s" % (len(found), kind, peer, log[-3000:])
    return found[0]


class Client:
    """A raw IMAP client that counts what it sends and receives, and the
    command lines it sends."""

    def __init__(self, port, tls_ctx=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.peer = "127.0.0.1:%d" % sock.getsockname()[1]  # the server's from=
        self.sock = tls_ctx.wrap_socket(sock, server_hostname="localhost") if tls_ctx else sock
        self.sent = self.received = self.commands = 0
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data)
        self.sent += len(data)

    def recv(self):
        chunk = self.sock.recv(65536)
        self.received += len(chunk)
        return chunk

    def line(self):
        """The next line without CRLF; None at the end."""
        while b"\r\n" not in self.buf:
            chunk = self.recv()
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest or None
            self.buf += chunk
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out

    def until(self, tag):
        lines = []
        while True:
            ln = self.line()
            assert ln is not None, "connection closed waiting for %s; got %r" % (tag, lines)
            if ln.startswith(tag.encode() + b" "):
                return lines, ln
            lines.append(ln)

    def cmd(self, tag, text):
        self.commands += 1
        self.send(text if isinstance(text, bytes) else ("%s %s\r\n" % (tag, text)).encode())
        return self.until(tag)

    def ok(self, tag, text):
        lines, tagged = self.cmd(tag, text)
        assert tagged.startswith(tag.encode() + b" OK"), (text, tagged)
        return lines

    def literal(self, tag, head, data, tail=b""):
        """A command with one synchronising literal."""
        self.commands += 1
        self.send(("%s %s {%d}\r\n" % (tag, head, len(data))).encode())
        assert self.line().startswith(b"+"), "no continuation for %s" % head
        self.send(data + tail + b"\r\n")
        return self.until(tag)

    def to_eof(self, timeout=20):
        self.sock.settimeout(timeout)
        while self.recv():
            pass

    def close(self):
        self.sock.close()


def plain_blob(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def check_logout(log, c, user, reason):
    e = only(log, "logout", c.peer)
    want = {"user": user, "in": str(c.sent), "out": str(c.received), "commands": str(c.commands),
            "reason": reason}
    got = {k: e.get(k) for k in want}
    assert got == want, "logout line of %s: %r, want %r" % (c.peer, e, want)
    assert re.fullmatch(r"\d+", e.get("secs", "")), e
    return e


def check_connect(log, c, port, tls):
    e = only(log, "connect", c.peer)
    assert e == {"from": c.peer, "port": str(port), "tls": tls}, e


def check_login(log, c, mech):
    e = only(log, "login", c.peer)
    assert e == {"user": USER, "mech": mech, "from": c.peer}, e


def check_secrets(log, secrets):
    for s in secrets:
        assert s not in log, "%r appears in the log" % s


def check_every_line_is_a_log_line(log):
    """Nothing forged or broken: each line is one of ours, without control
    characters (the escape too) in it."""
    for ln in log.splitlines():
        assert LINE_RE.match(ln), "not a log line: %r" % ln
        assert not re.search(r"[\x00-\x1f\x7f]", ln), "control character in %r" % ln


def test_sessions_have_one_connect_and_one_logout_line():
    password = unique("Pw")
    msg_token, search_token = unique("MessageToken"), unique("SearchToken")
    blob = plain_blob(USER, password)
    args = ("--login-timeout", "2", "--idle-timeout", "3")
    with log_server(password, args, tls=True) as srv:
        ctx = srv.tls_context()
        # started first: they time out while the others run
        silent = Client(srv.port)
        idle = Client(srv.port)
        idle.ok("I1", 'LOGIN %s "%s"' % (USER, password))
        idle_started = time.monotonic()

        # LOGIN, mail in, a search, a fetch, a bad command, LOGOUT
        a = Client(srv.port)
        a.ok("A1", 'LOGIN %s "%s"' % (USER, password))
        a.ok("A2", "SELECT INBOX")
        message = ("From: a@example.org\r\nSubject: log test\r\n\r\nbody %s\r\n" % msg_token).encode()
        _, tagged = a.literal("A3", "APPEND INBOX", message)
        assert tagged.startswith(b"A3 OK"), tagged
        a.ok("A4", "NOOP")
        lines = a.ok("A5", 'SEARCH BODY "%s"' % search_token)
        assert lines == [b"* SEARCH"], lines
        _, tagged = a.literal("A6", "SEARCH BODY", msg_token.encode())
        assert tagged.startswith(b"A6 OK"), tagged
        lines = a.ok("A7", "FETCH 1 BODY[]")
        assert any(msg_token.encode() in ln for ln in lines)
        _, tagged = a.cmd("A8", "FROBNICATE now")
        assert tagged.startswith(b"A8 BAD"), tagged
        a.ok("A9", "LOGOUT")
        a.to_eof()

        # AUTHENTICATE PLAIN with its response on a line of its own
        b = Client(srv.port)
        b.commands += 1
        b.send(b"B1 AUTHENTICATE PLAIN\r\n")
        assert b.line().startswith(b"+")
        b.send(blob.encode() + b"\r\n")
        _, tagged = b.until("B1")
        assert tagged.startswith(b"B1 OK"), tagged
        b.ok("B2", "LIST \"\" *")
        b.ok("B3", "LOGOUT")
        b.to_eof()

        # implicit TLS, with SASL-IR
        t = Client(srv.tls_port, ctx)
        t.ok("T1", "AUTHENTICATE PLAIN " + blob)
        t.ok("T2", "STATUS INBOX (MESSAGES)")
        t.ok("T3", "LOGOUT")
        t.to_eof()

        # STARTTLS, then LOGIN inside TLS
        s = Client(srv.port)
        s.ok("S1", "STARTTLS")
        s.sock = ctx.wrap_socket(s.sock, server_hostname="localhost")
        s.ok("S2", 'LOGIN %s "%s"' % (USER, password))
        s.ok("S3", "LOGOUT")
        s.to_eof()

        # the client just goes
        d = Client(srv.port)
        d.ok("D1", 'LOGIN %s "%s"' % (USER, password))
        d.ok("D2", "EXAMINE INBOX")
        d.close()

        silent.to_eof()
        idle.to_eof()
        assert time.monotonic() - idle_started >= 2.5, "the idle session ended early"
        deadline = time.time() + 10
        while not [e for e in events(srv.log(), "logout") if e.get("from") == d.peer]:
            assert time.time() < deadline, "no logout line for the dropped session"
            time.sleep(0.1)

        # still there when the server stops
        z = Client(srv.port)
        z.ok("Z1", 'LOGIN %s "%s"' % (USER, password))
        srv.stop()
        z.to_eof()
        log = srv.log()

    clients = [silent, idle, a, b, t, s, d, z]
    for c in clients:
        check_connect(log, c, srv.tls_port if c is t else srv.port, "yes" if c is t else "no")
    check_logout(log, silent, "-", "timeout")
    check_logout(log, idle, USER, "timeout")
    check_logout(log, a, USER, "logout")
    check_logout(log, b, USER, "logout")
    check_logout(log, t, USER, "logout")
    check_logout(log, s, USER, "logout")
    check_logout(log, d, USER, "closed")
    check_logout(log, z, USER, "shutdown")
    for c, mech in ((idle, "LOGIN"), (a, "LOGIN"), (b, "PLAIN"), (t, "PLAIN"), (s, "LOGIN"),
                    (d, "LOGIN"), (z, "LOGIN")):
        check_login(log, c, mech)
    assert not [e for e in events(log, "login") if e.get("from") == silent.peer]
    assert events(log, "starttls") == [{"from": s.peer}], events(log, "starttls")
    # the harness's own probe at start is a session too: every one has both lines
    assert len(events(log, "connect")) == len(events(log, "logout")), log
    check_secrets(log, (password, blob, msg_token, search_token, "log test"))
    check_every_line_is_a_log_line(log)


def test_client_chosen_names_cannot_forge_lines():
    password = unique("Pw")
    forged = "2030-01-01T00:00:00 gannet[1] info: login: user=root mech=LOGIN from=6.6.6.6:1"
    with log_server(password, ("--log-level", "debug")) as srv:
        c = Client(srv.port)
        # each a failed login, slowed by the throttle: 0.2, 0.4, 0.8 and 1.6 s
        for i, name in enumerate(("x\r\n" + forged, "x\r" + forged, "x\x1b[2J\x1b[1A" + forged)):
            tag = "F%d" % i
            _, tagged = c.literal(tag, "LOGIN", name.encode(), b' "%s"' % password.encode())
            assert tagged.startswith(tag.encode() + b" NO"), tagged
        blob = base64.b64encode(b"\0x\n" + forged.encode() + b"\0" + password.encode()).decode()
        _, tagged = c.cmd("P1", "AUTHENTICATE PLAIN " + blob)
        assert b" NO" in tagged, tagged
        c.ok("L1", 'LOGIN %s "%s"' % (USER, password))
        for i, name in enumerate(("a\r\n" + forged, "\x1b[31m" + forged, forged)):
            tag = "M%d" % i
            c.literal(tag, "CREATE", name.encode())
            c.literal("S%d" % i, "SELECT", name.encode())
        c.cmd("X1", "FROB\x1bNICATE %s" % forged)
        c.ok("Z", "LOGOUT")
        c.to_eof()
        srv.stop()
        log = srv.log()
    check_every_line_is_a_log_line(log)
    assert "6.6.6.6" not in log and "user=root" not in log, log
    assert len(events(log, "login")) == 1, events(log, "login")
    check_secrets(log, (password, blob))
    check_logout(log, c, USER, "logout")


def test_log_lines_escape_what_they_print():
    # No client-supplied text reaches the log with a control character in it
    # (user names are checked first, mailbox names refused); the escaping in
    # log_msg is shown here end to end with a file name that has them.
    tmp = tempfile.mkdtemp(prefix="gannet-logesc-")
    try:
        os.chmod(tmp, 0o755)
        data = harness.mail_data_dir(tmp)
        cert = os.path.join(tmp, "no\n2030-01-01T00:00:00 gannet[1] info: forged\x1b[2J\\x0a")
        p = harness.gannet("serve", "--foreground", "--data", data, "--listen",
                           "127.0.0.1:%d" % harness.free_port(), "--cert", cert, "--key", cert, check=False)
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode != 0, err
        check_every_line_is_a_log_line(err)
        assert "no\\x0a2030-01-01T00:00:00 gannet[1] info: forged\\x1b[2J\\\\x0a" in err, err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def session(srv, password):
    c = Client(srv.port)
    c.ok("A1", 'LOGIN %s "%s"' % (USER, password))
    c.ok("A2", "SELECT INBOX")
    c.ok("A3", "LOGOUT")
    c.to_eof()
    return c


def levels(log):
    return {m.group(1) for m in map(LINE_RE.match, log.splitlines()) if m}


def test_log_level_warn_hides_info_and_debug_shows_commands():
    password = unique("Pw")
    with log_server(password, ("--log-level", "warn")) as srv:
        c = session(srv, password)
        c2 = Client(srv.port)
        _, tagged = c2.cmd("W1", 'LOGIN %s "wrong"' % USER)  # an info line at info
        assert b" NO" in tagged
        c2.close()
        srv.stop()
        log = srv.log()
    assert levels(log) <= {"warn", "error"}, log
    assert not events(log, "connect") and not events(log, "logout"), log

    for args in (("--log-level", "debug"), ("--debug",)):
        with log_server(password, args) as srv:
            c = session(srv, password)
            srv.stop()
            log = srv.log()
        check_logout(log, c, USER, "logout")
        names = [e["name"] for e in events(log, "command") if e.get("from") == c.peer]
        assert names == ["LOGIN", "SELECT", "LOGOUT"], (args, names, log)
        assert "debug" in levels(log)
        check_secrets(log, (password,))


def test_log_level_from_the_config_file_and_flag_checked():
    password = unique("Pw")
    conf_dir = tempfile.mkdtemp(prefix="gannet-logconf-")
    try:
        conf = os.path.join(conf_dir, "gannet.conf")
        with open(conf, "w") as f:
            f.write("log-level = warn\n")
        with log_server(password, ("--config", conf)) as srv:
            session(srv, password)
            srv.stop()
            log = srv.log()
        assert levels(log) <= {"warn", "error"}, log
        with log_server(password, ("--config", conf, "--log-level", "info")) as srv:
            c = session(srv, password)  # the command line overrides the file
            srv.stop()
            check_logout(srv.log(), c, USER, "logout")
        with open(conf, "w") as f:
            f.write("log-level = loud\n")
        p = harness.gannet("serve", "--config", conf, "--data", conf_dir, "--listen", "127.0.0.1:1",
                           check=False)
        assert p.returncode != 0 and b"log-level" in p.stderr and b"gannet.conf:1" in p.stderr, p.stderr
        p = harness.gannet("help", "settings")
        assert re.search(rb"--log-level\s+info\s", p.stdout), p.stdout
    finally:
        shutil.rmtree(conf_dir, ignore_errors=True)


# syslog: `gannet imap --preauth` always logs there (its stdout is the IMAP
# stream). In a mount namespace of its own, /dev is a fresh tmpfs holding the
# real null, zero, random and urandom and a /dev/log that is the test's socket.
NAMESPACE_SCRIPT = r"""
set -e
mount --make-rprivate /
mkdir -p "$T/realdev"
mount --bind /dev "$T/realdev"
mount -t tmpfs -o mode=755 tmpfs /dev
for f in null zero random urandom; do
    touch /dev/$f
    mount --bind "$T/realdev/$f" /dev/$f
done
ln -s /proc/self/fd /dev/fd
ln -s "$T/log.sock" /dev/log
exec "$@"
"""


def namespace_usable():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    p = subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=10)
    return p.returncode == 0


def test_syslog_facility_mail_ident_gannet():
    if not namespace_usable():
        print("NOTE test_syslog_facility_mail_ident_gannet: not run (needs root and unshare --mount)")
        return
    tmp = tempfile.mkdtemp(prefix="gannet-syslog-")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        os.chmod(tmp, 0o755)
        data = harness.mail_data_dir(tmp)
        harness.gannet("user", "add", USER, "--data", data, "--password-stdin", stdin=b"pw\n")
        sock.bind(os.path.join(tmp, "log.sock"))
        os.chmod(os.path.join(tmp, "log.sock"), 0o666)  # the mail user may reconnect
        p = subprocess.run(["unshare", "--mount", "sh", "-c", NAMESPACE_SCRIPT, "sh", harness.BIN, "imap",
                            "--preauth", USER, "--data", data],
                           input=b"a NOOP\r\nb SELECT INBOX\r\nc LOGOUT\r\n", capture_output=True,
                           timeout=60, env=dict(os.environ, T=tmp))
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        assert b"* PREAUTH" in p.stdout and b"c OK" in p.stdout, p.stdout
        sock.setblocking(False)
        got = []
        with contextlib.suppress(BlockingIOError):
            while True:
                got.append(sock.recv(65536).decode("utf-8", "replace"))
    finally:
        sock.close()
        # the namespace's mounts die with it; never delete through one that did not
        if not os.path.ismount(os.path.join(tmp, "realdev")):
            shutil.rmtree(tmp, ignore_errors=True)
    assert not p.stderr.strip(), p.stderr  # nothing logged to stderr
    msgs = []
    for g in got:
        m = re.match(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d gannet\[\d+\]: (.*)$", g)
        assert m, "not a syslog message from gannet: %r" % g
        assert int(m.group(1)) >> 3 == 2, "facility %d, not mail (2): %r" % (int(m.group(1)) >> 3, g)
        msgs.append((int(m.group(1)) & 7, m.group(2)))
    info = 6
    assert (info, "connect: from=stdio port=- tls=no") in msgs, msgs
    assert (info, "login: user=%s mech=PREAUTH from=stdio" % USER) in msgs, msgs
    logouts = [t for lvl, t in msgs if t.startswith("logout: ")]
    assert len(logouts) == 1, msgs
    assert re.fullmatch(r"logout: user=%s from=stdio in=%d out=%d commands=3 secs=\d+ reason=logout"
                        % (USER, len(b"a NOOP\r\nb SELECT INBOX\r\nc LOGOUT\r\n"), len(p.stdout)),
                        logouts[0]), logouts
