"""The protocol state machine (RFC 3501 section 3, RFC 9051 section 3): every
command of issue 2 in each state it is allowed in, and in states it is not
(tagged BAD, the session goes on), LOGOUT, LOGIN and AUTHENTICATE PLAIN
(RFC 4616, SASL-IR RFC 4959), ENABLE (RFC 5161), ID (RFC 2971), NAMESPACE
(RFC 2342), the greeting and capabilities, failed-login delay and the
inactivity timers."""

import imaplib
import re
import socket
import threading
import time

from helpers_states import (PASSWORD, USER, capabilities, client, code_args, list_map, message, parse_values,
                            plain_ir, server, status_of, status_word, untagged)

# UIDPLUS is not here: RFC 4315 ties it to UID EXPUNGE, which comes with the message-access issue.
REQUIRED_CAPS = ["IMAP4REV1", "LITERAL+", "SASL-IR", "AUTH=PLAIN", "ENABLE", "ID", "NAMESPACE",
                 "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "UNSELECT", "STATUS=SIZE"]

# Commands that need the Authenticated or Selected state, with harmless arguments.
AUTH_COMMANDS = [
    "SELECT INBOX", "EXAMINE INBOX", "CREATE nostate", "DELETE Trash", "RENAME Trash Bin",
    "SUBSCRIBE INBOX", "UNSUBSCRIBE INBOX", 'LIST "" "*"', 'LSUB "" "*"', "STATUS INBOX (MESSAGES)",
    "NAMESPACE", "ENABLE UTF8=ACCEPT",
]
SELECTED_COMMANDS = ["CHECK", "CLOSE", "UNSELECT"]
NOT_AUTH_COMMANDS = ['LOGIN "%s" "%s"' % (USER, PASSWORD), "AUTHENTICATE PLAIN " + plain_ir("", USER, PASSWORD)]


def assert_not_authenticated(c):
    """A cheap probe: mailbox commands are refused, so the session is still Not Authenticated."""
    c.bad("LIST \"\" \"*\"")


def assert_authenticated_not_selected(c):
    c.bad("CHECK")
    c.ok("NOOP")


def assert_selected(c):
    c.ok("CHECK")


# --------------------------------------------------------------------------- greeting, CAPABILITY


def test_greeting_has_capabilities(srv):
    c = client(srv)
    g = c.greeting
    assert re.match(rb"\* OK \[CAPABILITY [^\]]+\] \S", g), g
    caps = capabilities(g)
    missing = [cap for cap in REQUIRED_CAPS if cap not in caps]
    assert not missing, "%s missing from the greeting %r" % (" ".join(missing), g)
    assert "LOGINDISABLED" not in caps, g


def test_capability_in_every_state(srv):
    c = client(srv)
    for state in ("not authenticated", "authenticated", "selected"):
        if state == "authenticated":
            c.login()
        if state == "selected":
            c.select("INBOX")
        lines, tagged = c.ok("CAPABILITY")
        caps = untagged(lines, "CAPABILITY")
        assert len(caps) == 1, (state, lines)
        names = capabilities(caps[0])
        assert "IMAP4REV1" in names, (state, caps)
        if state == "not authenticated":
            missing = [cap for cap in REQUIRED_CAPS if cap not in names]
            assert not missing, "%s missing from CAPABILITY %r" % (" ".join(missing), caps)
    assert_selected(c)
    c.logout()


def test_noop_in_every_state(srv):
    c = client(srv)
    c.ok("NOOP")
    assert_not_authenticated(c)
    c.login()
    c.ok("NOOP")
    assert_authenticated_not_selected(c)
    c.select("INBOX")
    c.ok("NOOP")
    assert_selected(c)


def test_commands_are_case_insensitive_and_unknown_is_bad(srv):
    c = client(srv)
    c.ok("noop")
    c.ok("Capability")
    c.bad("XYZZY")
    c.noop_ok()
    c.ok('login %s "%s"' % (USER, PASSWORD))
    c.ok("select inbox")
    c.bad("FROBNICATE 1")
    assert_selected(c)


# --------------------------------------------------------------------------- LOGOUT


def _logout_and_check(c):
    lines, tagged = c.run("LOGOUT")
    assert status_word(tagged) == "OK", tagged
    byes = [ln for ln in lines if ln.startswith(b"* BYE")]
    assert len(byes) == 1 and lines[-1].startswith(b"* BYE"), "expected * BYE just before the tagged OK: %r" % lines
    c.expect_eof()


def test_logout_not_authenticated(srv):
    _logout_and_check(client(srv))
    # the server goes on serving
    client(srv, login=True).ok("NOOP")


def test_logout_authenticated(srv):
    _logout_and_check(client(srv, login=True))


def test_logout_selected(srv):
    c = client(srv, login=True)
    c.select("INBOX")
    _logout_and_check(c)


# --------------------------------------------------------------------------- LOGIN


def test_login_ok_then_refused_in_authenticated_and_selected(srv):
    c = client(srv)
    lines, tagged = c.ok('LOGIN %s "%s"' % (USER, PASSWORD))
    assert_authenticated_not_selected(c)
    c.bad('LOGIN %s "%s"' % (USER, PASSWORD))
    c.noop_ok()
    assert_authenticated_not_selected(c)
    c.select("INBOX")
    c.bad('LOGIN %s "%s"' % (USER, PASSWORD))
    c.noop_ok()
    assert_selected(c)


def test_login_with_literals_and_atoms(srv):
    c = client(srv)
    # user name as an atom, password as a synchronising literal
    lines, tagged = c.literal_command("L1", "LOGIN " + USER, PASSWORD.encode())
    assert status_word(tagged) == "OK", tagged
    c.logout()
    c = client(srv)
    # both as literals, the second one LITERAL+
    c.send(b"L2 LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(USER), USER.encode(), len(PASSWORD), PASSWORD.encode()))
    lines, tagged = c.until("L2")
    assert not any(ln.startswith(b"+") for ln in lines), lines
    assert status_word(tagged) == "OK", tagged
    assert_authenticated_not_selected(c)


def test_failed_login_is_no_and_session_continues(srv):
    c = client(srv)
    c.no('LOGIN %s "wrong-password"' % USER)
    c.noop_ok()
    assert_not_authenticated(c)
    c.no('LOGIN nosuchuser "%s"' % PASSWORD)
    assert_not_authenticated(c)
    c.login()
    assert_authenticated_not_selected(c)


def test_failed_login_is_delayed_and_not_logged():
    with server("--auth-fail-delay", "400") as srv:
        c = client(srv)
        for cmd in ('LOGIN %s "Wrong-Pass-123"' % USER, 'LOGIN nobody-here "Wrong-Pass-123"',
                    "AUTHENTICATE PLAIN " + plain_ir("", USER, "Wrong-Pass-123")):
            t0 = time.monotonic()
            c.no(cmd)
            dt = time.monotonic() - t0
            assert dt >= 0.38, "%s answered after %.3fs, before --auth-fail-delay 400ms" % (cmd, dt)
            assert dt < 10, dt
        c.noop_ok()
        c.login()
        c.logout()
        srv.stop()
        log = srv.log()
        assert "Wrong-Pass-123" not in log, "a password appears in the log"
        assert plain_ir("", USER, "Wrong-Pass-123") not in log, "a SASL response appears in the log"
        assert PASSWORD not in log, "a password appears in the log"


def test_failed_login_delay_does_not_block_other_connections():
    # design.md section 4: one event loop serves many connections; the delay must not stall it
    with server("--auth-fail-delay", "2000") as srv:  # the harness runs one worker
        a = client(srv)
        b = client(srv, login=True)
        t0 = time.monotonic()
        a.send(b"A1 LOGIN %s wrong\r\n" % USER.encode())
        time.sleep(0.2)
        b.ok("NOOP")
        c = client(srv)
        c.ok("NOOP")
        assert time.monotonic() - t0 < 1.5, "other connections stalled during a failed-login delay"
        lines, tagged = a.until("A1")
        assert status_word(tagged) == "NO", tagged
        assert time.monotonic() - t0 >= 1.9


# --------------------------------------------------------------------------- AUTHENTICATE PLAIN


def test_authenticate_plain_sasl_ir(srv):
    c = client(srv)
    lines, tagged = c.run("AUTHENTICATE PLAIN " + plain_ir("", USER, PASSWORD))
    assert status_word(tagged) == "OK", (lines, tagged)
    assert not any(ln.startswith(b"+") for ln in lines), lines
    assert_authenticated_not_selected(c)
    c.bad("AUTHENTICATE PLAIN " + plain_ir("", USER, PASSWORD))
    c.noop_ok()
    c.select("INBOX")
    c.bad("AUTHENTICATE PLAIN " + plain_ir("", USER, PASSWORD))
    c.noop_ok()
    assert_selected(c)


def test_authenticate_plain_with_authzid_equal_to_user(srv):
    c = client(srv)
    c.ok("authenticate plain " + plain_ir(USER, USER, PASSWORD))
    assert_authenticated_not_selected(c)


def test_authenticate_plain_continuation(srv):
    c = client(srv)
    c.send(b"A1 AUTHENTICATE PLAIN\r\n")
    cont = c.response()
    # RFC 3501 7.5 / RFC 4959: continue-req = "+" SP (resp-text / base64); PLAIN's first challenge is empty
    assert cont.startswith(b"+ ") or cont == b"+", cont
    assert cont[2:].strip() == b"", "PLAIN's challenge must be empty: %r" % cont
    c.send(plain_ir("", USER, PASSWORD).encode() + b"\r\n")
    lines, tagged = c.until("A1")
    assert status_word(tagged) == "OK", (lines, tagged)
    assert_authenticated_not_selected(c)


def test_authenticate_plain_continuation_wrong_password(srv):
    c = client(srv)
    c.send(b"A1 AUTHENTICATE PLAIN\r\n")
    assert c.response().startswith(b"+"), "no continuation"
    c.send(plain_ir("", USER, "not-it").encode() + b"\r\n")
    lines, tagged = c.until("A1")
    assert status_word(tagged) == "NO", tagged
    c.noop_ok()
    assert_not_authenticated(c)


def test_authenticate_cancel_is_bad(srv):
    # RFC 3501 6.2.2: a line of "*" cancels; the server MUST reject with a tagged BAD
    c = client(srv)
    c.send(b"A1 AUTHENTICATE PLAIN\r\n")
    assert c.response().startswith(b"+"), "no continuation"
    c.send(b"*\r\n")
    lines, tagged = c.until("A1")
    assert status_word(tagged) == "BAD", tagged
    c.noop_ok()
    assert_not_authenticated(c)
    c.login()
    assert_authenticated_not_selected(c)


def test_authenticate_invalid_base64_is_bad(srv):
    # RFC 3501 6.2.2: an invalid BASE64 string MUST be rejected with a tagged BAD
    c = client(srv)
    c.send(b"A1 AUTHENTICATE PLAIN\r\n")
    assert c.response().startswith(b"+"), "no continuation"
    c.send(b"%%%not base64%%%\r\n")
    lines, tagged = c.until("A1")
    assert status_word(tagged) == "BAD", tagged
    c.noop_ok()
    assert_not_authenticated(c)


def test_authenticate_unknown_mechanism(srv):
    # RFC 3501 6.2.2: an unsupported mechanism SHOULD get NO; it must not log in
    c = client(srv)
    lines, tagged = c.run("AUTHENTICATE X-NO-SUCH-MECH")
    assert status_word(tagged) in ("NO", "BAD"), tagged
    c.noop_ok()
    assert_not_authenticated(c)


def test_authenticate_plain_imaplib(srv):
    c = srv.imap(login=False)
    typ, data = c.authenticate("PLAIN", lambda challenge: ("\0%s\0%s" % (USER, PASSWORD)).encode())
    assert typ == "OK", data
    assert c.state == "AUTH"
    typ, data = c.select("INBOX")
    assert typ == "OK", data
    c.logout()


# --------------------------------------------------------------------------- ENABLE, ID, NAMESPACE


def test_enable_states(srv):
    c = client(srv)
    c.bad("ENABLE UTF8=ACCEPT")  # RFC 5161 3.1: only valid in the authenticated state
    c.noop_ok()
    assert_not_authenticated(c)
    c.login()
    lines_before, _ = c.ok("CAPABILITY")
    lines, tagged = c.ok("ENABLE X-NO-SUCH-EXTENSION")
    assert untagged(lines, "ENABLED") == [b"* ENABLED"], lines  # RFC 5161 3.2: may list nothing
    lines, tagged = c.ok("ENABLE UTF8=ACCEPT")
    assert untagged(lines, "ENABLED") == [b"* ENABLED UTF8=ACCEPT"], lines
    lines_after, _ = c.ok("CAPABILITY")
    # RFC 5161 3.1: ENABLE MUST NOT change the CAPABILITY list
    assert sorted(capabilities(untagged(lines_before, "CAPABILITY")[0])) == \
        sorted(capabilities(untagged(lines_after, "CAPABILITY")[0]))
    assert_authenticated_not_selected(c)


def _check_id(lines):
    ids = untagged(lines, "ID")
    assert len(ids) == 1, lines
    vals = parse_values(ids[0][len(b"* ID "):])
    assert len(vals) == 1, ids
    v = vals[0]
    if isinstance(v, list):  # RFC 2971: field/value pairs, at most 30
        assert len(v) % 2 == 0 and len(v) <= 60, ids
    else:
        assert v.upper() == "NIL", ids


def test_id_in_every_state(srv):
    c = client(srv)
    lines, _ = c.ok('ID ("name" "gannet-tests" "version" "1")')
    _check_id(lines)
    assert_not_authenticated(c)
    lines, _ = c.ok("ID NIL")
    _check_id(lines)
    c.login()
    lines, _ = c.ok("ID NIL")
    _check_id(lines)
    assert_authenticated_not_selected(c)
    c.select("INBOX")
    lines, _ = c.ok('ID ("name" "x")')
    _check_id(lines)
    assert_selected(c)


def _check_namespace(lines):
    ns = untagged(lines, "NAMESPACE")
    assert len(ns) == 1, lines
    vals = parse_values(ns[0][len(b"* NAMESPACE "):])
    assert len(vals) == 3, ns
    personal = vals[0]
    # Sent, Drafts, ... are top-level names, so the personal namespace is "" with delimiter "/"
    assert isinstance(personal, list) and len(personal) == 1, ns
    assert personal[0][:2] == ["", "/"], ns
    for other in vals[1:]:
        assert isinstance(other, list) or other.upper() == "NIL", ns


def test_namespace_states(srv):
    c = client(srv)
    c.bad("NAMESPACE")
    c.noop_ok()
    c.login()
    lines, _ = c.ok("NAMESPACE")
    _check_namespace(lines)
    c.select("INBOX")
    lines, _ = c.ok("NAMESPACE")
    _check_namespace(lines)
    assert_selected(c)


# --------------------------------------------------------------------------- the state matrix


def test_not_authenticated_refuses_authenticated_commands(srv):
    c = client(srv)
    for cmd in AUTH_COMMANDS + SELECTED_COMMANDS:
        c.bad(cmd)
        c.noop_ok()
    # APPEND with a synchronising literal: the server may refuse before "+", or take the literal and refuse
    lines, tagged = c.literal_command("AP1", "APPEND INBOX", message("x"))
    assert status_word(tagged) == "BAD", tagged
    c.noop_ok()
    # APPEND with LITERAL+: the literal must be read and discarded, then BAD
    lines, tagged = c.literal_command("AP2", "APPEND INBOX", message("x"), plus=True)
    assert status_word(tagged) == "BAD", tagged
    c.noop_ok()
    assert_not_authenticated(c)
    # nothing happened
    c.login()
    st = c.status("INBOX", "MESSAGES")
    assert st == {"MESSAGES": 0}, st
    names = list_map(c.list('"" "*"'))
    assert "nostate" not in names and "Trash" in names and "Bin" not in names, names


def test_authenticated_state_commands(srv):
    c = client(srv, login=True)
    c.ok("CAPABILITY")
    c.ok("NOOP")
    c.ok("ID NIL")
    c.ok("NAMESPACE")
    c.ok("ENABLE X-NONE")
    c.ok("CREATE st-a")
    c.ok("SUBSCRIBE st-a")
    assert "st-a" in list_map(c.list('"" "st-*"'))
    lines, _ = c.ok('LSUB "" "st-*"')
    assert "st-a" in list_map(lines, "LSUB")
    assert c.status("st-a", "MESSAGES") == {"MESSAGES": 0}
    c.append_ok("st-a", message("in auth state"))
    assert c.status("st-a", "MESSAGES") == {"MESSAGES": 1}
    c.ok("RENAME st-a st-b")
    c.ok("UNSUBSCRIBE st-a")
    assert c.status("st-b", "MESSAGES") == {"MESSAGES": 1}
    c.ok("DELETE st-b")
    assert "st-b" not in list_map(c.list('"" "*"'))
    for cmd in SELECTED_COMMANDS:
        c.bad(cmd)
        c.noop_ok()
    for cmd in NOT_AUTH_COMMANDS:
        c.bad(cmd)
        c.noop_ok()
    assert_authenticated_not_selected(c)
    lines, tagged = c.ok("EXAMINE INBOX")
    assert code_args(tagged, "READ-ONLY") is not None, tagged
    assert_selected(c)
    c.ok("CLOSE")
    assert_authenticated_not_selected(c)
    lines, tagged = c.ok("SELECT INBOX")
    assert code_args(tagged, "READ-WRITE") is not None, tagged
    assert_selected(c)
    c.logout()


def test_selected_state_commands(srv):
    c = client(srv, login=True)
    c.select("INBOX")
    c.ok("CAPABILITY")
    c.ok("NOOP")
    c.ok("ID NIL")
    c.ok("NAMESPACE")
    c.ok("CHECK")
    c.ok("CREATE sel-a")
    c.ok("SUBSCRIBE sel-a")
    assert "sel-a" in list_map(c.list('"" "sel-*"'))
    lines, _ = c.ok('LSUB "" "sel-*"')
    assert "sel-a" in list_map(lines, "LSUB")
    assert c.status("sel-a", "MESSAGES") == {"MESSAGES": 0}
    c.append_ok("sel-a", message("in selected state"))
    c.ok("RENAME sel-a sel-b")
    c.ok("UNSUBSCRIBE sel-a")
    assert c.status("sel-b", "MESSAGES") == {"MESSAGES": 1}
    c.ok("DELETE sel-b")
    assert_selected(c)
    for cmd in NOT_AUTH_COMMANDS:
        c.bad(cmd)
        c.noop_ok()
        assert_selected(c)
    # SELECT and EXAMINE while selected switch mailboxes
    lines, tagged = c.ok("EXAMINE Sent")
    assert code_args(tagged, "READ-ONLY") is not None, tagged
    assert_selected(c)
    lines, tagged = c.ok("SELECT INBOX")
    assert code_args(tagged, "READ-WRITE") is not None, tagged
    c.ok("UNSELECT")
    assert_authenticated_not_selected(c)
    c.select("INBOX")
    c.ok("CLOSE")
    assert_authenticated_not_selected(c)
    c.bad("UNSELECT")
    c.bad("CLOSE")
    c.noop_ok()


def test_failed_select_leaves_no_mailbox_selected(srv):
    # RFC 3501 6.3.1: a failed SELECT while selected leaves no mailbox selected
    c = client(srv, login=True)
    c.select("INBOX")
    c.no("SELECT no-such-mailbox")
    assert_authenticated_not_selected(c)
    c.select("INBOX")
    c.no("EXAMINE no-such-mailbox")
    assert_authenticated_not_selected(c)


def test_selected_only_commands_refused_before_login(srv):
    c = client(srv)
    for cmd in SELECTED_COMMANDS:
        c.bad(cmd)
        c.noop_ok()
    assert_not_authenticated(c)


def test_imaplib_walk(srv):
    c = srv.imap(login=False)
    typ, data = c.capability()
    assert typ == "OK" and b"IMAP4rev1".upper() in data[0].upper(), data
    typ, data = c.noop()
    assert typ == "OK"
    typ, data = c.login(USER, PASSWORD)
    assert typ == "OK", data
    assert c.namespace()[0] == "OK"
    assert c.create("walk/sub")[0] == "OK"
    assert c.subscribe("walk/sub")[0] == "OK"
    typ, data = c.list('""', "walk*")
    assert typ == "OK" and len(data) == 2, data
    typ, data = c.lsub('""', "walk/*")
    assert typ == "OK" and len(data) == 1 and re.search(rb' "?walk/sub"?$', data[0]), data
    typ, data = c.append("walk/sub", r"(\Seen)", imaplib.Time2Internaldate(1700000000), message("imaplib"))
    assert typ == "OK", data
    typ, data = c.status("walk/sub", "(MESSAGES UNSEEN)")
    assert typ == "OK", data
    assert re.search(rb"\(MESSAGES 1 UNSEEN 0\)|\(UNSEEN 0 MESSAGES 1\)", data[0]), data
    assert c.rename("walk", "walked")[0] == "OK"
    typ, data = c.select("walked/sub")
    assert typ == "OK" and data == [b"1"], data
    assert c.check()[0] == "OK"
    assert c.close()[0] == "OK"
    typ, data = c.select("walked/sub", readonly=True)
    assert typ == "OK" and data == [b"1"], data
    assert c.unselect()[0] == "OK"
    assert c.unsubscribe("walk/sub")[0] == "OK"
    assert c.delete("walked/sub")[0] == "OK"
    typ, data = c.logout()
    assert typ == "BYE", (typ, data)


def test_pipelined_commands_cross_states(srv):
    # RFC 3501 5.5 and RFC 5161 3.1: LOGIN, ENABLE, SELECT and more may be sent without waiting;
    # each is answered in order, in the state the previous ones left
    c = client(srv)
    c.send(b'P1 LOGIN %s "%s"\r\nP2 ENABLE UTF8=ACCEPT\r\nP3 SELECT INBOX\r\nP4 CHECK\r\n'
           b"P5 CLOSE\r\nP6 CHECK\r\nP7 LOGOUT\r\n" % (USER.encode(), PASSWORD.encode()))
    want = {"P1": "OK", "P2": "OK", "P3": "OK", "P4": "OK", "P5": "OK", "P6": "BAD", "P7": "OK"}
    for tag, status in want.items():
        lines, tagged = c.until(tag)
        assert status_word(tagged) == status, (tag, tagged)
        if tag == "P2":
            assert untagged(lines, "ENABLED") == [b"* ENABLED UTF8=ACCEPT"], lines
    c.expect_eof()


def test_id_arguments(srv):
    # RFC 2971 section 3: ID takes NIL or a parenthesised list of field/value string pairs
    c = client(srv)
    c.bad("ID")
    c.noop_ok()
    c.bad("ID foo")
    c.noop_ok()
    lines, _ = c.ok('ID ("name" NIL "os" "linux")')
    _check_id(lines)


# --------------------------------------------------------------------------- inactivity timers


def _wait_bye(c, low, high):
    t0 = time.monotonic()
    c.settimeout(high + 2)
    try:
        ln = c.response()
    except socket.timeout:
        raise AssertionError("no * BYE within %ss of silence" % (high + 2))
    dt = time.monotonic() - t0
    assert ln.startswith(b"* BYE"), "expected * BYE for an idle connection, got %r" % ln
    assert low <= dt <= high, "BYE after %.2fs, expected between %s and %s" % (dt, low, high)
    c.expect_eof()


def test_login_timeout_bye():
    with server("--login-timeout", "1", "--idle-timeout", "60") as srv:
        c = client(srv)
        _wait_bye(c, 0.5, 5)
        # a client that talks, but does not log in, is cut off too
        d = client(srv)
        d.ok("NOOP")
        _wait_bye(d, 0.5, 5)
        # the server still serves
        client(srv, login=True).ok("NOOP")


def test_idle_timeout_bye_authenticated_and_selected():
    with server("--login-timeout", "60", "--idle-timeout", "1") as srv:
        a = client(srv, login=True)
        s = client(srv, login=True)
        s.select("INBOX")
        _wait_bye(a, 0.5, 5)
        _wait_bye(s, 0.0, 5)
        client(srv, login=True).ok("NOOP")


def test_login_timeout_does_not_apply_after_login():
    with server("--login-timeout", "1", "--idle-timeout", "60") as srv:
        c = client(srv, login=True)
        time.sleep(2.5)
        c.ok("NOOP")
        c.logout()


def test_activity_resets_idle_timer():
    with server("--login-timeout", "60", "--idle-timeout", "2") as srv:
        c = client(srv, login=True)
        for _ in range(8):  # 4 s of traffic, each gap well below the 2 s timeout
            time.sleep(0.5)
            c.ok("NOOP")
        _wait_bye(c, 1.0, 6)


def test_idle_connections_are_independent():
    with server("--login-timeout", "60", "--idle-timeout", "2") as srv:
        quiet = client(srv, login=True)
        busy = client(srv, login=True)
        stop = time.monotonic() + 4.5
        result = {}

        def watch():
            try:
                quiet.settimeout(8)
                result["line"] = quiet.response()
                result["t"] = time.monotonic()
            except Exception as e:  # reported below
                result["err"] = e

        t0 = time.monotonic()
        th = threading.Thread(target=watch, daemon=True)
        th.start()
        while time.monotonic() < stop:
            busy.ok("NOOP")
            time.sleep(0.3)
        th.join(10)
        assert "err" not in result, result
        assert result.get("line", b"").startswith(b"* BYE"), result
        assert result["t"] - t0 < 4.5, "quiet connection was kept alive by another one"
        busy.ok("NOOP")


# --------------------------------------------------------------------------- misc


def test_status_of_selected_mailbox_and_list_in_selected(srv):
    c = client(srv, login=True)
    c.append_ok("INBOX", message("one"))
    c.select("INBOX")
    st = c.status("INBOX", "MESSAGES")
    assert st == {"MESSAGES": 1}, st
    lines = c.list('"" "INBOX"')
    assert list(list_map(lines)) == ["INBOX"], lines
    assert_selected(c)


def test_authenticate_then_commands_use_right_user(srv):
    srv.add_user("bob", "bob-pw")
    srv.restart()
    a = client(srv)
    a.ok("AUTHENTICATE PLAIN " + plain_ir("", "bob", "bob-pw"))
    a.append_ok("INBOX", message("for bob"))
    b = client(srv, login=True)
    assert status_of(b.run("STATUS INBOX (MESSAGES)")[0]) == {"MESSAGES": 0}
    assert a.status("INBOX", "MESSAGES") == {"MESSAGES": 1}
    # alice can't authenticate as bob (authzid differs from authcid)
    d = client(srv)
    lines, tagged = d.run("AUTHENTICATE PLAIN " + plain_ir("bob", USER, PASSWORD))
    assert status_word(tagged) == "NO", tagged
    assert_not_authenticated(d)

