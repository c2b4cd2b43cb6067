"""Privileges (src/server/privs.h): mail is never touched as root. Started
as root, gannet binds its ports and reads the key as root, and its workers
and subcommands become the mail user (--user, or the data directory's
owner); with no such user that is not root, it refuses to start."""

import os
import pwd
import shutil
import subprocess
import tempfile

import harness

NOBODY = pwd.getpwuid(harness.MAIL_UID).pw_name


def status_ids(pid):
    """(real uid, effective uid, saved uid) of a process."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return tuple(int(x) for x in line.split()[1:4])
    raise AssertionError("no Uid line")


def workers(srv):
    out = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def serve(data, *args):
    port = harness.free_port()
    return subprocess.run([harness.BIN, "serve", "--data", data, "--listen", "127.0.0.1:%d" % port,
                           "--foreground", "--workers", "1", *args], capture_output=True, timeout=30)


def test_workers_run_as_the_mail_user_and_master_keeps_root(srv):
    """Run as root, the master stays root (to read the key again on SIGHUP)
    and each worker has no way back to root; run as anyone else, nothing
    changes."""
    c = srv.imap()
    c.select("INBOX")
    c.append("INBOX", None, None, b"Subject: owned\r\n\r\nx\r\n")
    ws = workers(srv)
    assert ws, "no worker processes"
    me = os.geteuid()
    for pid in ws:
        want = harness.MAIL_UID if me == 0 else me
        assert status_ids(pid) == (want, want, want), (pid, status_ids(pid))
    assert status_ids(srv.proc.pid)[1] == me
    c.logout()
    if me == 0:  # everything the server made belongs to the mail user
        for dirpath, dirnames, filenames in os.walk(os.path.join(srv.data, "users")):
            for name in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
                assert os.lstat(name).st_uid == harness.MAIL_UID, name


def test_root_refuses_root_owned_data_and_a_mismatched_user():
    if os.geteuid() != 0:
        d = tempfile.mkdtemp(prefix="gannet-privs-")
        try:  # not root: --user naming someone else cannot be honoured
            p = serve(d, "--user", "root")
            assert p.returncode != 0 and b"only root can become another user" in p.stderr, p.stderr
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return
    d = tempfile.mkdtemp(prefix="gannet-privs-")
    try:
        data = os.path.join(d, "data")
        os.mkdir(data)  # belongs to root
        p = serve(data)
        assert p.returncode != 0 and b"refusing to touch mail as root" in p.stderr, p.stderr
        p = serve(data, "--user", "root")
        assert p.returncode != 0 and b"refusing to touch mail as root" in p.stderr, p.stderr
        p = serve(data, "--user", NOBODY)
        assert p.returncode != 0 and b"belongs to another user" in p.stderr, p.stderr
        p = serve(data, "--user", "no-such-user-here")
        assert p.returncode != 0 and b"no such user" in p.stderr, p.stderr
        for args in (["user", "add", "bob", "--password-stdin"], ["deliver", "bob"],
                     ["imap", "--preauth", "bob"]):
            p = subprocess.run([harness.BIN, *args, "--data", data], input=b"pw\n",
                               capture_output=True, timeout=30)
            assert p.returncode != 0 and b"refusing to touch mail as root" in p.stderr, (args, p.stderr)
        assert os.listdir(data) == [], "something was made as root: %r" % os.listdir(data)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_subcommands_become_the_data_owner(srv):
    """`gannet deliver` and `gannet user` run by root (an MTA's root-run
    delivery, an admin's shell) write files as the data directory's owner."""
    p = harness.gannet("deliver", harness.USER, "--data", srv.data,
                       stdin=b"Subject: delivered by root\r\n\r\nbody\r\n")
    assert p.returncode == 0, p.stderr
    harness.gannet("user", "add", "carol", "--data", srv.data, "--password-stdin", stdin=b"pw\n")
    want = harness.MAIL_UID if os.geteuid() == 0 else os.geteuid()
    new = os.path.join(srv.maildir(), "new")
    cur = os.path.join(srv.maildir(), "cur")
    files = [os.path.join(new, f) for f in os.listdir(new)] + [os.path.join(cur, f) for f in os.listdir(cur)]
    assert files, "the delivered message is nowhere"
    for name in files + [os.path.join(srv.data, "passwd"), os.path.join(srv.data, "users", "carol")]:
        assert os.stat(name).st_uid == want, name
    c = srv.imap(user="carol", password="pw")
    c.logout()


def test_explicit_user_option():
    """--user NAME: the workers become NAME, which must own the data."""
    name = NOBODY if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    srv = harness.Server(args=["--user", name])
    try:
        c = srv.imap()
        c.logout()
        for pid in workers(srv):
            assert status_ids(pid)[0] == pwd.getpwnam(name).pw_uid
        assert os.geteuid() != 0 or "as %s" % name in srv.log()
    finally:
        srv.cleanup()
