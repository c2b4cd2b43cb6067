"""Migration from Dovecot (issue 8): a Maildir that a real Dovecot wrote is
served by Gannet with the same UIDs and UIDVALIDITY.

The test makes the Maildir itself with Debian's dovecot-imapd (scripts/deps.sh
installs it without starting the system's service): a private Dovecot (its
own configuration file, base_dir, state_dir and logs in a temporary directory
of its own, IMAP on 127.0.0.1 on a free port and nothing else) keeps its mail
in Gannet's data directory, DATA/users/USER/Maildir, in Dovecot's default
Maildir++ layout. An IMAP client APPENDs, flags, expunges, creates and
subscribes there, dovecot-lda delivers one message (into new/, with its UID in
dovecot-uidlist), and the client writes down everything Dovecot answers. Dovecot is stopped (all of its
processes gone), and Gannet is pointed at the same data directory: `gannet
user add USER` finds a Maildir and no gannet.db and imports it (design.md
section 2; the contract is in the issue):

- every folder directory is a mailbox; Dovecot's separator "." is Gannet's "/"
  (".Work.Projects" is "Work/Projects"), names stay modified UTF-7;
- dovecot-uidlist gives UIDVALIDITY, the next UID and each file's UID;
- keywords come from the filename's lowercase letters and the folder's
  dovecot-keywords, system flags from ":2,";
- the subscriptions file gives the subscriptions.

Gannet must then answer as Dovecot did: UIDVALIDITY, UIDNEXT (which is more
than the highest UID + 1, as the last message was expunged), the UIDs, FLAGS
(\\Recent aside), RFC822.SIZE and the bytes of every message; an APPEND gets
the old UIDNEXT; a file an MTA drops into new/ gets the next UID; and after a
restart (the index now exists) all of it still holds.

As root (CI), Dovecot's helpers run as its packaged users and the mail as
nobody, who owns Gannet's data directory (harness.mail_data_dir); as anyone
else, every process runs as that user."""

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness
from helpers_fetch import FParseError, parse_fetch
from helpers_states import parse_list_line, parse_status_line

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"  # /usr/sbin may not be on PATH
LIBEXEC = next((d for d in ("/usr/lib/dovecot", "/usr/libexec/dovecot") if os.path.isdir(d)), "/usr/lib/dovecot")
WAIT = 15  # seconds: bound on every wait for Dovecot, for Gannet and for each IMAP reply
USER, PASSWORD = "dove", "dove-pw"  # the migrated user (the harness's own user is not used)
DATE = '"07-Feb-1994 21:52:25 -0800"'
# the mailboxes a new Gannet user gets (src/store/store.c): an import may add them
GANNET_DEFAULTS = {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}

CONF = """\
# A private Dovecot for tests/integration/test_dovecot_import.py. Nothing here
# touches the system's Dovecot: the configuration, base_dir, state_dir and
# logs are in the test's own directory, and the one listener is on 127.0.0.1.
instance_name = gannet-import-{port}
base_dir = {run}/run
state_dir = {run}/state
log_path = {run}/dovecot.log
info_log_path = {run}/dovecot.log
debug_log_path = {run}/dovecot.log

protocols = imap
listen = 127.0.0.1
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}

ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login

# One user with a known password; its mail is Gannet's DATA/users/USER/Maildir.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {run}/users
}}
userdb {{
  driver = passwd-file
  args = {run}/users
}}
first_valid_uid = {uid}
first_valid_gid = {gid}

# Maildir++ (Dovecot's default maildir layout): INBOX at the root, a folder
# A.B in the directory .A.B, the hierarchy separator ".".
mail_location = maildir:{data}/users/%u/Maildir
namespace inbox {{
  inbox = yes
  prefix =
  separator = {separator}
}}
mail_plugins =

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot = {login_chroot}
}}
service anvil {{
  chroot = {anvil_chroot}
}}
"""


class Dovecot:
    """One private Dovecot under base/, serving USER's mail from data/."""

    def __init__(self, base, data, separator="."):
        self.base, self.data = base, data
        self.port = harness.free_port()
        self.conf = os.path.join(base, "dovecot.conf")
        self.proc = None
        if os.geteuid() == 0:
            # Dovecot refuses mail access as root: the mail is nobody's, as
            # Gannet's is; the helpers run as the packaged users.
            uid, gid = harness.MAIL_UID, harness.MAIL_GID
            internal, internal_group, login = "dovecot", "dovecot", "dovenull"
            login_chroot, anvil_chroot = "login", "empty"
        else:
            me = pwd.getpwuid(os.geteuid())
            uid, gid = me.pw_uid, me.pw_gid
            internal = login = me.pw_name
            internal_group = grp.getgrgid(me.pw_gid).gr_name
            login_chroot = anvil_chroot = ""  # chroot needs root
        home = os.path.join(data, "users", USER)
        with open(os.path.join(base, "users"), "w") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (USER, PASSWORD, uid, gid, home))
        with open(self.conf, "w") as f:
            f.write(CONF.format(run=base, port=self.port, data=data, uid=uid, gid=gid,
                                internal_user=internal, internal_group=internal_group, login_user=login,
                                login_chroot=login_chroot, anvil_chroot=anvil_chroot,
                                separator=separator))

    def start(self):
        out = open(os.path.join(self.base, "dovecot.out"), "wb")
        # its own session: every process of this instance has the master's pid
        # as session id, which is how stop() knows they have all gone
        self.proc = subprocess.Popen([DOVECOT, "-c", self.conf, "-F"], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.time() + WAIT
        while True:
            assert self.proc.poll() is None, "dovecot exited at start (%d):\n%s" % (self.proc.returncode, self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.settimeout(5)
                    greeting = s.recv(512)
                    assert greeting.startswith(b"* OK"), greeting
                    return
            except OSError:
                assert time.time() < deadline, "Dovecot never answered on port %d:\n%s" % (self.port, self.log())
                time.sleep(0.05)

    def session(self):
        """Pids of the processes left in the master's session."""
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields[0] is the state, [3] the session id
            if int(fields[3]) == self.proc.pid and fields[0] != "Z":
                out.append(int(name))
        return out

    def stop(self):
        """SIGTERM to the master, which stops every other process of the
        instance; any left after the bound are killed, by pid."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.time() + WAIT
        left = self.session()
        while left and time.time() < deadline:
            time.sleep(0.05)
            left = self.session()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
        assert not left, "Dovecot processes still running %ds after the master stopped: %r" % (WAIT, left)

    def log(self):
        out = []
        for name in ("dovecot.out", "dovecot.log"):
            try:
                with open(os.path.join(self.base, name), errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "".join(out)[-4000:] or "(no Dovecot log)"


# ----------------------------------------------------------------------------
# imaplib's answers, put back together so the suite's parsers can read them


def responses(data):
    """imaplib splits an untagged response at its literals: (text, literal)
    tuples, then the rest of the line. Returns each response whole (without
    the leading "* " and the word imaplib took away)."""
    out = []
    after_literal = False
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            piece = item[0] + b"\r\n" + item[1]
            if after_literal:
                out[-1] += piece
            else:
                out.append(piece)
            after_literal = True
        else:
            if after_literal:
                out[-1] += item
            else:
                out.append(item)
            after_literal = False
    return out


def ok(c, what, result):
    typ, data = result
    assert typ == "OK", "%s: %s %r" % (what, typ, data)
    return data


def fetch_all(c, mailbox):
    """{uid: (FLAGS without \\Recent, RFC822.SIZE, BODY[])} of the selected mailbox."""
    data = ok(c, "UID FETCH in " + mailbox, c.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])"))
    msgs = {}
    for resp in responses(data):
        m = re.match(rb"(\d+) ", resp)
        assert m, "%s: not a FETCH response: %r" % (mailbox, resp[:200])
        try:
            r = parse_fetch(b"* %s FETCH %s" % (m.group(1), resp[m.end():]))
        except FParseError as e:
            raise AssertionError("%s: malformed FETCH response (%s): %r" % (mailbox, e, resp[:500]))
        if "BODY[]" not in r:
            continue  # an unsolicited FLAGS update
        uid = int(r["UID"])
        assert uid not in msgs, "%s: UID %d twice in one FETCH" % (mailbox, uid)
        flags = frozenset(str(f) for f in r["FLAGS"]) - {"\\Recent"}
        msgs[uid] = (flags, int(r["RFC822.SIZE"]), r["BODY[]"])
    return msgs


def status(c, mailbox):
    data = ok(c, "STATUS " + mailbox, c.status(quote(mailbox), "(MESSAGES UIDNEXT UIDVALIDITY)"))
    found = [parse_status_line(b"* STATUS " + r) for r in responses(data)]
    assert len(found) == 1, "STATUS %s: %r" % (mailbox, data)
    return found[0][1]


def select(c, mailbox, readonly=False):
    """SELECT (or EXAMINE) -> {"EXISTS", "UIDVALIDITY", "UIDNEXT"} as the server said them."""
    data = ok(c, "SELECT " + mailbox, c.select(quote(mailbox), readonly=readonly))
    out = {"EXISTS": int(data[0])}
    for code in ("UIDVALIDITY", "UIDNEXT"):
        typ, val = c.response(code)
        assert val and val[0] is not None, "SELECT %s: no [%s]" % (mailbox, code)
        out[code] = int(val[-1])
    return out


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def listed(c, cmd, *args):
    """LIST or LSUB with imaplib -> {name: ListLine}."""
    typ, data = c._simple_command(cmd, *args)
    assert typ == "OK", "%s %s: %s %r" % (cmd, " ".join(args), typ, data)
    typ, data = c._untagged_response(typ, data, cmd)
    out = {}
    for r in responses(data):
        p = parse_list_line(b"* " + cmd.encode() + b" " + r)
        assert p.name not in out, "%s lists %s twice" % (cmd, p.name)
        out[p.name] = p
    return out


def append(c, mailbox, flags, msg):
    """APPEND -> (uidvalidity, uid) from APPENDUID (RFC 4315)."""
    data = ok(c, "APPEND to " + mailbox, c.append(quote(mailbox), flags, DATE, msg))
    m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[-1] or b"")
    assert m, "APPEND to %s: no APPENDUID in %r" % (mailbox, data)
    return int(m.group(1)), int(m.group(2))


def imap(port, user=USER, password=PASSWORD):
    c = imaplib.IMAP4("127.0.0.1", port, timeout=WAIT)
    c.login(user, password)
    return c


# ----------------------------------------------------------------------------
# the mail Dovecot is given


def msg(n, subject, body=b"Hello.\r\n", headers=b""):
    return (b"From: Bob <bob@example.org>\r\nTo: Dove <dove@example.org>\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
            b"Message-ID: <dovecot-import-%d@example.org>\r\n" % n + headers + b"\r\n" + body)


MULTIPART = (b"This is a multi-part message in MIME format.\r\n\r\n--b1\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
             b"Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln.\r\n\r\n--b1\r\n"
             b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n--b1--\r\n")

# Dovecot folder name -> Gannet's name for it
FOLDERS = {"INBOX": "INBOX", "Work": "Work", "Work.Projects": "Work/Projects",
           "Entw&APw-rfe": "Entw&APw-rfe"}  # "Entwürfe" in modified UTF-7


def lda(dc, folder, message):
    """Delivers as an MTA would, through dovecot-lda: the file goes to new/
    (no ":2,"), and Dovecot gives it its UID in dovecot-uidlist at once."""
    r = subprocess.run([os.path.join(LIBEXEC, "dovecot-lda"), "-c", dc.conf, "-d", USER, "-f", "bob@example.org",
                        "-m", folder], input=message, capture_output=True, timeout=WAIT)
    assert r.returncode == 0, "dovecot-lda -m %s: exit %d %r\n%s" % (folder, r.returncode, r.stderr, dc.log())


def dovecot_side(dc):
    """Fills the Maildir through Dovecot and returns what Dovecot then says:
    {Gannet name: {"UIDVALIDITY", "UIDNEXT", "MESSAGES", "msgs": {uid: ...}}},
    and the subscribed folders (Gannet names)."""
    c = imap(dc.port)
    inbox = [
        ("()", msg(1, "plain")),
        ("(\\Seen)", msg(2, "seen, later answered and labelled work")),
        ("(\\Seen \\Flagged)", msg(3, "seen and flagged", b"x" * 5000 + b"\r\n")),
        ("(\\Answered $Label1)", msg(4, "answered, expunged")),
        ("(\\Seen $Label1 work)", msg(5, "two keywords", MULTIPART,
                                       b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n")),
        ("(\\Draft)", msg(6, "draft, later deleted but not expunged")),
        ("(work)", msg(7, "keyword only", b"From the body, not an envelope\r\n.\r\n")),
        ("(\\Seen)", msg(8, "the last one, expunged")),
    ]
    for i, (flags, m) in enumerate(inbox, 1):
        assert append(c, "INBOX", flags, m)[1] == i
    ok(c, "CREATE Work", c.create("Work"))
    ok(c, "CREATE Work.Projects", c.create("Work.Projects"))
    ok(c, "CREATE Entw&APw-rfe", c.create("Entw&APw-rfe"))
    ok(c, "SUBSCRIBE Work", c.subscribe("Work"))
    # keywords in another order than INBOX's: each folder's dovecot-keywords
    # maps the letters of its own files
    append(c, "Work", "(urgent)", msg(11, "urgent"))
    append(c, "Work", "(\\Seen work urgent)", msg(12, "work and urgent"))
    append(c, "Work", "(\\Flagged)", msg(13, "flagged at work"))
    for i in range(3):
        append(c, "Work.Projects", "()", msg(21 + i, "project %d" % i))
    # Dovecot only appends this message's line to the folder's dovecot-uidlist,
    # whose header keeps "N1": the next UID (2) is the highest UID + 1
    append(c, "Entw&APw-rfe", "(\\Seen \\Draft)", msg(31, "Entwurf"))

    select(c, "INBOX")
    ok(c, "STORE", c.uid("STORE", "2", "+FLAGS", "(\\Answered work)"))
    ok(c, "STORE", c.uid("STORE", "4,8", "+FLAGS", "(\\Deleted)"))
    ok(c, "EXPUNGE", c.expunge())  # one in the middle and the last: UIDNEXT stays 9
    ok(c, "STORE", c.uid("STORE", "6", "+FLAGS", "(\\Deleted)"))  # kept, flagged \Deleted
    select(c, "Work.Projects")
    ok(c, "STORE", c.uid("STORE", "3", "+FLAGS", "(\\Deleted)"))
    ok(c, "EXPUNGE", c.expunge())  # the last one: UIDNEXT 4, highest UID 2
    ok(c, "CLOSE", c.close())
    # Work's fourth message: a file in new/ (no ":2,") with a UID in dovecot-uidlist
    lda(dc, "Work", msg(14, "delivered by dovecot-lda"))

    seen = {}
    for dove_name, name in FOLDERS.items():
        st = status(c, dove_name)
        sel = select(c, dove_name, readonly=True)  # EXAMINE: Dovecot moves nothing out of new/
        assert (sel["UIDVALIDITY"], sel["UIDNEXT"], sel["EXISTS"]) == (
            st["UIDVALIDITY"], st["UIDNEXT"], st["MESSAGES"]), (dove_name, st, sel)
        seen[name] = dict(st, msgs=fetch_all(c, dove_name))
    subscribed = {FOLDERS.get(n, n) for n in listed(c, "LSUB", '""', '"*"')}
    c.logout()

    # what Dovecot said is what was asked of it (so the Gannet half compares
    # against a Dovecot that did what the test thinks it did)
    def flags(s):
        return frozenset(s.strip("()").split())
    want_inbox = {i: (flags(f), m) for i, (f, m) in enumerate(inbox, 1)}
    want_inbox[2] = (flags("(\\Seen \\Answered work)"), want_inbox[2][1])
    want_inbox[6] = (flags("(\\Draft \\Deleted)"), want_inbox[6][1])
    del want_inbox[4], want_inbox[8]
    got = seen["INBOX"]
    assert {u: (f, b) for u, (f, s, b) in got["msgs"].items()} == want_inbox, got["msgs"]
    assert got["UIDNEXT"] == 9 and got["MESSAGES"] == 6, got
    assert sorted(seen["Work"]["msgs"]) == [1, 2, 3, 4] and seen["Work"]["UIDNEXT"] == 5
    assert seen["Work"]["msgs"][2][0] == flags("(\\Seen work urgent)"), seen["Work"]["msgs"][2]
    assert sorted(seen["Work/Projects"]["msgs"]) == [1, 2] and seen["Work/Projects"]["UIDNEXT"] == 4
    assert sorted(seen["Entw&APw-rfe"]["msgs"]) == [1]
    for name, st in seen.items():
        for uid, (f, size, body) in st["msgs"].items():
            assert size == len(body), (name, uid, size, len(body))
    assert len({st["UIDVALIDITY"] for st in seen.values()}) == len(seen), "Dovecot gave two folders one UIDVALIDITY"
    assert subscribed == {"Work"}, subscribed
    return seen, subscribed


# ----------------------------------------------------------------------------
# the Gannet half


def gannet_matches(srv, seen, label):
    """Gannet answers for every folder what Dovecot did (seen)."""
    c = imap(srv.port)
    try:
        boxes = listed(c, "LIST", '""', '"*"')
        for name, p in boxes.items():
            assert p.delim == "/", "%s: %s has the hierarchy separator %r, not \"/\"" % (label, name, p.delim)
        missing = set(seen) - set(boxes)
        assert not missing, "%s: Dovecot's folders %s are not mailboxes; LIST: %s" % (
            label, sorted(missing), sorted(boxes))
        extra = set(boxes) - set(seen) - GANNET_DEFAULTS
        assert not extra, "%s: mailboxes Dovecot did not have: %s (the Maildir's own files are not mailboxes)" % (
            label, sorted(extra))
        for name, want in seen.items():
            st = status(c, name)
            for item in ("UIDVALIDITY", "UIDNEXT", "MESSAGES"):
                assert st[item] == want[item], "%s: STATUS %s %s is %d; Dovecot said %d" % (
                    label, name, item, st[item], want[item])
            sel = select(c, name)
            assert (sel["UIDVALIDITY"], sel["UIDNEXT"], sel["EXISTS"]) == (
                want["UIDVALIDITY"], want["UIDNEXT"], want["MESSAGES"]), (
                "%s: SELECT %s gave %r; Dovecot said UIDVALIDITY %d UIDNEXT %d EXISTS %d" % (
                    label, name, sel, want["UIDVALIDITY"], want["UIDNEXT"], want["MESSAGES"]))
            got = fetch_all(c, name)
            assert sorted(got) == sorted(want["msgs"]), "%s: %s has the UIDs %s; Dovecot had %s" % (
                label, name, sorted(got), sorted(want["msgs"]))
            for uid, (flags, size, body) in want["msgs"].items():
                gflags, gsize, gbody = got[uid]
                assert gflags == flags, "%s: %s UID %d has FLAGS %s; Dovecot had %s" % (
                    label, name, uid, sorted(gflags), sorted(flags))
                assert gbody == body, "%s: %s UID %d: BODY[] differs from Dovecot's (%d vs %d octets):\n%r\n%r" % (
                    label, name, uid, len(gbody), len(body), gbody[:300], body[:300])
                assert gsize == size, "%s: %s UID %d: RFC822.SIZE %d; Dovecot said %d" % (
                    label, name, uid, gsize, size)
        ok(c, "UNSELECT", c.unselect())  # not CLOSE: it would expunge INBOX's \\Deleted message
        lsub = set(listed(c, "LSUB", '""', '"*"'))
        subscribed = {n for n, p in listed(c, "LIST", "(SUBSCRIBED)", '""', '"*"').items() if p.has("\\Subscribed")}
        for what, subs in (("LSUB", lsub), ("LIST (SUBSCRIBED)", subscribed)):
            assert "Work" in subs, "%s: %s does not show Work, which Dovecot had subscribed: %s" % (
                label, what, sorted(subs))
            assert not subs & {"Work/Projects", "Entw&APw-rfe", "Work.Projects"}, (
                "%s: %s shows folders Dovecot had not subscribed: %s" % (label, what, sorted(subs)))
            assert subs <= {"Work"} | GANNET_DEFAULTS, "%s: %s: %s" % (label, what, sorted(subs))
    finally:
        c.logout()


def drop(maildir, name, data, sub="new", info=""):
    """Delivers a file as an MTA does (tmp/, then a rename), as the mail's owner."""
    tmp = os.path.join(maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    if os.geteuid() == 0:
        os.chown(tmp, harness.MAIL_UID, harness.MAIL_GID)
    os.rename(tmp, os.path.join(maildir, sub, name + info))


def test_dovecot_maildir_is_served_with_its_uids(srv):
    for tool in (DOVECOT, os.path.join(LIBEXEC, "imap"), os.path.join(LIBEXEC, "dovecot-lda")):
        assert os.access(tool, os.X_OK), "%s is not installed: scripts/deps.sh (make deps) installs dovecot-imapd" % tool
    # Dovecot writes into the harness server's data directory, for a user
    # Gannet has never seen; the harness's own server is not needed meanwhile.
    srv.stop()
    data = srv.data
    maildir = os.path.join(data, "users", USER, "Maildir")
    base = tempfile.mkdtemp(prefix="gannet-dovecot-")
    os.chmod(base, 0o755)  # Dovecot's helpers (its own users) reach their sockets under it
    dc = None
    try:
        dc = Dovecot(base, data)
        dc.start()
        seen, _ = dovecot_side(dc)
        dc.stop()
        dc = None
    except BaseException as e:
        if dc is not None and hasattr(e, "add_note"):
            e.add_note("--- Dovecot log ---\n" + dc.log())
        raise
    finally:
        if dc is not None:
            dc.stop()
        shutil.rmtree(base, ignore_errors=True)
    # what the import starts from: Dovecot's uidlists, and a message of Work in new/
    for d in ("", ".Work", ".Work.Projects", ".Entw&APw-rfe"):
        assert os.path.isfile(os.path.join(maildir, d, "dovecot-uidlist")), (d, os.listdir(maildir))
    assert len(os.listdir(os.path.join(maildir, ".Work", "new"))) == 1, os.listdir(os.path.join(maildir, ".Work"))
    assert not os.path.exists(os.path.join(data, "users", USER, "gannet.db"))

    # the import: the first `gannet user add` on a data directory with this Maildir
    harness.gannet("user", "add", USER, "--data", data, "--password-stdin", stdin=(PASSWORD + "\n").encode())
    srv.start()
    gannet_matches(srv, seen, "after the import")

    # new mail goes on from Dovecot's UIDNEXT, never over an expunged UID (8)
    c = imap(srv.port)
    new = msg(41, "appended to Gannet")
    uidv, uid = append(c, "INBOX", "(\\Flagged)", new)
    assert (uidv, uid) == (seen["INBOX"]["UIDVALIDITY"], seen["INBOX"]["UIDNEXT"]), (
        "APPEND after the import got [APPENDUID %d %d]; want UIDVALIDITY %d and Dovecot's UIDNEXT %d" % (
            uidv, uid, seen["INBOX"]["UIDVALIDITY"], seen["INBOX"]["UIDNEXT"]))
    inbox = seen["INBOX"]
    inbox["msgs"][uid] = (frozenset({"\\Flagged"}), len(new), new)
    # an MTA's delivery into the Dovecot-made new/, in Dovecot's own shape
    # (bare LFs, S= the size on disk): the next UID
    select(c, "INBOX")
    dropped = msg(42, "dropped into new/ by an MTA")
    lf = dropped.replace(b"\r\n", b"\n")
    drop(maildir, "%d.M1P%d.mta,S=%d" % (time.time(), os.getpid(), len(lf)), lf)
    deadline = time.time() + WAIT
    while True:
        got = fetch_all(c, "INBOX")
        if len(got) > len(inbox["msgs"]) or time.time() > deadline:
            break
        time.sleep(0.1)
        c.noop()
    assert sorted(got) == sorted(inbox["msgs"]) + [uid + 1], (
        "a file dropped into new/ after the import: UIDs %s; want %s and then %d" % (
            sorted(got), sorted(inbox["msgs"]), uid + 1))
    assert got[uid + 1] == (frozenset(), len(dropped), dropped), got[uid + 1]
    inbox["msgs"][uid + 1] = got[uid + 1]
    inbox["UIDNEXT"], inbox["MESSAGES"] = uid + 2, len(inbox["msgs"])
    c.logout()

    # with the index there: the same answers; a file dropped while Gannet was
    # down into a folder whose last UID Dovecot expunged gets Dovecot's UIDNEXT
    srv.stop()
    projects = seen["Work/Projects"]
    late = msg(43, "dropped into .Work.Projects while Gannet was down")
    drop(os.path.join(maildir, ".Work.Projects"), "%d.M2P%d.mta" % (time.time(), os.getpid()), late,
         sub="cur", info=":2,S")
    projects["msgs"][projects["UIDNEXT"]] = (frozenset({"\\Seen"}), len(late), late)
    projects["UIDNEXT"] += 1
    projects["MESSAGES"] += 1
    srv.start()
    gannet_matches(srv, seen, "after a restart")

    # Gannet has since given UIDs Dovecot's lists do not know (INBOX's new
    # messages): if its index is lost now, the stale lists must not be used
    # again (an expunged UID could name another message), so every folder
    # the import took from them gets a new UIDVALIDITY, and all mail stays
    srv.stop()
    os.unlink(os.path.join(data, "users", USER, "gannet.db"))
    srv.start()
    c = imap(srv.port)
    for name, folder in seen.items():
        st = status(c, name)
        assert st["UIDVALIDITY"] != folder["UIDVALIDITY"], (name, st)
        select(c, name, readonly=True)
        got = fetch_all(c, name)
        assert sorted(body for _, _, body in got.values()) == \
            sorted(body for _, _, body in folder["msgs"].values()), name
    c.logout()
