"""IDLE (RFC 2177; RFC 9051 6.3.13): advertised, allowed in the Authenticated
and Selected states only, `+` then pushes of what other sessions (on other
worker processes), `gannet deliver` and an MTA's drop into new/ change,
each within one second (measured), DONE ends it with OK, and anything else
ends it cleanly. The idling client is a helpers_live.LiveClient, so every
pushed EXISTS / EXPUNGE / FETCH is checked against its view, and each test
ends by comparing the views with a fresh session's."""

import os
import time

import harness
from helpers_live import Result, live_client, live_server, msg, settle, spread
from helpers_states import capabilities, client, status_word

LATENCY = 1.0  # seconds: design.md section 3, "within a second"


def start_idle(c):
    tag, res, cont = c.idle_start()
    assert cont is not None, "IDLE answered %r instead of a continuation" % res.tagged
    assert cont.startswith(b"+ ") or cont == b"+", cont
    return tag, res


def exists_at_least(n):
    return lambda res: bool(res.exists) and res.exists[-1] >= n


def expunged_count(n):
    return lambda res: len(res.expunged) >= n


def flags_of(c, seq, flag):
    return lambda res: any(fr.seq == seq and "FLAGS" in fr for fr, _ in res.fetches) and flag in (c.flags[seq - 1] or ())


def push(c, res, pred, what, t0, latencies):
    """Waits for pred while idling; the latency counts from t0 (before the change was made)."""
    took = c.idle_until(res, pred, LATENCY + 2.0)
    lat = time.time() - t0
    latencies.append((what, lat))
    if took is None:
        c.fail("IDLE: nothing pushed for %s within %.1f s" % (what, LATENCY + 2.0))
    assert lat < LATENCY, "IDLE push for %s took %.3f s (limit %.1f s)" % (what, lat, LATENCY)


# --------------------------------------------------------------------------- the command


def test_idle_advertised_before_and_after_login(srv):
    c = client(srv)
    assert "IDLE" in capabilities(c.greeting) if b"[CAPABILITY" in c.greeting else True, c.greeting
    lines, tagged = c.ok("CAPABILITY")
    assert "IDLE" in capabilities(lines[0]), lines
    lines, tagged = c.ok('LOGIN "%s" "%s"' % (harness.USER, harness.PASSWORD))
    if b"[CAPABILITY" in tagged:
        assert "IDLE" in capabilities(tagged), tagged
    lines, tagged = c.ok("CAPABILITY")
    assert "IDLE" in capabilities(lines[0]), lines


def test_idle_before_login_is_bad(srv):
    c = client(srv)
    c.send(b"i1 IDLE\r\n")
    ln = c.response()
    assert ln.startswith(b"i1 BAD"), "IDLE before login: %r (want a tagged BAD, no continuation)" % ln
    # the connection carries on: DONE is now just a bad command, and LOGIN works
    c.send(b"DONE\r\n")
    ln = c.response()
    assert status_word(ln) == "BAD" or ln.startswith(b"DONE BAD") or b"BAD" in ln, ln
    c.login()
    c.ok("NOOP")


def test_idle_in_authenticated_and_selected_states(srv):
    c = live_client(srv)
    # Authenticated state: + ... DONE -> OK
    tag, res = start_idle(c)
    assert c.idle_until(res, lambda r: False, 0.3) is None
    r = c.idle_done(tag, res)
    assert r.tagged.startswith(tag.encode() + b" OK"), r.tagged
    c.do_append("INBOX", msg("one"))
    # Selected (read-write and read-only); DONE in lower case too (RFC 5234: strings are case-insensitive)
    for examine, word in ((False, "DONE"), (True, "DONE"), (False, "done")):
        c.select("INBOX", examine=examine)
        tag, res = start_idle(c)
        r = c.idle_done(tag, res, word=word)
        assert r.status == "OK", r.tagged
        c.do("NOOP")
    # twice in a row, and DONE pipelined with the next command
    tag, res = start_idle(c)
    c.idle_done(tag, res)
    tag, res = start_idle(c)
    t2 = c.tag()
    c.send(b"DONE\r\n" + t2.encode() + b" NOOP\r\n")
    c.finish(tag, res)
    r2 = Result("NOOP")
    r2.expunge_ok, r2.selecting = True, False
    c.finish(t2, r2)
    c.do("LOGOUT", allow=("OK",))


def test_anything_but_done_ends_idle_cleanly(srv):
    c = live_client(srv)
    c.do_append("INBOX", msg("one"))
    c.select("INBOX")
    for line in (b"x1 NOOP", b"DONE please", b"", b"x2 FETCH 1 (UID)"):
        tag, res = start_idle(c)
        c.send(line + b"\r\n")
        # the IDLE ends with a tagged response; BAD is the expected one. If the server
        # instead ended IDLE with OK and ran the line as a command, that is answered too.
        deadline = time.time() + 5
        got = []
        while True:
            ln = c.wait_response(deadline)
            assert ln is not None, ("no tagged response after %r during IDLE" % line, got)
            got.append(ln)
            if ln.startswith(tag.encode() + b" "):
                break
            if not ln.startswith(b"* "):
                c.fail("after %r during IDLE: %r" % (line, ln))
            c.apply(ln, res, True)
        st = status_word(got[-1])
        assert st in ("BAD", "OK"), got
        if st == "OK" and line.split(b" ")[0] not in (b"", b"DONE"):
            word = line.split(b" ")[0].decode()
            c.until(word)
        # the session goes on
        r = c.do("NOOP")
        assert r.status == "OK"
        r = c.do("FETCH 1 (UID FLAGS)")
        assert len(r.fetches) == 1
    settle(srv, c)


# --------------------------------------------------------------------------- pushes


def test_idle_pushes_changes_from_other_sessions():
    with live_server(3) as srv:
        (a, b, other, same), pids = spread(srv, 4)
        other.close()
        # b is on another worker than a; `same` on a's own worker when the kernel put two there
        print("  b on %s worker, same on %s worker" % ("another" if pids[1] != pids[0] else "the same",
                                                    "the same" if pids[3] == pids[0] else "another"))
        uids = [b.do_append("INBOX", msg("m%d" % i)).appenduid[1] for i in range(4)]
        a.select("INBOX")
        b.select("INBOX")
        b.do('CREATE "Side"')
        lat = []
        tag, res = start_idle(a)
        for who in (b, same):
            t0 = time.time()
            who.do_append("INBOX", msg("new-by-" + who.name))
            push(a, res, exists_at_least(len(a.uids)), "APPEND by %s" % who.name, t0, lat)
        t0 = time.time()
        b.do("STORE 2 +FLAGS (\\Flagged)")
        push(a, res, flags_of(a, 2, "\\flagged"), "STORE", t0, lat)
        t0 = time.time()
        b.do("STORE 1 +FLAGS.SILENT (\\Deleted)")
        push(a, res, flags_of(a, 1, "\\deleted"), "STORE .SILENT", t0, lat)
        t0 = time.time()
        b.do("EXPUNGE")
        push(a, res, expunged_count(1), "EXPUNGE", t0, lat)
        t0 = time.time()
        b.do("UID MOVE %d Side" % uids[1])
        push(a, res, expunged_count(2), "MOVE out", t0, lat)
        b.select("Side")
        n = len(a.uids)
        t0 = time.time()
        b.do("COPY 1 INBOX")
        push(a, res, exists_at_least(n + 1), "COPY in", t0, lat)
        t0 = time.time()
        same.do_append("INBOX", msg("last"))
        push(a, res, exists_at_least(n + 2), "APPEND after COPY", t0, lat)
        print("  latencies: " + ", ".join("%s %.0f ms" % (w, t * 1000) for w, t in lat))
        r = a.idle_done(tag, res)
        assert r.status == "OK"
        b.select("INBOX")
        same.select("INBOX")
        settle(srv, a, b, same)


def test_idle_pushes_deliver_and_maildir_drops(srv):
    a = live_client(srv)
    a.select("INBOX")
    tag, res = start_idle(a)
    lat = []
    t0 = time.time()
    p = harness.gannet("deliver", harness.USER, "--data", srv.data, stdin=msg("delivered"), check=False)
    assert p.returncode == 0, ("gannet deliver", p.returncode, p.stderr)
    push(a, res, exists_at_least(1), "gannet deliver", t0, lat)
    md = srv.maildir()
    for i, sub in enumerate(("", ".Sent")):
        name = "%d.M%dP%d.testhost" % (int(time.time()), i, os.getpid())
        d = os.path.join(md, sub) if sub else md
        if sub:
            continue  # only the selected mailbox (INBOX) is watched by this session
        t0 = time.time()
        with open(os.path.join(d, "tmp", name), "wb") as f:
            f.write(msg("dropped%d" % i).replace(b"\r\n", b"\n"))
        os.rename(os.path.join(d, "tmp", name), os.path.join(d, "new", name))
        push(a, res, exists_at_least(2 + i), "file renamed into new/", t0, lat)
    print("  latencies: " + ", ".join("%s %.0f ms" % (w, t * 1000) for w, t in lat))
    a.idle_done(tag, res)
    r = a.do("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subj = sorted(fr["BODY[HEADER.FIELDS (SUBJECT)]"] for fr, _ in r.fetches)
    assert subj == [b"Subject: delivered\r\n\r\n", b"Subject: dropped0\r\n\r\n"], subj
    settle(srv, a)


def test_idle_pushes_to_many_idlers_on_all_workers():
    with live_server(3) as srv:
        clients, pids = spread(srv, 13)
        writer, idlers = clients[0], clients[1:]
        writer.do_append("INBOX", msg("first"))
        writer.select("INBOX")
        tags = []
        for c in idlers:
            c.select("INBOX")
            tags.append(start_idle(c))
        for step, change in enumerate(("append", "flag", "expunge")):
            t0 = time.time()
            if change == "append":
                writer.do_append("INBOX", msg("second"))
                pred = lambda c: exists_at_least(2)
            elif change == "flag":
                writer.do("STORE 1 +FLAGS (\\Seen)")
                pred = lambda c: flags_of(c, 1, "\\seen")
            else:
                writer.do("STORE 2 +FLAGS.SILENT (\\Deleted)")
                writer.do("EXPUNGE")
                pred = lambda c: expunged_count(1)
            slow = []
            for c, (tag, res) in zip(idlers, tags):
                # the sockets fill in parallel; reading them one by one bounds each latency from above
                took = c.idle_until(res, pred(c), max(0.01, t0 + LATENCY + 2 - time.time()))
                lat = time.time() - t0
                if took is None or lat >= LATENCY:
                    slow.append((c.name, pids[clients.index(c)], "none" if took is None else "%.3f s" % lat))
            assert not slow, "%s: idlers that did not hear within %.1f s: %r" % (change, LATENCY, slow)
            for c, (tag, res) in zip(idlers, tags):
                res.exists, res.expunged, res.fetches = [], [], []
        for c, (tag, res) in zip(idlers, tags):
            c.idle_done(tag, res)
        settle(srv, writer, *idlers)


def test_idle_in_authenticated_state_gets_no_mailbox_pushes():
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        a.select("INBOX")
        a.do("UNSELECT")
        tag, res = start_idle(a)
        b.do_append("INBOX", msg("x"))
        # LiveClient fails on EXISTS/EXPUNGE/FETCH with no mailbox selected
        a.idle_until(res, lambda r: False, 0.6)
        r = a.idle_done(tag, res)
        assert r.status == "OK"


def test_idle_pushes_only_the_selected_mailbox():
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        b.do('CREATE "Other"')
        a.select("INBOX")
        tag, res = start_idle(a)
        b.do_append("Other", msg("elsewhere"))
        a.idle_until(res, lambda r: False, 0.6)
        assert not res.exists and not res.fetches, res.lines
        t0 = time.time()
        b.do_append("INBOX", msg("here"))
        push(a, res, exists_at_least(1), "APPEND to the selected mailbox", t0, [])
        a.idle_done(tag, res)
        settle(srv, a)


def test_idle_reports_held_back_expunges_at_once():
    """Expunges held back during a FETCH are due at the next command that may
    carry them; IDLE is one: they come right after the continuation."""
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        for i in range(3):
            a.do_append("INBOX", msg("m%d" % i))
        a.select("INBOX")
        b.select("INBOX")
        a.do("STORE 2 +FLAGS.SILENT (\\Deleted)")
        b.do("NOOP")
        a.do("EXPUNGE")
        r = b.do("FETCH 1:3 (UID)", allow=("OK", "NO"))
        assert not r.expunged
        t0 = time.time()
        tag, res = start_idle(b)
        push(b, res, expunged_count(1), "the held-back EXPUNGE", t0, [])
        b.idle_done(tag, res)
        settle(srv, a, b)


def test_idle_through_a_burst_of_changes():
    """Another session appends, flags and expunges in a tight loop; the idler's
    view stays consistent throughout and hears the last change within a second."""
    with live_server(3) as srv:
        (a, b), _ = spread(srv, 2)
        a.select("INBOX")
        b.select("INBOX")
        tag, res = start_idle(a)
        for i in range(40):
            b.do_append("INBOX", msg("burst%d" % i))
            if i % 3 == 2:
                b.do("STORE 1:2 +FLAGS (\\Deleted \\Seen)")
                b.do("EXPUNGE")
            if i % 5 == 4:
                b.do("STORE %d +FLAGS ($K%d)" % (len(b.uids), i))
            a.idle_until(res, lambda r: False, 0.001)  # read what has come, keeping the model current
        b.noop()
        n = len(b.uids) + 1
        t0 = time.time()
        b.do_append("INBOX", msg("last"))
        push(a, res, lambda r: len(a.uids) == n and bool(r.exists) and r.exists[-1] == len(a.uids), "last of a burst",
             t0, [])
        a.idle_done(tag, res)
        settle(srv, a, b)


def test_connection_dropped_while_idling(srv):
    a = live_client(srv)
    a.select("INBOX")
    start_idle(a)
    a.close()
    b = live_client(srv)
    b.do_append("INBOX", msg("after"))
    b.select("INBOX")
    tag, res = start_idle(b)
    c = live_client(srv)
    t0 = time.time()
    c.do_append("INBOX", msg("after2"))
    push(b, res, exists_at_least(2), "APPEND after another idler vanished", t0, [])
    b.idle_done(tag, res)
    assert srv.alive()
