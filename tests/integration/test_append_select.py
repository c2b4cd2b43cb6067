"""APPEND (RFC 3501 6.3.11, APPENDUID RFC 4315, LITERAL+ RFC 7888), SELECT and
EXAMINE responses (RFC 3501 6.3.1-6.3.2, 7.1, 7.3), CLOSE and UNSELECT (RFC
3501 6.4.2, RFC 3691), \\Recent, and the Maildir store: byte-identical files,
UIDs that survive a restart, files an MTA drops into new/ or cur/."""

import datetime
import os
import random
import re
import time

from helpers_states import (client, code_args, find_message_files, message, parse_values, resp_code,
                            status_of, status_word, untagged)

SYSTEM_FLAGS = {"\\answered", "\\flagged", "\\deleted", "\\seen", "\\draft"}


def select_info(lines, tagged):
    """The parts of a SELECT/EXAMINE answer, each checked to occur once."""
    info = {"codes": {}}
    for ln in lines:
        m = re.match(rb"\* (\d+) (EXISTS|RECENT)$", ln, re.I)
        if m:
            key = m.group(2).decode().upper()
            assert key not in info, "two %s responses: %r" % (key, lines)
            info[key] = int(m.group(1))
            continue
        m = re.match(rb"\* FLAGS (.*)$", ln, re.I)
        if m:
            assert "FLAGS" not in info, lines
            vals = parse_values(m.group(1))
            assert len(vals) == 1 and isinstance(vals[0], list), ln
            info["FLAGS"] = {f.lower() for f in vals[0]}
            continue
        m = re.match(rb"\* OK \[([A-Z-]+)(?: ([^\]]*))?\]", ln, re.I)
        if m:
            code = m.group(1).decode().upper()
            assert code not in info["codes"], "two %s codes: %r" % (code, lines)
            info["codes"][code] = (m.group(2) or b"").decode()
    info["tagged_code"] = resp_code(tagged)
    return info


def permanentflags(info):
    arg = info["codes"]["PERMANENTFLAGS"]
    vals = parse_values(arg)
    assert len(vals) == 1 and isinstance(vals[0], list), arg
    return {f.lower() for f in vals[0]}


def try_fetch(c, text):
    """FETCH is not part of issue 2; when the server has it, use it to check more. Returns lines or None."""
    lines, tagged = c.run(text)
    if status_word(tagged) != "OK":
        return None
    return lines


# --------------------------------------------------------------------------- APPEND


def test_append_flags_date_appenduid(srv):
    c = client(srv, login=True)
    st0 = c.status("INBOX", "UIDVALIDITY UIDNEXT")
    m1 = message("flags and date")
    uidv, uid = c.append_ok("INBOX", m1, flags=["\\Seen", "\\Flagged", "$Label1"], date="14-Jul-2023 02:44:25 -0700")
    # RFC 4315 section 3: APPENDUID carries the mailbox's UIDVALIDITY and the new UID
    assert uidv == st0["UIDVALIDITY"], (uidv, st0)
    assert uid >= st0["UIDNEXT"], (uid, st0)
    m2 = message("no flags, day with a leading space")
    uidv2, uid2 = c.append_ok("INBOX", m2, date=" 4-Jul-2023 12:00:00 +0000")
    m3 = message("empty flag list")
    uidv3, uid3 = c.append_ok("INBOX", m3, flags=[])
    m4 = message("deleted and draft")
    uidv4, uid4 = c.append_ok("INBOX", m4, flags=["\\Deleted", "\\Draft", "\\Answered"])
    assert uidv == uidv2 == uidv3 == uidv4
    assert uid < uid2 < uid3 < uid4, "RFC 3501 2.3.1.1: UIDs are strictly ascending"
    st = c.status("INBOX")
    assert st["MESSAGES"] == 4 and st["UNSEEN"] == 3 and st["DELETED"] == 1, st
    assert st["SIZE"] == len(m1) + len(m2) + len(m3) + len(m4), st
    assert st["UIDNEXT"] > uid4 and st["UIDVALIDITY"] == uidv, st
    # when the server has FETCH, the date and flags must be the ones given
    c.select("INBOX")
    lines = try_fetch(c, "UID FETCH %d:%d (UID FLAGS INTERNALDATE RFC822.SIZE)" % (uid, uid2))
    if lines is not None:
        text = b"\n".join(lines)
        m = re.search(rb"UID %d .*INTERNALDATE \"([^\"]+)\"" % uid, text) or re.search(
            rb"INTERNALDATE \"([^\"]+)\".*UID %d" % uid, text)
        assert m, lines
        got = datetime.datetime.strptime(m.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")
        assert got == datetime.datetime(2023, 7, 14, 9, 44, 25, tzinfo=datetime.timezone.utc), m.group(1)
        assert re.search(rb"\\Seen", text) and re.search(rb"\$Label1", text), lines


def test_append_bad_date_or_flags_is_rejected(srv):
    c = client(srv, login=True)
    for date in ("yesterday", "14-Jul-2023", "14-Foo-2023 02:44:25 -0700", "14-Jul-2023 02:44:25"):
        lines, tagged = c.append("INBOX", message("bad date"), date=date)
        assert status_word(tagged) in ("BAD", "NO"), "APPEND with date %r: %r" % (date, tagged)
        c.noop_ok()
    lines, tagged = c.append("INBOX", message("bad flag"), flags=["(\\Seen"])
    assert status_word(tagged) == "BAD", tagged
    c.noop_ok()
    assert c.status("INBOX", "MESSAGES") == {"MESSAGES": 0}


def test_append_to_missing_mailbox_is_trycreate(srv):
    # RFC 3501 6.3.11: MUST send [TRYCREATE] if the mailbox does not exist but could be created
    c = client(srv, login=True)
    lines, tagged = c.append("no-such-box", message("x"))
    assert status_word(tagged) == "NO", tagged
    assert resp_code(tagged) == "TRYCREATE", tagged
    c.noop_ok()
    assert "no-such-box" not in b"".join(c.list('"" "*"')).decode()
    # also when sent with a synchronising literal: NO before or after the data
    lines, tagged = c.append("no-such-box/sub", message("x"), plus=False)
    assert status_word(tagged) == "NO" and resp_code(tagged) == "TRYCREATE", tagged
    c.noop_ok()


def test_append_8bit_header_without_utf8_is_no(srv):
    # RFC 6855 section 4: a UTF8=ACCEPT server MUST reject (NO) an APPEND with 8-bit header
    # octets from a client that did not ENABLE UTF8=ACCEPT
    c = client(srv, login=True)
    lines, _ = c.ok("CAPABILITY")
    if b"UTF8=ACCEPT" not in untagged(lines, "CAPABILITY")[0].upper():
        return
    msg = "From: b@example.org\r\nSubject: Grüße\r\n\r\nbody\r\n".encode()
    lines, tagged = c.append("INBOX", msg)
    assert status_word(tagged) == "NO", tagged
    c.noop_ok()
    assert c.status("INBOX", "MESSAGES") == {"MESSAGES": 0}


def test_literal_plus_append_needs_no_continuation(srv):
    c = client(srv, login=True)
    m1 = message("literal plus 1")
    m2 = message("literal plus 2")
    # two pipelined APPENDs with non-synchronising literals, in one write
    c.send(b"P1 APPEND INBOX {%d+}\r\n%s\r\nP2 APPEND INBOX (\\Seen) {%d+}\r\n%s\r\n" % (len(m1), m1, len(m2), m2))
    lines1, tagged1 = c.until("P1")
    lines2, tagged2 = c.until("P2")
    for lines, tagged in ((lines1, tagged1), (lines2, tagged2)):
        assert not any(ln.startswith(b"+") for ln in lines), "continuation for a {n+} literal: %r" % lines
        assert status_word(tagged) == "OK" and code_args(tagged, "APPENDUID"), tagged
    st = c.status("INBOX", "MESSAGES UNSEEN SIZE")
    assert st == {"MESSAGES": 2, "UNSEEN": 1, "SIZE": len(m1) + len(m2)}, st


def test_synchronising_literal_gets_continuation(srv):
    c = client(srv, login=True)
    m = message("synchronising")
    c.send(b"S1 APPEND INBOX {%d}\r\n" % len(m))
    c.settimeout(10)
    cont = c.response()
    assert cont.startswith(b"+"), "expected a continuation request before the literal, got %r" % cont
    c.send(m + b"\r\n")
    lines, tagged = c.until("S1")
    assert status_word(tagged) == "OK", tagged
    assert code_args(tagged, "APPENDUID"), tagged
    # with flags and a date before the literal
    m2 = message("second")
    lines, tagged = c.literal_command("S2", 'APPEND INBOX (\\Flagged) "01-Jan-2024 00:00:00 +0000"', m2)
    assert status_word(tagged) == "OK", tagged
    assert c.status("INBOX", "MESSAGES") == {"MESSAGES": 2}


def test_append_large_message_streams(srv):
    c = client(srv, login=True, timeout=60)
    rnd = random.Random(2)
    printable8 = bytes(32 + b % 224 for b in range(256))  # no CR, LF or NUL inside a line
    body = b"".join(rnd.randbytes(998).translate(printable8) + b"\r\n" for _ in range(3000))
    msg = message("large") + body
    uidv, uid = c.append_ok("Archive", msg)
    assert c.status("Archive", "MESSAGES SIZE") == {"MESSAGES": 1, "SIZE": len(msg)}
    files = find_message_files(srv.maildir(), msg)
    assert len(files) == 1, "expected the message once, byte for byte, in a cur/ or new/ of the Maildir"


# --------------------------------------------------------------------------- SELECT / EXAMINE


def test_select_responses(srv):
    c = client(srv, login=True)
    uidv, u1 = c.append_ok("INBOX", message("one"), flags=["\\Seen"])
    _, u2 = c.append_ok("INBOX", message("two"))
    _, u3 = c.append_ok("INBOX", message("three"))
    lines, tagged = c.ok("SELECT INBOX")
    info = select_info(lines, tagged)
    # RFC 3501 6.3.1: FLAGS, EXISTS, RECENT are required, and the OK codes UNSEEN, PERMANENTFLAGS, UIDNEXT, UIDVALIDITY
    assert SYSTEM_FLAGS <= info["FLAGS"], info
    assert info["EXISTS"] == 3, info
    assert info["RECENT"] == 3, info  # nobody selected INBOX since they arrived
    assert info["codes"]["UIDVALIDITY"] == str(uidv), info
    uidnext = int(info["codes"]["UIDNEXT"])
    assert uidnext > u3, info
    pf = permanentflags(info)
    assert "\\*" in pf, "PERMANENTFLAGS without \\* (keywords can be created): %r" % info
    assert SYSTEM_FLAGS <= pf, info
    assert "\\recent" not in pf, "\\Recent can not be changed by a client"
    assert info["codes"]["UNSEEN"] == "2", "[UNSEEN n] is the first unseen message's number: %r" % info
    assert info["tagged_code"] == "READ-WRITE", tagged
    # EXAMINE: same data, read-only (RFC 3501 6.3.2)
    lines, tagged = c.ok("EXAMINE INBOX")
    info = select_info(lines, tagged)
    assert info["tagged_code"] == "READ-ONLY", tagged
    assert info["EXISTS"] == 3 and "RECENT" in info and SYSTEM_FLAGS <= info["FLAGS"], info
    assert info["codes"]["UIDVALIDITY"] == str(uidv) and int(info["codes"]["UIDNEXT"]) == uidnext, info
    assert info["codes"]["UNSEEN"] == "2", info
    # another session sees the same mailbox, without \Recent
    d = client(srv, login=True)
    lines, tagged = d.ok("SELECT INBOX")
    info = select_info(lines, tagged)
    assert info["EXISTS"] == 3 and info["RECENT"] == 0, info


def test_select_unseen_absent_when_all_seen_and_empty(srv):
    c = client(srv, login=True)
    lines, tagged = c.ok("SELECT Drafts")
    info = select_info(lines, tagged)
    assert info["EXISTS"] == 0 and info["RECENT"] == 0, info
    assert "UNSEEN" not in info["codes"], "no message is unseen: %r" % lines
    assert "UIDVALIDITY" in info["codes"] and "UIDNEXT" in info["codes"], info
    c.append_ok("Sent", message("seen"), flags=["\\Seen"])
    lines, tagged = c.ok("SELECT Sent")
    info = select_info(lines, tagged)
    assert info["EXISTS"] == 1 and "UNSEEN" not in info["codes"], lines


def test_select_mailbox_names(srv):
    c = client(srv, login=True)
    c.ok("SELECT inbox")  # INBOX is case-insensitive
    c.ok('SELECT "InBox"')
    c.ok('CREATE "with space/and \\"quote\\""')
    lines, tagged = c.ok('SELECT "with space/and \\"quote\\""')
    assert select_info(lines, tagged)["tagged_code"] == "READ-WRITE"
    lines, tagged = c.literal_command(c.tag(), "SELECT", b"with space", plus=True)
    assert status_word(tagged) == "OK", tagged


def test_append_to_selected_mailbox_gives_exists(srv):
    c = client(srv, login=True)
    lines, tagged = c.ok("SELECT INBOX")
    assert select_info(lines, tagged)["EXISTS"] == 0
    lines, tagged = c.append("INBOX", message("to the selected mailbox"))
    assert status_word(tagged) == "OK", tagged
    # RFC 3501 6.3.11: the server SHOULD notify the client immediately via an untagged EXISTS;
    # 7.3.2: RECENT comes when the size changes, and this session is the first to learn of it
    assert b"* 1 EXISTS" in lines and b"* 1 RECENT" in lines, lines
    # a message appended by another session shows up at the next NOOP (RFC 3501 6.1.2, 7.3.1)
    d = client(srv, login=True)
    d.append_ok("INBOX", message("from elsewhere"))
    lines, tagged = c.ok("NOOP")
    assert b"* 2 EXISTS" in lines and b"* 2 RECENT" in lines, lines
    lines, tagged = c.ok("NOOP")
    assert not untagged(lines, "EXISTS"), "EXISTS repeated without a change: %r" % lines


def test_close_expunges_deleted_silently(srv):
    c = client(srv, login=True)
    c.append_ok("INBOX", message("keep"))
    c.append_ok("INBOX", message("delete me"), flags=["\\Deleted"])
    c.append_ok("INBOX", message("keep too"), flags=["\\Seen"])
    lines, tagged = c.ok("SELECT INBOX")
    assert select_info(lines, tagged)["EXISTS"] == 3
    lines, tagged = c.ok("CLOSE")
    # RFC 3501 6.4.2: no untagged EXPUNGE responses are sent
    assert not untagged(lines, "EXPUNGE"), lines
    lines, tagged = c.ok("SELECT INBOX")
    assert select_info(lines, tagged)["EXISTS"] == 2, lines
    st = c.status("INBOX", "MESSAGES DELETED UNSEEN")
    assert st == {"MESSAGES": 2, "DELETED": 0, "UNSEEN": 1}, st
    assert len([f for d in ("cur", "new") for f in os.listdir(os.path.join(srv.maildir(), d))]) == 2


def test_unselect_does_not_expunge(srv):
    c = client(srv, login=True)
    c.append_ok("INBOX", message("keep"))
    c.append_ok("INBOX", message("deleted but kept"), flags=["\\Deleted"])
    c.select("INBOX")
    lines, tagged = c.ok("UNSELECT")
    assert not untagged(lines, "EXPUNGE"), lines
    lines, tagged = c.ok("SELECT INBOX")
    assert select_info(lines, tagged)["EXISTS"] == 2, lines
    assert c.status("INBOX", "MESSAGES DELETED") == {"MESSAGES": 2, "DELETED": 1}


def test_close_after_examine_does_not_expunge(srv):
    # RFC 3501 6.4.2: CLOSE of a read-only (EXAMINEd) mailbox removes nothing
    c = client(srv, login=True)
    c.append_ok("INBOX", message("deleted"), flags=["\\Deleted"])
    c.ok("EXAMINE INBOX")
    lines, tagged = c.ok("CLOSE")
    assert not untagged(lines, "EXPUNGE"), lines
    assert c.status("INBOX", "MESSAGES DELETED") == {"MESSAGES": 1, "DELETED": 1}


def test_recent_goes_to_one_session(srv):
    # RFC 3501 2.3.2: \Recent: this session is the first to be notified of the message; if it is
    # read-write, later sessions do not see \Recent
    a = client(srv, login=True)
    a.append_ok("Archive", message("r1"))
    a.append_ok("Archive", message("r2"))
    b = client(srv, login=True)
    assert b.status("Archive", "RECENT MESSAGES") == {"RECENT": 2, "MESSAGES": 2}
    # RFC 3501 6.3.10: STATUS MUST NOT cause messages to lose the \Recent flag
    assert b.status("Archive", "RECENT MESSAGES") == {"RECENT": 2, "MESSAGES": 2}
    cc = client(srv, login=True)
    lines, tagged = cc.ok("SELECT Archive")
    info = select_info(lines, tagged)
    assert info["EXISTS"] == 2 and info["RECENT"] == 2, lines
    d = client(srv, login=True)
    lines, tagged = d.ok("SELECT Archive")
    info = select_info(lines, tagged)
    assert info["EXISTS"] == 2 and info["RECENT"] == 0, lines
    assert d.status("Archive", "RECENT") == {"RECENT": 0}
    assert a.status("Archive", "RECENT MESSAGES") == {"RECENT": 0, "MESSAGES": 2}
    lines, tagged = b.ok("EXAMINE Archive")
    assert select_info(lines, tagged)["RECENT"] == 0, lines
    b.ok("CLOSE")
    # a new message is recent to exactly one of the two sessions that have the mailbox selected
    a.append_ok("Archive", message("r3"))
    lines_c, _ = cc.ok("NOOP")
    lines_d, _ = d.ok("NOOP")
    assert b"* 3 EXISTS" in lines_c and b"* 3 EXISTS" in lines_d, (lines_c, lines_d)
    assert last_recent(lines_c, 2) + last_recent(lines_d, 0) == 3, (lines_c, lines_d)


def test_examine_sees_recent_without_taking_it(srv):
    # RFC 3501 2.3.2: the first session notified sees \Recent; only a read-write one takes it from
    # later sessions. An EXAMINE (read-only) session is first here, so it sees the messages as recent,
    # and the SELECT after it still gets them.
    a = client(srv, login=True)
    a.append_ok("Archive", message("r1"))
    a.append_ok("Archive", message("r2"))
    b = client(srv, login=True)
    lines, tagged = b.ok("EXAMINE Archive")
    assert select_info(lines, tagged)["RECENT"] == 2, lines
    b.ok("CLOSE")
    assert a.status("Archive", "RECENT") == {"RECENT": 2}
    c = client(srv, login=True)
    lines, tagged = c.ok("SELECT Archive")
    assert select_info(lines, tagged)["RECENT"] == 2, lines


def last_recent(lines, default):
    """The last `* n RECENT` count in lines, or default if none was sent."""
    vals = [int(re.match(rb"\* (\d+) RECENT", ln).group(1)) for ln in untagged(lines, "RECENT")]
    return vals[-1] if vals else default


# --------------------------------------------------------------------------- Maildir storage


def test_append_is_byte_identical_and_survives_restart(srv):
    c = client(srv, login=True)
    msg = (b"From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: bytes\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           b"caf\xe9 \xe0 la cr\xe8me\r\n\xff\xfe\x80\x81 \xc3\xa9t\xc3\xa9\r\n"
           b"  trailing spaces  \r\n\r\n.\r\n..dot\r\nFrom the start\r\n\tindented\r\n"
           b"no final newline")
    uidv, uid = c.append_ok("INBOX", msg, flags=["\\Seen"], date="01-Feb-2022 10:20:30 +0100")
    files = find_message_files(srv.maildir(), msg)
    assert len(files) == 1, "expected the message once, byte for byte, in INBOX's cur/ or new/: %r" % files
    assert os.path.dirname(os.path.dirname(files[0])) == srv.maildir(), files  # INBOX is the Maildir root
    st = c.status("INBOX")
    c.logout()
    srv.restart()
    c = client(srv, login=True)
    files2 = find_message_files(srv.maildir(), msg)
    assert len(files2) == 1, files2
    st2 = c.status("INBOX")
    assert st2["UIDVALIDITY"] == uidv and st2 == st, (st, st2)
    lines, tagged = c.ok("SELECT INBOX")
    info = select_info(lines, tagged)
    assert info["EXISTS"] == 1 and info["codes"]["UIDVALIDITY"] == str(uidv), info
    assert int(info["codes"]["UIDNEXT"]) == st["UIDNEXT"], info
    lines = try_fetch(c, "UID FETCH 1:* (UID RFC822.SIZE)")
    if lines is not None:
        assert any(re.search(rb"UID %d\b" % uid, ln) for ln in lines), lines
        assert any(re.search(rb"RFC822\.SIZE %d\b" % len(msg), ln) for ln in lines), lines
    # the next APPEND continues the same UID sequence
    uidv2, uid2 = c.append_ok("INBOX", message("after restart"))
    assert uidv2 == uidv and uid2 > uid and uid2 >= st["UIDNEXT"], (uidv, uid, uidv2, uid2)
    assert find_message_files(srv.maildir(), msg) == files2


def test_append_to_folder_survives_restart(srv):
    c = client(srv, login=True)
    c.ok('CREATE "deep/er"')
    msg = message("folder", extra=b"b\xe4r\r\n")
    uidv, uid = c.append_ok("deep/er", msg)
    files = find_message_files(srv.maildir(), msg)
    assert len(files) == 1, files
    st = c.status("deep/er")
    srv.restart()
    c = client(srv, login=True)
    assert c.status("deep/er") == st
    assert find_message_files(srv.maildir(), msg) == files


def _drop(dirpath, data, name=None, info=None):
    """Delivers a file the way an MTA does: write to tmp/, then rename into dirpath."""
    name = name or "%d.M%dP%dQ%d.testhost" % (time.time(), random.randrange(10 ** 6), os.getpid(),
                                             random.randrange(10 ** 6))
    root = os.path.dirname(dirpath)
    tmp = os.path.join(root, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    final = os.path.join(dirpath, name + (info or ""))
    os.rename(tmp, final)
    return final


def test_mta_delivery_to_new_gets_next_uid(srv):
    c = client(srv, login=True)
    uidv, u1 = c.append_ok("INBOX", message("appended"))
    st0 = c.status("INBOX", "MESSAGES UIDNEXT UIDVALIDITY RECENT SIZE")
    dropped = message("delivered by an MTA")
    _drop(os.path.join(srv.maildir(), "new"), dropped)
    # STATUS picks it up
    st1 = c.status("INBOX", "MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE")
    assert st1["MESSAGES"] == st0["MESSAGES"] + 1, (st0, st1)
    assert st1["UIDNEXT"] > st0["UIDNEXT"] and st1["UIDVALIDITY"] == uidv, (st0, st1)
    assert st1["SIZE"] == st0["SIZE"] + len(dropped), (st0, st1)
    assert st1["UNSEEN"] == 2, st1
    # SELECT picks up the next one
    _drop(os.path.join(srv.maildir(), "new"), message("second delivery"))
    lines, tagged = c.ok("SELECT INBOX")
    info = select_info(lines, tagged)
    assert info["EXISTS"] == 3 and int(info["codes"]["UIDNEXT"]) > st1["UIDNEXT"], info
    assert info["codes"]["UIDVALIDITY"] == str(uidv), info
    # NOOP in a session that has it selected
    _drop(os.path.join(srv.maildir(), "new"), message("third delivery"))
    lines, tagged = c.ok("NOOP")
    assert b"* 4 EXISTS" in lines, lines
    # the UIDs given to delivered files are not given again
    uidv2, u5 = c.append_ok("INBOX", message("appended again"))
    assert uidv2 == uidv and u5 > u1 and u5 >= int(info["codes"]["UIDNEXT"]) + 1, (u1, u5, info)
    lines = try_fetch(c, "UID FETCH 1:* (UID)")
    if lines is not None:
        uids = [int(m.group(1)) for m in (re.search(rb"UID (\d+)", ln) for ln in lines) if m]
        assert len(uids) == 5 and uids == sorted(set(uids)), lines


def test_mta_delivery_to_cur_with_flags(srv):
    c = client(srv, login=True)
    st0 = c.status("Junk", "MESSAGES UNSEEN UIDNEXT")
    junk = [d for d in os.listdir(srv.maildir()) if d.startswith(".") and "Junk" in d]
    assert junk == [".Junk"], "design.md section 2: folders are .Name directories (Maildir++): %r" % junk
    # Maildir info ":2,S" means seen
    _drop(os.path.join(srv.maildir(), ".Junk", "cur"), message("seen delivery"), info=":2,S")
    _drop(os.path.join(srv.maildir(), ".Junk", "cur"), message("unseen delivery"), info=":2,")
    st1 = c.status("Junk", "MESSAGES UNSEEN UIDNEXT")
    assert st1["MESSAGES"] == st0["MESSAGES"] + 2 and st1["UNSEEN"] == st0["UNSEEN"] + 1, (st0, st1)
    assert st1["UIDNEXT"] >= st0["UIDNEXT"] + 2, (st0, st1)


def test_mta_delivery_while_server_down(srv):
    c = client(srv, login=True)
    st0 = c.status("INBOX")
    c.logout()
    srv.stop()
    _drop(os.path.join(srv.maildir(), "new"), message("while down"))
    srv.start()
    c = client(srv, login=True)
    st1 = c.status("INBOX")
    assert st1["MESSAGES"] == st0["MESSAGES"] + 1 and st1["UIDVALIDITY"] == st0["UIDVALIDITY"], (st0, st1)
    assert st1["UIDNEXT"] > st0["UIDNEXT"], (st0, st1)
    assert st1["RECENT"] == st0["RECENT"] + 1, (st0, st1)


def test_message_removed_from_disk_disappears(srv):
    # design.md section 2: the files are the truth for which messages exist
    c = client(srv, login=True)
    m = message("to be removed by hand")
    c.append_ok("INBOX", m)
    c.append_ok("INBOX", message("stays"))
    c.select("INBOX")
    (path,) = find_message_files(srv.maildir(), m)
    os.unlink(path)
    d = client(srv, login=True)
    st = d.status("INBOX", "MESSAGES")
    assert st == {"MESSAGES": 1}, st
    lines, tagged = c.ok("NOOP")
    assert b"* 1 EXPUNGE" in lines, lines
    assert status_of(c.ok("STATUS INBOX (MESSAGES)")[0]) == {"MESSAGES": 1}
