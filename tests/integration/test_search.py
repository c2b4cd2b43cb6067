"""SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4), ESEARCH (RFC 4731,
RFC 9051 7.3.4) and SEARCHRES (RFC 5182).

Every test loads the corpus of helpers_search.py: eight messages whose
sequence numbers 1-8 have UIDs with a gap in them, \\Recent on 7 and 8 only,
explicit flags, keywords and INTERNALDATEs, Date: headers in several time
zones, RFC 2047 headers (Q and B, adjacent words over a fold), an ISO-8859-1
quoted-printable body, a base64 UTF-8 body and a multipart message. The
expected answers are written out by hand from the comments in the corpus.

The session is IMAP4rev1 (no ENABLE IMAP4rev2), so a SEARCH without RETURN
answers `* SEARCH`. The RFCs do not fix the order of numbers in a SEARCH
response or of items and numbers in an ESEARCH response; the tests compare
sorted numbers and accept any item order, and check everything else exactly.
Dates: BEFORE/ON/SINCE compare the INTERNALDATE's day in UTC (Gannet's rule;
the corpus's INTERNALDATEs are given in +0000 apart from one test that
checks the rule); SENTBEFORE/SENTON/SENTSINCE the Date: header's day as
written, in its own zone (RFC 9051: "disregarding time and timezone")."""

import re

from helpers_fetch import copyuid, expand_set, fclient
from helpers_search import (ALL, Errors, load, one_esearch, raw_message, runs, search,
                            search_lit, search_numbers, sizes)
from helpers_states import client, code_args, resp_code, status_word


def but(*nums):
    return [n for n in ALL if n not in nums]


def check_all(c, table, e=None):
    """table: [(search command, expected sorted numbers)]. Collects mismatches."""
    own = e is None
    e = e or Errors()
    for cmd, want in table:
        lines, tagged = c.run(cmd)
        if status_word(tagged) != "OK":
            e.errs.append("%s:\n    got:  %r %r\n    want: OK %r" % (cmd, lines, tagged, want))
            continue
        try:
            got = search_numbers(lines, cmd)
        except AssertionError as x:
            e.errs.append(str(x))
            continue
        e.eq(cmd, got, want)
    if own:
        e.done()
    return e


def check_lit(c, e, prefix, data, want, suffix=b""):
    """A SEARCH with one literal (UTF-8 text); collects a mismatch."""
    what = "%s {%s}" % (prefix, data.decode("utf-8", "replace")) + suffix.decode()
    lines, tagged = search_lit(c, prefix, data, suffix)
    if status_word(tagged) != "OK":
        e.errs.append("%s:\n    got:  %r %r\n    want: OK %r" % (what, lines, tagged, want))
        return
    try:
        e.eq(what, search_numbers(lines, what), want)
    except AssertionError as x:
        e.errs.append(str(x))


def u8(s):
    return s.encode("utf-8")


def fetch_uids(c, text):
    """{seq: uid} from a FETCH-like command that must succeed."""
    fr, other, tagged = c.fetch(text)
    return {r.seq: int(r["UID"]) for r in fr}


# --------------------------------------------------------------------------- keys


def test_search_flag_keys(srv):
    c, uids = load(srv)
    table = [
        ("SEARCH ALL", ALL),
        ("SEARCH ANSWERED", [1, 6]),
        ("SEARCH UNANSWERED", [2, 3, 4, 5, 7, 8]),
        ("SEARCH DELETED", [4]),
        ("SEARCH UNDELETED", but(4)),
        ("SEARCH DRAFT", [3, 6]),
        ("SEARCH UNDRAFT", [1, 2, 4, 5, 7, 8]),
        ("SEARCH FLAGGED", [2, 6]),
        ("SEARCH UNFLAGGED", [1, 3, 4, 5, 7, 8]),
        ("SEARCH SEEN", [1, 4, 6, 7]),
        ("SEARCH UNSEEN", [2, 3, 5, 8]),
        ("SEARCH RECENT", [7, 8]),
        ("SEARCH OLD", [1, 2, 3, 4, 5, 6]),
        ("SEARCH NEW", [8]),
        ("SEARCH KEYWORD $Label1", [1, 5]),
        ("SEARCH KEYWORD Work", [2, 5, 8]),
        ("SEARCH UNKEYWORD Work", [1, 3, 4, 6, 7]),
        ("SEARCH UNKEYWORD $Label1", [2, 3, 4, 6, 7, 8]),
        ("SEARCH KEYWORD NoSuchKeyword", []),
        ("SEARCH UNKEYWORD NoSuchKeyword", ALL),
        # keys are case-insensitive atoms
        ("search unseen", [2, 3, 5, 8]),
        ("Search Flagged", [2, 6]),
        ("SEARCH keyword Work", [2, 5, 8]),
    ]
    check_all(c, table)
    # another session that EXAMINEs INBOX: nothing is \Recent for it, and SEARCH works read-only
    d = fclient(srv)
    d.ok("EXAMINE INBOX")
    check_all(d, [("SEARCH RECENT", []), ("SEARCH NEW", []), ("SEARCH OLD", ALL), ("SEARCH SEEN", [1, 4, 6, 7]),
                  ("UID SEARCH DELETED", [uids[3]])])
    # SEARCH changes nothing: the first session still sees the same flags and \Recent
    check_all(c, [("SEARCH RECENT", [7, 8]), ("SEARCH UNSEEN", [2, 3, 5, 8])])


def test_search_address_and_subject_keys(srv):
    c, uids = load(srv)
    table = [
        # display names and addresses, ASCII case-insensitive
        ("SEARCH FROM alice", [1, 7]),
        ("SEARCH FROM ALICE", [1, 7]),
        ('SEARCH FROM "Alice Example"', [1, 7]),
        ("SEARCH FROM alice@example.org", [1, 7]),
        ("SEARCH FROM example.org", [1, 7]),
        ("SEARCH FROM Builder", [2, 4]),  # one quoted display name, one not
        ("SEARCH FROM bob@example.net", [2, 4]),
        ("SEARCH FROM BOB@EXAMPLE.NET", [2, 4]),
        ("SEARCH FROM martin", [3]),
        ("SEARCH FROM andre@example.fr", [3]),
        ("SEARCH FROM noreply", [5]),
        ('SEARCH FROM "Carol Singer"', [6]),
        ("SEARCH FROM hidden", [8]),
        ("SEARCH FROM nobody-at-all", []),
        ("SEARCH TO alice", [2, 3, 8]),
        ("SEARCH TO carol", [4]),
        ("SEARCH TO Builder", [1, 6]),
        ("SEARCH TO dave@example.com", [7]),
        ("SEARCH CC alice", [6]),
        ("SEARCH CC Singer", [1]),
        ("SEARCH CC carol@example.com", [1]),
        ("SEARCH CC bob", []),
        ("SEARCH BCC dave", [2]),
        ('SEARCH BCC "Dave Hidden"', [2]),
        ("SEARCH BCC alice", []),
        ("SEARCH SUBJECT quarterly", [1, 2]),
        ("SEARCH SUBJECT REPORT", [1, 2]),
        ('SEARCH SUBJECT "Re:"', [2]),
        ("SEARCH SUBJECT announcement", [5]),
        ("SEARCH SUBJECT lunch", [6]),
        ('SEARCH SUBJECT "final NOTICE"', [8]),
        ("SEARCH SUBJECT nothing-like-this", []),
        # a string argument as a literal, without CHARSET
        ("SEARCH SUBJECT {9+}\r\nQuarterly", [1, 2]),  # LITERAL+
    ]
    check_all(c, table)
    lines, tagged = search_lit(c, "SEARCH SUBJECT", b"Quarterly", b" FROM Builder")  # synchronising
    assert status_word(tagged) == "OK" and search_numbers(lines) == [2], (lines, tagged)


def test_search_header_key(srv):
    c, uids = load(srv)
    table = [
        ('SEARCH HEADER Message-ID "<m4.gruss@example.net>"', [4]),
        ("SEARCH HEADER MESSAGE-ID m4.GRUSS", [4]),
        ('SEARCH HEADER In-Reply-To "m1.quarterly"', [2]),
        ("SEARCH HEADER List-Id announce.example", [5]),
        ("SEARCH HEADER X-Mailer pigeon", [6]),
        ('SEARCH HEADER Date "-0800"', [1]),
        # an empty string: the field is present
        ('SEARCH HEADER X-Priority ""', [5]),
        ('SEARCH HEADER x-mailer ""', [6]),
        ('SEARCH HEADER Bcc ""', [2]),
        ('SEARCH HEADER MIME-Version ""', [3, 4, 7]),
        ('SEARCH HEADER Subject ""', ALL),
        ('SEARCH HEADER X-Nonexistent ""', []),
        ('SEARCH NOT HEADER X-Priority ""', but(5)),
        # the message's header only: message 7 has this field in a body part's header
        ("SEARCH HEADER Content-Transfer-Encoding base64", [4]),
        # a folded field matches unfolded (RFC 5322 2.2.3)
        ('SEARCH HEADER Subject "Server maintenance"', [5]),
        ('SEARCH HEADER Subject "ANNOUNCEMENT: Server"', [5]),
        # field name and value as quoted strings
        ('SEARCH HEADER "X-Priority" "1"', [5]),
    ]
    check_all(c, table)


def test_search_body_and_text(srv):
    c, uids = load(srv)
    table = [
        ("SEARCH BODY zebra", [2]),
        ("SEARCH BODY ZeBrA", [2]),
        ('SEARCH BODY "zebra crossing"', [2]),
        ("SEARCH BODY numbers", [1, 8]),
        ("SEARCH BODY quarterly", [8]),  # 1 and 2 have it in the header only
        ("SEARCH BODY fountain", [6]),
        ("SEARCH BODY Pigeon", []),  # header only
        ("SEARCH BODY Hiking", [7]),  # the text part of a multipart
        ("SEARCH BODY saturday", [5]),
        ("SEARCH BODY Zugvogel", [4]),  # base64
        ('SEARCH BODY ""', ALL),
        ("SEARCH BODY absent-word", []),
        ("SEARCH TEXT quarterly", [1, 2, 8]),
        ("SEARCH TEXT Pigeon", [6]),
        ("SEARCH TEXT fountain", [6]),
        ("SEARCH TEXT m5.announce", [5]),
        ("SEARCH TEXT alice@example.org", [1, 2, 3, 6, 7, 8]),
        ("SEARCH TEXT Zugvogel", [4]),
        ('SEARCH TEXT ""', ALL),
        ("SEARCH TEXT absent-word", []),
        ("SEARCH BODY zebra TEXT report", [2]),
    ]
    check_all(c, table)
    # reading bodies to search them does not set \Seen
    check_all(c, [("SEARCH UNSEEN", [2, 3, 5, 8]), ("SEARCH RECENT", [7, 8])])


def test_search_decoded_text_with_charset_utf8(srv):
    """The issue's headline cases: an ISO-8859-1 quoted-printable body found with a UTF-8
    string in a literal; RFC 2047 B and Q subjects; a base64 UTF-8 body; 2047 display names."""
    c, uids = load(srv)
    e = Errors()
    p = "SEARCH CHARSET UTF-8 "
    check_lit(c, e, p + "BODY", u8("Café"), [3])
    check_lit(c, e, p + "BODY", u8("café crème"), [3])
    check_lit(c, e, p + "BODY", u8("plaît"), [3])  # across a soft line break
    check_lit(c, e, p + "BODY", u8("Süden"), [4])
    check_lit(c, e, p + "TEXT", u8("Café"), [3])
    check_lit(c, e, p + "SUBJECT", u8("Café"), [3])
    check_lit(c, e, p + "SUBJECT", u8("Café au lait"), [3])  # Q: "_" is a space
    check_lit(c, e, p + "SUBJECT", u8("München"), [4])
    check_lit(c, e, p + "SUBJECT", u8("Grüße aus"), [4])
    check_lit(c, e, p + "SUBJECT", u8("Wochenendpläne"), [7])  # adjacent encoded words, folded
    check_lit(c, e, p + "HEADER Subject", u8("Café"), [3])
    check_lit(c, e, p + "FROM", u8("André"), [3])
    check_lit(c, e, p + "FROM", u8("andré martin"), [3])
    check_lit(c, e, p + "TEXT", u8("München"), [4])
    # the literal first, more keys after it
    check_lit(c, e, p + "BODY", u8("Café"), [], suffix=b" SEEN")
    check_lit(c, e, p + "BODY", u8("Café"), [3], suffix=b" DRAFT")
    check_all(c, [
        ("SEARCH SUBJECT \"au lait\"", [3]),
        ("SEARCH SUBJECT Wochenend", [7]),
        ('SEARCH SUBJECT "server maintenance"', [5]),
        ("SEARCH CHARSET UTF-8 BODY Zugvogel", [4]),
        # the encoded forms are not the text: transfer encodings and encoded words are decoded
        # before comparing (RFC 9051 6.4.4)
        ('SEARCH BODY "caf=E9"', []),
        ("SEARCH BODY RGVyIFp1Z3Zv", []),
        ('SEARCH SUBJECT "Caf=E9"', []),
        ('SEARCH SUBJECT "=?UTF-8?B?"', []),
    ], e)
    # a literal sent with LITERAL+, and two literals in one command
    lines, tagged = c.literal_command(c.tag(), p + "BODY", u8("crème"), plus=True)
    e.eq("LITERAL+ BODY crème", (status_word(tagged), search_numbers(lines) if status_word(tagged) == "OK" else lines),
         ("OK", [3]))
    tag = c.tag()
    lines, tagged = [], None
    c.send(("%s %sSUBJECT {%d}\r\n" % (tag, p, len(u8("Café")))).encode())
    for data, more in ((u8("Café"), b" BODY {%d}\r\n" % len(u8("crème"))), (u8("crème"), b"\r\n")):
        cont = c.response()
        if not cont.startswith(b"+"):
            tagged = cont
            break
        c.send(data + more)
    if tagged is None:
        lines, tagged = c.until(tag)
    e.eq("two literals: SUBJECT Café BODY crème",
         (status_word(tagged), search_numbers(lines) if status_word(tagged) == "OK" else lines), ("OK", [3]))
    e.done()


def test_search_internaldate_keys(srv):
    c, uids = load(srv)
    table = [
        ("SEARCH BEFORE 1-Jan-2024", [1]),
        ("SEARCH ON 1-Jan-2024", [2, 3]),
        ("SEARCH SINCE 1-Jan-2024", [2, 3, 4, 5, 6, 7, 8]),
        ("SEARCH BEFORE 2-Jan-2024", [1, 2, 3]),
        ("SEARCH ON 2-Jan-2024", [4]),
        ("SEARCH SINCE 2-Jan-2024", [4, 5, 6, 7, 8]),
        ("SEARCH ON 31-Dec-2023", [1]),
        ("SEARCH BEFORE 31-Dec-2023", []),
        ("SEARCH SINCE 31-Dec-2023", ALL),
        ("SEARCH ON 3-Jan-2024", []),
        ("SEARCH ON 8-Jan-2024", [8]),
        ("SEARCH SINCE 8-Jan-2024", [8]),
        ("SEARCH SINCE 9-Jan-2024", []),
        ("SEARCH BEFORE 9-Jan-2024", ALL),
        ("SEARCH SINCE 5-Jan-2024 BEFORE 7-Jan-2024", [5, 6]),
        ("SEARCH NOT ON 1-Jan-2024", [1, 4, 5, 6, 7, 8]),
        # date forms: two-digit day, quoted, month in any case
        ("SEARCH ON 01-Jan-2024", [2, 3]),
        ('SEARCH ON "1-Jan-2024"', [2, 3]),
        ("SEARCH on 1-JAN-2024", [2, 3]),
        ("SEARCH ON 06-jan-2024", [6]),
    ]
    check_all(c, table)


def test_search_internaldate_is_compared_in_utc(srv):
    # Gannet's rule (issue 5's brief): BEFORE/ON/SINCE take the INTERNALDATE's day in UTC
    c = fclient(srv)
    msg = raw_message(["From: z@example.org", "Subject: tz", "Date: Mon, 1 Jan 2024 00:00:00 +0000"], b"tz\r\n")
    c.append_ok("INBOX", msg, date="01-Jan-2024 23:30:00 -0800")  # 2 Jan 07:30 UTC
    c.append_ok("INBOX", msg, date="02-Jan-2024 00:30:00 +0200")  # 1 Jan 22:30 UTC
    c.select("INBOX")
    check_all(c, [
        ("SEARCH ON 2-Jan-2024", [1]),
        ("SEARCH ON 1-Jan-2024", [2]),
        ("SEARCH BEFORE 2-Jan-2024", [2]),
        ("SEARCH SINCE 2-Jan-2024", [1]),
    ])


def test_search_sent_date_keys(srv):
    c, uids = load(srv)
    table = [
        # the Date: header's own day: 1 is 2 Jan in UTC, 2 is 1 Jan, 4 is 3 Jan, 8 is 9 Jan
        ("SEARCH SENTON 1-Jan-2024", [1]),
        ("SEARCH SENTON 2-Jan-2024", [2]),
        ("SEARCH SENTON 3-Jan-2024", [3]),
        ("SEARCH SENTON 4-Jan-2024", [4]),
        ("SEARCH SENTON 8-Jan-2024", [8]),
        ("SEARCH SENTON 9-Jan-2024", []),
        ("SEARCH SENTON 31-Dec-2023", []),
        ("SEARCH SENTBEFORE 1-Jan-2024", []),
        ("SEARCH SENTBEFORE 2-Jan-2024", [1]),
        ("SEARCH SENTBEFORE 4-Jan-2024", [1, 2, 3]),
        ("SEARCH SENTSINCE 2-Jan-2024", [2, 3, 4, 5, 6, 7, 8]),
        ("SEARCH SENTSINCE 4-Jan-2024", [4, 5, 6, 7, 8]),
        ("SEARCH SENTSINCE 8-Jan-2024", [8]),
        ("SEARCH SENTSINCE 9-Jan-2024", []),
        ("SEARCH SENTSINCE 31-Dec-2023", ALL),
        ("SEARCH SENTSINCE 3-Jan-2024 SENTBEFORE 5-Jan-2024", [3, 4]),
        ('SEARCH SENTON "01-Jan-2024"', [1]),
        # INTERNALDATE and Date: differ: ON looks at the first only
        ("SEARCH ON 1-Jan-2024 SENTON 2-Jan-2024", [2]),
    ]
    check_all(c, table)


def test_search_size_keys(srv):
    c, uids = load(srv)
    sz = sizes()
    assert len(set(sz)) == len(sz), sz
    table = []
    for s in sz:
        table += [
            ("SEARCH LARGER %d" % s, [i + 1 for i, x in enumerate(sz) if x > s]),
            ("SEARCH LARGER %d" % (s - 1), [i + 1 for i, x in enumerate(sz) if x >= s]),
            ("SEARCH SMALLER %d" % s, [i + 1 for i, x in enumerate(sz) if x < s]),
            ("SEARCH SMALLER %d" % (s + 1), [i + 1 for i, x in enumerate(sz) if x <= s]),
        ]
    table += [
        ("SEARCH LARGER 0", ALL),
        ("SEARCH SMALLER 0", []),
        ("SEARCH SMALLER 1", []),
        ("SEARCH LARGER 4294967295", []),
        ("SEARCH SMALLER 4294967295", ALL),
        # messages 1 and 6 are 261 and 262 octets
        ("SEARCH LARGER %d SMALLER %d" % (sz[0], sz[5] + 1), [6]),
        ("SEARCH OR LARGER 2000 SMALLER %d" % (sz[7] + 1), [5, 8]),
    ]
    check_all(c, table)


def test_search_sequence_and_uid_sets(srv):
    c, uids = load(srv)
    gap = uids[2] + 1  # expunged: no message has it
    table = [
        ("SEARCH 2:4", [2, 3, 4]),
        ("SEARCH 4:2", [2, 3, 4]),
        ("SEARCH 2,4,6", [2, 4, 6]),
        ("SEARCH 1,1,2", [1, 2]),
        ("SEARCH *", [8]),
        ("SEARCH 7:*", [7, 8]),
        ("SEARCH *:7", [7, 8]),
        ("SEARCH 1:*", ALL),
        ("SEARCH 8", [8]),
        ("SEARCH 2:6 UNFLAGGED", [3, 4, 5]),
        ("SEARCH NOT 2:7", [1, 8]),
        ("SEARCH OR 1 8", [1, 8]),
        ("SEARCH 1:3 5:7 SEEN", []),  # disjoint sets: AND of both is empty
        ("SEARCH 1:5 3:8", [3, 4, 5]),
        ("SEARCH UID %d:%d" % (uids[2], uids[3]), [3, 4]),
        ("SEARCH UID %d" % uids[7], [8]),
        ("SEARCH UID *", [8]),
        ("SEARCH UID %d" % gap, []),
        ("SEARCH UID 1:*", ALL),
        ("SEARCH UID %d:*" % (uids[7] + 100), [8]),  # n:* with n past the last UID is the last message
        ("SEARCH UID %d" % (uids[7] + 100), []),
        ("SEARCH UID %d,%d,%d" % (uids[0], gap, uids[5]), [1, 6]),
        ("SEARCH UID %d:%d SEEN" % (uids[0], uids[7]), [1, 4, 6, 7]),
        ("SEARCH NOT UID %d:%d" % (uids[1], uids[6]), [1, 8]),
    ]
    check_all(c, table)


def test_uid_search_returns_uids(srv):
    c, uids = load(srv)
    U = lambda *seqs: sorted(uids[s - 1] for s in seqs)  # noqa: E731
    gap = uids[2] + 1
    table = [
        ("UID SEARCH ALL", U(*ALL)),
        ("UID SEARCH SEEN", U(1, 4, 6, 7)),
        ("UID SEARCH 1:3", U(1, 2, 3)),  # a sequence set is still sequence numbers
        ("UID SEARCH *", U(8)),
        ("UID SEARCH UID %d:%d" % (uids[2], uids[3]), U(3, 4)),
        ("UID SEARCH UID %d" % gap, []),
        ("UID SEARCH UID *", U(8)),
        ("UID SEARCH UID %d:*" % uids[6], U(7, 8)),
        ("UID SEARCH KEYWORD Work", U(2, 5, 8)),
        ("UID SEARCH FROM alice", U(1, 7)),
        ("UID SEARCH NOT UID %d" % uids[0], U(2, 3, 4, 5, 6, 7, 8)),
        ("uid search recent", U(7, 8)),
        ("UID SEARCH KEYWORD NoSuch", []),
    ]
    check_all(c, table)
    # exact bytes of one response: numbers separated by single spaces
    lines, tagged = c.ok("UID SEARCH FLAGGED")
    assert lines == [b"* SEARCH %d %d" % (uids[1], uids[5])] or lines == [b"* SEARCH %d %d" % (uids[5], uids[1])], lines


def test_search_not_or_and_parentheses(srv):
    c, uids = load(srv)
    table = [
        ("SEARCH NOT SEEN", [2, 3, 5, 8]),
        ("SEARCH NOT NOT SEEN", [1, 4, 6, 7]),
        ("SEARCH OR FLAGGED DRAFT", [2, 3, 6]),
        ("SEARCH OR (SEEN FLAGGED) DRAFT", [3, 6]),
        ("SEARCH OR SEEN (FLAGGED NOT DRAFT)", [1, 2, 4, 6, 7]),
        ("SEARCH NOT (OR FROM alice FROM bob@example.net)", [3, 5, 6, 8]),
        ("SEARCH ((SEEN))", [1, 4, 6, 7]),
        ("SEARCH (((OR (KEYWORD Work) (KEYWORD $Label1))))", [1, 2, 5, 8]),
        ("SEARCH OR OR ANSWERED DRAFT DELETED", [1, 3, 4, 6]),
        ("SEARCH OR ANSWERED OR DRAFT DELETED", [1, 3, 4, 6]),
        ("SEARCH SEEN UNDELETED", [1, 6, 7]),
        ("SEARCH SEEN SINCE 2-Jan-2024", [4, 6, 7]),
        ("SEARCH FROM alice SEEN NOT RECENT", [1]),
        ("SEARCH NOT (SEEN FLAGGED)", but(6)),
        ("SEARCH (SEEN) (FLAGGED)", [6]),
        ("SEARCH OR NOT SEEN NOT FLAGGED", but(6)),
        ("SEARCH NOT OR SEEN FLAGGED", [3, 5, 8]),
        ("SEARCH OR (FROM alice SUBJECT quarterly) (TO alice FLAGGED)", [1, 2]),
        ("search or seen flagged", [1, 2, 4, 6, 7]),
        ("SEARCH (OR SEEN FLAGGED) (OR DRAFT DELETED)", [4, 6]),
        ("SEARCH NOT (NOT (NOT SEEN))", [2, 3, 5, 8]),
        ("SEARCH OR (OR (KEYWORD $Label1) BCC dave) (NOT UNDRAFT)", [1, 2, 3, 5, 6]),
        ("SEARCH " + "(" * 20 + "SEEN" + ")" * 20, [1, 4, 6, 7]),
        ("SEARCH " + "NOT " * 7 + "SEEN", [2, 3, 5, 8]),
        ("SEARCH " + "OR SEEN " * 10 + "FLAGGED", [1, 2, 4, 6, 7]),
    ]
    check_all(c, table)


def test_search_absurd_nesting_is_refused_not_fatal(srv):
    # "nested to a sane limit": a program nested thousands deep is either answered right or
    # refused (BAD or NO); the server neither crashes nor drops the session
    c, uids = load(srv)
    for depth in (1000, 5000):
        for text, want in (("(" * depth + "SEEN" + ")" * depth, [1, 4, 6, 7]),
                           ("NOT " * depth + "SEEN", [1, 4, 6, 7]),
                           ("OR SEEN " * depth + "FLAGGED", [1, 2, 4, 6, 7])):
            lines, tagged = c.run("SEARCH " + text)
            w = status_word(tagged)
            assert w in ("OK", "BAD", "NO"), (depth, text[:20], tagged)
            if w == "OK":
                assert search_numbers(lines) == want, (depth, text[:20], lines)
            c.noop_ok()
    assert search(c, "SEARCH SEEN") == [1, 4, 6, 7]
    assert srv.alive()


def test_search_empty_results_and_empty_mailbox(srv):
    c, uids = load(srv)
    lines, tagged = c.ok("SEARCH KEYWORD NoSuchKeyword")
    assert lines == [b"* SEARCH"], lines
    lines, tagged = c.ok("UID SEARCH DELETED FLAGGED")
    assert lines == [b"* SEARCH"], lines
    c.ok("CREATE Empty")
    c.select("Empty")
    for cmd in ("SEARCH ALL", "UID SEARCH ALL", "SEARCH SEEN", "UID SEARCH UID 1:*", "UID SEARCH UID *",
                "SEARCH UID 1:*", "SEARCH BODY x"):
        lines, tagged = c.ok(cmd)
        assert lines == [b"* SEARCH"], (cmd, lines)


def test_search_message_numbers_in_empty_mailbox_are_bad(srv):
    # RFC 9051 9 (seq-number): "The server should respond with a tagged BAD response to a command
    # that uses a message sequence number greater than the number of messages in the selected
    # mailbox. This includes "*" if the selected mailbox is empty." (FETCH 1 here is BAD too.)
    c = fclient(srv)
    c.select("INBOX")
    for cmd in ("SEARCH 1", "SEARCH *", "SEARCH 1:*", "UID SEARCH 1"):
        lines, tagged = c.bad(cmd)
        assert not any(ln.startswith(b"* SEARCH") for ln in lines), (cmd, lines)
        c.noop_ok()


# --------------------------------------------------------------------------- charsets and errors


def test_search_charsets(srv):
    c, uids = load(srv)
    check_all(c, [
        ("SEARCH CHARSET US-ASCII BODY zebra", [2]),
        ("SEARCH CHARSET us-ascii FROM alice", [1, 7]),
        ("SEARCH CHARSET UTF-8 SUBJECT quarterly", [1, 2]),
        ("search charset utf-8 subject quarterly", [1, 2]),
        ('SEARCH CHARSET "UTF-8" SEEN', [1, 4, 6, 7]),
        ("UID SEARCH CHARSET UTF-8 FLAGGED", [uids[1], uids[5]]),
    ])
    # an unknown charset: NO (not BAD) with BADCHARSET listing what is supported
    for cmd in ("SEARCH CHARSET X-NO-SUCH-CHARSET BODY zebra", "UID SEARCH CHARSET X-NO-SUCH-CHARSET SEEN",
                "SEARCH RETURN (ALL) CHARSET X-NO-SUCH-CHARSET SEEN"):
        lines, tagged = c.run(cmd)
        assert status_word(tagged) == "NO", (cmd, lines, tagged)
        assert resp_code(tagged) == "BADCHARSET", (cmd, tagged)
        args = code_args(tagged, "BADCHARSET")
        assert args, "BADCHARSET without the list of charsets: %r" % tagged
        m = re.fullmatch(r"\((.+)\)", args)
        assert m, "BADCHARSET list not parenthesised: %r" % tagged
        names = [n.strip('"').upper() for n in m.group(1).split()]
        assert "UTF-8" in names, "UTF-8 not in the BADCHARSET list: %r" % tagged
        assert not any(ln.startswith(b"* SEARCH") for ln in lines), (cmd, lines)
        c.noop_ok()
    # the literal after an unknown charset: refused before the "+" or read and refused; either way
    # the session goes on
    lines, tagged = search_lit(c, "SEARCH CHARSET X-NO-SUCH-CHARSET BODY", b"caf\xe9")
    assert status_word(tagged) == "NO", (lines, tagged)
    c.noop_ok()
    # ISO-8859-1 is not required; if the server takes it, it must find the same message
    lines, tagged = search_lit(c, "SEARCH CHARSET ISO-8859-1 BODY", b"caf\xe9")
    if status_word(tagged) == "OK":
        assert search_numbers(lines) == [3], lines
    else:
        assert status_word(tagged) == "NO" and resp_code(tagged) == "BADCHARSET", tagged
    assert search(c, "SEARCH SEEN") == [1, 4, 6, 7]


def test_search_malformed_is_bad_and_session_continues(srv):
    c, uids = load(srv)
    bad = [
        "SEARCH",
        "SEARCH FOOBAR",
        "SEARCH SEEN FOOBAR",
        "SEARCH FROM",
        "SEARCH HEADER",
        "SEARCH HEADER Subject",
        "SEARCH KEYWORD",
        "SEARCH UNKEYWORD",
        "SEARCH BODY",
        'SEARCH FROM "unterminated',
        "SEARCH BEFORE",
        "SEARCH BEFORE 32-Jan-2024",
        "SEARCH ON 1-Foo-2024",
        "SEARCH SINCE 2024-01-01",
        "SEARCH SENTON 1-Jan-24",
        "SEARCH SENTSINCE Jan-1-2024",
        "SEARCH (SEEN",
        "SEARCH SEEN)",
        "SEARCH ((SEEN)",
        "SEARCH ()",
        "SEARCH OR SEEN",
        "SEARCH OR",
        "SEARCH NOT",
        "SEARCH LARGER",
        "SEARCH LARGER abc",
        "SEARCH SMALLER -1",
        "SEARCH UID",
        "SEARCH UID abc",
        "SEARCH UID 0",
        "SEARCH 9",
        "SEARCH 1:9",
        "SEARCH 2,9",
        "SEARCH 0",
        "SEARCH 9:*",
        "UID SEARCH 9",
        "UID SEARCH FOOBAR",
        "SEARCH CHARSET",
        "SEARCH CHARSET UTF-8",
        "SEARCH RETURN (BOGUS) ALL",
        "SEARCH RETURN (MIN ALL",
        "SEARCH RETURN MIN ALL",
        "SEARCH RETURN (MIN)",
        "UID SEARCH RETURN (COUNT",
    ]
    e = Errors()
    for cmd in bad:
        lines, tagged = c.run(cmd)
        e.check(status_word(tagged) == "BAD", "%s: expected BAD, got %r (untagged %r)" % (cmd, tagged, lines))
        e.check(not any(re.match(rb"\* E?SEARCH\b", ln) for ln in lines), "%s: search data with BAD: %r" % (cmd, lines))
        lines, tagged = c.run("NOOP")
        e.check(status_word(tagged) == "OK", "NOOP after %s: %r" % (cmd, tagged))
    e.done()
    assert search(c, "SEARCH SEEN") == [1, 4, 6, 7]
    # the session is still in the selected state with \Recent as before
    assert search(c, "SEARCH RECENT") == [7, 8]


def test_search_wrong_state_is_bad(srv):
    c = client(srv)
    for cmd in ("SEARCH ALL", "UID SEARCH ALL", "SEARCH RETURN (ALL) ALL", "SEARCH CHARSET UTF-8 SEEN"):
        lines, tagged = c.bad(cmd)
        assert not any(ln.startswith(b"* SEARCH") or ln.startswith(b"* ESEARCH") for ln in lines), lines
        c.noop_ok()
    c.login()
    for cmd in ("SEARCH ALL", "UID SEARCH ALL", "SEARCH RETURN (ALL) ALL", "SEARCH RETURN (SAVE) ALL"):
        c.bad(cmd)
        c.noop_ok()
    c.select("INBOX")
    c.ok("UNSELECT")
    c.bad("SEARCH ALL")
    c.select("INBOX")
    c.no("SELECT no-such-mailbox")
    c.bad("UID SEARCH ALL")
    c.select("INBOX")
    c.ok("CLOSE")
    c.bad("SEARCH ALL")
    c.noop_ok()
    c.select("INBOX")
    lines, tagged = c.ok("SEARCH ALL")
    assert lines == [b"* SEARCH"], lines


# --------------------------------------------------------------------------- ESEARCH (RFC 4731)


def test_capabilities_esearch_searchres(srv):
    c = client(srv, login=True)
    lines, tagged = c.ok("CAPABILITY")
    caps = set()
    for ln in lines:
        if ln.upper().startswith(b"* CAPABILITY "):
            caps |= {x.decode().upper() for x in ln.split()[2:]}
    assert {"ESEARCH", "SEARCHRES"} <= caps, caps


def test_esearch_return_options(srv):
    c, uids = load(srv)
    e = Errors()

    def es(cmd, items, allset=None):
        tag = c.tag()
        lines, tagged = c.run(cmd, tag=tag)
        if status_word(tagged) != "OK":
            e.errs.append("%s: %r %r" % (cmd, lines, tagged))
            return
        try:
            r = one_esearch(lines, tag, cmd, cmd.upper().startswith("UID "))
        except AssertionError as x:
            e.errs.append(str(x))
            return
        got = dict(r.items)
        if "ALL" in got:
            got["ALL"] = sorted(expand_set(got["ALL"]))
        want = dict(items)
        if allset is not None:
            want["ALL"] = allset
        e.eq(cmd + " -> " + r.line.decode(), got, want)

    es("SEARCH RETURN (MIN MAX COUNT ALL) SEEN", {"MIN": "1", "MAX": "7", "COUNT": "4"}, [1, 4, 6, 7])
    es("SEARCH RETURN (ALL COUNT MAX MIN) SEEN", {"MIN": "1", "MAX": "7", "COUNT": "4"}, [1, 4, 6, 7])
    es("SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM Smith", {"MIN": "2", "COUNT": "2"})
    es("SEARCH RETURN (COUNT) DELETED", {"COUNT": "1"})
    es("SEARCH RETURN (MIN) UNSEEN", {"MIN": "2"})
    es("SEARCH RETURN (MAX) UNSEEN", {"MAX": "8"})
    es("SEARCH RETURN (MIN MAX) BCC dave", {"MIN": "2", "MAX": "2"})
    es("SEARCH RETURN () FLAGGED", {}, [2, 6])
    es("SEARCH RETURN (ALL) FLAGGED", {}, [2, 6])
    es("SEARCH RETURN (COUNT ALL) 1:*", {"COUNT": "8"}, ALL)
    es("search return (min count) charset utf-8 from alice", {"MIN": "1", "COUNT": "2"})
    es("SEARCH RETURN (COUNT) CHARSET UTF-8 BODY zebra", {"COUNT": "1"})
    es("SEARCH RETURN (ALL) OR SEEN FLAGGED", {}, [1, 2, 4, 6, 7])
    es("SEARCH RETURN (COUNT) NOT 1:*", {"COUNT": "0"})
    # UID SEARCH: the UID indicator, and UIDs in every item
    U = lambda *seqs: sorted(uids[s - 1] for s in seqs)  # noqa: E731
    es("UID SEARCH RETURN (MIN MAX COUNT ALL) SEEN", {"MIN": str(uids[0]), "MAX": str(uids[6]), "COUNT": "4"},
       U(1, 4, 6, 7))
    # RFC 9051 7.3.4: each set complete: the gap in the UIDs must not be covered by a range
    es("UID SEARCH RETURN (ALL) ALL", {}, U(*ALL))
    es("UID SEARCH RETURN () UID %d:%d" % (uids[2], uids[3]), {}, U(3, 4))
    es("UID SEARCH RETURN (COUNT) UID 1:*", {"COUNT": "8"})
    es("UID SEARCH RETURN (MIN MAX) 2:3", {"MIN": str(uids[1]), "MAX": str(uids[2])})
    # a literal after RETURN and CHARSET
    tag = c.tag()
    lines, tagged = c.literal_command(tag, "SEARCH RETURN (ALL COUNT) CHARSET UTF-8 BODY", u8("Café"))
    if status_word(tagged) == "OK":
        r = one_esearch(lines, tag, "RETURN with a literal", False)
        e.eq("RETURN (ALL COUNT) BODY {Café}", (r.items.get("COUNT"), r.set()), ("1", [3]))
    else:
        e.errs.append("RETURN with a literal: %r %r" % (lines, tagged))
    e.done()


def test_esearch_empty_result(srv):
    c, uids = load(srv)
    for cmd, tail in (("SEARCH RETURN (MIN MAX ALL) KEYWORD NoSuch", b""),
                      ("SEARCH RETURN () KEYWORD NoSuch", b""),
                      ("SEARCH RETURN (MIN MAX COUNT ALL) KEYWORD NoSuch", b" COUNT 0"),
                      ("SEARCH RETURN (COUNT) KEYWORD NoSuch", b" COUNT 0"),
                      ("UID SEARCH RETURN (MIN MAX ALL) KEYWORD NoSuch", b" UID"),
                      ("UID SEARCH RETURN (MIN MAX COUNT ALL) KEYWORD NoSuch", b" UID COUNT 0"),
                      ("UID SEARCH RETURN (ALL) UID %d" % (uids[2] + 1), b" UID")):
        tag = c.tag()
        lines, tagged = c.run(cmd, tag=tag)
        assert status_word(tagged) == "OK", (cmd, tagged)
        assert lines == [b'* ESEARCH (TAG "%s")' % tag.encode() + tail], (cmd, lines)


def test_esearch_all_is_compact(srv):
    # RFC 4731 3.1: "A sequence-set representation may be more compact"; the issue asks for it:
    # the ALL set has one piece per run of consecutive numbers
    c, uids = load(srv)
    e = Errors()
    for cmd, nums in (("SEARCH RETURN (ALL) 1:*", ALL),
                      ("SEARCH RETURN (ALL) OR SEEN FLAGGED", [1, 2, 4, 6, 7]),
                      ("SEARCH RETURN (ALL) NOT 4", but(4)),
                      ("UID SEARCH RETURN (ALL) ALL", uids),
                      ("UID SEARCH RETURN (ALL) 4:8", uids[3:])):
        r = esearch_ok(c, cmd)
        e.eq(cmd + " set", r.set(), sorted(nums))
        e.eq(cmd + " pieces in " + r.items.get("ALL", ""), len(r.items.get("ALL", "").split(",")), runs(nums))
    e.done()


def esearch_ok(c, cmd):
    tag = c.tag()
    lines, tagged = c.run(cmd, tag=tag)
    assert status_word(tagged) == "OK", (cmd, lines, tagged)
    return one_esearch(lines, tag, cmd, cmd.upper().startswith("UID "))


# --------------------------------------------------------------------------- SEARCHRES (RFC 5182)


def save(c, cmd):
    """A SEARCH with RETURN (SAVE) and no other option: OK and no SEARCH/ESEARCH response."""
    lines, tagged = c.run(cmd)
    assert status_word(tagged) == "OK", (cmd, lines, tagged)
    assert not any(re.match(rb"\* E?SEARCH\b", ln, re.I) for ln in lines), "%s: SAVE alone answers nothing: %r" % (
        cmd, lines)


def test_searchres_empty_before_any_save(srv):
    c, uids = load(srv)
    c.run("CREATE Archive")
    before = c.status("Archive", "MESSAGES")["MESSAGES"]
    for cmd in ("FETCH $ (UID)", "UID FETCH $ (UID FLAGS)"):
        fr, other, tagged = c.fetch(cmd)
        assert fr == [], (cmd, fr)
    assert search(c, "SEARCH $") == []
    assert search(c, "UID SEARCH UID $") == []
    assert search(c, "UID SEARCH $") == []
    assert search(c, "SEARCH OR $ 8") == [8]
    assert search(c, "SEARCH NOT $") == ALL
    lines, tagged = c.ok("STORE $ +FLAGS (\\Flagged)")
    assert not any(b" FETCH " in ln for ln in lines), lines
    assert search(c, "SEARCH FLAGGED") == [2, 6]
    c.ok("COPY $ Archive")
    c.ok("UID COPY $ Archive")
    assert c.status("Archive", "MESSAGES")["MESSAGES"] == before


def test_searchres_save_and_use(srv):
    c, uids = load(srv)
    c.run("CREATE Archive")
    save(c, "SEARCH RETURN (SAVE) FLAGGED")
    assert fetch_uids(c, "FETCH $ (UID)") == {2: uids[1], 6: uids[5]}
    assert fetch_uids(c, "UID FETCH $ (UID)") == {2: uids[1], 6: uids[5]}
    assert search(c, "SEARCH $") == [2, 6]
    assert search(c, "UID SEARCH UID $") == [uids[1], uids[5]]
    assert search(c, "UID SEARCH $") == [uids[1], uids[5]]
    assert search(c, "SEARCH OR $ 8") == [2, 6, 8]
    assert search(c, "SEARCH NOT $") == [1, 3, 4, 5, 7, 8]
    assert search(c, "SEARCH $ SEEN") == [6]
    assert search(c, "SEARCH UID $") == [2, 6]
    # STORE $: only those two messages
    lines, tagged = c.ok("STORE $ +FLAGS (\\Answered)")
    seqs = sorted(int(m.group(1)) for m in (re.match(rb"\* (\d+) FETCH", ln) for ln in lines) if m)
    assert seqs in ([2, 6], [2]), lines  # 6 had \Answered already: a server may stay silent about it
    assert search(c, "SEARCH ANSWERED") == [1, 2, 6]
    c.ok("UID STORE $ -FLAGS.SILENT (\\Answered)")
    assert search(c, "SEARCH ANSWERED") == [1]
    # COPY $ and UID COPY $
    before = c.status("Archive", "MESSAGES")["MESSAGES"]
    lines, tagged = c.ok("COPY $ Archive")
    cu = copyuid(tagged)
    assert cu is not None and sorted(cu[1]) == [uids[1], uids[5]], tagged
    lines, tagged = c.ok("UID COPY $ Archive")
    cu = copyuid(tagged)
    assert cu is not None and sorted(cu[1]) == [uids[1], uids[5]], tagged
    assert c.status("Archive", "MESSAGES")["MESSAGES"] == before + 4
    # none of those changed $
    assert search(c, "SEARCH $") == [2, 6]
    # a SEARCH without SAVE does not change it either
    search(c, "SEARCH SEEN")
    esearch_ok(c, "SEARCH RETURN (ALL) SEEN")
    assert search(c, "SEARCH $") == [2, 6]
    # the next SAVE replaces it; UID SEARCH saves messages that FETCH $ then names
    save(c, "UID SEARCH RETURN (SAVE) UID %d:%d" % (uids[2], uids[4]))
    assert fetch_uids(c, "FETCH $ (UID)") == {3: uids[2], 4: uids[3], 5: uids[4]}
    save(c, "SEARCH RETURN (SAVE) 3")
    assert fetch_uids(c, "UID FETCH $ (UID)") == {3: uids[2]}
    # an empty result saves the empty set
    save(c, "SEARCH RETURN (SAVE) KEYWORD NoSuch")
    assert search(c, "SEARCH $") == []
    # pipelined: SAVE then FETCH $ sent together (RFC 5182 example 2)
    c.send(b"p1 SEARCH RETURN (SAVE) SEEN\r\np2 FETCH $ (UID)\r\n")
    lines1, tagged1 = c.until("p1")
    assert status_word(tagged1) == "OK", tagged1
    lines2, tagged2 = c.until("p2")
    assert status_word(tagged2) == "OK", tagged2
    got = sorted(int(m.group(1)) for m in (re.match(rb"\* (\d+) FETCH", ln) for ln in lines1 + lines2) if m)
    assert got == [1, 4, 6, 7], (lines1, lines2)


def test_searchres_save_with_other_options(srv):
    # RFC 5182 2.4: SAVE MIN / MAX / MIN MAX save those messages; with ALL or COUNT, all found
    c, uids = load(srv)
    cases = [
        ("SEARCH RETURN (ALL SAVE) SEEN", {"ALL"}, [1, 4, 6, 7]),
        ("SEARCH RETURN (SAVE MIN) SEEN", {"MIN"}, [1]),
        ("SEARCH RETURN (SAVE MAX) SEEN", {"MAX"}, [7]),
        ("SEARCH RETURN (MAX SAVE MIN) SEEN", {"MIN", "MAX"}, [1, 7]),
        ("SEARCH RETURN (MAX SAVE MIN COUNT) SEEN", {"MIN", "MAX", "COUNT"}, [1, 4, 6, 7]),
        ("SEARCH RETURN (SAVE COUNT) SEEN", {"COUNT"}, [1, 4, 6, 7]),
        ("SEARCH RETURN (ALL SAVE MIN) SEEN", {"ALL", "MIN"}, [1, 4, 6, 7]),
        ("SEARCH RETURN (SAVE MIN) KEYWORD NoSuch", set(), []),
        ("UID SEARCH RETURN (SAVE MIN) FLAGGED", {"MIN"}, [2]),
        ("UID SEARCH RETURN (SAVE MAX COUNT) FLAGGED", {"MAX", "COUNT"}, [2, 6]),
    ]
    e = Errors()
    for cmd, items, saved in cases:
        r = esearch_ok(c, cmd)
        e.eq(cmd + " items in " + r.line.decode(), set(r.items), items)
        e.eq(cmd + " then SEARCH $", search(c, "SEARCH $"), saved)
    e.done()
    save(c, "UID SEARCH RETURN (SAVE) FLAGGED")
    assert search(c, "SEARCH $") == [2, 6]


def test_searchres_failed_search_rules(srv):
    # RFC 5182 2.1: BAD never changes $; NO without SAVE does not; NO with SAVE empties it
    c, uids = load(srv)
    save(c, "SEARCH RETURN (SAVE) FLAGGED")
    c.bad("SEARCH RETURN (SAVE) FOOBAR")
    assert search(c, "SEARCH $") == [2, 6]
    c.bad("SEARCH RETURN (SAVE) 9")
    assert search(c, "SEARCH $") == [2, 6]
    c.no("SEARCH CHARSET X-NO-SUCH-CHARSET BODY zebra")
    assert search(c, "SEARCH $") == [2, 6]
    c.no("SEARCH RETURN (SAVE) CHARSET X-NO-SUCH-CHARSET BODY zebra")
    assert search(c, "SEARCH $") == []
    fr, _, _ = c.fetch("FETCH $ (UID)")
    assert fr == []


def test_searchres_expunge_removes_from_saved_result(srv):
    c, uids = load(srv)
    c.run("CREATE Archive")
    save(c, "SEARCH RETURN (SAVE) SEEN")  # 1, 4 (\Deleted), 6, 7
    lines, tagged = c.ok("EXPUNGE")
    assert [ln for ln in lines if ln.endswith(b"EXPUNGE")] == [b"* 4 EXPUNGE"], lines
    assert search(c, "SEARCH $") == [1, 5, 6]
    assert search(c, "UID SEARCH UID $") == [uids[0], uids[5], uids[6]]
    assert fetch_uids(c, "FETCH $ (UID)") == {1: uids[0], 5: uids[5], 6: uids[6]}
    # another session expunges one of them; this session learns of it at NOOP
    d = fclient(srv)
    d.select("INBOX")
    d.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[5])
    d.ok("UID EXPUNGE %d" % uids[5])
    lines = c.noop_ok()
    assert b"* 5 EXPUNGE" in lines, lines
    assert search(c, "SEARCH $") == [1, 5]
    assert search(c, "UID SEARCH $") == [uids[0], uids[6]]
    # MOVE $ takes the rest away: $ is then empty
    lines, tagged = c.ok("MOVE $ Archive")
    left = [uids[0], uids[1], uids[2], uids[4], uids[6], uids[7]]
    for m in (re.match(rb"\* (\d+) EXPUNGE$", ln) for ln in lines):
        if m:
            assert 1 <= int(m.group(1)) <= len(left), lines
            del left[int(m.group(1)) - 1]
    assert left == [uids[1], uids[2], uids[4], uids[7]], (lines, left)
    assert search(c, "SEARCH ALL") == [1, 2, 3, 4]
    assert search(c, "SEARCH $") == []
    fr, _, _ = c.fetch("FETCH $ (UID)")
    assert fr == []


def test_searchres_reset_by_select_and_examine(srv):
    c, uids = load(srv)
    save(c, "SEARCH RETURN (SAVE) FLAGGED")
    c.select("INBOX")
    assert search(c, "SEARCH $") == []
    save(c, "SEARCH RETURN (SAVE) FLAGGED")
    c.ok("EXAMINE INBOX")
    assert search(c, "SEARCH $") == []
    fr, _, _ = c.fetch("FETCH $ (UID)")
    assert fr == []
    save(c, "SEARCH RETURN (SAVE) SEEN")
    assert search(c, "SEARCH $") == [1, 4, 6, 7]


def test_search_after_enable_utf8_accept(srv):
    # RFC 6855 3: after ENABLE UTF8=ACCEPT a SEARCH with CHARSET SHOULD be BAD; strings are UTF-8
    c, uids = load(srv)
    c.ok("UNSELECT")  # ENABLE is for the authenticated state (RFC 5161 3.1)
    lines, tagged = c.ok("ENABLE UTF8=ACCEPT")
    c.select("INBOX")
    assert any(ln.upper().startswith(b"* ENABLED") and b"UTF8=ACCEPT" in ln.upper() for ln in lines), lines
    c.bad("SEARCH CHARSET UTF-8 BODY zebra")
    c.noop_ok()
    lines, tagged = c.ok(u8('SEARCH BODY "Café"'))
    assert search_numbers(lines) == [3], lines
    lines, tagged = c.ok(u8('SEARCH SUBJECT "München"'))
    assert search_numbers(lines) == [4], lines
    assert search(c, "SEARCH BODY zebra") == [2]


def test_search_while_another_session_changes_the_mailbox(srv):
    # RFC 9051 7.5.1: no EXPUNGE response while answering SEARCH (UID SEARCH may have them); a
    # number in the SEARCH response is one the client knows of (EXISTS before it if new)
    c, uids = load(srv)
    d = fclient(srv)
    d.select("INBOX")
    d.append_ok("INBOX", raw_message(["From: new@example.org", "Subject: newcomer",
                                      "Date: Tue, 9 Jan 2024 10:00:00 +0000"], b"arrived late\r\n"))
    d.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[1])
    d.ok("UID EXPUNGE %d" % uids[1])
    lines, tagged = c.ok("SEARCH ALL")
    known = 8
    for ln in lines:
        m = re.match(rb"\* (\d+) EXISTS$", ln)
        if m:
            known = int(m.group(1))
        assert not re.match(rb"\* \d+ EXPUNGE$", ln), "EXPUNGE during SEARCH: %r" % lines
        if ln.startswith(b"* SEARCH"):
            nums = search_numbers([ln])
            assert nums and max(nums) <= known, "SEARCH names a message not announced: %r" % lines
            assert set(nums) >= set(range(1, 9)) - {2}, lines
    lines = c.noop_ok()
    assert b"* 2 EXPUNGE" in lines, lines
    assert search(c, "SEARCH ALL") == ALL
    assert search(c, "SEARCH SUBJECT newcomer") == [8]
    assert search(c, "UID SEARCH ALL") == sorted(set(uids) - {uids[1]}) + [uids[7] + 1]
