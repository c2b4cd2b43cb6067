"""`gannet imap --preauth USER --data DIR` speaks IMAP on stdin/stdout (for
clients that tunnel over ssh): a PREAUTH greeting, the authenticated state
from the start, LOGOUT ends it with exit status 0; an unknown user is refused
with a message and a non-zero exit."""

import os
import re
import select
import shutil
import subprocess
import tempfile
import time

import harness

TIMEOUT = 20.0


class Pipe:
    """An IMAP client over a child's stdin/stdout, with bounded reads."""

    def __init__(self, args):
        self.proc = subprocess.Popen([harness.BIN, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buf = b""
        self.eof = False
        self.lines = []  # everything read, for the checks on stdout's content

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def line(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while b"\r\n" not in self.buf:
            if self.eof:
                rest, self.buf = self.buf, b""
                return rest if rest else None
            left = deadline - time.time()
            assert left > 0, "no line on stdout within %.0f s (have %r)" % (timeout, self.buf)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.eof = True
                self.buf += chunk
        out, self.buf = self.buf.split(b"\r\n", 1)
        self.lines.append(out)
        return out

    def cmd(self, tag, text):
        self.send(("%s %s\r\n" % (tag, text)).encode())
        untagged = []
        while True:
            ln = self.line()
            assert ln is not None, "stdout closed during %r; got %r" % (text, untagged)
            if ln.startswith(tag.encode() + b" "):
                return untagged, ln
            untagged.append(ln)

    def wait(self, timeout=TIMEOUT):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("gannet imap did not exit within %.0f s" % timeout)
        err = self.proc.stderr.read()
        return rc, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


def make_data():
    d = tempfile.mkdtemp(prefix="gannet-preauth-")
    data = harness.mail_data_dir(d)
    harness.gannet("user", "add", harness.USER, "--data", data, "--password-stdin",
                   stdin=(harness.PASSWORD + "\n").encode())
    return d, data


def no_sanitizer(text):
    bad = [ln for ln in text.splitlines() if any(m in ln for m in harness.SANITIZER_MARKS)]
    assert not bad, "sanitizer report:\n" + text[-4000:]


def test_preauth_session():
    d, data = make_data()
    p = Pipe(["imap", "--preauth", harness.USER, "--data", data])
    try:
        greeting = p.line()
        assert greeting is not None and greeting.startswith(b"* PREAUTH"), greeting

        untagged, tagged = p.cmd("a1", 'LIST "" "*"')
        assert tagged.startswith(b"a1 OK"), tagged
        names = set()
        for ln in untagged:
            m = re.match(rb'^\* LIST \([^)]*\) "/" "?([^"]*)"?$', ln)
            assert m, ln
            names.add(m.group(1).decode())
        assert names == {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}, names

        # already authenticated: LOGIN is a command in the wrong state
        _, tagged = p.cmd("a2", "LOGIN alice secret-pw")
        assert tagged.startswith(b"a2 BAD"), tagged

        untagged, tagged = p.cmd("a3", "SELECT INBOX")
        assert tagged.startswith(b"a3 OK [READ-WRITE]"), tagged
        assert b"* 0 EXISTS" in untagged, untagged
        assert any(ln.startswith(b"* OK [UIDVALIDITY ") for ln in untagged), untagged
        assert any(ln.startswith(b"* OK [UIDNEXT 1]") for ln in untagged), untagged
        assert any(ln.startswith(b"* FLAGS (") for ln in untagged), untagged

        _, tagged = p.cmd("a4", "NOOP")
        assert tagged.startswith(b"a4 OK"), tagged

        untagged, tagged = p.cmd("a5", "LOGOUT")
        assert untagged and untagged[0].startswith(b"* BYE"), untagged
        assert tagged.startswith(b"a5 OK"), tagged
        rc, err = p.wait()
        assert rc == 0, (rc, err)
        no_sanitizer(err.decode("utf-8", "replace"))
        # stdout carried IMAP and nothing else
        for ln in p.lines:
            assert re.match(rb"^(\* |a\d+ )", ln), ln
        assert p.buf == b"", p.buf
    finally:
        p.kill()
        shutil.rmtree(d, ignore_errors=True)


def test_preauth_sees_other_sessions_data():
    """The stdin/stdout session uses the same store as the network server."""
    srv = harness.Server()
    p = None
    try:
        c = srv.imap()
        typ, resp = c.create("Tunnel")
        assert typ == "OK", resp
        typ, resp = c.append("INBOX", None, None, b"Subject: hi\r\n\r\nhello\r\n")
        assert typ == "OK", resp
        c.logout()
        p = Pipe(["imap", "--preauth", harness.USER, "--data", srv.data])
        assert p.line().startswith(b"* PREAUTH")
        untagged, tagged = p.cmd("b1", 'LIST "" "Tunnel"')
        assert tagged.startswith(b"b1 OK"), tagged
        assert len(untagged) == 1 and re.match(rb'^\* LIST \([^)]*\) "/" (Tunnel|"Tunnel")$', untagged[0]), untagged
        untagged, tagged = p.cmd("b2", "STATUS INBOX (MESSAGES)")
        assert tagged.startswith(b"b2 OK"), tagged
        assert any(re.match(rb'^\* STATUS "?INBOX"? \(MESSAGES 1\)$', ln) for ln in untagged), untagged
        untagged, tagged = p.cmd("b3", "LOGOUT")
        assert tagged.startswith(b"b3 OK"), tagged
        rc, err = p.wait()
        assert rc == 0, (rc, err)
        no_sanitizer(err.decode("utf-8", "replace"))
        srv.stop()
        no_sanitizer(srv.log())
    finally:
        if p:
            p.kill()
        srv.cleanup()


def test_preauth_stdin_closed():
    """The tunnel goes away (ssh dies): end of stdin ends the process."""
    d, data = make_data()
    p = Pipe(["imap", "--preauth", harness.USER, "--data", data])
    try:
        assert p.line().startswith(b"* PREAUTH")
        _, tagged = p.cmd("a1", "SELECT INBOX")
        assert tagged.startswith(b"a1 OK"), tagged
        p.send(b"a2 NOOP\r\na3 LIST \"\" \"*")  # a command cut off by the hangup
        p.proc.stdin.close()
        rc, err = p.wait()
        assert rc >= 0, ("killed by signal", rc, err)
        no_sanitizer(err.decode("utf-8", "replace"))
    finally:
        p.kill()
        shutil.rmtree(d, ignore_errors=True)


def test_preauth_unknown_user():
    d, data = make_data()
    try:
        r = subprocess.run([harness.BIN, "imap", "--preauth", "nobody", "--data", data], input=b"a1 NOOP\r\n",
                           capture_output=True, timeout=TIMEOUT)
        assert r.returncode > 0, (r.returncode, r.stdout, r.stderr)
        assert b"PREAUTH" not in r.stdout, r.stdout
        assert b"a1 OK" not in r.stdout, r.stdout
        msg = (r.stderr + r.stdout).strip()
        assert msg, "exited %d without a message" % r.returncode
        assert b"nobody" in msg, msg
        no_sanitizer(r.stderr.decode("utf-8", "replace"))
        # a missing --preauth argument or data directory is refused too
        r = subprocess.run([harness.BIN, "imap", "--preauth", harness.USER, "--data", os.path.join(d, "nope")],
                           input=b"", capture_output=True, timeout=TIMEOUT)
        assert r.returncode > 0, (r.returncode, r.stdout, r.stderr)
        assert b"PREAUTH" not in r.stdout, r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)
