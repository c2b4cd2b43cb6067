"""Integration-test support: starts the real gannet binary on a loopback port
with a temporary data directory, and gives tests IMAP clients for it.

A test is a function test_*(srv) in a tests/integration/test_*.py module; the
runner (run.py) gives each one a fresh Server, stops it afterwards and fails
the test if the server printed any sanitizer report. A test that starts its
own servers uses serving(), which does the same for each."""

import contextlib
import imaplib
import os
import socket
import ssl
import subprocess
import tempfile
import time
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("GANNET_BIN", os.path.join(ROOT, "build", "test", "gannet"))
USER, PASSWORD = "alice", "secret-pw"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MAIL_UID = MAIL_GID = 65534  # nobody: the mail user when the tests run as root


def mail_data_dir(parent):
    """Makes parent/data for a test server. Run as root, gannet refuses to
    touch mail as root and becomes the data directory's owner, so the
    directory goes to nobody, and its parent must let nobody through."""
    data = os.path.join(parent, "data")
    os.mkdir(data)
    if os.geteuid() == 0:
        os.chmod(parent, 0o755)
        os.chown(data, MAIL_UID, MAIL_GID)
    return data


def gannet(*args, stdin=None, check=True):
    """Runs a gannet subcommand to completion; returns CompletedProcess. A
    sanitizer report (a leak included) fails the test that ran it."""
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, check=check, timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    bad = next((ln for ln in err.splitlines() if any(m in ln for m in SANITIZER_MARKS)), None)
    assert bad is None, "sanitizer report from gannet %s: %s\n%s" % (" ".join(args), bad, err[-4000:])
    return p


def make_cert(directory, name="cert", cn="localhost"):
    """A self-signed certificate and key (P-256, valid for localhost and
    127.0.0.1) as directory/name.pem and directory/name.key."""
    cert, key = (os.path.join(directory, name + ext) for ext in (".pem", ".key"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=" + cn, "-keyout", key, "-out", cert,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


class Server:
    def __init__(self, users=((USER, PASSWORD),), args=(), tls=False):
        self.dir = tempfile.mkdtemp(prefix="gannet-test-")
        self.data = mail_data_dir(self.dir)
        self.args = list(args)
        self.tls_port = None
        if tls:
            self.cert, self.key = make_cert(self.dir)
            self.tls_port = free_port()
            self.args += ["--tls-listen", "127.0.0.1:%d" % self.tls_port, "--cert", self.cert, "--key", self.key]
        self.proc = None
        self.logs = []
        for name, pw in users:
            self.add_user(name, pw)
        self.start()

    def add_user(self, name, pw):
        gannet("user", "add", name, "--data", self.data, "--password-stdin", stdin=(pw + "\n").encode())

    def start(self):
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "server-%d.log" % len(self.logs))
        self.logs.append(self.log_path)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--data", self.data, "--listen", "127.0.0.1:%d" % self.port,
             "--foreground", "--workers", "1",
             # tests that fail logins on purpose need not wait seconds; test_auth
             # tests the delays themselves
             "--auth-fail-delay", "200", *self.args],
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

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        out = []
        for p in self.logs:
            with open(p, "rb") as f:
                out.append(f.read().decode("utf-8", "replace"))
        return "".join(out)

    def sanitizer_report(self):
        text = self.log()
        return next((line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKS)), None)

    def report_text(self):
        """The first sanitizer report in the log, whole (its stacks say
        where), or the log's tail."""
        text = self.log()
        at = min((text.find(m) for m in SANITIZER_MARKS if m in text), default=-1)
        return text[max(0, at - 200):at + 6000] if at >= 0 else text[-4000:]

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def maildir(self, user=USER):
        return os.path.join(self.data, "users", user, "Maildir")

    # clients
    def imap(self, login=True, user=USER, password=PASSWORD):
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=20)
        if login:
            c.login(user, password)
        return c

    def raw(self):
        return Raw(self.port)

    def tls_context(self):
        """A client context that trusts this server's certificate only."""
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def imaps(self, login=True, user=USER, password=PASSWORD):
        c = imaplib.IMAP4_SSL("localhost", self.tls_port, ssl_context=self.tls_context(), timeout=20)
        if login:
            c.login(user, password)
        return c


@contextlib.contextmanager
def serving(users=((USER, PASSWORD),), args=(), tls=False):
    """A Server for the length of a with block: stopped, checked for
    sanitizer reports and removed afterwards; a failure inside the block
    carries the tail of the server's log."""
    srv = Server(users=users, args=args, tls=tls)
    try:
        try:
            yield srv
        except BaseException as e:
            if hasattr(e, "add_note"):
                e.add_note("--- server log (tail) ---\n" + srv.log()[-3000:])
            raise
        srv.stop()
        report = srv.sanitizer_report()
        assert report is None, "sanitizer report in server log: %s\n%s" % (report, srv.report_text())
    finally:
        srv.cleanup()


class Raw:
    """A line-oriented IMAP client over a plain socket, for exact bytes."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """Next line without CRLF; b"" at EOF."""
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest
            self.buf += chunk
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out

    def cmd(self, tag, text):
        """Sends one command line; returns (untagged lines, tagged line)."""
        self.send("%s %s\r\n" % (tag, text) if isinstance(text, str) else tag.encode() + b" " + text + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        t = tag.encode() + b" " if isinstance(tag, str) else tag + b" "
        lines = []
        while True:
            ln = self.line()
            if ln == b"":
                raise EOFError("connection closed; got %r" % lines)
            if ln.startswith(t):
                return lines, ln
            lines.append(ln)

    def login(self, user=USER, password=PASSWORD):
        _, tagged = self.cmd("L1", 'LOGIN %s "%s"' % (user, password))
        assert tagged.startswith(b"L1 OK"), tagged
        return self

    def close(self):
        self.sock.close()
