"""IMAP4rev2 (RFC 9051) beside IMAP4rev1: both are advertised, and the
rev2 behaviours start with ENABLE IMAP4rev2 (Appendix A): ESEARCH for every
SEARCH, [CLOSED] and an untagged LIST on SELECT, the UID in every
unsolicited FETCH, UTF-8 mailbox names. A client that does not ENABLE it
keeps IMAP4rev1's answers."""

import harness


def enabled(srv):
    r = srv.raw().login()
    u, t = r.cmd("E", "ENABLE IMAP4rev2")
    assert t.startswith(b"E OK"), t
    assert u == [b"* ENABLED IMAP4rev2"], u
    return r


def test_both_versions_advertised_before_and_after_login(srv):
    r = srv.raw()
    assert b"IMAP4rev1 IMAP4rev2" in r.greeting, r.greeting
    u, _ = r.cmd("a", "CAPABILITY")
    assert b" IMAP4rev2 " in u[0]
    r.login()
    u, _ = r.cmd("b", "CAPABILITY")
    assert b" IMAP4rev2 " in u[0] and b"STATUS=SIZE" in u[0]


def test_enable_twice_lists_it_once(srv):
    r = enabled(srv)
    u, t = r.cmd("F", "ENABLE IMAP4rev2 UTF8=ACCEPT")
    assert u == [b"* ENABLED UTF8=ACCEPT"], u
    u, t = r.cmd("G", "ENABLE IMAP4rev2")
    assert u == [b"* ENABLED"], u


def test_search_answers_esearch(srv):
    c = srv.imap()
    for i in range(3):
        c.append("INBOX", None, None, b"Subject: m%d\r\n\r\nx\r\n" % i)
    c.logout()
    r = enabled(srv)
    r.cmd("S", "SELECT INBOX")
    u, t = r.cmd("A", "SEARCH ALL")
    assert t.startswith(b"A OK") and u == [b'* ESEARCH (TAG "A") ALL 1:3'], u
    u, t = r.cmd("B", "UID SEARCH SUBJECT m1")
    assert u == [b'* ESEARCH (TAG "B") UID ALL 2'], u
    u, t = r.cmd("C", "SEARCH SUBJECT nothing-matches")
    assert u == [b'* ESEARCH (TAG "C")'], u
    r1 = srv.raw().login()  # IMAP4rev1: the old SEARCH response
    r1.cmd("S", "SELECT INBOX")
    u, _ = r1.cmd("A", "SEARCH ALL")
    assert u == [b"* SEARCH 1 2 3"], u


def test_select_sends_closed_and_list(srv):
    c = srv.imap()
    c.create("Work/Projects")
    c.logout()
    r = enabled(srv)
    u, t = r.cmd("A", "SELECT INBOX")
    assert t.startswith(b"A OK [READ-WRITE]"), t
    assert b'* LIST (\\HasNoChildren) "/" "INBOX"' in u, u
    assert not any(b"[CLOSED]" in ln for ln in u), u
    u, t = r.cmd("B", "EXAMINE Work")
    assert u[0] == b"* OK [CLOSED] Previous mailbox is now closed", u
    assert b'* LIST (\\HasChildren) "/" "Work"' in u, u
    u, t = r.cmd("C", "SELECT Sent")
    assert u[0].startswith(b"* OK [CLOSED]") and b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"' in u, u
    u, t = r.cmd("D", "SELECT Nonexistent")
    assert u and u[0].startswith(b"* OK [CLOSED]") and t.startswith(b"D NO"), (u, t)
    r1 = srv.raw().login()
    r1.cmd("A", "SELECT INBOX")
    u, _ = r1.cmd("B", "SELECT Work")
    assert not any(b"[CLOSED]" in ln or ln.startswith(b"* LIST") for ln in u), u


def test_unsolicited_fetch_carries_uid(srv):
    c = srv.imap()
    c.append("INBOX", None, None, b"Subject: a\r\n\r\nx\r\n")
    c.append("INBOX", None, None, b"Subject: b\r\n\r\nx\r\n")
    r = enabled(srv)
    r.cmd("S", "SELECT INBOX")
    r1 = srv.raw().login()  # rev1 session beside it
    r1.cmd("S", "SELECT INBOX")
    c.select("INBOX")
    c.store("2", "+FLAGS", "\\Flagged")
    u, _ = r.cmd("N", "NOOP")
    assert b"* 2 FETCH (FLAGS (\\Flagged) UID 2)" in u, u
    u, _ = r1.cmd("N", "NOOP")  # \Recent: deprecated in IMAP4rev2 (Appendix E, 12)
    assert b"* 2 FETCH (FLAGS (\\Flagged \\Recent))" in u or b"* 2 FETCH (FLAGS (\\Flagged))" in u, u
    c.logout()


def test_utf8_mailbox_names_and_status_deleted(srv):
    r = enabled(srv)
    _, t = r.cmd("A", 'CREATE "Entw\xc3\xbcrfe"'.encode("latin-1"))
    assert t.startswith(b"A OK"), t
    u, _ = r.cmd("B", 'LIST "" "Entw*"')
    assert u == ['* LIST (\\HasNoChildren) "/" "Entw\u00fcrfe"'.encode()], u
    r1 = srv.raw().login()  # the same mailbox, in modified UTF-7 for rev1
    u, _ = r1.cmd("B", 'LIST "" "Entw*"')
    assert u == [b'* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"'], u
    c = srv.imap()
    c.append("INBOX", "(\\Deleted)", None, b"Subject: d\r\n\r\nx\r\n")
    c.append("INBOX", None, None, b"Subject: e\r\n\r\nx\r\n")
    c.logout()
    u, _ = r.cmd("C", "STATUS INBOX (MESSAGES DELETED SIZE)")
    assert u[0].startswith(b"* STATUS \"INBOX\" (MESSAGES 2 DELETED 1 SIZE "), u


def test_copy_to_missing_mailbox_is_trycreate(srv):
    c = srv.imap()
    c.append("INBOX", None, None, b"Subject: a\r\n\r\nx\r\n")
    c.logout()
    r = enabled(srv)
    r.cmd("S", "SELECT INBOX")
    for cmd in ("COPY 1 Missing", "MOVE 1 Missing", "UID COPY 1 Missing"):
        _, t = r.cmd("A", cmd)
        assert t.startswith(b"A NO [TRYCREATE]"), (cmd, t)
    u, _ = r.cmd("B", 'LIST "" Missing')
    assert u == [], "COPY/MOVE must not create the target: %r" % u
