"""Path confinement (issue 7): every path a client can influence stays inside
that user's tree.

Hostile mailbox names go through every command that takes one (CREATE, RENAME
on both sides, DELETE, SELECT, EXAMINE, STATUS, APPEND, COPY, MOVE, SUBSCRIBE,
UNSUBSCRIBE, LIST patterns), in modified UTF-7 and, after ENABLE UTF8=ACCEPT,
in UTF-8. The whole temporary directory (srv.dir, which holds the data
directory) is snapshotted before and after: nothing may appear outside
DATA/users/alice/, nothing inside it outside the Maildir except the server's
own index files, and inside the Maildir only Maildir++ folders (".Name" with
tmp/ new/ cur/ maildirfolder) and message files. Every answer is a tagged OK,
NO or BAD, never a BYE or a closed connection.

Symlinks planted inside the Maildir (by someone with shell access to it) never
make the server read or write outside the user's tree. The behaviour chosen:
  - a folder directory (".Name") that is a symlink is not a mailbox: CREATE of
    that name is refused (NO), and if the index knows the name (the directory
    was swapped for a link after CREATE) SELECT, EXAMINE, STATUS, APPEND, COPY
    into it answer NO; DELETE forgets the mailbox and removes the link only.
  - the same holds when a folder's tmp/, new/ or cur/ is a symlink.
  - a message file that is a symlink is not a message: it is never adopted
    from cur/ or new/, and a known message whose file was swapped for a link
    cannot be fetched, copied or moved (NO); the link's target is never read.
"""

import os
import re
import stat

import harness

USER_REL = os.path.join("data", "users", harness.USER)
MAILDIR_REL = os.path.join(USER_REL, "Maildir")
INDEX_FILES = {"gannet.db", "gannet.db-wal", "gannet.db-shm", "gannet.db-journal", "changes"}
FOLDER_PARTS = {"tmp", "new", "cur", "maildirfolder"}
MSG = b"From: a@example.org\r\nSubject: path test\r\n\r\nhello\r\n"

# Hostile names as the client sends them (modified UTF-7 unless utf8=True).
HOSTILE = [
    "../x", "../../etc", "a/../../b", "/abs", "//", ".hidden", "..", ".", "a/./b", "INBOX/../x",
    "../", "./", "a/..", "a/.", "x/../../../../../../tmp/pwn", "~/x", "~root", "a\\b", "*", "%",
    "%2E%2E", "%2E%2E/x", "a%2Fb", ".%2E", "a.b", "..a", "a..",
    "&AC8-",              # "/"
    "&AC8-abs",           # "/abs"
    "&AC4ALg-",           # ".."
    "&AC4ALg-/x",         # "../x"
    "&AC4ALgAv-x",        # "../x" in one run
    "a&AC8AL-b",          # "a//b"
    "&AC4-",              # "."
    "x/&AC4ALg-/&AC4ALg-/y",
    "&ACE-",              # "!" is printable ASCII: must not be base64-encoded (invalid mUTF-7)
    "&-",                 # "&"
    "&",                  # unterminated shift
    "&Jjo",               # unterminated base64
    "a" * 600,            # longer than the default 512-byte limit
    "/".join(["d"] * 40),  # deeper than the default 16 levels
]
# Sent as literals: a quoted string cannot hold these bytes.
HOSTILE_LITERAL = [b"a\x00b", b"\x00", b"../\x00x", b"a\r\nb", b"a\nb", b"\r", b"a\x7fb", b"a\tb"]
# After ENABLE UTF8=ACCEPT (RFC 6855): names are UTF-8 as they stand.
HOSTILE_UTF8 = [
    "../\u00fc", "\u00fc/../../x", "/\u00fc", "\u00fc/./x", "..", ".\u00fc",
    "\uff0f",             # FULLWIDTH SOLIDUS: a legitimate name, not a separator
    "\u2024\u2024",       # ONE DOT LEADER twice: legitimate, not ".."
    "a\u2028b",           # LINE SEPARATOR: refused by RFC 9051 5.1
    "a\u0085b",           # C1 control NEL
    "&AC4ALg-",           # in UTF-8 mode this is the literal name "&AC4ALg-", legitimate
]


# --------------------------------------------------------------------------
# tree snapshots

def snapshot(root):
    """Every path under root (not following links) -> its kind."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            kind = "link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "file"
            out[os.path.relpath(p, root)] = kind
    return out


def file_contents(root):
    out = {}
    for d, _, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            if not os.path.islink(p):
                with open(p, "rb") as f:
                    out[os.path.relpath(p, root)] = f.read()
    return out


def allowed_in_maildir(rel):
    """rel is relative to the Maildir: is it something the server may create?"""
    parts = rel.split(os.sep)
    if parts[0] in ("tmp", "new", "cur"):
        return len(parts) <= 2
    folder = parts[0]
    if not folder.startswith(".") or folder in (".", ".."):
        return False
    # A folder is "." + escaped components joined by "."; an escaped
    # component holds no "." (it is %2E) and is never empty.
    comps = folder[1:].split(".")
    if any(c == "" for c in comps):
        return False
    if len(parts) == 1:
        return True
    if parts[1] not in FOLDER_PARTS:
        return False
    return len(parts) == 2 or (len(parts) == 3 and parts[1] in ("tmp", "new", "cur"))


def check_confined(srv, before, after, allow_extra=()):
    new = sorted(set(after) - set(before))
    bad = []
    for rel in new:
        if rel.startswith("server-") and rel.endswith(".log"):
            continue
        if rel in allow_extra:
            continue
        if rel.startswith(MAILDIR_REL + os.sep):
            if not allowed_in_maildir(os.path.relpath(rel, MAILDIR_REL)):
                bad.append(rel)
            elif after[rel] == "link":
                bad.append(rel)
        elif os.path.dirname(rel) == USER_REL and os.path.basename(rel) in INDEX_FILES:
            continue
        else:
            bad.append(rel)
    assert not bad, "created outside the user's Maildir (or not as Maildir++): %r" % bad


# --------------------------------------------------------------------------
# a client that sends names as quoted strings or literals

def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def enc(name):
    """The bytes of an IMAP string for name: quoted, or a LITERAL+ literal."""
    if isinstance(name, bytes):
        return b"{%d+}\r\n" % len(name) + name
    return quote(name).encode("utf-8")


class Client:
    def __init__(self, srv, utf8=False):
        self.r = srv.raw().login()
        self.n = 0
        self.answers = []
        if utf8:
            _, t = self.r.cmd("E", "ENABLE UTF8=ACCEPT")
            assert t.startswith(b"E OK"), t

    def cmd(self, *parts):
        """Sends a command made of str/bytes parts; returns the tagged line,
        which must be OK, NO or BAD."""
        self.n += 1
        tag = "P%d" % self.n
        data = b" ".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)
        self.r.send(tag.encode() + b" " + data + b"\r\n")
        untagged, tagged = self.until(tag.encode() + b" ")
        status = tagged.split(b" ")[1] if b" " in tagged else b""
        assert status in (b"OK", b"NO", b"BAD"), (data[:200], tagged)
        assert not any(u.startswith(b"* BYE") for u in untagged), (data[:200], untagged)
        self.answers.append((data, tagged))
        return untagged, tagged

    def read(self, n):
        while len(self.r.buf) < n:
            chunk = self.r.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.r.buf += chunk
        out, self.r.buf = self.r.buf[:n], self.r.buf[n:]
        return out

    def until(self, tag):
        """Untagged lines (a literal is joined into its line) and the tagged one."""
        lines = []
        while True:
            ln = self.read_line()
            if ln.startswith(tag):
                return lines, ln
            lines.append(ln)

    def read_line(self):
        while b"\r\n" not in self.r.buf:
            chunk = self.r.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; have %r" % self.r.buf[:200])
            self.r.buf += chunk
        ln, self.r.buf = self.r.buf.split(b"\r\n", 1)
        m = re.search(rb"\{(\d+)\}$", ln)
        if m:
            ln += b"\r\n" + self.read(int(m.group(1))) + self.read_line()
        return ln

    def ok(self, *parts):
        untagged, tagged = self.cmd(*parts)
        assert b" OK" in tagged[:12], (parts, tagged)
        return untagged

    def append_msg(self, mailbox=b"INBOX"):
        return self.cmd(b"APPEND", mailbox, b"{%d+}\r\n" % len(MSG) + MSG)


def list_names(c):
    untagged = c.ok('LIST "" "*"')
    names = []
    for ln in untagged:
        m = re.match(rb'\* LIST \([^)]*\) (?:"."|NIL) (.*)$', ln)
        if m:
            names.append(m.group(1))
    return names


def exercise(c, name):
    """Every command that takes a mailbox name, with name in each place."""
    n = enc(name)
    created = b" OK" in c.cmd(b"CREATE", n)[1][:12]
    c.cmd(b"SUBSCRIBE", n)
    c.cmd(b"STATUS", n, b"(MESSAGES UIDNEXT)")
    c.append_msg(n)
    c.cmd(b"LIST", b'""', n)
    c.cmd(b"LIST", n, b'"*"')
    c.cmd(b"LIST", b'""', n, b"RETURN (STATUS (MESSAGES))")
    c.cmd(b"LSUB", b'""', n)
    c.cmd(b"EXAMINE", n)
    c.cmd(b"SELECT", n)
    c.ok("SELECT INBOX")
    c.append_msg()
    c.cmd(b"COPY", b"1", n)
    c.cmd(b"UID COPY", b"1:*", n)
    c.cmd(b"MOVE", b"1", n)
    c.ok("UNSELECT")
    # RENAME: the hostile name as target, then as source
    if b" OK" in c.cmd(b"RENAME", b"Sent", n)[1][:12]:
        c.ok(b"RENAME", n, b"Sent")
    c.cmd(b"RENAME", n, b"Renamed-away")
    c.cmd(b"RENAME", n, n)
    c.cmd(b"DELETE", b"Renamed-away")
    c.cmd(b"UNSUBSCRIBE", n)
    c.cmd(b"DELETE", n)
    if created:
        c.cmd(b"DELETE", n)  # gone already: NO, not a crash


def test_hostile_names_stay_inside_the_maildir(srv):
    before = snapshot(srv.dir)
    c = Client(srv)
    for name in HOSTILE + HOSTILE_LITERAL:
        exercise(c, name)
    u = Client(srv, utf8=True)
    for name in HOSTILE_UTF8:
        exercise(u, name)
    # Names that can never be valid are refused, not mapped to something else.
    for data, tagged in c.answers:
        for bad in (b'CREATE "../x"', b'CREATE "/abs"', b'CREATE ".."', b'CREATE "&AC4ALg-"',
                    b'CREATE "&AC8-"', b'CREATE "a/./b"', b"CREATE {3+}\r\na\x00b"):
            if data == bad:
                assert b" OK" not in tagged[:12], (data, tagged)
    after = snapshot(srv.dir)
    check_confined(srv, before, after)
    c.ok("NOOP")
    u.ok("NOOP")
    assert srv.alive()


def test_legitimate_odd_names_land_inside_the_maildir(srv):
    """Names that look like paths but are valid mailbox names are created,
    each as one Maildir++ folder directly in the Maildir."""
    c = Client(srv)
    u = Client(srv, utf8=True)
    names = [(c, ".hidden"), (c, "..a"), (c, "a.."), (c, "%2E%2E"), (c, "~root"), (c, "a.b"),
             (u, "\u2024\u2024"), (u, "\uff0f")]
    before = set(os.listdir(srv.maildir()))
    for cl, name in names:
        cl.ok(b"CREATE", enc(name))
        cl.ok(b"SELECT", enc(name))
        cl.append_msg(enc(name))
        cl.ok("UNSELECT")
    added = set(os.listdir(srv.maildir())) - before
    assert len(added) == len(names), sorted(added)
    for d in added:
        assert allowed_in_maildir(d), d
        assert os.path.isdir(os.path.join(srv.maildir(), d, "cur")), d
        assert not os.path.islink(os.path.join(srv.maildir(), d)), d


# --------------------------------------------------------------------------
# symlinks planted in the Maildir

def outside_dir(srv, name, maildir=True):
    """A directory outside the user's tree that nobody (the server's user)
    could write: if the server followed a link into it, the write would
    succeed, so a refusal is the server's doing, not the permissions'."""
    d = os.path.join(srv.dir, name)
    os.mkdir(d)
    if maildir:
        for sub in ("tmp", "new", "cur"):
            os.mkdir(os.path.join(d, sub))
        with open(os.path.join(d, "cur", "1700000000.M1P1.outside:2,S"), "wb") as f:
            f.write(b"Subject: outside\r\n\r\nOUTSIDE-DATA\r\n")
    for root, dirs, files in os.walk(d):
        for n in [root] + [os.path.join(root, x) for x in dirs + files]:
            if os.geteuid() == 0:
                os.chown(n, harness.MAIL_UID, harness.MAIL_GID)
    return d


def chown_mail(path):
    if os.geteuid() == 0:
        os.lchown(path, harness.MAIL_UID, harness.MAIL_GID)


def assert_untouched(srv, out, before_snap, before_files):
    assert snapshot(out) == before_snap, (before_snap, snapshot(out))
    assert file_contents(out) == before_files


def test_symlinked_folder_is_not_a_mailbox(srv):
    """Maildir/.evil -> a directory outside: CREATE evil (and evil/sub), APPEND,
    RENAME onto it, DELETE never write there."""
    c = Client(srv)
    out = outside_dir(srv, "outside-evil")
    link = os.path.join(srv.maildir(), ".evil")
    os.symlink(out, link)
    chown_mail(link)
    snap, files = snapshot(out), file_contents(out)
    _, t = c.cmd("CREATE evil")
    assert t.startswith(b"P1 NO"), t
    c.cmd("CREATE evil/sub")
    _, t = c.append_msg(b"evil")
    assert b" NO" in t[:12], t
    c.cmd("SELECT evil")
    c.cmd("STATUS evil (MESSAGES)")
    c.cmd("RENAME Sent evil")
    c.cmd("RENAME evil Elsewhere")
    c.cmd("DELETE evil")
    c.cmd("SUBSCRIBE evil")
    assert b'"evil"' not in b" ".join(list_names(c)) and b"evil" not in list_names(c)
    assert_untouched(srv, out, snap, files)
    assert os.path.islink(link) or not os.path.exists(link)
    c.ok("NOOP")


def swap_for_link(path, target):
    """Replaces a directory the server made with a symlink to target."""
    for root, dirs, files in os.walk(path, topdown=False):
        for n in files:
            os.unlink(os.path.join(root, n))
        for n in dirs:
            os.rmdir(os.path.join(root, n))
    os.rmdir(path)
    os.symlink(target, path)
    chown_mail(path)


def test_known_folder_swapped_for_a_symlink(srv):
    """CREATE Victim, then its directory becomes a link to a directory
    outside: the mailbox is refused until deleted; DELETE removes the link,
    not what it points at."""
    c = Client(srv)
    c.ok("CREATE Victim")
    out = outside_dir(srv, "outside-victim")
    swap_for_link(os.path.join(srv.maildir(), ".Victim"), out)
    snap, files = snapshot(out), file_contents(out)
    for cmd in ("SELECT Victim", "EXAMINE Victim", "STATUS Victim (MESSAGES)"):
        _, t = c.cmd(cmd)
        assert b" NO" in t[:12], (cmd, t)
    _, t = c.append_msg(b"Victim")
    assert b" NO" in t[:12], t
    c.ok("SELECT INBOX")
    c.append_msg()
    _, t = c.cmd("COPY 1 Victim")
    assert b" NO" in t[:12], t
    _, t = c.cmd("MOVE 1 Victim")
    assert b" NO" in t[:12], t
    c.ok("UNSELECT")
    c.cmd("CREATE Victim/child")
    c.cmd("RENAME Victim Victim2")
    c.cmd("DELETE Victim2")
    c.cmd("DELETE Victim")
    assert_untouched(srv, out, snap, files)
    c.ok("SELECT INBOX")
    untagged = c.ok("FETCH 1:* BODY.PEEK[]")
    assert b"OUTSIDE-DATA" not in b"\n".join(untagged)


def test_symlinked_cur_new_tmp(srv):
    """A folder whose cur/ (or new/, tmp/) is a link outside: nothing is
    written through it, and the mailbox answers NO."""
    c = Client(srv)
    for sub in ("cur", "new", "tmp"):
        name = "Sub" + sub
        c.ok("CREATE " + name)
        out = outside_dir(srv, "outside-" + sub, maildir=False)
        with open(os.path.join(out, "1700000000.M2P2.outside:2,"), "wb") as f:
            f.write(b"Subject: outside\r\n\r\nOUTSIDE-DATA\r\n")
        chown_mail(os.path.join(out, "1700000000.M2P2.outside:2,"))
        swap_for_link(os.path.join(srv.maildir(), "." + name, sub), out)
        snap, files = snapshot(out), file_contents(out)
        _, t = c.append_msg(name.encode())
        assert b" NO" in t[:12], (sub, t)
        _, t = c.cmd("SELECT " + name)
        assert b" NO" in t[:12], (sub, t)
        c.ok("SELECT INBOX")
        c.append_msg()
        _, t = c.cmd("COPY 1 " + name)
        assert b" NO" in t[:12], (sub, t)
        c.ok("UNSELECT")
        c.cmd("DELETE " + name)
        assert_untouched(srv, out, snap, files)


def test_symlinked_inbox_tmp_takes_no_upload(srv):
    """INBOX's tmp/ (where APPEND streams a message before it is placed) is a
    link outside: the APPEND is refused and nothing is written there."""
    c = Client(srv)
    out = outside_dir(srv, "outside-tmp", maildir=False)
    swap_for_link(os.path.join(srv.maildir(), "tmp"), out)
    snap = snapshot(out)
    _, t = c.append_msg(b"Sent")
    assert b" NO" in t[:12], t
    assert snapshot(out) == snap


def test_symlinked_message_file_is_never_read(srv):
    """A link in cur/ or new/ posing as a message, and a known message whose
    file was swapped for a link, never bring the target's bytes to the
    client, and the target is left as it was."""
    secret_dir = outside_dir(srv, "outside-secret", maildir=False)
    secret = os.path.join(secret_dir, "secret.txt")
    with open(secret, "wb") as f:
        f.write(b"Subject: secret\r\n\r\nTOP-SECRET\r\n")
    chown_mail(secret)
    c = Client(srv)
    c.ok("SELECT INBOX")
    c.append_msg()
    c.append_msg()
    # a known message's file becomes a link
    cur = os.path.join(srv.maildir(), "cur")
    known = sorted(os.listdir(cur))[0]
    os.unlink(os.path.join(cur, known))
    os.symlink(secret, os.path.join(cur, known))
    # and links dropped in as if an MTA delivered them
    for sub, fname in (("cur", "1700000001.M3P3.evil:2,"), ("new", "1700000002.M4P4.evil")):
        p = os.path.join(srv.maildir(), sub, fname)
        os.symlink(secret, p)
        chown_mail(p)
    snap, files = snapshot(secret_dir), file_contents(secret_dir)
    c.ok("UNSELECT")
    c.ok("SELECT INBOX")
    seen = []
    for cmd in ("FETCH 1:* BODY.PEEK[]", "FETCH 1:* BODY.PEEK[TEXT]", "FETCH 1:* RFC822.SIZE",
                "FETCH 1:* BINARY.PEEK[1]", "SEARCH BODY TOP-SECRET", "COPY 1:* Sent", "MOVE 1:* Trash"):
        untagged, _ = c.cmd(cmd)
        seen += untagged
    c.ok("SELECT Sent")
    untagged, _ = c.cmd("FETCH 1:* BODY.PEEK[]")
    seen += untagged
    joined = b"\n".join(seen)
    assert b"TOP-SECRET" not in joined, joined[:2000]
    for s in seen:
        assert not re.match(rb"\* SEARCH \d", s), s
    assert_untouched(srv, secret_dir, snap, files)
    c.ok("NOOP")
