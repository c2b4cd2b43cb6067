"""FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9, 7.5.2; RFC 3501 6.4.5, 7.4.2) with
BINARY (RFC 3516): a corpus of real-world-shaped messages is APPENDed and
every data item and section form is checked against strings worked out by
hand from the RFCs (Dovecot's choices where the RFCs leave room: lower-case
"text" "plain", a default ("charset" "us-ascii") for text parts, all four
extension fields, encoded words left as written), and against the MIME
corpus in tests/corpus/mime/ (Dovecot-derived expected output) when present.

Sizes and line counts in the expected strings are computed from the parts as
they are built (len() and the number of LFs), since every body here ends with
CRLF."""

import base64
import datetime
import glob
import hashlib
import os
import re
import time

from helpers_fetch import NIL, Atom, canon, canon_text, fclient, flagset
from helpers_states import code_args, resp_code, status_word

CRLF = b"\r\n"
CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "corpus", "mime")
DATE_RE = re.compile(r"^(?: \d|[0-3]\d)-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} "
                     r"\d\d:\d\d:\d\d [+-]\d{4}$")


def hdr(*lines):
    """A header block: the lines with CRLF, and the blank line that ends it."""
    return b"".join(ln.encode() + CRLF for ln in lines) + CRLF


def nlines(b):
    return b.count(b"\n")


def b64lines(data, width=76):
    e = base64.b64encode(data)
    return b"".join(e[i:i + width] + CRLF for i in range(0, len(e), width))


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- the corpus


class Msg:
    """A message, its parts by section, and the expected FETCH strings."""

    def __init__(self, name, raw, envelope, bodystructure, body, sections, binary=None, date=None):
        self.name = name
        self.raw = raw
        self.envelope = envelope
        self.bodystructure = bodystructure
        self.body = body
        self.sections = sections  # {"1": bytes, "2.MIME": bytes, "HEADER": bytes, ...}
        self.binary = binary or {}  # {"2": decoded bytes}
        self.date = date


def build_corpus():
    msgs = []

    # 1. plain text with Cc, In-Reply-To
    h = hdr("From: Bob Example <bob@example.org>",
            "To: Alice <alice@example.org>",
            'Cc: carol@example.org, "Dave D." <dave@example.net>',
            "Subject: Plain text",
            "Date: Mon, 6 May 2024 10:00:00 +0000",
            "Message-ID: <plain-1@example.org>",
            "In-Reply-To: <parent@example.org>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: 7bit")
    b = b"Hello Alice,\r\nthis is line two.\r\n"
    bob = '("Bob Example" NIL "bob" "example.org")'
    env = ('("Mon, 6 May 2024 10:00:00 +0000" "Plain text" (%s) (%s) (%s) (("Alice" NIL "alice" "example.org")) '
           '((NIL NIL "carol" "example.org")("Dave D." NIL "dave" "example.net")) NIL "<parent@example.org>" '
           '"<plain-1@example.org>")' % (bob, bob, bob))
    leaf = '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(b), nlines(b))
    msgs.append(Msg("plain", h + b, env, "(%s NIL NIL NIL NIL)" % leaf, "(%s)" % leaf,
                    {"": h + b, "HEADER": h, "TEXT": b, "1": b}, {"1": b},
                    date="14-Jul-2023 02:44:25 -0700"))

    # 2. multipart/alternative, quoted-printable text and HTML; Sender and Reply-To given
    h = hdr('From: "Bob" <bob@example.org>',
            "Sender: Secretary <sec@example.org>",
            "Reply-To: replies@example.org",
            "To: alice@example.org",
            "Subject: Alternative",
            "Date: Tue, 7 May 2024 08:30:00 +0200",
            "Message-ID: <alt-1@example.org>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/alternative; boundary="=_alt_boundary"')
    p1h = hdr("Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable")
    p1b = b"Caf=C3=A9 au lait, =E2=82=AC3.50, and a soft=\r\n break.\r\n"
    p1d = "Café au lait, €3.50, and a soft break.\r\n".encode()
    p2h = hdr("Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 7bit")
    p2b = b"<html><body><p>Caf&eacute; au lait, &euro;3.50</p></body></html>\r\n"
    b = (b"This is a multi-part message in MIME format.\r\n\r\n--=_alt_boundary\r\n" + p1h + p1b
         + b"\r\n--=_alt_boundary\r\n" + p2h + p2b + b"\r\n--=_alt_boundary--\r\n")
    env = ('("Tue, 7 May 2024 08:30:00 +0200" "Alternative" (("Bob" NIL "bob" "example.org")) '
           '(("Secretary" NIL "sec" "example.org")) ((NIL NIL "replies" "example.org")) '
           '((NIL NIL "alice" "example.org")) NIL NIL NIL "<alt-1@example.org>")')
    l1 = '"text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" %d %d' % (len(p1b), nlines(p1b))
    l2 = '"text" "html" ("charset" "utf-8") NIL NIL "7bit" %d %d' % (len(p2b), nlines(p2b))
    bs = '((%s NIL NIL NIL NIL)(%s NIL NIL NIL NIL) "alternative" ("boundary" "=_alt_boundary") NIL NIL NIL)' % (l1, l2)
    body = '((%s)(%s) "alternative")' % (l1, l2)
    msgs.append(Msg("alternative", h + b, env, bs, body,
                    {"": h + b, "HEADER": h, "TEXT": b, "1": p1b, "1.MIME": p1h, "2": p2b, "2.MIME": p2h},
                    {"1": p1d, "2": p2b}, date=" 4-Jul-2023 12:00:00 +0000"))

    # 3. multipart/mixed with a base64 attachment holding NULs; every extension field; RFC 2231 filename
    data = bytes(range(256)) * 3 + b"\x00\x00end of data"
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    h = hdr("From: Bob <bob@example.org>",
            "To: Alice <alice@example.org>",
            "Subject: Attachment",
            "Date: Wed, 8 May 2024 09:15:00 +0000",
            "Message-ID: <att-1@example.org>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="mixed-1"')
    p1h = hdr("Content-Type: text/plain; charset=us-ascii")
    p1b = b"See the attached file.\r\n"
    p2h = hdr('Content-Type: application/octet-stream; name="data.bin"',
              "Content-Transfer-Encoding: base64",
              "Content-Disposition: attachment; filename*=utf-8''na%C3%AFve%20data.bin",
              "Content-ID: <att1@example.org>",
              "Content-Description: Some bytes",
              "Content-MD5: " + md5,
              "Content-Language: en, fr",
              "Content-Location: http://example.org/data.bin")
    p2b = b64lines(data)
    b = b"--mixed-1\r\n" + p1h + p1b + b"\r\n--mixed-1\r\n" + p2h + p2b + b"\r\n--mixed-1--\r\n"
    env = ('("Wed, 8 May 2024 09:15:00 +0000" "Attachment" (("Bob" NIL "bob" "example.org")) '
           '(("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) '
           '(("Alice" NIL "alice" "example.org")) NIL NIL NIL "<att-1@example.org>")')
    l1 = '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(p1b), nlines(p1b))
    l2 = '"application" "octet-stream" ("name" "data.bin") "<att1@example.org>" "Some bytes" "base64" %d' % len(p2b)
    x2 = ('%s ("attachment" ("filename*" "utf-8\'\'na%%C3%%AFve%%20data.bin")) ("en" "fr") '
          '"http://example.org/data.bin"' % q(md5))
    bs = '((%s NIL NIL NIL NIL)(%s %s) "mixed" ("boundary" "mixed-1") NIL NIL NIL)' % (l1, l2, x2)
    body = '((%s)(%s) "mixed")' % (l1, l2)
    msgs.append(Msg("attachment", h + b, env, bs, body,
                    {"": h + b, "HEADER": h, "TEXT": b, "1": p1b, "2": p2b, "2.MIME": p2h, "1.MIME": p1h},
                    {"1": p1b, "2": data}))

    # 4. forwarded message/rfc822 with its own attachment, next to a nested multipart/alternative
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a48e0000000049454e44ae426082")
    ih = hdr("From: Dan <dan@example.com>",
             "To: Carol <carol@example.org>",
             "Subject: Report",
             "Date: Mon, 6 May 2024 09:00:00 -0400",
             "Message-ID: <report-7@example.com>",
             "MIME-Version: 1.0",
             'Content-Type: multipart/mixed; boundary="rep"')
    i1h = hdr("Content-Type: text/plain; charset=us-ascii")
    i1b = b"The report is attached.\r\n"
    i2h = hdr('Content-Type: image/png; name="dot.png"',
              "Content-Transfer-Encoding: base64",
              'Content-Disposition: attachment; filename="dot.png"')
    i2b = b64lines(png)
    ib = b"--rep\r\n" + i1h + i1b + b"\r\n--rep\r\n" + i2h + i2b + b"\r\n--rep--\r\n"
    inner = ih + ib
    a1h = hdr("Content-Type: text/plain; charset=us-ascii")
    a1b = b"Short note.\r\n"
    a2h = hdr("Content-Type: text/html; charset=us-ascii")
    a2b = b"<p>Short note.</p>\r\n"
    p2h = hdr('Content-Type: multipart/alternative; boundary="inner-alt"')
    p2b = b"--inner-alt\r\n" + a1h + a1b + b"\r\n--inner-alt\r\n" + a2h + a2b + b"\r\n--inner-alt--\r\n"
    p1h = hdr("Content-Type: text/plain; charset=us-ascii")
    p1b = b"Forwarding the report, see below.\r\n"
    p3h = hdr("Content-Type: message/rfc822", "Content-Description: Forwarded message")
    h = hdr("From: Carol <carol@example.org>",
            "To: Alice <alice@example.org>",
            "Subject: Fwd: Report",
            "Date: Wed, 8 May 2024 12:00:00 +0000",
            "Message-ID: <fwd-1@example.org>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="outer"')
    b = (b"--outer\r\n" + p1h + p1b + b"\r\n--outer\r\n" + p2h + p2b + b"\r\n--outer\r\n" + p3h + inner
         + b"\r\n--outer--\r\n")
    carol = '("Carol" NIL "carol" "example.org")'
    env = ('("Wed, 8 May 2024 12:00:00 +0000" "Fwd: Report" (%s) (%s) (%s) (("Alice" NIL "alice" "example.org")) '
           'NIL NIL NIL "<fwd-1@example.org>")' % (carol, carol, carol))
    dan = '("Dan" NIL "dan" "example.com")'
    ienv = ('("Mon, 6 May 2024 09:00:00 -0400" "Report" (%s) (%s) (%s) (%s) NIL NIL NIL "<report-7@example.com>")'
            % (dan, dan, dan, carol))
    t1 = '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(p1b), nlines(p1b))
    ta1 = '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(a1b), nlines(a1b))
    ta2 = '"text" "html" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(a2b), nlines(a2b))
    ti1 = '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(i1b), nlines(i1b))
    ti2 = '"image" "png" ("name" "dot.png") NIL NIL "base64" %d' % len(i2b)
    ibs = '((%s NIL NIL NIL NIL)(%s NIL ("attachment" ("filename" "dot.png")) NIL NIL) "mixed" ("boundary" "rep") NIL NIL NIL)' % (ti1, ti2)
    ibody = '((%s)(%s) "mixed")' % (ti1, ti2)
    m3 = '"message" "rfc822" NIL NIL "Forwarded message" "7bit" %d' % len(inner)
    bs = ('((%s NIL NIL NIL NIL)((%s NIL NIL NIL NIL)(%s NIL NIL NIL NIL) "alternative" ("boundary" "inner-alt") NIL NIL NIL)'
          '(%s %s %s %d NIL NIL NIL NIL) "mixed" ("boundary" "outer") NIL NIL NIL)'
          % (t1, ta1, ta2, m3, ienv, ibs, nlines(inner)))
    body = '((%s)((%s)(%s) "alternative")(%s %s %s %d) "mixed")' % (t1, ta1, ta2, m3, ienv, ibody, nlines(inner))
    msgs.append(Msg("forward", h + b, env, bs, body,
                    {"": h + b, "HEADER": h, "TEXT": b, "1": p1b, "2": p2b, "2.MIME": p2h, "2.1": a1b,
                     "2.2": a2b, "2.1.MIME": a1h, "3": inner, "3.MIME": p3h, "3.HEADER": ih, "3.TEXT": ib,
                     "3.1": i1b, "3.1.MIME": i1h, "3.2": i2b, "3.2.MIME": i2h},
                    {"3.2": png, "2.1": a1b}))

    # 5. RFC 2047 encoded subject and names, an 8-bit UTF-8 body
    subj = "=?UTF-8?B?" + base64.b64encode("Grüße aus Köln".encode()).decode() + "?="
    h = hdr("From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>",
            'To: =?UTF-8?B?w4lsb2RpZQ==?= <elodie@example.fr>, "Smith, John" <john@example.com>',
            "Subject: " + subj,
            "Date: Thu, 9 May 2024 18:45:00 +0200",
            "Message-ID: <utf8-1@example.de>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit")
    b = "Grüße aus Köln, viele Grüße\r\n½ € 日本語\r\n".encode()
    j = '("=?ISO-8859-1?Q?J=F6rg_M=FCller?=" NIL "joerg" "example.de")'
    env = ('("Thu, 9 May 2024 18:45:00 +0200" %s (%s) (%s) (%s) (("=?UTF-8?B?w4lsb2RpZQ==?=" NIL "elodie" "example.fr")'
           '("Smith, John" NIL "john" "example.com")) NIL NIL NIL "<utf8-1@example.de>")' % (q(subj), j, j, j))
    leaf = '"text" "plain" ("charset" "utf-8") NIL NIL "8bit" %d %d' % (len(b), nlines(b))
    msgs.append(Msg("utf8", h + b, env, "(%s NIL NIL NIL NIL)" % leaf, "(%s)" % leaf,
                    {"": h + b, "HEADER": h, "TEXT": b, "1": b}, {"1": b}))

    # 6. no MIME headers at all, no Message-ID
    h = hdr("From: old@example.com", "To: alice@example.org", "Subject: no MIME here",
            "Date: Fri, 10 May 2024 07:00:00 +0000")
    b = b"Just text.\r\nSecond line.\r\nThird.\r\n"
    o = '(NIL NIL "old" "example.com")'
    env = ('("Fri, 10 May 2024 07:00:00 +0000" "no MIME here" (%s) (%s) (%s) ((NIL NIL "alice" "example.org")) '
           'NIL NIL NIL NIL)' % (o, o, o))
    leaf = '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(b), nlines(b))
    msgs.append(Msg("nomime", h + b, env, "(%s NIL NIL NIL NIL)" % leaf, "(%s)" % leaf,
                    {"": h + b, "HEADER": h, "TEXT": b, "1": b}, {"1": b}))

    # 7. broken multipart: the final boundary is missing, the part runs to the end of the message
    h = hdr("From: x@example.com", "Subject: broken multipart", "Date: Sat, 11 May 2024 11:11:11 +0000",
            "Message-ID: <broken-1@example.com>", "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="b1"')
    p1h = hdr("Content-Type: text/plain; charset=us-ascii")
    p1b = b"unterminated part\r\nsecond line\r\n"
    b = b"--b1\r\n" + p1h + p1b
    x = '(NIL NIL "x" "example.com")'
    env = ('("Sat, 11 May 2024 11:11:11 +0000" "broken multipart" (%s) (%s) (%s) NIL NIL NIL NIL '
           '"<broken-1@example.com>")' % (x, x, x))
    leaf = '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d' % (len(p1b), nlines(p1b))
    msgs.append(Msg("broken", h + b, env, '((%s NIL NIL NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL)' % leaf,
                    '((%s) "mixed")' % leaf, {"": h + b, "HEADER": h, "TEXT": b, "1": p1b, "1.MIME": p1h}))
    return msgs


def nocorpus_broken():
    """A multipart whose boundary never occurs (structure left to the server; it must answer sanely)."""
    return (hdr("From: y@example.com", "Subject: no parts", "MIME-Version: 1.0",
                'Content-Type: multipart/mixed; boundary="never-used"')
            + b"This claims to be multipart but has no parts.\r\n--almost-a-boundary\r\n")


def unknown_cte():
    h = hdr("From: z@example.com", "Subject: unknown CTE", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: x-gannet-unknown")
    return h, b"begin 644 f\r\n#86)C\r\nend\r\n"


# --------------------------------------------------------------------------- helpers


class Errors:
    def __init__(self):
        self.errs = []

    def eq(self, what, got, want):
        if got != want:
            self.errs.append("%s:\n    got:  %r\n    want: %r" % (what, got, want))

    def check(self, cond, what):
        if not cond:
            self.errs.append(what)

    def done(self):
        assert not self.errs, "%d mismatches:\n%s" % (len(self.errs), "\n".join(self.errs))


def load(srv, msgs, mailbox="INBOX", select=True):
    c = fclient(srv, timeout=60)
    uids = []
    for m in msgs:
        _, uid = c.append_ok(mailbox, m.raw, date=m.date)
        uids.append(uid)
    if select:
        c.select(mailbox)
    return c, uids


def exact_or_canon(e, what, r, name, want):
    """An ENVELOPE/BODY/BODYSTRUCTURE value: exact text when the server wrote no literal,
    else the same value (a literal where we wrote a quoted string is allowed)."""
    raw = r.raw.get(name)
    if raw is None:
        e.errs.append("%s: no %s in %r" % (what, name, r))
        return
    if b"{" not in raw:
        e.eq(what, raw.decode("utf-8", "surrogateescape"), want)
    else:
        e.eq(what, canon(r.items[name]), canon_text(want))


# --------------------------------------------------------------------------- tests


def test_fetch_structure_items_of_own_corpus(srv):
    msgs = build_corpus()
    c, uids = load(srv, msgs)
    e = Errors()
    for seq, (m, uid) in enumerate(zip(msgs, uids), 1):
        r = c.fetch1("FETCH %d (UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)" % seq)
        e.eq("%s UID" % m.name, r.get("UID"), str(uid))
        e.eq("%s RFC822.SIZE" % m.name, r.get("RFC822.SIZE"), str(len(m.raw)))
        exact_or_canon(e, "%s ENVELOPE" % m.name, r, "ENVELOPE", m.envelope)
        exact_or_canon(e, "%s BODYSTRUCTURE" % m.name, r, "BODYSTRUCTURE", m.bodystructure)
        exact_or_canon(e, "%s BODY" % m.name, r, "BODY", m.body)
    # asked again (from the index's cache, RFC-wise the same answer)
    r = c.fetch1("FETCH 4 (BODYSTRUCTURE)")
    exact_or_canon(e, "forward BODYSTRUCTURE, second time", r, "BODYSTRUCTURE", msgs[3].bodystructure)
    e.done()


def test_fetch_items_after_first_structure_computation(srv):
    # the first FETCH of ENVELOPE/BODYSTRUCTURE computes them; items after them in the same
    # FETCH must still be the message's (RFC 9051 7.5.2: RFC822.SIZE is the message's size)
    msgs = build_corpus()
    c, uids = load(srv, msgs[:3], select=False)
    c.select("INBOX")
    e = Errors()
    for seq, first in ((1, "ENVELOPE"), (2, "BODYSTRUCTURE"), (3, "BODY")):
        r = c.fetch1("FETCH %d (%s RFC822.SIZE INTERNALDATE UID)" % (seq, first))
        e.eq("RFC822.SIZE after the first %s of message %d" % (first, seq), r.get("RFC822.SIZE"),
             str(len(msgs[seq - 1].raw)))
        again = c.fetch1("FETCH %d (INTERNALDATE)" % seq)
        e.eq("INTERNALDATE after the first %s of message %d" % (first, seq), r.get("INTERNALDATE"),
             again.get("INTERNALDATE"))
        e.eq("UID", r.get("UID"), str(uids[seq - 1]))
    e.done()


def test_fetch_body_sections_exact_bytes(srv):
    msgs = build_corpus()
    c, uids = load(srv, msgs)
    e = Errors()
    for seq, m in enumerate(msgs, 1):
        for sec, want in m.sections.items():
            r = c.fetch1("FETCH %d (BODY.PEEK[%s])" % (seq, sec))
            name = "BODY[%s]" % sec
            e.eq("%s %s" % (m.name, name), r.get(name), want)
            e.check("FLAGS" not in r, "%s BODY.PEEK[%s] reported FLAGS: %r" % (m.name, sec, r))
    # RFC822.SIZE is the size of BODY[]
    fr, _, _ = c.fetch("FETCH 1:* (RFC822.SIZE BODY.PEEK[])")
    for r in fr:
        e.eq("seq %d RFC822.SIZE vs BODY[]" % r.seq, int(r["RFC822.SIZE"]), len(r["BODY[]"]))
    e.done()


def test_fetch_header_fields(srv):
    msgs = build_corpus()
    c, uids = load(srv, msgs)
    plain = msgs[0].raw
    e = Errors()
    # RFC 9051 6.4.5: the subset of header fields named, in the message's order, with the blank line
    r = c.fetch1("FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])")
    e.eq("HEADER.FIELDS (FROM SUBJECT)", r.get("BODY[HEADER.FIELDS (FROM SUBJECT)]"),
         b"From: Bob Example <bob@example.org>\r\nSubject: Plain text\r\n\r\n")
    r = c.fetch1("FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject X-Not-There)])")
    vals = [v for k, v in r.items.items() if k.startswith("BODY[HEADER.FIELDS")]
    e.eq("HEADER.FIELDS lower-case name and a missing one", vals, [b"Subject: Plain text\r\n\r\n"])
    r = c.fetch1("FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-Not-There)])")
    vals = [v for k, v in r.items.items() if k.startswith("BODY[HEADER.FIELDS")]
    e.eq("HEADER.FIELDS of only missing fields is the blank line", vals, [b"\r\n"])
    r = c.fetch1("FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (FROM SUBJECT DATE MESSAGE-ID)])")
    want = b"".join(ln + CRLF for ln in plain.split(b"\r\n\r\n")[0].split(CRLF)
                    if not re.match(rb"(From|Subject|Date|Message-ID):", ln)) + CRLF
    e.eq("HEADER.FIELDS.NOT", r.get("BODY[HEADER.FIELDS.NOT (FROM SUBJECT DATE MESSAGE-ID)]"), want)
    # in an encapsulated message (message 4, part 3)
    r = c.fetch1("FETCH 4 (BODY.PEEK[3.HEADER.FIELDS (SUBJECT FROM)])")
    e.eq("3.HEADER.FIELDS", r.get("BODY[3.HEADER.FIELDS (SUBJECT FROM)]"),
         b"From: Dan <dan@example.com>\r\nSubject: Report\r\n\r\n")
    e.done()


def test_fetch_partial(srv):
    msgs = build_corpus()
    c, uids = load(srv, msgs)
    e = Errors()
    raw = msgs[0].raw
    # RFC 9051 6.4.5 and 7.5.2: a partial fetch is answered with its origin, BODY[]<0>
    r = c.fetch1("FETCH 1 (BODY.PEEK[]<0.10>)")
    e.eq("BODY[]<0.10>", r.get("BODY[]<0>"), raw[:10])
    r = c.fetch1("FETCH 1 (BODY.PEEK[]<10.25>)")
    e.eq("BODY[]<10.25>", r.get("BODY[]<10>"), raw[10:35])
    # truncated at the end
    r = c.fetch1("FETCH 1 (BODY.PEEK[]<%d.100>)" % (len(raw) - 5))
    e.eq("BODY[] partial running past the end", r.get("BODY[]<%d>" % (len(raw) - 5)), raw[-5:])
    # an origin past the end: an empty string
    r = c.fetch1("FETCH 1 (BODY.PEEK[]<100000.10>)")
    e.eq("BODY[]<100000.10>", r.get("BODY[]<100000>"), b"")
    r = c.fetch1("FETCH 1 (BODY.PEEK[TEXT]<%d.1>)" % len(msgs[0].sections["TEXT"]))
    e.eq("TEXT origin at the end", r.get("BODY[TEXT]<%d>" % len(msgs[0].sections["TEXT"])), b"")
    # splitting a multi-byte UTF-8 character (message 5: "Grüße", ü is bytes 2-3 of the text)
    text = msgs[4].sections["TEXT"]
    assert text[2:4] == "ü".encode()
    r = c.fetch1("FETCH 5 (BODY.PEEK[TEXT]<0.3>)")
    e.eq("TEXT<0.3> ends inside ü", r.get("BODY[TEXT]<0>"), b"Gr\xc3")
    r = c.fetch1("FETCH 5 (BODY.PEEK[TEXT]<3.4>)")
    e.eq("TEXT<3.4> starts inside ü", r.get("BODY[TEXT]<3>"), b"\xbc\xc3\x9fe")
    r = c.fetch1("FETCH 5 (BODY.PEEK[1]<3.4>)")
    e.eq("BODY[1]<3.4>", r.get("BODY[1]<3>"), b"\xbc\xc3\x9fe")
    # of a part and of a header
    r = c.fetch1("FETCH 4 (BODY.PEEK[3.TEXT]<2.5> BODY.PEEK[HEADER]<0.4>)")
    e.eq("3.TEXT<2.5>", r.get("BODY[3.TEXT]<2>"), msgs[3].sections["3.TEXT"][2:7])
    e.eq("HEADER<0.4>", r.get("BODY[HEADER]<0>"), b"From")
    e.done()
    # the length of a partial is an nz-number (RFC 9051 9, partial): <0.0> is a syntax error
    c.bad("FETCH 1 (BODY.PEEK[]<0.0>)")
    c.ok("NOOP")


def test_fetch_rfc822_items_and_macros(srv):
    msgs = build_corpus()
    c, uids = load(srv, msgs[:2])
    m = msgs[0]
    e = Errors()
    r = c.fetch1("FETCH 1 (RFC822.HEADER)")
    e.eq("RFC822.HEADER", r.get("RFC822.HEADER"), m.sections["HEADER"])
    e.check("FLAGS" not in r, "RFC822.HEADER is BODY.PEEK[HEADER]: no \\Seen, no FLAGS: %r" % r)
    r = c.fetch1("FETCH 1 (FLAGS)")
    e.check("\\seen" not in flagset(r["FLAGS"]), "RFC822.HEADER set \\Seen: %r" % r)
    r = c.fetch1("FETCH 1 (RFC822.TEXT)")
    e.eq("RFC822.TEXT", r.get("RFC822.TEXT"), m.sections["TEXT"])
    e.check("FLAGS" in r and "\\seen" in flagset(r["FLAGS"]), "RFC822.TEXT sets \\Seen and reports it: %r" % r)
    r = c.fetch1("FETCH 2 (RFC822)")
    e.eq("RFC822", r.get("RFC822"), msgs[1].raw)
    e.check("FLAGS" in r and "\\seen" in flagset(r["FLAGS"]), "RFC822 sets \\Seen and reports it: %r" % r)
    # macros (RFC 9051 6.4.5)
    want = {"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
            "ALL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
            "FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}}
    for macro, items in want.items():
        r = c.fetch1("FETCH 1 %s" % macro)
        e.eq("FETCH %s items" % macro, set(r.items), items)
        if "ENVELOPE" in items:
            exact_or_canon(e, "%s ENVELOPE" % macro, r, "ENVELOPE", m.envelope)
        if "BODY" in items:
            exact_or_canon(e, "%s BODY" % macro, r, "BODY", m.body)
        e.eq("%s RFC822.SIZE" % macro, r.get("RFC822.SIZE"), str(len(m.raw)))
    fr, _, _ = c.fetch("FETCH 1:2 ALL")
    e.eq("FETCH 1:2 ALL responses", sorted(r.seq for r in fr), [1, 2])
    e.done()


def test_fetch_flags_uid_internaldate(srv):
    c = fclient(srv)
    msgs = build_corpus()
    _, u1 = c.append_ok("INBOX", msgs[0].raw, flags=["\\Flagged", "$Label1"], date="14-Jul-2023 02:44:25 -0700")
    _, u2 = c.append_ok("INBOX", msgs[1].raw, flags=["\\Seen", "\\Answered", "\\Draft"], date=" 4-Jul-2023 12:00:00 +0000")
    _, u3 = c.append_ok("INBOX", msgs[2].raw, date="31-Dec-1999 23:59:59 +1300")
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    _, u4 = c.append_ok("INBOX", msgs[3].raw)
    after = datetime.datetime.now(datetime.timezone.utc)
    c.select("INBOX")
    fr, _, _ = c.fetch("FETCH 1:4 (UID FLAGS INTERNALDATE)")
    by = {r.seq: r for r in fr}
    e = Errors()
    e.eq("responses", sorted(by), [1, 2, 3, 4])
    for seq, uid in zip((1, 2, 3, 4), (u1, u2, u3, u4)):
        e.eq("UID of %d" % seq, by[seq].get("UID"), str(uid))
    e.eq("FLAGS 1", flagset(by[1]["FLAGS"]), {"\\flagged", "$label1"})
    e.eq("FLAGS 2", flagset(by[2]["FLAGS"]), {"\\seen", "\\answered", "\\draft"})
    e.eq("FLAGS 3", flagset(by[3]["FLAGS"]), set())
    dates = {}
    for seq in (1, 2, 3, 4):
        v = by[seq].get("INTERNALDATE")
        e.check(isinstance(v, bytes), "INTERNALDATE is a quoted string: %r" % by[seq].raw.get("INTERNALDATE"))
        if isinstance(v, bytes):
            s = v.decode()
            e.check(DATE_RE.match(s), "INTERNALDATE %r not in RFC 9051 date-time form (dd-Mon-yyyy hh:mm:ss +zzzz, "
                    "a one-digit day with a leading space)" % s)
            try:
                dates[seq] = datetime.datetime.strptime(s.strip(), "%d-%b-%Y %H:%M:%S %z")
            except ValueError:
                e.errs.append("INTERNALDATE %r does not parse" % s)
    utc = datetime.timezone.utc
    if 1 in dates:
        e.eq("INTERNALDATE 1 instant", dates[1], datetime.datetime(2023, 7, 14, 9, 44, 25, tzinfo=utc))
    if 2 in dates:
        e.eq("INTERNALDATE 2 instant", dates[2], datetime.datetime(2023, 7, 4, 12, 0, 0, tzinfo=utc))
    if 3 in dates:
        e.eq("INTERNALDATE 3 instant", dates[3], datetime.datetime(1999, 12, 31, 10, 59, 59, tzinfo=utc))
    if 4 in dates:
        e.check(before - datetime.timedelta(seconds=2) <= dates[4] <= after + datetime.timedelta(seconds=2),
                "INTERNALDATE of an APPEND without a date is the time of the APPEND: %r" % dates[4])
    # the zone given at APPEND is kept (what Dovecot and most servers do; RFC 9051 2.3.3 lets the
    # server choose, so only check that a kept zone is rendered correctly)
    raw1 = by[1].get("INTERNALDATE")
    if raw1 is not None and raw1.decode().endswith("-0700"):
        e.eq("INTERNALDATE 1 text", raw1, b"14-Jul-2023 02:44:25 -0700")
    raw2 = by[2].get("INTERNALDATE")
    if isinstance(raw2, bytes) and raw2.decode().endswith("+0000"):
        # date-day-fixed = (SP DIGIT) / 2DIGIT: " 4" and "04" are both right
        e.check(raw2 in (b" 4-Jul-2023 12:00:00 +0000", b"04-Jul-2023 12:00:00 +0000"),
                "INTERNALDATE 2 text (one-digit day): %r" % raw2)
    # INTERNALDATE survives a restart
    srv.restart()
    c = fclient(srv)
    c.select("INBOX")
    fr, _, _ = c.fetch("FETCH 1:3 (INTERNALDATE FLAGS)")
    for r in fr:
        e.eq("INTERNALDATE of %d after restart" % r.seq, r.get("INTERNALDATE"), by[r.seq].get("INTERNALDATE"))
        e.eq("FLAGS of %d after restart" % r.seq, flagset(r["FLAGS"]), flagset(by[r.seq]["FLAGS"]))
    e.done()


def test_fetch_binary(srv):
    msgs = build_corpus()
    c, uids = load(srv, msgs)
    lines, _ = c.ok("CAPABILITY")
    caps = b" ".join(lines).upper().split()
    assert b"BINARY" in caps, "BINARY not advertised: %r" % lines
    e = Errors()
    for seq, m in enumerate(msgs, 1):
        for part, want in m.binary.items():
            r = c.fetch1("FETCH %d (BINARY.PEEK[%s] BINARY.SIZE[%s])" % (seq, part, part))
            got = r.get("BINARY[%s]" % part)
            e.eq("%s BINARY[%s]" % (m.name, part), got, want)
            e.eq("%s BINARY.SIZE[%s]" % (m.name, part), r.get("BINARY.SIZE[%s]" % part), str(len(want)))
            if b"\x00" in want:
                # RFC 3516 4.3 and RFC 9051 4.3: NUL can only travel in a literal8
                e.check(r.literal8.get("BINARY[%s]" % part), "%s BINARY[%s] holds NUL but was not sent as "
                        "literal8 (~{n}): %r" % (m.name, part, r.raw.get("BINARY[%s]" % part, b"")[:40]))
            e.check("FLAGS" not in r, "BINARY.PEEK reported FLAGS: %r" % r)
    # partial BINARY: the offset is into the decoded data (RFC 3516 4.3)
    data = msgs[2].binary["2"]
    r = c.fetch1("FETCH 3 (BINARY.PEEK[2]<250.20>)")
    e.eq("BINARY[2]<250.20>", r.get("BINARY[2]<250>"), data[250:270])
    # BINARY.PEEK leaves \Seen alone; BINARY sets it
    r = c.fetch1("FETCH 3 (FLAGS)")
    e.check("\\seen" not in flagset(r["FLAGS"]), "BINARY.PEEK set \\Seen: %r" % r)
    r = c.fetch1("FETCH 3 (BINARY[1])")
    e.eq("BINARY[1] of 3", r.get("BINARY[1]"), msgs[2].binary["1"])
    e.check("FLAGS" in r and "\\seen" in flagset(r["FLAGS"]), "BINARY[1] sets \\Seen and reports it: %r" % r)
    # UID FETCH BINARY
    r = c.fetch1("UID FETCH %d (BINARY.PEEK[3.2])" % uids[3])
    e.eq("UID FETCH BINARY[3.2]", r.get("BINARY[3.2]"), msgs[3].binary["3.2"])
    e.eq("UID FETCH BINARY has UID", r.get("UID"), str(uids[3]))
    e.done()


def test_fetch_binary_unknown_cte(srv):
    h, b = unknown_cte()
    c = fclient(srv)
    c.append_ok("INBOX", h + b)
    c.select("INBOX")
    # RFC 3516 4.3: a CTE the server cannot decode fails the request with NO [UNKNOWN-CTE]
    for item in ("BINARY.PEEK[1]", "BINARY.SIZE[1]", "BINARY[1]"):
        lines, tagged = c.run("FETCH 1 (%s)" % item)
        assert status_word(tagged) == "NO" and resp_code(tagged) == "UNKNOWN-CTE", (item, lines, tagged)
    # (whether the failed BINARY[1] set \Seen is not said by the RFCs; Dovecot sets it)
    # the raw section is still there
    r = c.fetch1("FETCH 1 (BODY.PEEK[1] BODYSTRUCTURE)")
    assert r["BODY[1]"] == b, r
    bs = r["BODYSTRUCTURE"]
    assert isinstance(bs, list) and bs[5] == b"x-gannet-unknown", r.raw["BODYSTRUCTURE"]


def test_fetch_broken_multipart_without_boundaries_is_sane(srv):
    raw = nocorpus_broken()
    c = fclient(srv)
    c.append_ok("INBOX", raw)
    c.select("INBOX")
    r = c.fetch1("FETCH 1 (BODYSTRUCTURE BODY ENVELOPE RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT])")
    assert r["BODY[]"] == raw and int(r["RFC822.SIZE"]) == len(raw), r
    assert r["BODY[TEXT]"] == raw.split(b"\r\n\r\n", 1)[1], r
    bs = r["BODYSTRUCTURE"]
    assert isinstance(bs, list) and bs, r.raw["BODYSTRUCTURE"]
    # RFC 9051 7.5.2: a multipart has at least one body; its subtype follows the bodies
    if isinstance(bs[0], list):
        k = 0
        while isinstance(bs[k], list):
            k += 1
        assert bs[k] == b"mixed", r.raw["BODYSTRUCTURE"]
    c.ok("NOOP")


def test_fetch_seen_set_by_body_not_by_peek_nor_in_examine(srv):
    msgs = build_corpus()
    c, uids = load(srv, msgs[:4])
    e = Errors()
    r = c.fetch1("FETCH 1 (BODY.PEEK[])")
    e.check("FLAGS" not in r, "BODY.PEEK[] reported FLAGS: %r" % r)
    r = c.fetch1("FETCH 1 (FLAGS)")
    e.check("\\seen" not in flagset(r["FLAGS"]), "BODY.PEEK[] set \\Seen")
    # RFC 9051 6.4.5: BODY[] sets \Seen; the changed flags SHOULD come in the same response
    r = c.fetch1("FETCH 1 (BODY[])")
    e.eq("BODY[] data", r.get("BODY[]"), msgs[0].raw)
    e.check("FLAGS" in r and "\\seen" in flagset(r["FLAGS"]), "FETCH BODY[] did not report FLAGS (\\Seen): %r" % r)
    r = c.fetch1("FETCH 2 (BODY[TEXT])")
    e.check("FLAGS" in r and "\\seen" in flagset(r["FLAGS"]), "FETCH BODY[TEXT] did not report \\Seen: %r" % r)
    r = c.fetch1("FETCH 3 (BODY[1.MIME])")
    e.check("FLAGS" in r and "\\seen" in flagset(r["FLAGS"]), "FETCH BODY[1.MIME] did not report \\Seen: %r" % r)
    # UID FETCH BODY[] too, with UID in the response
    r = c.fetch1("UID FETCH %d (BODY[HEADER])" % uids[3])
    e.eq("UID FETCH has UID", r.get("UID"), str(uids[3]))
    e.check("FLAGS" in r and "\\seen" in flagset(r["FLAGS"]), "UID FETCH BODY[HEADER] did not report \\Seen: %r" % r)
    fr, _, _ = c.fetch("FETCH 1:4 (FLAGS)")
    e.eq("all four \\Seen", [("\\seen" in flagset(r["FLAGS"])) for r in fr], [True] * 4)
    # another session sees the change
    d = fclient(srv)
    d.select("INBOX")
    fr, _, _ = d.fetch("FETCH 1:4 (FLAGS)")
    e.eq("\\Seen persisted for another session", [("\\seen" in flagset(r["FLAGS"])) for r in fr], [True] * 4)
    # a read-only session does not set \Seen (RFC 9051 6.3.3)
    c.append_ok("INBOX", msgs[4].raw)
    c.ok("EXAMINE INBOX")
    r = c.fetch1("FETCH 5 (BODY[])")
    e.eq("BODY[] in EXAMINE", r.get("BODY[]"), msgs[4].raw)
    e.check("FLAGS" not in r or "\\seen" not in flagset(r["FLAGS"]), "EXAMINE FETCH BODY[] reported \\Seen: %r" % r)
    r = c.fetch1("FETCH 5 (RFC822 BINARY[1])")
    e.check("FLAGS" not in r or "\\seen" not in flagset(r["FLAGS"]), "EXAMINE FETCH RFC822 reported \\Seen: %r" % r)
    c.select("INBOX")
    r = c.fetch1("FETCH 5 (FLAGS)")
    e.check("\\seen" not in flagset(r["FLAGS"]), "FETCH BODY[] after EXAMINE set \\Seen: %r" % r)
    e.done()


def test_uid_fetch_always_has_uid_and_sets(srv):
    c = fclient(srv)
    # empty mailbox: UID FETCH 1:* is OK with nothing (RFC 9051 6.4.9); FETCH * is BAD (9 seq-number)
    c.select("INBOX")
    fr, other, tagged = c.fetch("UID FETCH 1:* (FLAGS)")
    assert fr == [], fr
    c.bad("FETCH * (FLAGS)")
    c.bad("FETCH 1 (FLAGS)")
    msgs = build_corpus()
    uids = [c.append_ok("INBOX", m.raw)[1] for m in msgs[:6]]
    c.select("INBOX")
    e = Errors()
    fr, _, _ = c.fetch("UID FETCH 1:* (FLAGS)")
    e.eq("UID FETCH 1:* seqs", sorted(r.seq for r in fr), [1, 2, 3, 4, 5, 6])
    for r in fr:
        e.eq("UID FETCH (FLAGS) of %d carries UID" % r.seq, r.get("UID"), str(uids[r.seq - 1]))
    r = c.fetch1("UID FETCH %d (RFC822.SIZE)" % uids[2])
    e.eq("UID FETCH RFC822.SIZE carries UID", r.get("UID"), str(uids[2]))
    e.eq("seq", r.seq, 3)
    r = c.fetch1("UID FETCH %d BODY.PEEK[HEADER.FIELDS (SUBJECT)]" % uids[0])
    e.eq("UID FETCH of one section without parens carries UID", r.get("UID"), str(uids[0]))
    # UIDs that do not exist are ignored
    fr, _, _ = c.fetch("UID FETCH %d:%d (FLAGS)" % (uids[-1] + 1, uids[-1] + 100))
    e.eq("UID range beyond the last UID (not *)", [r.seq for r in fr], [])
    fr, _, _ = c.fetch("UID FETCH %d:* (FLAGS)" % (uids[-1] + 50))
    e.eq("UID n:* with n beyond the last UID names the last message", [r.seq for r in fr], [6])
    fr, _, _ = c.fetch("UID FETCH %d,%d,%d (UID)" % (uids[0], uids[-1] + 7, uids[4]))
    e.eq("UID list with a missing UID", sorted(r.seq for r in fr), [1, 5])
    # reversed ranges and *
    fr, _, _ = c.fetch("FETCH 5:2 (UID)")
    e.eq("FETCH 5:2", sorted(r.seq for r in fr), [2, 3, 4, 5])
    fr, _, _ = c.fetch("FETCH * (UID)")
    e.eq("FETCH *", [(r.seq, r.get("UID")) for r in fr], [(6, str(uids[5]))])
    fr, _, _ = c.fetch("FETCH *:4 (UID)")
    e.eq("FETCH *:4", sorted(r.seq for r in fr), [4, 5, 6])
    fr, _, _ = c.fetch("FETCH 1,3,2:3,6 (UID)")
    e.check(sorted(set(r.seq for r in fr)) == [1, 2, 3, 6], "FETCH 1,3,2:3,6: %r" % fr)
    fr, _, _ = c.fetch("UID FETCH %d:%d (UID)" % (uids[3], uids[1]))
    e.eq("UID FETCH reversed", sorted(r.seq for r in fr), [2, 3, 4])
    e.done()
    # a sequence number past EXISTS is BAD (RFC 9051 section 9, seq-number)
    for bad in ("FETCH 7 (FLAGS)", "FETCH 1:7 (FLAGS)", "FETCH 7:* (FLAGS)", "FETCH 0 (FLAGS)",
                "FETCH 2 (NOSUCHITEM)", "FETCH 2 (BODY[HEADER.FIELDS])", "FETCH 2 BODY[4.0]", "FETCH 2 (BODY[]<1>)"):
        lines, tagged = c.run(bad)
        assert status_word(tagged) == "BAD", "%s: expected BAD, got %r %r" % (bad, lines, tagged)
        assert not any(ln.startswith(b"* ") and b" FETCH " in ln for ln in lines), (bad, lines)
    c.ok("NOOP")


def test_fetch_nonexistent_part_is_empty_or_nil(srv):
    # RFC 9051 6.4.5 does not name a result for a part that does not exist; servers answer NIL or ""
    # (Dovecot: NIL). Either way: no error for the whole FETCH, nothing made up.
    msgs = build_corpus()
    c, _ = load(srv, msgs[:1])
    r = c.fetch1("FETCH 1 (BODY.PEEK[7] BODY.PEEK[1.2])")
    for k in ("BODY[7]", "BODY[1.2]"):
        assert k in r and (r[k] is NIL or r[k] == b""), r


def test_fetch_large_message_25mb(srv):
    c = fclient(srv, timeout=120)
    rnd = os.urandom(1 << 16)
    # 25 MB of base64 lines (as a real attachment would be), built from random data
    line_src = base64.b64encode(rnd * 6)  # ~520 KiB of base64 text
    lines = [line_src[i:i + 76] + CRLF for i in range(0, len(line_src) - 76, 76)]
    block = b"".join(lines)
    head = hdr("From: big@example.org", "To: alice@example.org", "Subject: 25 MB", "MIME-Version: 1.0",
               "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64")
    reps = (25 * 1000 * 1000) // len(block) + 1
    msg = head + block * reps
    assert len(msg) > 25 * 1000 * 1000
    digest = hashlib.sha256(msg).hexdigest()
    t0 = time.time()
    tag = c.tag()
    c.send(b"%s APPEND INBOX {%d+}\r\n" % (tag.encode(), len(msg)))
    view = memoryview(msg)
    for i in range(0, len(msg), 1 << 20):
        c.send(view[i:i + (1 << 20)])
    c.send(b"\r\n")
    lines_, tagged = c.until(tag)
    assert status_word(tagged) == "OK", (lines_, tagged)
    uid = int(code_args(tagged, "APPENDUID").split()[1])
    t1 = time.time()
    c.select("INBOX")
    r = c.fetch1("UID FETCH %d (RFC822.SIZE BODY.PEEK[])" % uid)
    t2 = time.time()
    body = r["BODY[]"]
    assert int(r["RFC822.SIZE"]) == len(msg), (r["RFC822.SIZE"], len(msg))
    assert len(body) == len(msg), (len(body), len(msg))
    assert hashlib.sha256(body).hexdigest() == digest, "BODY[] of the 25 MB message differs from what was APPENDed"
    # a slice near the end, and BODY[TEXT] size
    r = c.fetch1("UID FETCH %d (BODY.PEEK[]<%d.1000>)" % (uid, len(msg) - 700))
    assert r["BODY[]<%d>" % (len(msg) - 700)] == msg[-700:]
    print("25 MB: APPEND %.1fs, FETCH %.1fs" % (t1 - t0, t2 - t1))
    c.ok("NOOP")


# --------------------------------------------------------------------------- the MIME corpus


def _read(p):
    with open(p, "rb") as f:
        return f.read()


def test_fetch_mime_corpus(srv):
    """tests/corpus/mime/NAME.eml with Dovecot's answers: NAME.bodystructure, NAME.envelope,
    NAME.body (IMAP text, compared as values: a literal and a quoted string are the same),
    NAME.header (BODY[HEADER]), NAME.part-N (BODY[N]) and NAME.mime-N (BODY[N.MIME]) as bytes.
    Nothing to do until the corpus exists."""
    emls = sorted(glob.glob(os.path.join(CORPUS, "*.eml")))
    if not emls:
        print("no MIME corpus in %s yet" % CORPUS)
        return
    c = fclient(srv, timeout=60)
    c.select("INBOX")
    u = None  # a second session with UTF8=ACCEPT, for messages with 8-bit headers (RFC 6855 4)
    e = Errors()
    n = 0
    for p in emls:
        name = os.path.basename(p)[:-4]
        raw = _read(p)
        cl = c
        lines, tagged = c.append("INBOX", raw)
        if status_word(tagged) != "OK":
            if u is None:
                u = fclient(srv, timeout=60)
                u.ok("ENABLE UTF8=ACCEPT")
                u.select("INBOX")
            lines, tagged = u.append("INBOX", raw)
            if status_word(tagged) != "OK":
                e.errs.append("corpus %s: APPEND refused: %r" % (name, tagged))
                continue
            cl = u
        cl.noop_ok()
        uid = int(code_args(tagged, "APPENDUID").split()[1])
        r = cl.fetch1("UID FETCH %d (ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE BODY.PEEK[])" % uid)
        stored = r["BODY[]"]
        n += 1
        for ext, item in (("bodystructure", "BODYSTRUCTURE"), ("envelope", "ENVELOPE"), ("body", "BODY")):
            ep = os.path.join(CORPUS, name + "." + ext)
            if not os.path.exists(ep):
                continue
            want = _read(ep)
            try:
                wc = canon_text(want)
            except Exception as ex:  # noqa: BLE001 - an expected file we cannot read is reported, not fatal
                e.errs.append("corpus %s.%s: cannot parse expected text (%s)" % (name, ext, ex))
                continue
            got = canon(r.items[item]) if item in r.items else r.get(item)
            e.eq("corpus %s %s" % (name, item), got, wc)
        e.eq("corpus %s RFC822.SIZE = len(BODY[])" % name, int(r["RFC822.SIZE"]), len(stored))
        files = [(os.path.join(CORPUS, name + ".header"), "HEADER")]
        for pp in glob.glob(os.path.join(CORPUS, name + ".part-*")):
            files.append((pp, pp.rsplit(".part-", 1)[1]))
        for pp in glob.glob(os.path.join(CORPUS, name + ".mime-*")):
            files.append((pp, pp.rsplit(".mime-", 1)[1] + ".MIME"))
        for pp, sec in sorted(files):
            if not os.path.exists(pp):
                continue
            fr, _, tagged = cl.fetch("UID FETCH %d (BODY.PEEK[%s])" % (uid, sec), expect=None)
            if status_word(tagged) != "OK" or len(fr) != 1:
                e.errs.append("corpus %s: UID FETCH %d (BODY.PEEK[%s]) -> %r %r" % (name, uid, sec, fr, tagged))
                continue
            got = fr[0].get("BODY[%s]" % sec)
            want = _read(pp)
            if want == b"" and got is NIL:
                continue  # an empty expected file: "" or NIL
            e.eq("corpus %s BODY[%s]" % (name, sec), got, want)
    print("MIME corpus: %d messages checked" % n)
    e.done()
