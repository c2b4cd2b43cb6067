"""Support code for test_search.py: the search corpus (eight messages with
explicit flags, keywords, INTERNALDATEs and Date: headers in several time
zones, RFC 2047 headers, quoted-printable, base64 and multipart bodies),
loading it so that UIDs differ from sequence numbers and two messages are
\\Recent, and parsers for SEARCH and ESEARCH responses.
Not a test module (no test_ prefix)."""

import base64
import re

from helpers_fetch import expand_set, fclient, flagset
from helpers_states import status_word

CRLF = b"\r\n"


def raw_message(headers, body):
    """headers: list of str (already folded with CRLF where wanted); body: bytes."""
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body


def b64_lines(data):
    e = base64.b64encode(data)
    return b"".join(e[i:i + 76] + CRLF for i in range(0, len(e), 76))


class Msg:
    def __init__(self, raw, flags, date):
        self.raw, self.flags, self.date = raw, flags, date


# The corpus. Sequence numbers (1-8) are the list index + 1 once loaded.
# Comments give what each message is there for; test_search.py's expected
# answers are written from these by hand.
M = [
    # 1: plain ASCII, Date: in -0800 late in the day (2 Jan in UTC, 1 Jan in its own zone);
    #    INTERNALDATE one second before 1 Jan 2024 UTC
    Msg(raw_message([
        "From: Alice Example <alice@example.org>",
        "To: Bob Builder <bob@example.net>",
        "Cc: Carol Singer <carol@example.com>",
        "Subject: Quarterly report",
        "Date: Mon, 1 Jan 2024 23:30:00 -0800",
        "Message-ID: <m1.quarterly@example.org>",
    ], b"Numbers attached, see the spreadsheet.\r\n"),
        ["\\Seen", "\\Answered", "$Label1"], "31-Dec-2023 23:59:59 +0000"),
    # 2: Bcc, In-Reply-To; Date: in +0100 just after midnight (1 Jan in UTC, 2 Jan in its zone)
    Msg(raw_message([
        'From: "Bob Builder" <bob@example.net>',
        "To: alice@example.org",
        "Bcc: Dave Hidden <dave@example.com>",
        "Subject: Re: Quarterly report",
        "Date: Tue, 2 Jan 2024 00:15:00 +0100",
        "Message-ID: <m2.reply@example.net>",
        "In-Reply-To: <m1.quarterly@example.org>",
    ], b"Watch out for the zebra crossing.\r\n"),
        ["\\Flagged", "Work"], "01-Jan-2024 00:00:00 +0000"),
    # 3: ISO-8859-1 quoted-printable body (with a soft line break inside a word), Q-encoded
    #    Subject and display name
    Msg(raw_message([
        "From: =?ISO-8859-1?Q?Andr=E9?= Martin <andre@example.fr>",
        "To: Alice Example <alice@example.org>",
        "Subject: =?ISO-8859-1?Q?Caf=E9_au_lait?=",
        "Date: Wed, 3 Jan 2024 10:00:00 +0000",
        "Message-ID: <m3.cafe@example.fr>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=ISO-8859-1",
        "Content-Transfer-Encoding: quoted-printable",
    ], b"Un caf=E9 cr=E8me, s'il vous pla=\r\n=EEt.\r\n"),
        ["\\Draft"], "01-Jan-2024 23:59:59 +0000"),
    # 4: B-encoded UTF-8 Subject, base64 UTF-8 body; Date: in +0900 early (3 Jan UTC, 4 Jan own zone)
    Msg(raw_message([
        "From: Bob Builder <bob@example.net>",
        "To: Carol Singer <carol@example.com>",
        "Subject: =?UTF-8?B?" + base64.b64encode("Grüße aus München".encode()).decode() + "?=",
        "Date: Thu, 4 Jan 2024 08:00:00 +0900",
        "Message-ID: <m4.gruss@example.net>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: base64",
    ], b64_lines("Der Zugvogel fliegt nach Süden.\r\n".encode())),
        ["\\Deleted", "\\Seen"], "02-Jan-2024 00:00:00 +0000"),
    # 5: no display name, group syntax in To, folded Subject, List-Id and X-Priority; the big one
    Msg(raw_message([
        "From: noreply@lists.example.com",
        "To: undisclosed-recipients:;",
        "Subject: ANNOUNCEMENT: Server\r\n maintenance",
        "Date: Fri, 5 Jan 2024 12:00:00 -0500",
        "Message-ID: <m5.announce@lists.example.com>",
        "List-Id: Announcements <announce.example.com>",
        "X-Priority: 1",
    ], b"The servers will be down on Saturday.\r\n" + (b"." * 68 + CRLF) * 30),
        ["$Label1", "Work"], "05-Jan-2024 12:00:00 +0000"),
    # 6: every flag but \Deleted; X-Mailer only in the header
    Msg(raw_message([
        "From: Carol Singer <carol@example.com>",
        "To: Bob Builder <bob@example.net>",
        "Cc: Alice Example <alice@example.org>",
        "Subject: lunch",
        "Date: Sat, 6 Jan 2024 13:00:00 +0000",
        "Message-ID: <m6.lunch@example.com>",
        "X-Mailer: Pigeon 2.0",
    ], b"See you at noon by the fountain.\r\n"),
        ["\\Seen", "\\Flagged", "\\Answered", "\\Draft"], "06-Jan-2024 00:00:00 +0000"),
    # 7: (recent, seen) multipart with a binary attachment; Subject of two adjacent
    #    encoded words on two lines (RFC 2047 6.2: the white space between them goes)
    Msg(raw_message([
        "From: Alice Example <alice@example.org>",
        "To: Dave Hidden <dave@example.com>",
        "Subject: =?UTF-8?Q?Wochenend?=\r\n =?UTF-8?Q?pl=C3=A4ne?=",
        "Date: Sun, 7 Jan 2024 09:00:00 +0200",
        "Message-ID: <m7.weekend@example.org>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b7"',
    ], b"--b7\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHiking on Sunday?\r\n"
       b"--b7\r\nContent-Type: application/octet-stream; name=\"map.bin\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\n" + b64_lines(bytes(range(256)) * 2) + b"--b7--\r\n"),
        ["\\Seen"], "07-Jan-2024 10:00:00 +0000"),
    # 8: (recent, unseen) Date: in -1000 in the evening (9 Jan UTC, 8 Jan own zone)
    Msg(raw_message([
        "From: Dave Hidden <dave@example.com>",
        "To: Alice Example <alice@example.org>",
        "Subject: Final notice",
        "Date: Mon, 8 Jan 2024 18:00:00 -1000",
        "Message-ID: <m8.final@example.com>",
    ], b"Last call for the quarterly numbers.\r\n"),
        ["Work"], "08-Jan-2024 23:59:59 +0000"),
]

ALL = list(range(1, 9))
DUMMY = raw_message(["From: x@example.org", "Subject: dummy", "Date: Mon, 1 Jan 2024 00:00:00 +0000"],
                    b"to be expunged\r\n")


def load(srv, timeout=60):
    """Loads the corpus into INBOX: a first session appends a dummy, messages 1-3,
    another dummy and messages 4-6, selects INBOX (taking \\Recent), expunges the
    two dummies by UID and logs out; a second session appends 7 and 8 and selects
    INBOX, so \\Recent is on 7 and 8 only, and sequence numbers 1-8 have UIDs
    2,3,4,6,7,8,9,10 (a gap at 5). Checks flags, sizes and UIDs before returning
    (client selected on INBOX, [uid of seq 1..8])."""
    a = fclient(srv, timeout=timeout)
    order = [DUMMY] + M[:3] + [DUMMY] + M[3:6]
    uids = []
    dummies = []
    for m in order:
        if m is DUMMY:
            _, uid = a.append_ok("INBOX", DUMMY)
            dummies.append(uid)
        else:
            _, uid = a.append_ok("INBOX", m.raw, flags=m.flags, date=m.date)
            uids.append(uid)
    a.select("INBOX")
    ds = ",".join(map(str, dummies))
    a.ok("UID STORE %s +FLAGS.SILENT (\\Deleted)" % ds)
    a.ok("UID EXPUNGE %s" % ds)
    a.logout()
    b = fclient(srv, timeout=timeout)
    for m in M[6:]:
        _, uid = b.append_ok("INBOX", m.raw, flags=m.flags, date=m.date)
        uids.append(uid)
    lines, _ = b.select("INBOX")
    assert b"* 8 EXISTS" in lines and b"* 2 RECENT" in lines, "corpus SELECT: %r" % lines
    assert uids == sorted(set(uids)) and uids[3] > dummies[1] > uids[2], (dummies, uids)
    fr, _, _ = b.fetch("FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)")
    got = sorted((r.seq, int(r["UID"]), flagset(r["FLAGS"]), int(r["RFC822.SIZE"])) for r in fr)
    want = [(i + 1, uids[i], {f.lower() for f in m.flags}, len(m.raw)) for i, m in enumerate(M)]
    assert got == want, "corpus as loaded:\n got  %r\n want %r" % (got, want)
    recent = sorted(r.seq for r in fr if "\\recent" in {str(f).lower() for f in r["FLAGS"]})
    assert recent == [7, 8], "\\Recent on %r" % recent
    return b, uids


def sizes():
    return [len(m.raw) for m in M]


# ---------------------------------------------------------------------------- responses


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


_SEARCH = re.compile(rb"\* SEARCH((?: [1-9]\d*)*)$", re.I)


def search_numbers(lines, what=""):
    """The numbers of the one `* SEARCH` response among lines, sorted (the RFC does not
    fix an order); fails on malformed, repeated or missing responses and duplicates."""
    found = [ln for ln in lines if re.match(rb"\* SEARCH\b", ln, re.I)]
    assert len(found) == 1, "%s: expected one * SEARCH response, got %r" % (what, lines)
    m = _SEARCH.match(found[0])
    assert m, "%s: malformed SEARCH response %r" % (what, found[0])
    nums = [int(x) for x in m.group(1).split()]
    assert len(set(nums)) == len(nums), "%s: a number twice in %r" % (what, found[0])
    assert not any(re.match(rb"\* ESEARCH\b", ln, re.I) for ln in lines), "%s: ESEARCH too: %r" % (what, lines)
    return sorted(nums)


def search(c, text, what=None):
    """Runs a SEARCH-like command that must succeed; returns the sorted numbers."""
    lines, tagged = c.run(text)
    assert status_word(tagged) == "OK", "%s: expected OK, got %r (untagged %r)" % (text, tagged, lines)
    return search_numbers(lines, what or text)


def search_lit(c, prefix, data, suffix=b""):
    """SEARCH with one synchronising literal (prefix {n} data suffix); returns
    (untagged, tagged)."""
    if isinstance(suffix, str):
        suffix = suffix.encode()
    return c.literal_command(c.tag(), prefix, data, suffix)


class ESearch:
    def __init__(self, line, tag, uid, items, order):
        self.line, self.tag, self.uid, self.items, self.order = line, tag, uid, items, order

    def set(self):
        """ALL as a sorted list of numbers ([] when absent)."""
        return sorted(expand_set(self.items["ALL"])) if "ALL" in self.items else []

    def __repr__(self):
        return "ESearch(%r)" % self.line


_ESEARCH = re.compile(rb'\* ESEARCH(?: \(TAG "((?:[^"\\]|\\.)*)"\))?( UID)?((?: [A-Za-z][A-Za-z0-9-]* [^ ]+)*)$',
                      re.I)
_VALUE = {"MIN": rb"[1-9]\d*", "MAX": rb"[1-9]\d*", "COUNT": rb"\d+",
          "ALL": rb"[1-9]\d*(?::[1-9]\d*)?(?:,[1-9]\d*(?::[1-9]\d*)?)*"}


def parse_esearch(line):
    m = _ESEARCH.match(line)
    assert m, "malformed ESEARCH response %r" % line
    toks = m.group(3).split()
    items, order = {}, []
    for k, v in zip(toks[0::2], toks[1::2]):
        k = k.decode().upper()
        assert k not in items, "return item %s twice: %r" % (k, line)
        assert k in _VALUE, "return item %s not asked for by any test: %r" % (k, line)
        assert re.fullmatch(_VALUE[k], v), "malformed %s value in %r" % (k, line)
        items[k] = v.decode()
        order.append(k)
    tag = None if m.group(1) is None else re.sub(rb"\\(.)", rb"\1", m.group(1)).decode()
    return ESearch(line, tag, m.group(2) is not None, items, order)


def esearch(c, text, uid=None):
    """Runs a SEARCH/UID SEARCH with RETURN that must succeed and answer with exactly
    one ESEARCH response correlated to its tag (and no SEARCH response); returns it."""
    tag = c.tag()
    lines, tagged = c.run(text, tag=tag)
    assert status_word(tagged) == "OK", "%s: expected OK, got %r (untagged %r)" % (text, tagged, lines)
    return one_esearch(lines, tag, text, uid if uid is not None else text.upper().startswith("UID "))


def one_esearch(lines, tag, text, uid):
    es = [ln for ln in lines if re.match(rb"\* ESEARCH\b", ln, re.I)]
    assert len(es) == 1, "%s: expected one ESEARCH response, got %r" % (text, lines)
    assert not any(re.match(rb"\* SEARCH\b", ln, re.I) for ln in lines), "%s: SEARCH too: %r" % (text, lines)
    r = parse_esearch(es[0])
    assert r.tag == tag, "%s: ESEARCH correlator %r, want (TAG \"%s\"): %r" % (text, r.tag, tag, es[0])
    assert r.uid == uid, "%s: UID indicator %s: %r" % (text, "missing" if uid else "present", es[0])
    return r


def runs(nums):
    """Number of maximal runs of consecutive numbers in a set (the fewest pieces a
    sequence-set for it can have)."""
    s = sorted(set(nums))
    return sum(1 for i, n in enumerate(s) if i == 0 or s[i - 1] != n - 1)
