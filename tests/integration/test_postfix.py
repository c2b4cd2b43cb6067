"""A real Postfix delivering into Gannet (issue 6): a private Postfix instance
(its own config, queue and data directories in a temporary directory of its
own, smtpd on 127.0.0.1 only, on a free port) hands mail for the test
domain to a pipe(8) transport that runs `gannet deliver ${user} --data DATA`.
swaks sends a message over SMTP and a client of the running server sees it
arrive; Postfix's verdict on an unknown user shows that deliver's exit codes
mean what sysexits.h says to a real MTA. The client waits in IDLE (RFC 2177):
the server must push the new message's EXISTS without being asked.

Needs root (Postfix's master runs as root, and pipe(8) switches to the
unprivileged user that runs deliver). As root, a Postfix that cannot be set up
is a failure; anyone else gets the reason printed and the test does nothing."""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import harness
from helpers_fetch import fclient
from helpers_states import capabilities, status_word, untagged

DOMAIN = "test.example"
PIPE_USER, PIPE_GROUP = "nobody", "nogroup"  # pipe(8) refuses root and the mail owner
WAIT = 30  # seconds: bound on every wait for Postfix or for a delivery
POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"  # /usr/sbin may not be on PATH
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"


def others_can_run(path):
    """Whether a user who is neither owner nor group can reach and execute path."""
    path = os.path.abspath(path)
    if not os.stat(path).st_mode & stat.S_IXOTH:
        return False
    d = os.path.dirname(path)
    while True:
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


class Postfix:
    """One private Postfix instance under base/; nothing outside it is touched,
    and the only socket it listens on is 127.0.0.1:port."""

    def __init__(self, base, port, gannet_bin, data):
        self.base, self.port = base, port
        self.conf = os.path.join(base, "postfix-conf")
        self.queue = os.path.join(base, "postfix-queue")
        self.state = os.path.join(base, "postfix-data")
        self.maillog = os.path.join(base, "maillog")
        self.master_pid = None
        os.mkdir(self.conf, 0o755)
        os.mkdir(self.queue, 0o755)  # Postfix makes its subdirectories and the data directory
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(self.master_cf(gannet_bin, data))

    def main_cf(self):
        return "\n".join([
            "compatibility_level = 3.6",
            "queue_directory = " + self.queue,
            "data_directory = " + self.state,
            "mail_owner = postfix",
            "myhostname = mx." + DOMAIN,
            "mydomain = " + DOMAIN,
            "myorigin = $mydomain",
            "mydestination = " + DOMAIN,
            "inet_interfaces = loopback-only",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
            "smtpd_peername_lookup = no",  # no DNS in a test
            "relayhost =",
            # every local part goes to deliver, which knows the users (67 for the others)
            "local_transport = gannet",
            "local_recipient_maps =",
            "gannet_destination_recipient_limit = 1",  # one ${user} per pipe run
            "alias_maps =",
            "alias_database =",
            "default_transport = error:no mail leaves this test",
            "relay_transport = error:no mail leaves this test",
            "biff = no",
            "maillog_file = " + self.maillog,
            "maillog_file_prefixes = " + self.base,
            "",
        ])

    def master_cf(self, gannet_bin, data):
        # No chroot anywhere (the queue is a temporary directory), and no
        # listener but smtpd on the test's own port.
        services = [
            "127.0.0.1:%d inet n - n - - smtpd" % self.port,
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
            # F: Postfix prepends an mbox "From " line, which deliver must drop
            "gannet unix - n n - - pipe flags=FX user=%s:%s argv=%s deliver ${user} --data %s" % (
                PIPE_USER, PIPE_GROUP, gannet_bin, data),
        ]
        return "\n".join(services) + "\n"

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.conf, *args], capture_output=True, text=True,
                              timeout=WAIT)

    def start(self):
        r = self.postfix("start")
        self.master_pid = self.read_pid()
        assert r.returncode == 0 and self.master_pid, "postfix start failed:\n%s%s\n%s" % (
            r.stdout, r.stderr, self.log())
        deadline = time.time() + WAIT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.settimeout(5)
                    banner = s.recv(512)
                    assert banner.startswith(b"220 "), banner
                    return
            except OSError:
                assert time.time() < deadline, "Postfix's smtpd never answered:\n" + self.log()
                time.sleep(0.1)

    def stop(self):
        """Stops the master (and with it every Postfix process of this
        instance); the master is killed if it has not gone within the bound."""
        self.master_pid = self.master_pid or self.read_pid()
        if self.master_pid is None:
            return
        self.postfix("stop")
        deadline = time.time() + WAIT
        while time.time() < deadline and self.alive():
            time.sleep(0.1)
        if self.alive():
            os.kill(self.master_pid, signal.SIGKILL)
        self.master_pid = None

    def read_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def alive(self):
        try:
            os.kill(self.master_pid, 0)
        except ProcessLookupError:
            return False
        # a zombie is gone for our purposes; the master is not our child
        with open("/proc/%d/stat" % self.master_pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return "(no Postfix log)"

    def wait_log(self, pattern):
        """The first maillog line matching pattern, waiting up to WAIT seconds."""
        deadline = time.time() + WAIT
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m:
                return m.group(0)
            assert time.time() < deadline, "no %r in the Postfix log:\n%s" % (pattern, self.log())
            time.sleep(0.1)


def swaks(port, to, data_path):
    r = subprocess.run([SWAKS, "--server", "127.0.0.1", "--port", str(port), "--helo", "client." + DOMAIN,
                        "--from", "bob@example.org", "--to", to, "--data", "@" + data_path, "--timeout", str(WAIT)],
                       capture_output=True, text=True, timeout=WAIT + 10)
    assert r.returncode == 0, "swaks failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr)
    return r.stdout


class Idle:
    """An IDLE command (RFC 2177) held open while the caller does something."""

    def __init__(self, c):
        self.c, self.tag = c, c.tag()
        c.send(self.tag + " IDLE\r\n")
        ln = c.response()
        assert ln.startswith(b"+"), "IDLE: expected a continuation, got %r" % ln

    def wait_exists(self, n):
        self.c.settimeout(WAIT)
        seen = []
        while True:
            try:
                ln = self.c.response()
            except socket.timeout:
                raise AssertionError("no * %d EXISTS in IDLE within %ds; got %r" % (n, WAIT, seen))
            assert ln, "connection closed during IDLE; got %r" % seen
            seen.append(ln)
            m = re.match(rb"\* (\d+) EXISTS$", ln)
            if m and int(m.group(1)) >= n:
                return

    def done(self):
        self.c.send("DONE\r\n")
        lines, tagged = self.c.until(self.tag)
        assert status_word(tagged) == "OK", "IDLE ended with %r" % tagged


def test_postfix_delivers_over_smtp(srv):
    if os.geteuid() != 0:
        print("SKIP test_postfix: needs root to run a private Postfix (its master runs as root "
              "and pipe(8) switches to %s); running as uid %d" % (PIPE_USER, os.geteuid()))
        return
    for tool in (POSTFIX, SWAKS):
        assert os.access(tool, os.X_OK), "%s is not installed: scripts/deps.sh installs it" % tool
    gannet_bin = harness.BIN
    if not others_can_run(gannet_bin):
        # e.g. a checkout under /root: pipe(8)'s user could not reach it
        gannet_bin = os.path.join(srv.dir, "gannet")
        shutil.copy2(harness.BIN, gannet_bin)
    # deliver runs as PIPE_USER and writes the user's Maildir and index; the
    # server runs as root and can still read and write everything
    for dirpath, dirnames, filenames in os.walk(srv.dir):
        for name in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
            shutil.chown(name, PIPE_USER, PIPE_GROUP)
    # Postfix's own directory, apart: its daemons run as the postfix user
    base = tempfile.mkdtemp(prefix="gannet-postfix-")
    os.chmod(base, 0o755)
    pf = None
    try:
        pf = Postfix(base, harness.free_port(), gannet_bin, srv.data)
        pf.start()
        c = fclient(srv)
        c.select("INBOX")
        msg = (b"From: Bob <bob@example.org>\r\nTo: Alice <alice@" + DOMAIN.encode() + b">\r\n"
               b"Subject: through Postfix\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
               b"Message-ID: <postfix-test@example.org>\r\n\r\n"
               b"Hello through SMTP.\r\n.a line that SMTP dot-stuffs\r\nFrom the body, not an envelope\r\n")
        path = os.path.join(srv.dir, "message.eml")
        with open(path, "wb") as f:
            f.write(msg[:-2])  # swaks ends the data with its own CRLF before the "."
        lines, _ = c.ok("CAPABILITY")
        assert "IDLE" in capabilities(untagged(lines, "CAPABILITY")[0]), lines
        idle = Idle(c)
        swaks(pf.port, harness.USER + "@" + DOMAIN, path)
        idle.wait_exists(1)  # pushed, not polled for: the IDLE client sees the delivery
        idle.done()
        pf.wait_log(r"to=<%s@%s>.*status=sent" % (harness.USER, re.escape(DOMAIN)))
        got = c.fetch1("FETCH 1 (FLAGS RFC822.SIZE BODY.PEEK[])")
        body = got["BODY[]"]
        assert body.endswith(msg), "the message arrives unchanged after Postfix's headers:\n%r" % body
        head = body[:-len(msg)]
        assert re.fullmatch(rb"Received: from client\.test\.example [^\r\n]*(\r\n[ \t][^\r\n]*)*\r\n", head), \
            "only Postfix's Received: field comes first, no envelope line:\n%r" % head
        assert re.search(rb"(?<!\r)\n", body) is None, "bare LF in the stored message"
        assert got["RFC822.SIZE"] == str(len(body))
        # an unknown user: deliver says EX_NOUSER, which Postfix turns into a bounce, not a retry
        swaks(pf.port, "nosuchuser@" + DOMAIN, path)
        line = pf.wait_log(r"to=<nosuchuser@%s>.*status=\w+.*" % re.escape(DOMAIN))
        assert "status=bounced" in line and "5.1.1" in line, line
        lines, _ = c.ok("NOOP")
        assert not untagged(lines, "EXISTS"), "nothing more was delivered: %r" % lines
        c.logout()
    except BaseException as e:
        if pf is not None and hasattr(e, "add_note"):
            e.add_note("--- Postfix log ---\n" + pf.log()[-4000:])
        raise
    finally:
        if pf is not None:
            pf.stop()
        shutil.rmtree(base, ignore_errors=True)
