"""Support code for test_states.py, test_mailboxes.py and test_append_select.py:
a raw IMAP client that understands literals in responses, a small parser for
response data (LIST, STATUS, NAMESPACE, ...), servers with extra command-line
arguments, and data-directory snapshots. Not a test module (no test_ prefix)."""

import base64
import os
import re
import socket
import time

import harness

USER, PASSWORD = harness.USER, harness.PASSWORD

# ----------------------------------------------------------------------------
# response data parsing


class Atom(str):
    """An unquoted atom in response data (NIL, flags, numbers, names)."""


class ParseError(Exception):
    pass


_ATOM_STOP = b' ()"{\r\n'


def _parse(data, i, depth=0):
    """Parses one value at data[i:]; returns (value, next index)."""
    c = data[i:i + 1]
    if c == b"(":
        out = []
        i += 1
        while True:
            while data[i:i + 1] == b" ":
                i += 1
            if data[i:i + 1] == b")":
                return out, i + 1
            if i >= len(data):
                raise ParseError("unterminated list in %r" % data)
            v, i = _parse(data, i, depth + 1)
            out.append(v)
    if c == b'"':
        i += 1
        buf = bytearray()
        while True:
            if i >= len(data):
                raise ParseError("unterminated quoted string in %r" % data)
            ch = data[i]
            if ch == 0x5C:  # backslash
                buf.append(data[i + 1])
                i += 2
                continue
            if ch == 0x22:
                return bytes(buf).decode("utf-8", "surrogateescape"), i + 1
            buf.append(ch)
            i += 1
    if c == b"{":
        m = re.compile(rb"\{(\d+)\+?\}\r\n").match(data, i)
        if not m:
            raise ParseError("bad literal at %d in %r" % (i, data))
        n = int(m.group(1))
        start = m.end()
        return data[start:start + n].decode("utf-8", "surrogateescape"), start + n
    j = i
    while j < len(data) and data[j:j + 1] not in (b" ", b"(", b")", b"\r", b"\n") and not (
            data[j:j + 1] in (b'"', b"{") and j == i):
        j += 1
    if j == i:
        raise ParseError("unexpected %r at %d in %r" % (c, i, data))
    return Atom(data[i:j].decode("utf-8", "surrogateescape")), j


def parse_values(data):
    """Parses a space-separated sequence of IMAP values (atoms, strings,
    literals, parenthesised lists) into Python objects."""
    if isinstance(data, str):
        data = data.encode()
    out = []
    i = 0
    while i < len(data):
        if data[i:i + 1] == b" ":
            i += 1
            continue
        v, i = _parse(data, i)
        out.append(v)
    return out


def is_nil(v):
    return isinstance(v, Atom) and v.upper() == "NIL"


class ListLine:
    """One parsed `* LIST` / `* LSUB` response."""

    def __init__(self, raw, kind, attrs, delim, name, ext):
        self.raw, self.kind, self.attrs, self.delim, self.name, self.ext = raw, kind, attrs, delim, name, ext

    @property
    def lattrs(self):
        """Attributes, lower-cased (IMAP attributes are case-insensitive)."""
        return {a.lower() for a in self.attrs}

    def has(self, attr):
        return attr.lower() in self.lattrs

    def __repr__(self):
        return "ListLine(%r)" % self.raw


def parse_list_line(line):
    """`* LIST (\\A \\B) "/" name [ext]` -> ListLine; None if not a LIST/LSUB line."""
    m = re.match(rb"\* (LIST|LSUB) ", line, re.I)
    if not m:
        return None
    vals = parse_values(line[m.end():])
    if len(vals) < 3 or not isinstance(vals[0], list):
        raise ParseError("malformed %s response %r" % (m.group(1).decode(), line))
    attrs = [str(a) for a in vals[0]]
    delim = None if is_nil(vals[1]) else str(vals[1])
    return ListLine(line, m.group(1).decode().upper(), attrs, delim, str(vals[2]), vals[3:])


def parse_status_line(line):
    """`* STATUS name (K v ...)` -> (name, {K: int})."""
    m = re.match(rb"\* STATUS ", line, re.I)
    if not m:
        return None
    vals = parse_values(line[m.end():])
    if len(vals) != 2 or not isinstance(vals[1], list) or len(vals[1]) % 2:
        raise ParseError("malformed STATUS response %r" % line)
    items = {}
    for k, v in zip(vals[1][0::2], vals[1][1::2]):
        assert k.upper() not in items, "STATUS item %s repeated: %r" % (k, line)
        assert re.fullmatch(r"\d+", v), "STATUS value not a number: %r" % line
        items[k.upper()] = int(v)
    return str(vals[0]), items


def status_of(lines, name=None):
    """The items of the (only) STATUS response among lines (for name, if given)."""
    found = [parse_status_line(ln) for ln in lines if re.match(rb"\* STATUS ", ln, re.I)]
    if name is not None:
        found = [f for f in found if f[0] == name]
    assert len(found) == 1, "expected one STATUS response%s, got %r" % (
        "" if name is None else " for " + name, lines)
    return found[0][1]


def list_lines(lines, kind="LIST"):
    out = []
    for ln in lines:
        p = parse_list_line(ln)
        if p is not None and p.kind == kind:
            out.append(p)
    return out


def list_map(lines, kind="LIST"):
    """{name: ListLine}; fails if a name is listed twice."""
    out = {}
    for p in list_lines(lines, kind):
        assert p.name not in out, "%s listed twice: %r" % (p.name, lines)
        out[p.name] = p
    return out


def resp_code(tagged):
    """The response code atom of a status response (`a OK [CODE args] text`), upper-cased; None if none."""
    m = re.match(rb"\S+ (?:OK|NO|BAD|BYE|PREAUTH) \[([^\] ]+)", tagged, re.I)
    return m.group(1).decode().upper() if m else None


def code_args(line, code):
    m = re.search(rb"\[" + code.encode() + rb"(?: ([^\]]*))?\]", line, re.I)
    return None if m is None else (m.group(1) or b"").decode()


def status_word(tagged):
    parts = tagged.split(b" ")
    return parts[1].decode().upper() if len(parts) > 1 else ""


def untagged(lines, keyword):
    """Untagged lines `* KEYWORD ...` (or `* n KEYWORD`) for keyword."""
    kw = keyword.upper().encode()
    out = []
    for ln in lines:
        parts = ln.split(b" ")
        if len(parts) >= 2 and parts[0] == b"*":
            if parts[1].upper() == kw or (len(parts) >= 3 and parts[1].isdigit() and parts[2].upper() == kw):
                out.append(ln)
    return out


def capabilities(line):
    """Capability names (upper-cased) from `* CAPABILITY ...` or a `[CAPABILITY ...]` code."""
    m = re.search(rb"\[CAPABILITY ([^\]]*)\]", line, re.I)
    text = m.group(1) if m else re.match(rb"\* CAPABILITY (.*)$", line, re.I).group(1)
    return [c.decode().upper() for c in text.split()]


# ----------------------------------------------------------------------------
# raw client


class Client(harness.Raw):
    """harness.Raw plus: responses that carry literals are read whole (the
    literal's bytes are kept inline as `{n}\\r\\n<data>`), a tag counter,
    and helpers for the usual assertions."""

    def __init__(self, port, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.n = 0
        self.greeting = self.response()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def response(self):
        """The next whole response (one line, plus any literals it carries); b"" at EOF."""
        out = b""
        while True:
            ln = self.line()
            if ln == b"" and not out:
                return b""
            out += ln
            m = re.search(rb"\{(\d+)\}$", ln)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                if not self._fill():
                    raise EOFError("connection closed inside a %d-octet literal: %r" % (n, out))
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def tag(self):
        self.n += 1
        return "t%03d" % self.n

    def until(self, tag):
        t = (tag.encode() if isinstance(tag, str) else tag) + b" "
        lines = []
        while True:
            ln = self.response()
            if ln == b"":
                raise EOFError("connection closed waiting for %r; got %r" % (t, lines))
            if ln.startswith(t):
                return lines, ln
            lines.append(ln)

    def run(self, text, tag=None):
        """Sends one command (str or bytes, without tag and CRLF); returns (untagged, tagged)."""
        tag = tag or self.tag()
        if isinstance(text, str):
            text = text.encode()
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.until(tag)

    def ok(self, text):
        lines, tagged = self.run(text)
        assert status_word(tagged) == "OK", "%s: expected OK, got %r (untagged %r)" % (text, tagged, lines)
        return lines, tagged

    def no(self, text):
        lines, tagged = self.run(text)
        assert status_word(tagged) == "NO", "%s: expected NO, got %r (untagged %r)" % (text, tagged, lines)
        return lines, tagged

    def bad(self, text):
        lines, tagged = self.run(text)
        assert status_word(tagged) == "BAD", "%s: expected BAD, got %r (untagged %r)" % (text, tagged, lines)
        return lines, tagged

    def noop_ok(self):
        lines, tagged = self.run("NOOP")
        assert status_word(tagged) == "OK", "NOOP after the previous command: %r" % tagged
        return lines

    def login(self, user=USER, password=PASSWORD):
        self.ok('LOGIN "%s" "%s"' % (user, password))
        return self

    def select(self, mailbox="INBOX", cmd="SELECT"):
        return self.ok("%s %s" % (cmd, quote(mailbox)))

    def literal_command(self, tag, prefix, data, suffix=b"", plus=False):
        """Sends `tag prefix {n}` + data + suffix with a synchronising literal (waiting
        for the continuation) or LITERAL+; returns (untagged, tagged). If the server
        answers the command line with a tagged response instead of `+`, returns that
        without sending the literal."""
        if isinstance(prefix, str):
            prefix = prefix.encode()
        head = tag.encode() + b" " + prefix + b" {%d%s}\r\n" % (len(data), b"+" if plus else b"")
        if plus:
            self.send(head + data + suffix + b"\r\n")
            return self.until(tag)
        self.send(head)
        ln = self.response()
        pre = []
        while not ln.startswith(b"+") and not ln.startswith(tag.encode() + b" "):
            if ln == b"":
                raise EOFError("connection closed waiting for continuation")
            pre.append(ln)
            ln = self.response()
        if ln.startswith(tag.encode() + b" "):
            return pre, ln
        self.send(data + suffix + b"\r\n")
        lines, tagged = self.until(tag)
        return pre + lines, tagged

    def append(self, mailbox, msg, flags=None, date=None, plus=True):
        """APPEND via a literal; returns (untagged, tagged)."""
        args = "APPEND " + quote(mailbox)
        if flags is not None:
            args += " (" + " ".join(flags) + ")"
        if date is not None:
            args += ' "' + date + '"'
        return self.literal_command(self.tag(), args, msg, plus=plus)

    def append_ok(self, mailbox, msg, flags=None, date=None, plus=True):
        """APPEND that must succeed; returns (uidvalidity, uid) from APPENDUID."""
        lines, tagged = self.append(mailbox, msg, flags, date, plus)
        assert status_word(tagged) == "OK", "APPEND %s: %r %r" % (mailbox, lines, tagged)
        args = code_args(tagged, "APPENDUID")
        assert args is not None, "APPEND OK without [APPENDUID ...]: %r" % tagged
        m = re.fullmatch(r"([1-9]\d*) ([1-9]\d*)", args)
        assert m, "malformed APPENDUID: %r" % tagged
        return int(m.group(1)), int(m.group(2))

    def status(self, mailbox, items="MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT SIZE DELETED"):
        lines, tagged = self.ok("STATUS %s (%s)" % (quote(mailbox), items))
        return status_of(lines)

    def list(self, args):
        lines, tagged = self.ok("LIST " + args)
        return lines

    def logout(self):
        lines, tagged = self.run("LOGOUT")
        assert status_word(tagged) == "OK", tagged
        assert any(ln.startswith(b"* BYE") for ln in lines), "LOGOUT without * BYE: %r" % lines
        self.close()

    def expect_eof(self, timeout=5):
        """Asserts the server closes the connection (nothing but EOF) within timeout seconds."""
        self.sock.settimeout(timeout)
        rest = self.buf
        while True:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("server did not close the connection within %ss (pending %r)" % (timeout, rest))
            except ConnectionResetError:
                break
            if not chunk:
                break
            rest += chunk
        assert rest == b"", "data after the end of the session: %r" % rest


def quote(name):
    """A mailbox name as an IMAP quoted string (str or bytes in; str out for ASCII)."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plain_ir(authz, user, password):
    return base64.b64encode(("%s\0%s\0%s" % (authz, user, password)).encode()).decode()


# ----------------------------------------------------------------------------
# servers with arguments, and data snapshots


def server(*args):
    """A harness.Server started with extra command-line arguments; stopped,
    checked for sanitizer reports and removed afterwards."""
    return harness.serving(args=args)


def client(srv, login=False, timeout=20):
    c = Client(srv.port, timeout=timeout)
    if login:
        c.login()
    return c


_VOLATILE = re.compile(r"(^|/)(gannet\.db.*|.*\.db-(wal|shm|journal)|server-\d+\.log|.*\.lock)$")


def snapshot(root):
    """Every directory and file under root (relative paths), except the index
    database and its journals, lock files and server logs, with file contents."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out[rel + "/"] = None
        for f in filenames:
            p = os.path.normpath(os.path.join(rel, f))
            if _VOLATILE.search(p):
                continue
            try:
                with open(os.path.join(dirpath, f), "rb") as fh:
                    out[p] = fh.read()
            except OSError:
                out[p] = None
    return out


def snapshot_diff(a, b):
    added = sorted(set(b) - set(a))
    removed = sorted(set(a) - set(b))
    changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    return added, removed, changed


def find_message_files(root, data):
    """Paths of files under root/**/cur or new whose content is exactly data."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.basename(dirpath) not in ("cur", "new"):
            continue
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                if fh.read() == data:
                    out.append(p)
    return out


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def message(subject="test", body="Hello.\r\n", extra=b""):
    """A small RFC 5322 message with CRLF line ends."""
    return (("From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"
             "Subject: %s\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
             "Message-ID: <%s@example.org>\r\n\r\n" % (subject, re.sub(r"\W", "", subject) or "x")).encode()
            + body.encode() + extra)
