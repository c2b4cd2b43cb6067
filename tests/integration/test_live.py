"""Several sessions on one mailbox (RFC 9051 5.2, 7.5.1, 7.5.2; RFC 2180),
spread over the worker processes of `gannet serve --workers 3`: what one
session changes (APPEND, STORE, EXPUNGE, MOVE, COPY, `gannet deliver`, a file
an MTA drops into new/) reaches the others as untagged EXISTS / EXPUNGE /
FETCH (FLAGS) at their next command; EXPUNGE is held back during non-UID
FETCH, STORE and SEARCH; a message expunged elsewhere can still be asked
for; \\Recent goes to exactly one session.

Every client here is a helpers_live.LiveClient: it keeps the view the server
has told it (sequence number -> UID, flags) and fails on any response that
contradicts it, so each test also checks the sequence numbers of every
response. Each test ends by comparing every session's view after a NOOP
with a fresh session's EXAMINE."""

import os
import threading
import time

from helpers_live import live_client, live_server, msg, settle, spread, truth
import harness
from helpers_fetch import NIL


def fill(c, n, mailbox="INBOX", prefix="m", flags=None, body=""):
    uids = []
    for i in range(n):
        r = c.do_append(mailbox, msg("%s%d" % (prefix, i + 1), body=body), flags=flags)
        uids.append(r.appenduid[1])
    return uids


# --------------------------------------------------------------------------- changes reach others


def test_changes_reach_sessions_on_other_workers():
    with live_server(3) as srv:
        (a, b, c, d), _ = spread(srv, 4)
        for x in (a, b, c):
            x.select("INBOX")
        d.select("INBOX", examine=True)  # a read-only view hears of changes too
        d.do('CREATE "Shelf"')

        # APPEND by a: b hears at NOOP, c at an unrelated command (STATUS of another
        # mailbox), d (EXAMINE) at CHECK; all with the UIDs a's APPENDUIDs gave
        uids = fill(a, 3)
        rb = b.do("NOOP")
        assert rb.exists and rb.exists[-1] == 3, rb.lines
        b.fill()
        assert b.uids == uids, (b.uids, uids)
        rc = c.do('STATUS "Shelf" (MESSAGES)')
        assert rc.exists and rc.exists[-1] == 3, ("STATUS's tagged response did not bring EXISTS", rc.lines)
        c.fill()
        assert c.uids == uids
        rd = d.do("CHECK")
        assert rd.exists and rd.exists[-1] == 3, rd.lines
        d.fill()
        assert d.uids == uids

        # STORE by a: FETCH FLAGS for exactly the changed messages, once
        a.do("STORE 2 +FLAGS (\\Flagged $Label)")
        a.do("UID STORE %d +FLAGS.SILENT (\\Seen)" % uids[2])
        for x in (b, c, d):
            r = x.do("NOOP")
            changed = sorted({fr.seq for fr, _ in r.fetches})
            assert changed == [2, 3], (x.name, "FETCH FLAGS for %r, want [2, 3]" % changed, r.lines)
            assert x.flags[1] == {"\\flagged", "$label"} and x.flags[2] == {"\\seen"}, (x.name, x.flags)
            r = x.do("NOOP")
            assert not r.fetches, (x.name, "the same flag change reported again", r.lines)

        # EXPUNGE by a: one EXPUNGE each, with the right number
        a.do("STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.do("EXPUNGE")
        for x in (b, c, d):
            r = x.do("NOOP")
            assert [u for _, u in r.expunged] == [uids[0]], (x.name, r.lines)
            assert x.uids == uids[1:], (x.name, x.uids)
            assert not x.do("NOOP").expunged

        # MOVE by a to Shelf: an EXPUNGE for the others
        r = a.do("UID MOVE %d Shelf" % uids[1])
        for x in (b, c, d):
            r = x.do("NOOP")
            assert [u for _, u in r.expunged] == [uids[1]], (x.name, r.lines)

        # COPY into INBOX from another mailbox: EXISTS for everyone on INBOX
        a.select("Shelf")
        a.do("COPY 1 INBOX")
        a.select("INBOX")
        for x in (b, c, d):
            r = x.do("NOOP")
            assert r.exists and r.exists[-1] == 2, (x.name, r.lines)
        settle(srv, a, b, c, d)


def test_one_burst_of_mixed_changes_replays_in_order():
    """Many changes between two NOOPs of a watcher: appends, flag changes,
    expunges of old and new messages, moves and copies, by two sessions."""
    with live_server(3) as srv:
        (a, b, w), _ = spread(srv, 3)
        a.do('CREATE "Other"')
        uids = fill(a, 10)
        fill(a, 3, mailbox="Other", prefix="o")
        for x in (a, b, w):
            x.select("INBOX")
        a.do("STORE 2,4,6 +FLAGS (\\Deleted)")
        new = fill(b, 4, prefix="n")
        b.do("UID STORE %d,%d +FLAGS (\\Deleted \\Answered)" % (new[1], new[3]))
        b.do("EXPUNGE")                       # 2,4,6 and two new ones
        a.do("MOVE 1,3 Other")
        b.do("STORE 1:* +FLAGS ($Seen-By-B)")
        a.select("Other")
        a.do("COPY 1:2 INBOX")
        a.select("INBOX")
        a.do("UID STORE %d -FLAGS ($Seen-By-B)" % uids[9])
        r = w.do("NOOP")
        w.fill()
        # w had 10; 2,4,6 expunged, 1,3 moved; of b's 4 new, 2 went before w heard of them; 2 copies came
        assert len(r.expunged) == 5 and r.exists[-1] == 9, r.lines
        settle(srv, a, b, w)


def test_expunge_command_reports_what_others_did_meanwhile():
    """EXPUNGE's own responses must also bring other sessions' appends and
    flag changes made since this session was last told (RFC 9051 7.4.1,
    7.5.2): the view must not grow silently."""
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        uids = fill(a, 3)
        a.select("INBOX")
        b.select("INBOX")
        b.do("STORE 1 +FLAGS.SILENT (\\Deleted)")
        new = a.do_append("INBOX", msg("late")).appenduid[1]
        a.do("STORE 2 +FLAGS (\\Flagged)")
        r = b.do("EXPUNGE")
        assert [u for _, u in r.expunged] == [uids[0]], r.lines
        r2 = b.do("NOOP")
        b.fill()
        assert b.uids == uids[1:] + [new], (
            "after EXPUNGE and NOOP, b knows UIDs %r but the mailbox holds %r: the EXISTS for the message "
            "appended before b's EXPUNGE never came (EXPUNGE: %r; NOOP: %r)" % (b.uids, uids[1:] + [new], r.lines, r2.lines))
        assert b.flags[0] == {"\\flagged"}, ("b was never told that message 1 got \\Flagged", b.view(), r.lines, r2.lines)
        settle(srv, a, b)


# --------------------------------------------------------------------------- held-back expunges


def held_setup(srv, n=6, deleted=(2, 4), mailbox="INBOX"):
    """a and b on mailbox with n messages; a has expunged `deleted`, b not yet told."""
    (a, b), _ = spread(srv, 2)
    if mailbox != "INBOX":
        a.do('CREATE "%s"' % mailbox)
    uids = fill(a, n, mailbox=mailbox, body="text\r\n" * 20)
    a.select(mailbox)
    b.select(mailbox)
    a.do("STORE %s +FLAGS.SILENT (\\Deleted)" % ",".join(map(str, deleted)))
    b.do("NOOP")
    a.do("EXPUNGE")
    return a, b, uids


def test_expunge_held_back_during_fetch_store_search():
    with live_server(3) as srv:
        a, b, uids = held_setup(srv)
        gone = {uids[1], uids[3]}
        # b still has 6 messages; none of these may bring `* n EXPUNGE` (LiveClient fails if one does)
        for cmd in ("FETCH 1:6 (UID FLAGS)", "FETCH 1:* (FLAGS)", "FETCH 3 (UID)", "STORE 1 +FLAGS (\\Answered)",
                    "STORE 5:6 +FLAGS.SILENT ($Mark)", "SEARCH ALL", "SEARCH UNDELETED", "SEARCH RETURN (ALL) ALL",
                    "FETCH 1:6 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])"):
            r = b.do(cmd, allow=("OK", "NO"))
            if r.status == "NO":
                assert r.code == "EXPUNGEISSUED", (cmd, r.tagged)
            assert len(b.uids) == 6, (cmd, b.uids)
            if r.search is not None:
                assert all(1 <= n <= 6 for n in r.search), (cmd, r.search)
                # the messages that are still there are found, in b's numbering
                assert {1, 3, 5, 6} <= set(r.search), (cmd, r.search)
            if cmd.startswith("FETCH"):
                got = {fr.seq for fr, _ in r.fetches}
                want = {1, 3, 5, 6} & ({3} if cmd.startswith("FETCH 3") else set(range(1, 7)))
                assert want <= got, ("the other messages' data must still come", cmd, r.lines)
        # NOOP brings both expunges, in an order that replays to the truth
        r = b.do("NOOP")
        assert sorted(u for _, u in r.expunged) == sorted(gone), r.lines
        settle(srv, a, b)


def test_uid_commands_may_report_held_expunges():
    with live_server(3) as srv:
        for cmd in ("UID FETCH 1:* (FLAGS)", "UID STORE 1:* +FLAGS ($X)", "UID SEARCH ALL", "NOOP", "CHECK",
                    "EXPUNGE", "UID EXPUNGE 1:*", "UID COPY 1:* INBOX"):
            a, b, uids = held_setup(srv, n=4, deleted=(1, 3))
            r = b.do("FETCH 1:4 (UID)", allow=("OK", "NO"))
            assert not r.expunged
            r = b.do(cmd, allow=("OK", "NO"))
            if r.status == "NO":
                # (test_copy_and_move_of_message_expunged_elsewhere checks COPY's NO)
                assert cmd.startswith("UID COPY"), ("%s with UIDs another session expunged: %r" % (cmd, r.tagged))
            # either now or at the NOOP after: the model catches any wrong number
            r2 = b.do("NOOP")
            assert sorted(u for _, u in r.expunged + r2.expunged) == sorted([uids[0], uids[2]]), (cmd, r.lines, r2.lines)
            settle(srv, a, b)
            a.do("STORE 1:* +FLAGS.SILENT (\\Deleted)")
            a.do("EXPUNGE")
            b.noop()
            a.close()
            b.close()


def test_fetch_of_message_expunged_elsewhere():
    """RFC 2180 4.1: FETCH of a message this client still has but another session
    expunged: OK with its data, or NO [EXPUNGEISSUED]; never BAD, never a
    malformed response, and the other messages' data comes either way."""
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        big = "x" * 70 + "\r\n"
        raws = [msg("m1"), msg("m2-gone", body=big * 1000), msg("m3"), msg("m4-gone")]
        uids = [a.do_append("INBOX", raw).appenduid[1] for raw in raws]
        a.select("INBOX")
        b.select("INBOX")
        b.do("FETCH 1:4 (ENVELOPE)")  # cache structures of some; the deleted ones too
        b.collect_syntax = []  # every malformed response is listed at the end
        a.do("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        a.do("EXPUNGE")
        items = ["FLAGS", "UID", "RFC822.SIZE", "INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE", "BODY",
                 "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]<0.10>", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
                 "BINARY.PEEK[1]", "BINARY.SIZE[1]", "RFC822.HEADER", "FAST", "ALL", "FULL", "BODY[]"]
        for it in items:
            for which in ("2", "4", "1:4", "2:3"):
                spec = it if it in ("FAST", "ALL", "FULL") else "(%s)" % it  # macros stand alone
                r = b.do("FETCH %s %s" % (which, spec), allow=("OK", "NO"))
                if r.status == "NO":
                    assert r.code == "EXPUNGEISSUED", ("NO without [EXPUNGEISSUED]", it, which, r.tagged)
                seqs = {fr.seq for fr, _ in r.fetches}
                live = {1, 3} & set({"2": [2], "4": [4], "1:4": [1, 2, 3, 4], "2:3": [2, 3]}[which])
                assert live <= seqs, ("the other messages' data must still come", it, which, r.lines)
                for fr, uid in r.fetches:
                    full = raws[fr.seq - 1]
                    for k in fr.order:
                        v = fr.items[k]
                        if not isinstance(v, bytes) or k == "INTERNALDATE" or "HEADER.FIELDS" in k:
                            continue
                        # the message's own bytes (or, RFC 2180 4.1.3, NIL; LiveClient checked the syntax)
                        if k in ("BODY[]", "RFC822"):
                            assert v == full, (it, which, fr.seq, k, v[:200])
                        else:
                            assert v in full, (it, which, fr.seq, k, v[:200])
                assert len(b.uids) == 4 and not r.expunged
        r = b.do("NOOP")
        assert {u for _, u in r.expunged} >= {uids[1], uids[3]}, r.lines
        kinds = {}
        for p in b.collect_syntax:
            kinds.setdefault(p.split(":")[0], p)
        assert not kinds, "malformed FETCH responses for messages expunged by another session (one example each):\n  " + \
            "\n  ".join(sorted(kinds.values()))
        settle(srv, a, b)


def test_expunge_while_a_large_fetch_streams():
    """Another session expunges messages while this one is in the middle of a
    multi-megabyte FETCH: the FETCH completes with whole, correct literals."""
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        raws = [msg("big%d" % i, body=("%d" % i) * 60 + "\r\n" * 1 + ("y" * 998 + "\r\n") * 600) for i in range(8)]
        for raw in raws:
            a.do_append("INBOX", raw)
        a.select("INBOX")
        b.select("INBOX")
        a.do("STORE 1:8 +FLAGS.SILENT (\\Deleted)")
        tag, res = b.start("FETCH 1:8 (UID BODY.PEEK[])")
        a.do("EXPUNGE")
        r = b.finish(tag, res, allow=("OK", "NO"))
        if r.status == "NO":
            assert r.code == "EXPUNGEISSUED", r.tagged
        for fr, uid in r.fetches:
            v = fr.get("BODY[]")
            # the whole message, or (RFC 2180 4.1.3) NIL; never a cut or padded literal
            assert v is NIL or v == raws[fr.seq - 1], (fr.seq, v if v is NIL else len(v))
        r = b.do("NOOP")
        assert len(r.expunged) == 8
        settle(srv, a, b)


def test_copy_and_move_of_message_expunged_elsewhere():
    """RFC 2180 4.4: COPY / MOVE naming a message another session expunged:
    OK (the others copied) or NO (nothing copied); never BAD, never a NO
    that blames the server ([SERVERBUG]); UID forms ignore UIDs that are gone
    (RFC 9051 6.4.9) or say NO [EXPUNGEISSUED]."""
    with live_server(3) as srv:
        srv_dest = "Keep"
        c = live_client(srv, name="setup")
        c.do('CREATE "%s"' % srv_dest)
        c.close()
        problems = []
        for k, cmd in enumerate(("COPY 1:3 Keep", "COPY 2 Keep", "MOVE 1:3 Keep", "MOVE 2 Keep",
                                 "UID COPY 1:* Keep", "UID MOVE 1:* Keep")):
            box = "Box%d" % k
            a, b, uids = held_setup(srv, n=4, deleted=(2,), mailbox=box)
            before = truth(srv, "Keep")
            r = b.do(cmd, allow=("OK", "NO"))
            after = truth(srv, "Keep")
            added = len(after) - len(before)
            if r.status == "NO":
                if added:
                    problems.append("%s: NO, yet %d messages were copied" % (cmd, added))
                if r.code not in (None, "EXPUNGEISSUED"):
                    problems.append("%s: %r (an ordinary race, RFC 2180 4.4; not a server bug)" % (cmd, r.tagged))
            else:
                want = {"COPY 1:3 Keep": 2, "COPY 2 Keep": 0, "MOVE 1:3 Keep": 2, "MOVE 2 Keep": 0}.get(cmd, 3)
                if added != want:
                    problems.append("%s: OK, %d messages copied, want %d" % (cmd, added, want))
            settle(srv, a, b, mailbox=box)
            a.close()
            b.close()
        assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- flags others changed


def test_silent_store_and_implicit_seen_still_report_others_changes():
    """RFC 9051 6.4.6: "Regardless of whether or not the .SILENT suffix was used,
    the server SHOULD send an untagged FETCH response if a change to a
    message's flags from an external source is observed" -- and a session's
    own STORE or FETCH BODY[] must not swallow another session's change."""
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        fill(a, 3)
        a.select("INBOX")
        b.select("INBOX")
        # a changes message 1, then b stores on it silently
        a.do("STORE 1 +FLAGS (\\Flagged)")
        b.do("STORE 1 +FLAGS.SILENT (\\Answered)")  # LiveClient adds \\Answered to its model itself
        # a changes message 2, then b reads it with FETCH BODY[] (which sets \\Seen)
        a.do("STORE 2 +FLAGS (\\Flagged \\Seen)")
        b.do("FETCH 2 (BODY[])")  # LiveClient adds \\Seen itself unless the response carries FLAGS
        b.do("NOOP")
        want = truth(srv, "INBOX")
        assert b.view() == want, (
            "b was never told of a's \\Flagged (a silent STORE / FETCH BODY[] by b hid it): b's view %r, mailbox %r"
            % (b.view(), want))
        settle(srv, a, b)


# --------------------------------------------------------------------------- \Recent


def test_recent_goes_to_exactly_one_session():
    with live_server(3) as srv:
        (a, b, c, e, d), _ = spread(srv, 5)
        for x in (a, b, c):
            r = x.select("INBOX")
        e.select("INBOX", examine=True)
        new = fill(d, 6)
        # each read-write session hears of the six; their RECENT counts add up to six
        counts = {}
        for x in (a, b, c, e):
            r = x.do("NOOP")
            assert r.exists and r.exists[-1] == 6, (x.name, r.lines)
            counts[x.name] = r.recent
            x.fill()
        rw = [a, b, c]
        assert sum(counts[x.name] or 0 for x in rw) == 6, ("RECENT counts of the read-write sessions", counts)
        holders = {u: [x.name for x in rw if x.recent[x.uids.index(u)]] for u in new}
        assert all(len(h) == 1 for h in holders.values()), ("\\Recent per UID", holders)
        for x in rw:
            assert counts[x.name] == sum(1 for f in x.recent if f), (x.name, counts, x.recent)
        # a new session finds nothing recent: each message was recent in one session already
        f = live_client(srv, name="late")
        r = f.select("INBOX")
        assert r.recent == 0, r.lines
        assert not any(f.recent), f.recent
        # a message COPYed in is new again: \Recent in one of the sessions
        a.do('CREATE "Box"')
        a.do("COPY 1:2 Box")
        a.select("Box")
        assert sum(1 for x in a.recent if x) == 2, a.recent
        settle(srv, b, c, e, f)


def test_recent_once_while_sessions_reselect():
    """Messages arrive from three sessions while six others keep SELECTing the
    mailbox and NOOPing (a new SELECT ends the session's old \\Recent): each
    message must be \\Recent in exactly one of all the views that ever held
    it (RFC 3501 2.3.2: "the first session to be notified"), never in none
    and never in two."""
    with live_server(3) as srv:
        clients, _ = spread(srv, 9)
        appenders, selectors = clients[:3], clients[3:]
        per_appender = 60
        stop = threading.Event()
        errors = []
        claims = {}
        uids = []
        lock = threading.Lock()

        def selector(c):
            try:
                while not stop.is_set():
                    c.select("INBOX")
                    c.noop()  # learns UID and FLAGS (with \\Recent) of everything it was told of
                    with lock:
                        for u, r in zip(c.uids, c.recent):
                            if r:
                                claims.setdefault(u, []).append(c.name)
            except BaseException as e:  # noqa: B902
                errors.append(e)

        def appender(c):
            try:
                for i in range(per_appender):
                    u = c.do_append("INBOX", msg("%s-r%d" % (c.name, i))).appenduid[1]
                    with lock:
                        uids.append(u)
            except BaseException as e:  # noqa: B902
                errors.append(e)

        sel = [threading.Thread(target=selector, args=(c,), daemon=True) for c in selectors]
        app = [threading.Thread(target=appender, args=(c,), daemon=True) for c in appenders]
        for t in sel + app:
            t.start()
        for t in app:
            t.join(60)
        time.sleep(0.3)
        stop.set()
        for t in sel:
            t.join(30)
        assert not errors, errors[0]
        # the messages nobody has claimed yet go to the next read-write SELECT
        last = live_client(srv, name="last")
        last.select("INBOX")
        for u, r in zip(last.uids, last.recent):
            if r:
                claims.setdefault(u, []).append("last")
        twice = {u: who for u, who in claims.items() if len(who) > 1}
        never = sorted(u for u in uids if u not in claims)
        assert not twice and not never, (
            "of %d messages, \\Recent in more than one session: %r; \\Recent in no session: %r"
            % (len(uids), twice, never))


# --------------------------------------------------------------------------- other sources


def test_deliver_and_maildir_drop_reach_selected_sessions():
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        a.select("INBOX")
        b.select("INBOX")
        raw = msg("delivered")
        p = harness.gannet("deliver", harness.USER, "--data", srv.data, stdin=raw, check=False)
        assert p.returncode == 0, ("gannet deliver", p.returncode, p.stderr)
        # an MTA's drop: tmp/ then rename into new/
        md = srv.maildir()
        name = "%d.M1P%d.testhost" % (int(time.time()), os.getpid())
        with open(os.path.join(md, "tmp", name), "wb") as f:
            f.write(msg("dropped").replace(b"\r\n", b"\n"))
        os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
        for x in (a, b):
            r = x.do("NOOP")
            x.fill()
            assert r.exists and r.exists[-1] == 2, (x.name, r.lines)
            fr = x.do("FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subj = sorted(f["BODY[HEADER.FIELDS (SUBJECT)]"] for f, _ in fr.fetches)
            assert subj == [b"Subject: delivered\r\n\r\n", b"Subject: dropped\r\n\r\n"], subj
        assert a.uids == b.uids
        settle(srv, a, b)
