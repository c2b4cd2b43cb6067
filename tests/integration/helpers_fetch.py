"""Support code for test_fetch.py, test_store_copy_move.py, test_crash.py and
test_curl_fetch.py: a raw client that reads large literals and literal8
(`~{n}`) efficiently, a parser for FETCH responses that keeps strings as
bytes and the raw text of every item, and a canonical form of ENVELOPE /
BODYSTRUCTURE values (quoted and literal strings compare equal).
Not a test module (no test_ prefix)."""

import re
import socket

import harness
from helpers_states import Client, code_args, status_word

USER, PASSWORD = harness.USER, harness.PASSWORD


class Nil:
    def __repr__(self):
        return "NIL"


NIL = Nil()


class Atom(str):
    pass


class FParseError(Exception):
    pass


_LIT = re.compile(rb"(~?)\{(\d+)\}\r\n")


def parse_value(data, i):
    """One value at data[i:] -> (value, next index). Strings (quoted,
    literal, literal8) are bytes, NIL is NIL, lists are lists, anything
    else an Atom."""
    c = data[i:i + 1]
    if c == b"(":
        out = []
        i += 1
        while True:
            while data[i:i + 1] == b" ":
                i += 1
            if i >= len(data):
                raise FParseError("unterminated list")
            if data[i:i + 1] == b")":
                return out, i + 1
            v, i = parse_value(data, i)
            out.append(v)
    if c == b'"':
        i += 1
        buf = bytearray()
        while True:
            if i >= len(data):
                raise FParseError("unterminated quoted string")
            ch = data[i]
            if ch == 0x5C:
                buf.append(data[i + 1])
                i += 2
                continue
            if ch == 0x22:
                return bytes(buf), i + 1
            if ch in (0x0D, 0x0A):
                raise FParseError("CR or LF inside a quoted string at %d" % i)
            buf.append(ch)
            i += 1
    if c in (b"{", b"~"):
        m = _LIT.match(data, i)
        if not m:
            raise FParseError("bad literal at %d: %r" % (i, data[i:i + 20]))
        n = int(m.group(2))
        start = m.end()
        if start + n > len(data):
            raise FParseError("short literal")
        return bytes(data[start:start + n]), start + n
    j = i
    while j < len(data) and data[j:j + 1] not in (b" ", b"(", b")", b"\r", b"\n"):
        j += 1
    if j == i:
        raise FParseError("unexpected %r at %d" % (c, i))
    a = data[i:j].decode("latin-1")
    if a.upper() == "NIL":
        return NIL, j
    return Atom(a), j


class FetchResp:
    """One `* n FETCH (...)` response: seq, items {NAME: value}, raw {NAME: bytes},
    literal8 {NAME: bool}, order [NAME, ...]. NAME is upper-cased and, for
    sections, written as the server wrote it (e.g. `BODY[HEADER.FIELDS (FROM)]<0>`)."""

    def __init__(self, seq):
        self.seq = seq
        self.items = {}
        self.raw = {}
        self.literal8 = {}
        self.order = []

    def __getitem__(self, k):
        return self.items[k.upper()]

    def __contains__(self, k):
        return k.upper() in self.items

    def get(self, k, default=None):
        """The item's value; when absent, default or else a Missing that shows what was there."""
        if k.upper() in self.items:
            return self.items[k.upper()]
        return default if default is not None else Missing(k, self)

    def merge(self, other):
        for k in other.order:
            if k in self.items:
                assert self.items[k] == other.items[k], "two FETCH responses for %d disagree on %s" % (self.seq, k)
                continue
            self.items[k] = other.items[k]
            self.raw[k] = other.raw[k]
            self.literal8[k] = other.literal8[k]
            self.order.append(k)

    def __repr__(self):
        return "FetchResp(%d, %r)" % (self.seq, self.items)


class Missing:
    def __init__(self, name, resp):
        self.name, self.keys = name, list(resp.order)

    def __eq__(self, other):
        return False

    def __repr__(self):
        return "<no %s; items: %s>" % (self.name, ", ".join(self.keys))


_FETCH_HEAD = re.compile(rb"\* (\d+) FETCH \(", re.I)


def parse_fetch(line):
    """Parses one untagged FETCH response (with its literals inline) -> FetchResp,
    or None if the line is not a FETCH response. Raises FParseError if malformed."""
    m = _FETCH_HEAD.match(line)
    if not m:
        return None
    r = FetchResp(int(m.group(1)))
    i = m.end()
    data = line
    while True:
        while data[i:i + 1] == b" ":
            i += 1
        if data[i:i + 1] == b")":
            if i + 1 != len(data):
                raise FParseError("data after the FETCH list: %r" % data[i:i + 40])
            return r
        if i >= len(data):
            raise FParseError("unterminated FETCH response")
        # item name: atom, optionally [section] (with spaces and parens) and <origin>
        j = i
        while j < len(data) and data[j:j + 1] not in (b" ", b"[", b")"):
            j += 1
        if data[j:j + 1] == b"[":
            k = data.index(b"]", j)
            j = k + 1
            if data[j:j + 1] == b"<":
                j = data.index(b">", j) + 1
        name = data[i:j].decode("latin-1").upper()
        if data[j:j + 1] != b" ":
            raise FParseError("no value after %s" % name)
        vstart = j + 1
        v, i = parse_value(data, vstart)
        if name in r.items:
            raise FParseError("item %s twice in one FETCH response" % name)
        r.items[name] = v
        r.raw[name] = bytes(data[vstart:i])
        r.literal8[name] = data[vstart:vstart + 1] == b"~"
        r.order.append(name)


def canon(v):
    """Canonical text of a parsed value: strings quoted, one space between any two
    elements (so it hides only the choice of quoted string or literal, and the
    spacing; exact comparisons of the server's text check the spacing)."""
    if v is NIL:
        return "NIL"
    if isinstance(v, bytes):
        s = v.decode("utf-8", "surrogateescape")
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "(" + " ".join(canon(e) for e in v) + ")"
    return str(v)


def canon_text(text):
    """Canonical form of an IMAP value written as text (e.g. an expected BODYSTRUCTURE)."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    text = text.strip()
    v, i = parse_value(text, 0)
    if i != len(text):
        raise FParseError("trailing data in %r" % text[i:])
    return canon(v)


class FClient(Client):
    """helpers_states.Client with a buffer that reads multi-megabyte literals
    in linear time, literal8 in responses, and FETCH helpers."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = bytearray()
        self.pos = 0
        self.n = 0
        self.greeting = self.response()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            return False
        if self.pos > (1 << 20) and self.pos > len(self.buf) // 2:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk
        return True

    def line(self):
        while True:
            k = self.buf.find(b"\r\n", self.pos)
            if k >= 0:
                out = bytes(self.buf[self.pos:k])
                self.pos = k + 2
                return out
            if not self._fill():
                rest = bytes(self.buf[self.pos:])
                self.buf = bytearray()
                self.pos = 0
                return rest

    def take(self, n):
        while len(self.buf) - self.pos < n:
            if not self._fill():
                raise EOFError("connection closed inside a %d-octet literal" % n)
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def response(self):
        parts = []
        while True:
            ln = self.line()
            if ln == b"" and not parts:
                return b""
            parts.append(ln)
            m = re.search(rb"~?\{(\d+)\}$", ln)
            if not m:
                return b"".join(parts)
            parts.append(b"\r\n")
            parts.append(self.take(int(m.group(1))))

    def expect_eof(self, timeout=5):
        raise NotImplementedError

    def fetch(self, text, expect="OK"):
        """Runs a FETCH-like command; returns ([FetchResp], other untagged lines, tagged)."""
        lines, tagged = self.run(text)
        if expect is not None:
            assert status_word(tagged) == expect, "%s: expected %s, got %r (untagged %r)" % (
                text, expect, tagged, [ln[:300] for ln in lines])
        fr, other = [], []
        by = {}
        for ln in lines:
            try:
                p = parse_fetch(ln)
            except FParseError as e:
                raise AssertionError("%s: malformed FETCH response (%s): %r" % (text, e, ln[:2000]))
            if p is None:
                other.append(ln)
            elif p.seq in by:
                # RFC 9051 7.5.2: several FETCH responses for one message are allowed
                by[p.seq].merge(p)
            else:
                by[p.seq] = p
                fr.append(p)
        return fr, other, tagged

    def fetch1(self, text):
        """A FETCH that must answer with exactly one FETCH response; returns it."""
        fr, other, tagged = self.fetch(text)
        assert len(fr) == 1, "%s: expected one FETCH response, got %r (other %r)" % (text, fr, other)
        return fr[0]


def fclient(srv, login=True, timeout=30):
    c = FClient(srv.port, timeout=timeout)
    if login:
        c.login()
    return c


def copyuid(tagged_or_line):
    """[COPYUID v src dst] -> (v, [src uids], [dst uids]) in set order, or None."""
    args = code_args(tagged_or_line, "COPYUID")
    if args is None:
        return None
    parts = args.split()
    assert len(parts) == 3, "malformed COPYUID: %r" % tagged_or_line
    return int(parts[0]), expand_set(parts[1]), expand_set(parts[2])


def expand_set(s):
    """A uid-set (`1,3:5,9:7`) as the list of numbers in order (ranges ascending,
    as RFC 4315 section 3 pairs them)."""
    out = []
    for piece in s.split(","):
        if ":" in piece:
            a, b = (int(x) for x in piece.split(":"))
            lo, hi = min(a, b), max(a, b)
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(piece))
    return out


def flagset(v):
    """FLAGS value -> set of lower-cased flags without \\Recent."""
    assert isinstance(v, list), "FLAGS is not a list: %r" % (v,)
    return {str(f).lower() for f in v} - {"\\recent"}
