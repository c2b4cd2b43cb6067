#!/usr/bin/env python3
"""Generates the expected-output files of tests/corpus/mime from a running Dovecot.

usage: dovecot_expect.py HOST PORT USER PASS DIR [NAME.eml ...]

For every DIR/*.eml (or the names given) it APPENDs the message to a fresh
mailbox, then FETCHes ENVELOPE, BODY and BODYSTRUCTURE and, for every part
number the BODYSTRUCTURE implies (if there are at most MAX_PART_FILES),
BODY.PEEK[n] and BODY.PEEK[n.MIME], and
writes them next to the message as NAME.envelope, NAME.body,
NAME.bodystructure, NAME.part-N and NAME.mime-N (the root's header as
NAME.header). The strings are Dovecot's bytes exactly as sent, literals
included, without the FETCH framing."""
import os, re, socket, sys

MAX_PART_FILES = 40


class Imap:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port))
        self.buf = b""
        self.tag = 0
        self.readline()

    def readline(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def readn(self, n):
        while len(self.buf) < n:
            self.buf += self.s.recv(65536)
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def read_response_line(self):
        """One response line with its literals inline."""
        out = b""
        while True:
            line = self.readline()
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return out
            out += self.readn(int(m.group(1)))

    def cmd(self, text, literal=None):
        self.tag += 1
        tag = b"a%d" % self.tag
        if literal is not None:
            self.s.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            line = self.readline()
            assert line.startswith(b"+"), line
            self.s.sendall(literal + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text + b"\r\n")
        untagged = []
        while True:
            line = self.read_response_line()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line)
                return untagged
            untagged.append(line)


def fetch1(imap, item):
    """The value of one FETCH item of message 1, as sent."""
    resp = [l for l in imap.cmd(b"FETCH 1 (" + item + b")") if l.startswith(b"* 1 FETCH")]
    assert len(resp) == 1, resp
    line = resp[0]
    name = item.replace(b".PEEK", b"")
    prefix = b"* 1 FETCH (" + name + b" "
    assert line.startswith(prefix), (line[:80], prefix)
    assert line.endswith(b")\r\n")
    return line[len(prefix):-3]


def literal_value(v):
    """The bytes of a string, quoted string or literal; None for NIL."""
    if v == b"NIL":
        return None
    m = re.match(rb"\{(\d+)\}\r\n", v)
    if m:
        return v[m.end():]
    assert v.startswith(b'"') and v.endswith(b'"'), v[:80]
    return re.sub(rb'\\(.)', rb'\1', v[1:-1])


def sexp(data):
    """Parses a BODYSTRUCTURE into nested lists of bytes/None."""
    pos = 0

    def val():
        nonlocal pos
        while data[pos:pos + 1] == b" ":
            pos += 1
        c = data[pos:pos + 1]
        if c == b"(":
            pos += 1
            items = []
            while True:
                while data[pos:pos + 1] == b" ":
                    pos += 1
                if data[pos:pos + 1] == b")":
                    pos += 1
                    return items
                items.append(val())
        if c == b'"':
            out = b""
            pos += 1
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                out += data[pos:pos + 1]
                pos += 1
            pos += 1
            return out
        if c == b"{":
            m = re.compile(rb"\{(\d+)\}\r\n").match(data, pos)
            pos = m.end() + int(m.group(1))
            return data[m.end():pos]
        m = re.compile(rb"[^ ()]+").match(data, pos)
        pos = m.end()
        return None if m.group(0) == b"NIL" else m.group(0)

    return val()


def part_paths(body, prefix, top):
    """Every section part number under body (RFC 9051 6.4.5)."""
    paths = []
    if isinstance(body[0], list):
        i = 0
        while i < len(body) and isinstance(body[i], list):
            p = prefix + [i + 1]
            paths.append(p)
            paths += part_paths_child(body[i], p)
            i += 1
    elif top:
        paths.append(prefix + [1])
    return paths


def part_paths_child(body, p):
    if isinstance(body[0], list):
        return part_paths(body, p, False)
    if body[0] and body[0].lower() == b"message" and body[1] and body[1].lower() == b"rfc822" \
            and len(body) > 8 and isinstance(body[8], list):
        inner = body[8]
        if isinstance(inner[0], list):
            return part_paths(inner, p, False)
        return [p + [1]]
    return []


def main():
    host, port, user, pw, d = sys.argv[1:6]
    names = sys.argv[6:] or sorted(n for n in os.listdir(d) if n.endswith(".eml"))
    imap = Imap(host, int(port))
    imap.cmd(b"LOGIN " + user.encode() + b" " + pw.encode())
    for n in names:
        base = os.path.join(d, n[:-4])
        for old in os.listdir(d):
            if old.startswith(n[:-4] + ".") and not old.endswith(".eml"):
                os.unlink(os.path.join(d, old))
        data = open(os.path.join(d, n), "rb").read()
        box = b"t" + re.sub(rb"[^A-Za-z0-9]", b"", n[:-4].encode())
        try:
            imap.cmd(b"DELETE " + box)
        except RuntimeError:
            pass
        imap.cmd(b"CREATE " + box)
        imap.cmd(b"APPEND " + box, data)
        imap.cmd(b"SELECT " + box)
        out = {}
        out["envelope"] = fetch1(imap, b"ENVELOPE")
        out["body"] = fetch1(imap, b"BODY")
        bs = fetch1(imap, b"BODYSTRUCTURE")
        out["bodystructure"] = bs
        out["header"] = literal_value(fetch1(imap, b"BODY.PEEK[HEADER]"))
        paths = part_paths(sexp(bs), [], True)
        if len(paths) > MAX_PART_FILES:
            paths = []  # the structure strings cover these; keep the directory small
        for p in paths:
            ps = ".".join(map(str, p)).encode()
            v = literal_value(fetch1(imap, b"BODY.PEEK[" + ps + b"]"))
            out["part-" + ps.decode()] = v
            m = literal_value(fetch1(imap, b"BODY.PEEK[" + ps + b".MIME]"))
            out["mime-" + ps.decode()] = m
        for k, v in out.items():
            if v is None:
                v = b"NIL"  # only the string items can be NIL; files say so
            with open(base + "." + k, "wb") as f:
                f.write(v)
        print(n, len(out) - 4, "parts")
    imap.cmd(b"LOGOUT")


main()
