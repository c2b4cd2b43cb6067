"""Index maintenance (issue 8): a deleted, truncated or corrupt gannet.db is
rebuilt from the Maildir and every message is still served; UIDs and
UIDVALIDITY are kept wherever the old file still says them, and no UID ever
names two different messages within one UIDVALIDITY. `gannet index check`
and `gannet index rebuild` from the command line."""

import imaplib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

import harness

MAILBOXES = ("INBOX", "Work", "Work/Sub")


def message(box, i, size=0):
    pad = ("x" * 70 + "\r\n") * (size // 72)
    return ("From: idx@example.org\r\nTo: alice@example.org\r\nSubject: %s message %d\r\n"
            "Message-ID: <%s-%d@index.example.org>\r\n\r\nBody %s %d.\r\n%s"
            % (box, i, box.replace("/", "."), i, box, i, pad)).encode()


def populate(srv, per_box=12, size=0):
    c = srv.imap()
    for box in MAILBOXES[1:]:
        c.create(box)
    c.subscribe("Work")
    for box in MAILBOXES:
        for i in range(per_box):
            flags = ["(\\Seen)", "(\\Flagged $Label1)", "(work)", "()"][i % 4]
            typ, _ = c.append(box, flags, None, message(box, i, size))
            assert typ == "OK"
    # an expunged message in the middle and the last one: UIDNEXT is then
    # above the highest UID, and must stay so
    c.select("INBOX")
    c.uid("STORE", "3,%d" % per_box, "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()


def snapshot(srv, conn=None):
    """{mailbox: (uidvalidity, uidnext, {uid: (flags, body)})} and the subscriptions."""
    c = conn or srv.imap()
    out = {}
    for box in MAILBOXES:
        typ, data = c.status('"%s"' % box, "(UIDVALIDITY UIDNEXT)")
        assert typ == "OK", data
        uv = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
        un = int(re.search(rb"UIDNEXT (\d+)", data[0]).group(1))
        typ, data = c.select('"%s"' % box, readonly=True)
        assert typ == "OK", data
        msgs = {}
        typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert typ == "OK", data
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split()) - {b"\\Recent"}
            msgs[uid] = (flags, item[1])
        out[box] = (uv, un, msgs)
    typ, data = c.lsub('""', "*")
    subs = sorted(d.decode().split(' "/" ')[-1].strip('"') for d in data if isinstance(d, bytes))
    if conn is None:
        c.logout()
    return out, subs


def bodies(msgs):
    return sorted(b for _, b in msgs.values())


def assert_same_mail(before, after, keep_uids):
    """Every message is still there; where UIDVALIDITY stayed, no UID names
    another message, new UIDs start at the old UIDNEXT, and (keep_uids) all
    UIDs and flags are as they were."""
    for box in MAILBOXES:
        uv0, un0, m0 = before[box]
        uv1, un1, m1 = after[box]
        assert bodies(m0) == bodies(m1), "%s lost or gained messages" % box
        if uv1 != uv0:
            assert not keep_uids, "%s got a new UIDVALIDITY" % box
            continue
        assert un1 >= un0, "%s: UIDNEXT went back from %d to %d" % (box, un0, un1)
        for uid, (flags, body) in m1.items():
            if uid in m0:
                assert m0[uid][1] == body, "%s: UID %d names another message" % (box, uid)
                if keep_uids:
                    assert m0[uid][0] == flags, (box, uid, m0[uid][0], flags)
            else:
                assert not keep_uids, "%s: UID %d is new" % (box, uid)
                assert uid >= un0, "%s: UID %d given again below UIDNEXT %d" % (box, uid, un0)


def snapshot_after_rebuild(srv):
    """A session that meets the damage is told to log in again (NO and BYE
    [UNAVAILABLE]); the next one sees the rebuilt index."""
    try:
        return snapshot(srv)[0]
    except (imaplib.IMAP4.abort, AssertionError) as e:
        assert "rebuilt" in str(e) or "EOF" in str(e), e
    return snapshot(srv)[0]


def index_path(srv):
    return os.path.join(srv.data, "users", harness.USER, "gannet.db")


def mailbox_modseqs(srv):
    db = sqlite3.connect("file:%s?mode=ro" % index_path(srv), uri=True)
    try:
        return dict(db.execute("SELECT name, modseq FROM mailbox"))
    finally:
        db.close()


def gannet_index(srv, *args):
    return harness.gannet("index", *args, harness.USER, "--data", srv.data, check=False)


def test_a_deleted_index_is_rebuilt_and_every_message_served():
    with harness.serving() as srv:
        populate(srv)
        before, subs = snapshot(srv)
        srv.stop()
        os.unlink(index_path(srv))
        # nothing is left that says what the old UIDVALIDITYs were: the new
        # ones are the clock's, larger once a second has passed
        time.sleep(1.1)
        srv.start()
        after, subs_after = snapshot(srv)
        # the UIDs lived only in the deleted file: new UIDVALIDITYs, same mail
        assert_same_mail(before, after, keep_uids=False)
        for box in MAILBOXES:
            assert after[box][0] != before[box][0]
        assert set(subs_after) >= set(subs)
        assert "is missing; building it from the Maildir" in srv.log()
        c = srv.imap()
        typ, _ = c.append("INBOX", None, None, message("INBOX", 99))
        assert typ == "OK"
        c.logout()
        p = gannet_index(srv, "check")
        assert p.returncode == 0 and b"agree" in p.stdout, p.stdout + p.stderr


def test_a_truncated_index_keeps_uids_it_still_holds():
    with harness.serving() as srv:
        populate(srv, per_box=40, size=3000)
        before, subs = snapshot(srv)
        srv.stop()
        path = index_path(srv)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size * 3 // 5 + 123)  # not even a whole page
        srv.start()
        after, _ = snapshot(srv)
        assert_same_mail(before, after, keep_uids=False)
        # the mailbox rows are at the front of the file: UIDVALIDITY is kept
        assert after["INBOX"][0] == before["INBOX"][0]
        log = srv.log()
        assert "damaged" in log and "rebuilt" in log, log[-3000:]
        assert os.path.exists(path + ".old")


def test_an_index_cut_in_the_middle_of_writes():
    """The server is killed while clients append, and the file loses its end:
    every message an APPEND said OK to is served after the restart (a session
    may be told BYE once, when the damage is found in use)."""
    with harness.serving() as srv:
        populate(srv, per_box=20, size=2000)
        done = []
        stop = threading.Event()

        def appender():
            c = srv.imap()
            i = 0
            while not stop.is_set():
                try:
                    typ, _ = c.append("Work", None, None, message("flood", i, 1500))
                except (imaplib.IMAP4.abort, OSError, EOFError):
                    return
                if typ == "OK":
                    done.append(message("flood", i, 1500))
                i += 1

        t = threading.Thread(target=appender)
        t.start()
        time.sleep(1.0)
        os.kill(srv.proc.pid, signal.SIGKILL)
        for pid in subprocess.run(["pgrep", "-f", srv.data], capture_output=True).stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        stop.set()
        t.join(10)
        srv.proc.wait()
        srv.proc = None
        path = index_path(srv)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        srv.start()
        assert done, "no APPEND finished before the kill"
        after = snapshot_after_rebuild(srv)
        work = bodies(after["Work"][2])
        for body in done:
            assert body in work, "an acknowledged APPEND was lost"
        assert len(after["INBOX"][2]) == 18  # 20 appended, 2 expunged


def test_damage_found_in_use_is_rebuilt_and_the_client_told_to_log_in_again():
    with harness.serving() as srv:
        populate(srv, per_box=40, size=3000)
        before, _ = snapshot(srv)
        srv.stop()
        path = index_path(srv)
        size = os.path.getsize(path)
        page = 4096
        # garbage over the back half (message rows and header blobs), the
        # header and the schema left intact, so the damage is met by a query
        with open(path, "r+b") as f:
            for off in range((size // page // 2) * page, size, page):
                f.seek(off + 8)
                f.write(os.urandom(page - 8))
        srv.start()
        got = snapshot_after_rebuild(srv)
        assert_same_mail(before, got, keep_uids=False)
        assert "damaged" in srv.log()
        assert srv.alive()


def test_index_check_and_rebuild_from_the_command_line():
    with harness.serving() as srv:
        populate(srv)
        before, subs = snapshot(srv)
        p = gannet_index(srv, "check")
        assert p.returncode == 0, p.stdout + p.stderr
        srv.stop()
        # a file no index row knows, and a row whose file is gone
        cur = os.path.join(srv.maildir(), ".Work", "cur")
        gone = sorted(os.listdir(cur))[0]
        stray = os.path.join(cur, "1700000000.stray.host:2,S")
        with open(stray, "wb") as f:
            f.write(message("Work", 500))
        if os.getuid() == 0:
            os.chown(stray, harness.MAIL_UID, harness.MAIL_GID)
        gone_body = open(os.path.join(cur, gone), "rb").read()
        os.unlink(os.path.join(cur, gone))
        p = gannet_index(srv, "check")
        out = p.stdout.decode()
        assert p.returncode == 1, out
        assert "1700000000.stray.host" in out and "not in the index" in out, out
        assert "is gone" in out, out
        modseq_before = mailbox_modseqs(srv)
        p = gannet_index(srv, "rebuild")
        assert p.returncode == 0, p.stdout + p.stderr
        # MODSEQ goes on from where it was, never back (no CONDSTORE client
        # may see an old value again within the UIDVALIDITY)
        modseq_after = mailbox_modseqs(srv)
        for box, m in modseq_before.items():
            assert modseq_after[box] > m, (box, m, modseq_after[box])
        p = gannet_index(srv, "check")
        assert p.returncode == 0, p.stdout + p.stderr
        srv.start()
        after, subs_after = snapshot(srv)
        # a sound file is read whole: everything else keeps UID and flags
        uv0, un0, m0 = before["Work"]
        uv1, un1, m1 = after["Work"]
        assert uv1 == uv0 and un1 == un0 + 1
        expect = {u: v for u, v in m0.items() if v[1] != gone_body}
        assert {u: v for u, v in m1.items() if u < un0} == expect
        assert m1[un0][1] == message("Work", 500) and m1[un0][0] == {b"\\Seen"}
        for box in ("INBOX", "Work/Sub"):
            assert after[box] == before[box]
        assert subs_after == subs
        # --config instead of --data; a user with no Maildir
        conf = os.path.join(srv.dir, "gannet.conf")
        with open(conf, "w") as f:
            f.write("data = %s\n" % srv.data)
        p = harness.gannet("index", "check", harness.USER, "--config", conf, check=False)
        assert p.returncode == 0, p.stdout + p.stderr
        p = harness.gannet("index", "check", "nobody-here", "--data", srv.data, check=False)
        assert p.returncode == 3 and b"no such user" in p.stderr, p.stderr
        p = harness.gannet("index", "frobnicate", harness.USER, "--data", srv.data, check=False)
        assert p.returncode == 2


def test_mail_delivered_before_the_first_login_is_imported_with_the_usual_folders():
    """An MTA made DATA/users/NAME/Maildir and delivered into new/ before the
    user existed for Gannet: `gannet user add` imports it, and the user has
    the folders every new user gets."""
    with harness.serving(users=()) as srv:
        maildir = srv.maildir()
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub))
        early = message("INBOX", 1).replace(b"\r\n", b"\n")
        with open(os.path.join(maildir, "new", "1700000000.M1P1.mta"), "wb") as f:
            f.write(early)
        if os.getuid() == 0:
            for root, dirs, files in os.walk(os.path.join(srv.data, "users")):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), harness.MAIL_UID, harness.MAIL_GID)
                os.chown(root, harness.MAIL_UID, harness.MAIL_GID)
        srv.add_user(harness.USER, harness.PASSWORD)
        c = srv.imap()
        typ, data = c.list()
        assert typ == "OK"
        listed = b"\n".join(data)
        for name, use in (("Sent", b"\\Sent"), ("Drafts", b"\\Drafts"), ("Trash", b"\\Trash"),
                          ("Junk", b"\\Junk"), ("Archive", b"\\Archive")):
            assert re.search(rb"\(([^)]*)%s[^)]*\) \"/\" \"?%s\"?" % (re.escape(use), name.encode()),
                             listed), (name, listed)
        typ, data = c.select("INBOX")
        assert data == [b"1"], data
        typ, data = c.uid("FETCH", "1", "(BODY.PEEK[])")
        assert data[0][1] == early.replace(b"\n", b"\r\n")
        c.logout()


def test_a_rebuild_while_serving_ends_that_users_sessions_even_in_idle():
    with harness.serving() as srv:
        populate(srv, per_box=5)
        before, _ = snapshot(srv)
        r = srv.raw().login()
        r.cmd("S1", "SELECT INBOX")
        r.send("I1 IDLE\r\n")
        assert r.line().startswith(b"+ "), "no IDLE continuation"
        p = gannet_index(srv, "rebuild")
        assert p.returncode == 0, p.stdout + p.stderr
        r.sock.settimeout(5)
        line = r.line()
        assert line.startswith(b"* BYE [UNAVAILABLE]") and b"rebuilt" in line, line
        r.close()
        # the file was sound: a new session sees every UID, flag and UIDVALIDITY kept
        after, _ = snapshot(srv)
        assert after == before
        assert "reason=index-rebuilt" in srv.log()
        # the old file's last connection has closed by now; the new index,
        # its WAL and what was written to it since are whole
        c = srv.imap()
        typ, _ = c.append("INBOX", "(\\Flagged)", None, message("INBOX", 77))
        assert typ == "OK"
        c.logout()
        srv.stop()
        p = gannet_index(srv, "check")
        assert p.returncode == 0, p.stdout + p.stderr
        srv.start()
        again, _ = snapshot(srv)
        assert again["INBOX"][2][before["INBOX"][1]] == ({b"\\Flagged"}, message("INBOX", 77))


def test_a_user_whose_whole_directory_went_starts_afresh():
    """DATA/users/NAME removed (an administrator wiped the mail): the next
    login makes a new Maildir and index, and the session works on it (the
    store knows the index file it made as its own)."""
    with harness.serving() as srv:
        populate(srv, per_box=2)
        srv.stop()
        shutil.rmtree(os.path.join(srv.data, "users", harness.USER))
        srv.start()
        c = srv.imap()
        typ, data = c.select("INBOX")
        assert typ == "OK" and data == [b"0"], data
        typ, _ = c.append("INBOX", None, None, message("INBOX", 5))
        assert typ == "OK"
        typ, data = c.noop()
        assert typ == "OK"
        typ, data = c.list()
        assert typ == "OK" and any(b"\\Sent" in d for d in data), data
        c.logout()
        assert "index-rebuilt" not in srv.log()


def test_a_rebuild_passes_over_what_is_not_a_message_file():
    """A link in cur/ is no message (maildir.c never follows one): the
    rebuild leaves it out, and every message is still there."""
    with harness.serving() as srv:
        populate(srv, per_box=2)
        before, _ = snapshot(srv)
        srv.stop()
        os.symlink("/etc/hostname", os.path.join(srv.maildir(), "cur", "1700000000.link.host:2,S"))
        p = gannet_index(srv, "rebuild")
        assert p.returncode == 0, p.stdout + p.stderr
        srv.start()
        after, _ = snapshot(srv)
        assert after == before
