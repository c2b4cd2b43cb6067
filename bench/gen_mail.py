#!/usr/bin/env python3
"""Deterministic mailbox generator for Gannet's benchmark (bench/run).

Message i of seed S depends only on (S, i), so the mailbox of 1,000 messages
is the first 1,000 of the mailbox of 100,000: one pool per seed, grown on
demand, serves every size. Files are Maildir files (LF line ends) named

    TIME.MnnnnnnPseedQi.bench,S=SIZE:2,FLAGS

with TIME the message's Date (strictly increasing with i, one message per
ten minutes or so from 2022-01-01), so Gannet (which orders new files by name)
and Dovecot (which orders them by the time in the name) give the same UIDs to
the same messages. Each file's mtime is its Date: both servers take
INTERNALDATE from it. S= is the file's size, as both servers write it.

Line ends are CRLF by default, the form Gannet keeps its files in (given an
LF file it rewrites it as a CRLF copy, fsync'd, the first time it sees it;
Dovecot reads either). --lf makes an LF corpus instead, in its own cache
directory, to measure that first-sight rewrite.

The mix: about 70% text/plain, 15% multipart/alternative (text + HTML), 15%
multipart/mixed with one to three base64 attachments; sizes from about 1 KB to
5 MB, log-normal (median about 4 KB, mean about 20 KB); about 40% are replies
(In-Reply-To and References to an earlier message of the same thread, so
threads run through the mailbox); some subjects are RFC 2047 encoded words.
Flags go in the Maildir info suffix: \\Seen on 85%, \\Answered on 8%,
\\Flagged on 4%. Keywords are left out: Maildir keyword letters are mapped
differently by every server.

Cache layout (CACHE defaults to /var/tmp/gannet-bench):
    CACHE/corpus-v1-seedS-crlf/msgs/NAME   the files, generated once
    CACHE/corpus-v1-seedS-crlf/names       their names in order, one a line
    CACHE/corpus-v1-seedS-crlf/big/...     the 1 MB and 25 MB messages

Command line:
    gen_mail.py [--cache DIR] [--seed S] [--lf] --count N            generate (cached)
    gen_mail.py [--cache DIR] [--seed S] [--lf] --count N --maildir D link the first N into D/cur/
    gen_mail.py [--cache DIR] [--seed S] [--lf] --big [--maildir D]   the two big messages
"""

import argparse
import base64
import bisect
import fcntl
import hashlib
import os
import random
import sys
import time

VERSION = 1
DEFAULT_CACHE = "/var/tmp/gannet-bench"
DEFAULT_SEED = 42
T0 = 1640995200  # 2022-01-01T00:00:00Z
SPACING = 600  # seconds between consecutive messages (plus jitter below it)

DOMAINS = ["example.com", "example.net", "example.org", "mail.example.co.uk", "lists.example.org",
           "corp.example", "uni.example.edu", "shop.example", "dev.example.io", "news.example.net"]
FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoe",
         "Ana", "Björn", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Giulia", "Hiroshi", "Ingrid", "José"]
LAST = ["Smith", "Jones", "Garcia", "Müller", "Rossi", "Dubois", "Kowalski", "Nakamura", "Silva",
        "Olsen", "Novak", "Byrne", "Weber", "Moreau", "Lindqvist", "Costa", "Kim", "Patel", "Ng", "Ward"]
ATTACH = [("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"), ("scan.png", "image/png"),
          ("data.zip", "application/zip"), ("slides.pptx",
           "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
          ("budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
          ("invite.ics", "text/calendar"), ("notes.odt", "application/vnd.oasis.opendocument.text")]


def _h(seed, tag, i):
    """A 64-bit hash of (seed, tag, i): cheap per-message decisions that other
    messages need too (a message's parent, its thread's subject)."""
    d = hashlib.blake2b(("%d:%s:%d" % (seed, tag, i)).encode(), digest_size=8).digest()
    return int.from_bytes(d, "little")


class Generator:
    def __init__(self, seed, crlf=True):
        self.seed, self.crlf = seed, crlf
        rng = random.Random("gannet-bench-vocab:%d" % seed)
        letters = "etaoinshrdlucmfwypvbgkjqxz"
        weights = [12, 9, 8, 8, 7, 7, 6, 6, 6, 4, 4, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
        self.words = ["".join(rng.choices(letters, weights, k=rng.choice((2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9, 11))))
                      for _ in range(3000)]
        # A pool of text lines (up to 72 columns), bodies are runs of it.
        lines = []
        for _ in range(6000):
            ln, n = [], 0
            target = rng.randint(30, 72)
            while n < target:
                w = rng.choice(self.words)
                ln.append(w)
                n += len(w) + 1
            s = " ".join(ln)
            lines.append(s[0].upper() + s[1:] + ("." if rng.random() < 0.3 else "") + "\n")
            if rng.random() < 0.12:
                lines.append("\n")
        self.lines = lines
        self.cum = [0]
        for s in lines:
            self.cum.append(self.cum[-1] + len(s))
        # Attachment content: random bytes, base64 in 76-column lines; an
        # attachment is a run of whole lines of it.
        blob = random.Random("gannet-bench-blob:%d" % seed).randbytes(3 << 20)
        self.b64 = base64.encodebytes(blob).decode("ascii")
        self.b64_line = 77

    # -- pieces -------------------------------------------------------------
    def person(self, k):
        first = FIRST[k % len(FIRST)]
        last = LAST[(k // len(FIRST)) % len(LAST)]
        dom = DOMAINS[(k // 7) % len(DOMAINS)]
        addr = "%s.%s@%s" % (first.lower(), last.lower(), dom)
        addr = addr.encode("ascii", "ignore").decode()  # addresses stay ASCII
        name = "%s %s" % (first, last)
        if not name.isascii():
            name = "=?UTF-8?B?%s?=" % base64.b64encode(name.encode()).decode()
        return '"%s" <%s>' % (name, addr) if k % 5 else "%s <%s>" % (name, addr)

    def text(self, rng, size):
        n = len(self.lines)
        start = rng.randrange(n)
        out = []
        while size > 0:
            # as many lines from start as fit in size (at least one)
            end = bisect.bisect_left(self.cum, self.cum[start] + size, start + 1, n + 1)
            end = min(max(end, start + 1), n)
            out.append("".join(self.lines[start:end]))
            size -= self.cum[end] - self.cum[start]
            start = 0 if end >= n else end
        return "".join(out)

    def b64run(self, rng, raw_size):
        nlines = max(1, (raw_size * 4 // 3 + 75) // 76)
        avail = len(self.b64) // self.b64_line
        if nlines >= avail:
            reps = nlines // avail + 1
            return (self.b64 * reps)[: nlines * self.b64_line]
        start = rng.randrange(avail - nlines) * self.b64_line
        return self.b64[start: start + nlines * self.b64_line]

    def subject_of(self, root):
        r = random.Random(_h(self.seed, "subject", root))
        words = [r.choice(self.words) for _ in range(r.randint(2, 8))]
        s = " ".join(words)
        s = s[0].upper() + s[1:]
        if r.random() < 0.06:
            return "=?UTF-8?B?%s?=" % base64.b64encode(("Résumé: " + s).encode()).decode()
        return s

    def parent(self, i):
        """The message i replies to, or None: about 40% are replies to one of
        the 200 messages before them."""
        h = _h(self.seed, "parent", i)
        if i == 0 or h % 100 >= 40:
            return None
        return max(0, i - 1 - (h >> 8) % min(i, 200))

    def ancestry(self, i):
        chain = []
        p = self.parent(i)
        while p is not None and len(chain) < 30:
            chain.append(p)
            p = self.parent(p)
        chain.reverse()  # root first
        return chain

    def msgid(self, i):
        return "<%d.%d.%x@%s>" % (i, self.seed, _h(self.seed, "mid", i) & 0xFFFFFF, DOMAINS[i % len(DOMAINS)])

    @staticmethod
    def date_of(seed, i):
        return T0 + i * SPACING + _h(seed, "date", i) % SPACING

    # -- one message --------------------------------------------------------
    def message(self, i):
        """Returns (name, bytes, mtime) for message i."""
        rng = random.Random("%d:%d" % (self.seed, i))
        t = self.date_of(self.seed, i)
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))
        chain = self.ancestry(i)
        root = chain[0] if chain else i
        subject = self.subject_of(root)
        if chain:
            subject = "Re: " + subject
        sender = rng.randrange(400)
        hdr = []
        hdr.append("Return-Path: <%s>\n" % self.person(sender).split("<")[1].rstrip(">"))
        hdr.append("Delivered-To: bench@bench.test\n")
        mx = "mx%d.%s" % (rng.randint(1, 9), DOMAINS[sender % 10])
        hdr.append("Received: from %s (%s [192.0.2.%d])\n\tby mail.bench.test (Postfix) with "
                   "ESMTPS id %08X\n\tfor <bench@bench.test>; %s\n"
                   % (mx, mx, rng.randint(1, 254), rng.getrandbits(32), date))
        if rng.random() < 0.5:
            hdr.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=s1;\n\th=from:to:subject:date"
                       ":message-id; bh=%s;\n\tb=%s\n" % (DOMAINS[sender % 10], self.b64[:44],
                                                          self.b64[77 * (i % 500):][:76].strip()))
        hdr.append("Message-ID: %s\n" % self.msgid(i))
        hdr.append("Date: %s\n" % date)
        hdr.append("From: %s\n" % self.person(sender))
        to = ["bench <bench@bench.test>"] + [self.person(rng.randrange(400)) for _ in range(rng.choice((0, 0, 0, 1, 2)))]
        hdr.append("To: %s\n" % ",\n ".join(to))
        if rng.random() < 0.25:
            hdr.append("Cc: %s\n" % ", ".join(self.person(rng.randrange(400)) for _ in range(rng.randint(1, 3))))
        hdr.append("Subject: %s\n" % subject)
        if chain:
            hdr.append("In-Reply-To: %s\n" % self.msgid(chain[-1]))
            hdr.append("References: %s\n" % "\n ".join(self.msgid(p) for p in chain[-10:]))
        if rng.random() < 0.2:
            hdr.append("List-Id: <dev.lists.example.org>\nList-Unsubscribe: <mailto:leave@lists.example.org>\n")
        hdr.append("MIME-Version: 1.0\n")

        kind = rng.random()
        text_size = int(min(60000, max(200, rng.lognormvariate(7.6, 0.9))))  # median ~2 KB
        body = self.text(rng, text_size)
        if chain and rng.random() < 0.7:
            quoted = "".join("> " + ln for ln in self.text(rng, min(4000, text_size)).splitlines(True))
            body += "\nOn %s, someone wrote:\n%s" % (date, quoted)
        if kind < 0.70:
            hdr.append("Content-Type: text/plain; charset=utf-8; format=flowed\nContent-Transfer-Encoding: 8bit\n")
            out = "".join(hdr) + "\n" + body
        else:
            b1 = "=_b1_%d_%x" % (i, rng.getrandbits(32))
            html = "<html><head><meta charset=\"utf-8\"></head><body>\n" + "".join(
                "<p>%s</p>\n" % ln.rstrip("\n") for ln in body.splitlines(True) if ln.strip()) + "</body></html>\n"
            alt = ("--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n"
                   "--%s\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n--%s--\n"
                   % (b1, body, b1, html, b1))
            if kind < 0.85:
                hdr.append('Content-Type: multipart/alternative; boundary="%s"\n' % b1)
                out = "".join(hdr) + "\nThis is a multi-part message in MIME format.\n\n" + alt
            else:
                b0 = "=_b0_%d_%x" % (i, rng.getrandbits(32))
                hdr.append('Content-Type: multipart/mixed; boundary="%s"\n' % b0)
                parts = ["\nThis is a multi-part message in MIME format.\n\n--%s\n" % b0]
                if rng.random() < 0.5:
                    parts.append('Content-Type: multipart/alternative; boundary="%s"\n\n%s' % (b1, alt))
                else:
                    parts.append("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s" % body)
                budget = 3_600_000  # raw bytes, so the file stays under 5 MB
                for _ in range(rng.choice((1, 1, 1, 2, 3))):
                    raw = int(min(budget, max(1000, rng.lognormvariate(10.1, 1.4))))  # median ~24 KB
                    budget -= raw
                    fname, ctype = ATTACH[rng.randrange(len(ATTACH))]
                    parts.append('\n--%s\nContent-Type: %s; name="%s"\nContent-Disposition: attachment; '
                                 'filename="%s"\nContent-Transfer-Encoding: base64\n\n%s'
                                 % (b0, ctype, fname, fname, self.b64run(rng, raw)))
                    if budget < 1000:
                        break
                parts.append("\n--%s--\n" % b0)
                out = "".join(hdr) + "".join(parts)
        data = out.encode("utf-8")
        if self.crlf:
            data = data.replace(b"\n", b"\r\n")
        flags = ""
        f = rng.random
        if f() < 0.04:
            flags += "F"
        if f() < 0.08:
            flags += "R"
        if f() < 0.85:
            flags += "S"
        name = "%d.M%06dP%dQ%d.bench,S=%d:2,%s" % (t, i % 1000000, self.seed, i, len(data), flags)
        return name, data, t

    def big_message(self, k, size):
        """Big message k (0, 1) of about `size` bytes: a short text and one
        base64 attachment."""
        rng = random.Random("%d:big:%d" % (self.seed, k))
        t = T0 - 86400 + k * 3600
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))
        b0 = "=_big_%d" % k
        head = ("Message-ID: <big%d.%d@bench.test>\nDate: %s\nFrom: %s\nTo: bench <bench@bench.test>\n"
                "Subject: Big message %d (%d MB)\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
                "boundary=\"%s\"\n\n--%s\nContent-Type: text/plain; charset=utf-8\n\n%s\n--%s\n"
                "Content-Type: application/octet-stream; name=\"big%d.bin\"\nContent-Disposition: attachment; "
                "filename=\"big%d.bin\"\nContent-Transfer-Encoding: base64\n\n"
                % (k, self.seed, date, self.person(k), k, size >> 20, b0, b0, self.text(rng, 2000), b0, k, k))
        tail = "\n--%s--\n" % b0
        room = (size - len(head) - len(tail)) * (77 if self.crlf else 78) // 78
        raw = rng.randbytes((room // 77 + 1) * 57)
        body = base64.encodebytes(raw).decode()
        data = (head + body[:room // 77 * 77] + tail).encode()
        if self.crlf:
            data = data.replace(b"\n", b"\r\n")
        name = "%d.M%06dP%dQbig%d.bench,S=%d:2,S" % (t, k, self.seed, k, len(data))
        return name, data, t


def _write(path, data, mtime):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(fd, 0o644)  # Dovecot's mail user must read it whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.utime(path, (mtime, mtime))


def corpus_dir(cache, seed, crlf=True):
    return os.path.join(cache, "corpus-v%d-seed%d-%s" % (VERSION, seed, "crlf" if crlf else "lf"))


def _prepare(cache, seed, crlf):
    d = corpus_dir(cache, seed, crlf)
    os.makedirs(os.path.join(d, "msgs"), exist_ok=True)
    for p in (cache, d, os.path.join(d, "msgs")):
        os.chmod(p, 0o755)
    return d


def ensure_pool(cache, seed, count, crlf=True, progress=None):
    """Makes sure messages 0..count-1 of seed exist in the cache. Returns
    (msgs_dir, names) with the first `count` names in order."""
    d = _prepare(cache, seed, crlf)
    msgs = os.path.join(d, "msgs")
    names_path = os.path.join(d, "names")
    with open(os.path.join(d, "lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        names = []
        if os.path.exists(names_path):
            with open(names_path) as f:
                names = f.read().split("\n")[:-1]
        if len(names) < count:
            gen = Generator(seed, crlf)
            started = time.time()
            with open(names_path, "a") as nf:
                for i in range(len(names), count):
                    name, data, t = gen.message(i)
                    _write(os.path.join(msgs, name), data, t)
                    nf.write(name + "\n")  # recorded only once the file is whole
                    names.append(name)
                    if progress and (i + 1) % 10000 == 0:
                        progress("generated %d/%d messages (%.0f s)" % (i + 1, count, time.time() - started))
    return msgs, names[:count]


BIG_SIZES = (1 << 20, 25 << 20)


def ensure_big(cache, seed, crlf=True):
    """The 1 MB and 25 MB messages. Returns (dir, names)."""
    d = os.path.join(_prepare(cache, seed, crlf), "big")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    names_path = os.path.join(d, "names")
    with open(os.path.join(d, "lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.exists(names_path):
            with open(names_path) as f:
                names = f.read().split()
            if len(names) == len(BIG_SIZES):
                return d, names
        gen = Generator(seed, crlf)
        names = []
        for k, size in enumerate(BIG_SIZES):
            name, data, t = gen.big_message(k, size)
            _write(os.path.join(d, name), data, t)
            names.append(name)
        with open(names_path + ".tmp", "w") as f:
            f.write("\n".join(names) + "\n")
        os.rename(names_path + ".tmp", names_path)
    return d, names


def link_into(src_dir, names, dest_cur):
    """Hard-links each named file of src_dir into dest_cur (a Maildir's cur/)."""
    os.makedirs(dest_cur, exist_ok=True)
    link = os.link
    for n in names:
        link(os.path.join(src_dir, n), os.path.join(dest_cur, n))


def crlf_size(path):
    """The message's size as IMAP counts it (RFC822.SIZE): a bare LF counts
    as CRLF."""
    with open(path, "rb") as f:
        data = f.read()
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--count", type=int)
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--maildir", help="a Maildir (or Maildir++ folder) to link the messages into")
    ap.add_argument("--lf", action="store_true", help="LF line ends (the default is CRLF)")
    a = ap.parse_args()
    if not a.big and not a.count:
        ap.error("--count N or --big")
    t = time.time()
    if a.big:
        src, names = ensure_big(a.cache, a.seed, not a.lf)
    else:
        src, names = ensure_pool(a.cache, a.seed, a.count, not a.lf, progress=lambda m: print(m, file=sys.stderr))
    if a.maildir:
        for sub in ("new", "tmp"):
            os.makedirs(os.path.join(a.maildir, sub), exist_ok=True)
        link_into(src, names, os.path.join(a.maildir, "cur"))
    total = sum(os.stat(os.path.join(src, n)).st_size for n in names)
    print("%s: %d messages, %.1f MB, %.1f s" % (a.maildir or src, len(names), total / 1e6, time.time() - t))


if __name__ == "__main__":
    main()
