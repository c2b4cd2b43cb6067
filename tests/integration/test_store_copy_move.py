"""STORE and UID STORE (RFC 9051 6.4.6, RFC 3501 6.4.6), COPY / UID COPY (6.4.7,
COPYUID from RFC 4315 UIDPLUS), MOVE / UID MOVE (RFC 6851), EXPUNGE, UID
EXPUNGE (RFC 4315 2.1) and CLOSE (6.4.2): the untagged responses they owe,
what persists across reconnects and restarts, what other sessions hear, and
what is left in the Maildir."""

import re

from helpers_fetch import copyuid, fclient, flagset
from helpers_states import find_message_files, message, parse_values, resp_code, status_word

SYSTEM = {"\\answered", "\\flagged", "\\deleted", "\\seen", "\\draft"}


def msg(i, size=0):
    return message("store test %d" % i, body="Message number %d.\r\n%s" % (i, "x" * size + "\r\n" if size else ""))


def fill(c, n, mailbox="INBOX", flags=None, dates=None):
    uids = []
    raws = []
    for i in range(n):
        raw = msg(i + 1)
        _, uid = c.append_ok(mailbox, raw, flags=flags[i] if flags else None, date=dates[i] if dates else None)
        uids.append(uid)
        raws.append(raw)
    return uids, raws


def uid_list(c):
    """UIDs of the selected mailbox in sequence order, from UID FETCH 1:* (UID)."""
    fr, _, _ = c.fetch("UID FETCH 1:* (UID)")
    seqs = sorted(r.seq for r in fr)
    assert seqs == list(range(1, len(fr) + 1)), "sequence numbers not 1..n: %r" % seqs
    return [int(r["UID"]) for r in sorted(fr, key=lambda r: r.seq)]


def fetch_flags(c, what="1:*", uid=False):
    fr, _, _ = c.fetch("%sFETCH %s (UID FLAGS)" % ("UID " if uid else "", what))
    return {int(r["UID"]): flagset(r["FLAGS"]) for r in fr}


def fetch_lines(lines):
    """{seq: FLAGS set} of untagged `* n FETCH (... FLAGS ...)` lines, plus their raw text."""
    from helpers_fetch import parse_fetch
    out = {}
    for ln in lines:
        r = parse_fetch(ln)
        if r is not None:
            out[r.seq] = r
    return out


def expunges(lines):
    return [int(m.group(1)) for m in (re.match(rb"\* (\d+) EXPUNGE$", ln, re.I) for ln in lines) if m]


def replay(uids, seqs):
    uids = list(uids)
    for n in seqs:
        assert 1 <= n <= len(uids), "EXPUNGE %d with only %d messages left: %r" % (n, len(uids), seqs)
        del uids[n - 1]
    return uids


def select_flags_codes(lines):
    flags = perm = None
    for ln in lines:
        m = re.match(rb"\* FLAGS (.*)$", ln, re.I)
        if m:
            flags = {f.lower() for f in parse_values(m.group(1))[0]}
        m = re.match(rb"\* OK \[PERMANENTFLAGS (\(.*?\))\]", ln, re.I)
        if m:
            perm = {f.lower() for f in parse_values(m.group(1))[0]}
    return flags, perm


# --------------------------------------------------------------------------- STORE


def test_store_flags_plus_minus_and_silent(srv):
    c = fclient(srv)
    uids, _ = fill(c, 4)
    c.select("INBOX")
    lines, tagged = c.ok("STORE 1 FLAGS (\\Flagged \\Seen)")
    f = fetch_lines(lines)
    assert 1 in f and flagset(f[1]["FLAGS"]) == {"\\flagged", "\\seen"}, lines
    lines, tagged = c.ok("STORE 1 +FLAGS (\\Answered)")
    f = fetch_lines(lines)
    assert 1 in f and flagset(f[1]["FLAGS"]) == {"\\flagged", "\\seen", "\\answered"}, lines
    lines, tagged = c.ok("STORE 1 -FLAGS (\\Seen)")
    f = fetch_lines(lines)
    assert 1 in f and flagset(f[1]["FLAGS"]) == {"\\flagged", "\\answered"}, lines
    # a flag list without parentheses (RFC 9051 9: store-att-flags = (flag-list / (flag *(SP flag))))
    lines, tagged = c.ok("STORE 2 +FLAGS \\Draft \\Seen")
    f = fetch_lines(lines)
    assert 2 in f and flagset(f[2]["FLAGS"]) == {"\\draft", "\\seen"}, lines
    # .SILENT: no untagged FETCH for the changes this session asked for (RFC 9051 6.4.6)
    lines, tagged = c.ok("STORE 2:4 +FLAGS.SILENT (\\Deleted)")
    assert not fetch_lines(lines), "FETCH responses for +FLAGS.SILENT: %r" % lines
    lines, tagged = c.ok("STORE 1 FLAGS.SILENT (\\Seen)")
    assert not fetch_lines(lines), lines
    lines, tagged = c.ok("STORE 3 -FLAGS.SILENT (\\Deleted)")
    assert not fetch_lines(lines), lines
    flags = fetch_flags(c)
    assert flags == {uids[0]: {"\\seen"}, uids[1]: {"\\draft", "\\seen", "\\deleted"},
                     uids[2]: set(), uids[3]: {"\\deleted"}}, flags
    # storing flags a message already has still answers with its FLAGS (not .SILENT)
    lines, tagged = c.ok("STORE 1 +FLAGS (\\Seen)")
    f = fetch_lines(lines)
    assert 1 in f and flagset(f[1]["FLAGS"]) == {"\\seen"}, lines
    # empty list clears
    lines, tagged = c.ok("STORE 1:4 FLAGS ()")
    f = fetch_lines(lines)
    assert sorted(f) == [1, 2, 3, 4] and all(flagset(r["FLAGS"]) == set() for r in f.values()), lines
    c.bad("STORE 5 +FLAGS (\\Seen)")
    c.bad("STORE 1 +FLAGS (\\Seen")
    c.bad("STORE 1 FLAGZ (\\Seen)")
    c.ok("NOOP")


def test_store_keywords_announced(srv):
    c = fclient(srv)
    fill(c, 2)
    lines, _ = c.select("INBOX")
    flags0, perm0 = select_flags_codes(lines)
    assert "\\*" in perm0, perm0
    lines, tagged = c.ok("STORE 1 +FLAGS ($Work NonJunk)")
    f = fetch_lines(lines)
    assert 1 in f and flagset(f[1]["FLAGS"]) == {"$work", "nonjunk"}, lines
    # RFC 3501 7.2.6 / RFC 9051 7.3.5: the client learns the new keyword from an untagged FLAGS
    later = c.noop_ok()
    fl = [ln for ln in lines + later if re.match(rb"\* FLAGS ", ln, re.I)]
    assert fl, "no untagged FLAGS after a new keyword was stored: %r" % (lines + later)
    last = {f.lower() for f in parse_values(fl[-1][len(b"* FLAGS "):])[0]}
    assert {"$work", "nonjunk"} <= last and SYSTEM <= last, fl
    perm_lines = [ln for ln in lines + later if b"[PERMANENTFLAGS" in ln.upper()]
    if perm_lines:
        _, perm = select_flags_codes(perm_lines)
        assert {"$work", "nonjunk"} <= perm and "\\*" in perm, perm_lines
    # a fresh SELECT lists it in FLAGS and PERMANENTFLAGS
    d = fclient(srv)
    lines, _ = d.select("INBOX")
    flags, perm = select_flags_codes(lines)
    assert {"$work", "nonjunk"} <= flags, lines
    assert {"$work", "nonjunk"} <= perm and "\\*" in perm, lines
    # keywords are removed like flags, and match case-insensitively
    lines, tagged = c.ok("STORE 1 -FLAGS ($WORK)")
    f = fetch_lines(lines)
    assert 1 in f and flagset(f[1]["FLAGS"]) == {"nonjunk"}, lines


def test_store_recent_is_bad(srv):
    # RFC 3501 2.3.2 and 9 (store-att-flags takes flag, which excludes \Recent): \Recent can not be stored
    c = fclient(srv)
    fill(c, 1)
    c.select("INBOX")
    for cmd in ("STORE 1 +FLAGS (\\Recent)", "STORE 1 FLAGS (\\Seen \\Recent)", "STORE 1 -FLAGS.SILENT (\\Recent)"):
        lines, tagged = c.run(cmd)
        assert status_word(tagged) == "BAD", (cmd, lines, tagged)
    assert fetch_flags(c) and list(fetch_flags(c).values())[0] == set()


def test_store_in_examine_is_no(srv):
    c = fclient(srv)
    fill(c, 2)
    c.ok("EXAMINE INBOX")
    for cmd in ("STORE 1 +FLAGS (\\Seen)", "STORE 1:2 FLAGS.SILENT (\\Deleted)", "UID STORE 1:* +FLAGS (x)"):
        lines, tagged = c.run(cmd)
        assert status_word(tagged) == "NO", (cmd, lines, tagged)
    c.select("INBOX")
    assert set(map(frozenset, fetch_flags(c).values())) == {frozenset()}


def test_uid_store_responses_carry_uid(srv):
    c = fclient(srv)
    uids, _ = fill(c, 3)
    c.select("INBOX")
    lines, tagged = c.ok("UID STORE %d +FLAGS (\\Flagged)" % uids[1])
    f = fetch_lines(lines)
    assert list(f) == [2], lines
    # RFC 9051 6.4.9: any FETCH response caused by a UID command includes UID
    assert f[2].get("UID") == str(uids[1]), lines
    lines, tagged = c.ok("UID STORE %d:%d FLAGS (\\Seen)" % (uids[0], uids[2] + 10))
    f = fetch_lines(lines)
    assert sorted(f) == [1, 2, 3] and all(f[s].get("UID") == str(uids[s - 1]) for s in f), lines
    # a UID that does not exist: OK, no change (6.4.9)
    lines, tagged = c.ok("UID STORE %d +FLAGS (\\Deleted)" % (uids[2] + 5))
    assert not fetch_lines(lines), lines
    assert fetch_flags(c) == {u: {"\\seen"} for u in uids}


def test_flags_persist_across_reconnect_and_restart(srv):
    c = fclient(srv)
    uids, _ = fill(c, 3)
    c.select("INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Seen \\Flagged $Keep)")
    c.ok("STORE 2 +FLAGS.SILENT (\\Answered \\Deleted)")
    c.ok("STORE 3 +FLAGS.SILENT (\\Draft)")
    c.ok("STORE 3 -FLAGS.SILENT (\\Draft)")
    want = {uids[0]: {"\\seen", "\\flagged", "$keep"}, uids[1]: {"\\answered", "\\deleted"}, uids[2]: set()}
    assert fetch_flags(c) == want
    c.logout()
    c = fclient(srv)
    c.ok("EXAMINE INBOX")
    assert fetch_flags(c) == want, "after reconnect"
    st = c.status("INBOX", "UNSEEN DELETED")
    assert st == {"UNSEEN": 2, "DELETED": 1}, st
    srv.restart()
    c = fclient(srv)
    c.ok("EXAMINE INBOX")
    assert fetch_flags(c) == want, "after restart"


def test_other_session_sees_flag_changes(srv):
    a = fclient(srv)
    uids, _ = fill(a, 3)
    a.select("INBOX")
    b = fclient(srv)
    b.select("INBOX")
    a.ok("STORE 2 +FLAGS.SILENT (\\Flagged $Shared)")
    a.ok("STORE 3 +FLAGS (\\Seen)")
    lines = b.noop_ok()
    f = fetch_lines(lines)
    # RFC 9051 7.5.2 / 5.2: flag changes by another session are reported as untagged FETCH FLAGS
    assert 2 in f and flagset(f[2]["FLAGS"]) == {"\\flagged", "$shared"}, lines
    assert 3 in f and flagset(f[3]["FLAGS"]) == {"\\seen"}, lines
    assert 1 not in f, lines
    lines = b.noop_ok()
    assert not fetch_lines(lines), "the same change reported twice: %r" % lines


# --------------------------------------------------------------------------- COPY


def test_copy_keeps_flags_and_date_with_copyuid(srv):
    c = fclient(srv)
    flags = [["\\Seen"], ["\\Flagged", "$Label"], [], ["\\Answered", "\\Draft"], ["\\Deleted"]]
    dates = ["01-Feb-2020 10:00:00 +0000", "02-Mar-2021 11:30:00 +0100", " 3-Apr-2022 12:45:00 -0500",
             "04-May-2023 13:00:00 +0000", "05-Jun-2024 14:15:16 +0000"]
    uids, raws = fill(c, 5, flags=flags, dates=dates)
    c.select("INBOX")
    before = c.fetch("FETCH 1:5 (UID FLAGS INTERNALDATE)")[0]
    src = {int(r["UID"]): (flagset(r["FLAGS"]), r["INTERNALDATE"]) for r in before}
    archive = c.status("Archive", "UIDVALIDITY UIDNEXT")
    lines, tagged = c.ok("COPY 2,4:5 Archive")
    cu = copyuid(tagged)
    assert cu is not None, "COPY OK without [COPYUID ...] (RFC 4315 3): %r" % tagged
    v, s, d = cu
    assert v == archive["UIDVALIDITY"], (tagged, archive)
    assert sorted(s) == sorted([uids[1], uids[3], uids[4]]), tagged
    assert len(d) == len(s) == len(set(d)) and min(d) >= archive["UIDNEXT"], (tagged, archive)
    assert not expunges(lines), "COPY expunged: %r" % lines
    assert uid_list(c) == uids, "the source keeps its messages"
    # the copies: same bytes, flags and INTERNALDATE, in COPYUID's correspondence
    c.select("Archive")
    for su, du in zip(s, d):
        r = c.fetch1("UID FETCH %d (UID FLAGS INTERNALDATE BODY.PEEK[])" % du)
        assert r["BODY[]"] == raws[uids.index(su)], "copy %d of %d has other bytes" % (du, su)
        assert flagset(r["FLAGS"]) == src[su][0], (su, du, r)
        assert r["INTERNALDATE"] == src[su][1], (su, du, r, src[su])
    st = c.status("INBOX", "MESSAGES")
    assert st == {"MESSAGES": 5}
    # UID COPY, with a missing UID in the set
    c.select("INBOX")
    lines, tagged = c.ok("UID COPY %d,%d Trash" % (uids[0], uids[-1] + 100))
    v, s, d = copyuid(tagged)
    assert s == [uids[0]] and len(d) == 1, tagged
    lines, tagged = c.ok("UID COPY %d Trash" % (uids[-1] + 100))
    assert status_word(tagged) == "OK" and copyuid(tagged) is None, \
        "UID COPY of no existing message: OK without COPYUID (RFC 4315 3 needs a non-empty set): %r" % tagged
    # COPY into the selected mailbox itself: new messages show up as EXISTS
    lines, tagged = c.ok("COPY 1 INBOX")
    v, s, d = copyuid(tagged)
    assert s == [uids[0]] and d[0] > uids[-1], tagged
    lines += c.noop_ok()
    assert b"* 6 EXISTS" in lines, lines


def test_copy_and_move_to_missing_mailbox_is_trycreate(srv):
    c = fclient(srv)
    uids, _ = fill(c, 2)
    c.select("INBOX")
    # RFC 9051 6.4.7, RFC 6851 3.3: NO [TRYCREATE] if the target does not exist
    for cmd in ("COPY 1 NoSuchBox", "MOVE 1 NoSuchBox", "UID COPY %d NoSuchBox" % uids[0],
                "UID MOVE %d NoSuchBox" % uids[1], "MOVE 1:2 Archive/NoSuch"):
        lines, tagged = c.run(cmd)
        assert status_word(tagged) == "NO" and resp_code(tagged) == "TRYCREATE", (cmd, lines, tagged)
        assert not expunges(lines), (cmd, lines)
    assert uid_list(c) == uids
    assert c.status("Archive", "MESSAGES") == {"MESSAGES": 0}


# --------------------------------------------------------------------------- MOVE


def test_move_copyuid_before_expunge(srv):
    c = fclient(srv)
    lines, _ = c.ok("CAPABILITY")
    assert b" MOVE" in lines[0].upper() and b" UIDPLUS" in lines[0].upper(), lines
    uids, raws = fill(c, 6, flags=[["\\Seen"], [], ["\\Flagged"], [], ["$K"], []])
    c.select("INBOX")
    before = fetch_flags(c)
    lines, tagged = c.ok("MOVE 2,4:5 Archive")
    # RFC 6851 4.3: COPYUID in an untagged OK before the EXPUNGE responses
    ok_idx = [i for i, ln in enumerate(lines) if ln.upper().startswith(b"* OK [COPYUID ")]
    ex_idx = [i for i, ln in enumerate(lines) if re.match(rb"\* \d+ EXPUNGE$", ln, re.I)]
    assert ok_idx, "no untagged OK [COPYUID] for MOVE: %r %r" % (lines, tagged)
    assert len(ex_idx) == 3, "expected 3 EXPUNGE responses: %r" % lines
    assert ok_idx[0] < ex_idx[0], "COPYUID came after the EXPUNGEs: %r" % lines
    v, s, d = copyuid(lines[ok_idx[0]])
    assert sorted(s) == [uids[1], uids[3], uids[4]] and len(d) == 3, lines
    left = replay(uids, expunges(lines))
    assert left == [uids[0], uids[2], uids[5]], (lines, left)
    assert uid_list(c) == left
    assert c.status("Archive", "UIDVALIDITY")["UIDVALIDITY"] == v
    c.select("Archive")
    for su, du in zip(s, d):
        r = c.fetch1("UID FETCH %d (FLAGS BODY.PEEK[])" % du)
        assert r["BODY[]"] == raws[uids.index(su)], (su, du)
        assert flagset(r["FLAGS"]) == before[su], (su, du, r, before[su])
    # the moved messages' bytes are in the Archive's files only
    for su in s:
        files = find_message_files(srv.maildir(), raws[uids.index(su)])
        assert len(files) == 1, "after MOVE, message %d is in %r" % (su, files)


def test_uid_move_and_other_session(srv):
    c = fclient(srv)
    uids, raws = fill(c, 5)
    c.select("INBOX")
    b = fclient(srv)
    b.select("INBOX")
    lines, tagged = c.ok("UID MOVE %d:%d,%d Junk" % (uids[3], uids[1], uids[-1] + 50))
    ok = [ln for ln in lines if ln.upper().startswith(b"* OK [COPYUID ")] or [tagged]
    v, s, d = copyuid(ok[0])
    assert sorted(s) == uids[1:4], (lines, tagged)
    left = replay(uids, expunges(lines))
    assert left == [uids[0], uids[4]], lines
    assert uid_list(c) == left
    # the other session learns of it at its next command
    bl = b.noop_ok()
    assert replay(uids, expunges(bl)) == left, bl
    assert uid_list(b) == left
    # UID MOVE of nothing that exists
    lines, tagged = c.ok("UID MOVE %d Junk" % (uids[-1] + 99))
    assert not expunges(lines)
    c.select("Junk")
    fr, _, _ = c.fetch("UID FETCH 1:* (BODY.PEEK[])")
    assert sorted(r["BODY[]"] for r in fr) == sorted(raws[1:4])


def test_move_in_examine_is_no(srv):
    c = fclient(srv)
    uids, _ = fill(c, 2)
    c.ok("EXAMINE INBOX")
    lines, tagged = c.run("MOVE 1 Archive")
    assert status_word(tagged) == "NO", (lines, tagged)
    c.select("INBOX")
    assert uid_list(c) == uids
    assert c.status("Archive", "MESSAGES") == {"MESSAGES": 0}


# --------------------------------------------------------------------------- EXPUNGE


def test_expunge_responses_replay(srv):
    c = fclient(srv)
    uids, raws = fill(c, 12)
    c.select("INBOX")
    b = fclient(srv)
    b.select("INBOX")
    deleted = [2, 3, 5, 8, 9, 12]  # sequence numbers, with runs and the last message
    c.ok("STORE %s +FLAGS.SILENT (\\Deleted)" % ",".join(map(str, deleted)))
    lines, tagged = c.ok("EXPUNGE")
    seqs = expunges(lines)
    assert len(seqs) == len(deleted), lines
    left = replay(uids, seqs)
    want = [u for i, u in enumerate(uids, 1) if i not in deleted]
    assert left == want, (seqs, left, want)
    assert uid_list(c) == want
    # the files are gone once the tagged OK has come
    for i in deleted:
        assert not find_message_files(srv.maildir(), raws[i - 1]), "file of expunged message %d still there" % i
    for i in range(1, 13):
        if i not in deleted:
            assert len(find_message_files(srv.maildir(), raws[i - 1])) == 1, i
    # the other session gets the same EXPUNGEs at its next NOOP
    bl = b.noop_ok()
    assert replay(uids, expunges(bl)) == want, bl
    # a second EXPUNGE has nothing to do
    lines, tagged = c.ok("EXPUNGE")
    assert not expunges(lines), lines
    # and after a restart nothing comes back
    srv.restart()
    c = fclient(srv)
    c.select("INBOX")
    assert uid_list(c) == want
    st = c.status("INBOX", "MESSAGES DELETED")
    assert st == {"MESSAGES": 6, "DELETED": 0}, st
    # new messages get new UIDs, never those of the expunged ones
    _, u = c.append_ok("INBOX", msg(99))
    assert u > uids[-1], (u, uids)


def test_uid_expunge_only_named_deleted(srv):
    c = fclient(srv)
    uids, raws = fill(c, 6)
    c.select("INBOX")
    c.ok("STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    # RFC 4315 2.1: only messages in the set that have \Deleted are removed
    lines, tagged = c.ok("UID EXPUNGE %d,%d:%d" % (uids[1], uids[3], uids[4]))
    left = replay(uids, expunges(lines))
    want = [uids[0], uids[2], uids[4], uids[5]]
    assert left == want, (lines, left)
    assert uid_list(c) == want
    flags = fetch_flags(c)
    assert flags[uids[0]] == {"\\deleted"} and flags[uids[2]] == {"\\deleted"} and flags[uids[4]] == set(), flags
    lines, tagged = c.ok("UID EXPUNGE %d" % (uids[-1] + 10))
    assert not expunges(lines)
    lines, tagged = c.ok("UID EXPUNGE 1:*")
    assert replay(want, expunges(lines)) == [uids[4], uids[5]], lines
    assert not find_message_files(srv.maildir(), raws[0])
    c.bad("UID EXPUNGE")


def test_close_expunges_silently_and_removes_files(srv):
    c = fclient(srv)
    uids, raws = fill(c, 4)
    c.select("INBOX")
    c.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    lines, tagged = c.ok("CLOSE")
    assert not expunges(lines), "CLOSE sent EXPUNGE responses (RFC 9051 6.4.1): %r" % lines
    assert not find_message_files(srv.maildir(), raws[0]) and not find_message_files(srv.maildir(), raws[2])
    c.select("INBOX")
    assert uid_list(c) == [uids[1], uids[3]]


def test_expunge_in_examine_is_no(srv):
    c = fclient(srv)
    uids, raws = fill(c, 2, flags=[["\\Deleted"], []])
    c.ok("EXAMINE INBOX")
    lines, tagged = c.run("EXPUNGE")
    assert status_word(tagged) == "NO", (lines, tagged)
    lines, tagged = c.run("UID EXPUNGE 1:*")
    assert status_word(tagged) == "NO", (lines, tagged)
    assert not expunges(lines)
    assert uid_list(c) == uids
    assert len(find_message_files(srv.maildir(), raws[0])) == 1


def test_copy_of_a_file_the_mail_user_does_not_own(srv):
    """COPY hard-links the message file, which the kernel refuses for a file
    the mail user does not own (fs.protected_hardlinks): then the file is
    copied instead, byte for byte, and the COPY succeeds. Run as root, the
    file left here is root's; run as anyone else, the link itself works."""
    import os
    body = b"From: root@example.org\r\nSubject: left by root\r\n\r\nroot's file\r\n"
    cur = os.path.join(srv.maildir(), "cur")
    path = os.path.join(cur, "1700000000.M1P1Q1.admin,S=%d:2," % len(body))
    with open(path, "wb") as f:
        f.write(body)
    os.chmod(path, 0o644)
    c = fclient(srv)
    c.ok("SELECT INBOX")
    _, tagged = c.ok("COPY 1 Archive")
    assert "COPYUID" in str(tagged), tagged
    c.ok("SELECT Archive")
    r = c.fetch1("FETCH 1 (BODY.PEEK[])")
    assert r["BODY[]"] == body, r.items
