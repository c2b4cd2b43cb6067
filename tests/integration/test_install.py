"""Installing Gannet as a service (README "Installing"): `make install` and
`make uninstall` with DESTDIR and PREFIX; the systemd unit
(dist/gannet.service.in) as systemd-analyze sees it, and run for real by
systemd as PID 1 of a private PID namespace (as root), sandbox and all; the
master under the unit's capability bounding set and NoNewPrivileges alone;
and the man pages: they render without warnings, and gannet.conf(5)
documents every setting gannet has (so the docs cannot drift from the code
unnoticed)."""

import imaplib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import harness

DOC = os.path.join(harness.ROOT, "doc")
UNIT_IN = os.path.join(harness.ROOT, "dist", "gannet.service.in")

# What `make install PREFIX=/usr` installs, and its mode.
FILES = {
    "usr/sbin/gannet": 0o755,
    "usr/share/man/man8/gannet.8": 0o644,
    "usr/share/man/man5/gannet.conf.5": 0o644,
    "usr/share/doc/gannet/gannet.conf.example": 0o644,
    "usr/lib/systemd/system/gannet.service": 0o644,
}

def make(*args):
    p = subprocess.run(["make", "--no-print-directory", "-C", harness.ROOT, *args],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, "make %s:\n%s%s" % (" ".join(args), p.stdout, p.stderr)
    return p.stdout


def unit_settings(text):
    """The unit's [Service] lines as name -> list of values."""
    out = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        name, _, value = line.partition("=")
        out.setdefault((section, name), []).append(value)
    return out


def help_settings():
    """(name, default) of every numeric setting, from the binary itself."""
    out = harness.gannet("help", "settings").stdout.decode()
    rows = [re.match(r"\s+--([a-z0-9-]+)\s+(\S+)\s", line) for line in out.splitlines()]
    assert rows and all(rows), out
    # the word settings listed after them (plaintext-auth, log-level) have
    # word defaults; word_options() covers those
    return [(m.group(1), int(m.group(2))) for m in rows if m.group(2).isdigit()]


def word_options():
    """The names in src/main.c's word_opts table (the options that are not
    numbers: data, listen, cert, ...)."""
    with open(os.path.join(harness.ROOT, "src", "main.c")) as f:
        src = f.read()
    table = re.search(r"word_opts\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert table, "no word_opts table in src/main.c"
    names = re.findall(r'\{"([a-z0-9-]+)",', table.group(1))
    assert "data" in names and "listen" in names, names
    return names


def conf_page_entries():
    """gannet.conf(5)'s settings: name -> the text of its entry. Each is a
    .TP whose tag starts with the name ('.BI "max\\-line = " BYTES')."""
    with open(os.path.join(DOC, "gannet.conf.5")) as f:
        text = f.read()
    section = text[text.index("\n.SH SETTINGS"):text.index("\n.SH EXAMPLE")]
    entries = {}
    for chunk in section.split("\n.TP\n")[1:]:
        tag, _, body = chunk.partition("\n")
        m = re.match(r'\.B[IR]?\s+"?([a-z0-9\\-]+)', tag)
        assert m, "a .TP entry without a setting name: %r" % tag
        name = m.group(1).replace("\\-", "-")
        body = re.split(r"\n\.S[HS] ", body)[0]
        assert name not in entries, "%s documented twice" % name
        entries[name] = body.replace("\\-", "-")
    return entries


def test_make_install_puts_every_file_in_place_and_uninstall_removes_them():
    d = tempfile.mkdtemp(prefix="gannet-install-")
    try:
        make("install", "DESTDIR=" + d, "PREFIX=/usr")
        for rel, mode in FILES.items():
            st = os.lstat(os.path.join(d, rel))
            assert stat.S_ISREG(st.st_mode), rel
            assert stat.S_IMODE(st.st_mode) == mode, "%s: %o" % (rel, stat.S_IMODE(st.st_mode))
        for dirpath, dirnames, filenames in os.walk(d):
            for name in dirnames:
                m = stat.S_IMODE(os.lstat(os.path.join(dirpath, name)).st_mode)
                assert m & 0o022 == 0 and m & 0o555 == 0o555, (dirpath, name, oct(m))
            for name in filenames:
                rel = os.path.relpath(os.path.join(dirpath, name), d)
                assert rel in FILES, "installed but not expected: " + rel
        # nothing installed points back into the source tree or build/
        for rel in FILES:
            with open(os.path.join(d, rel), "rb") as f:
                data = f.read()
            for bad in (b"build/", b"@SBINDIR@") + ((harness.ROOT.encode(),) if rel.endswith((".service", ".5", ".8")) else ()):
                assert bad not in data, "%s contains %r" % (rel, bad)

        # the installed binary runs
        p = subprocess.run([os.path.join(d, "usr/sbin/gannet"), "help", "settings"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and "--max-connections" in p.stdout, p

        # the unit starts the installed binary, in the foreground, with the
        # configuration in /etc, reloads with SIGHUP and waits for the drain
        unit_path = os.path.join(d, "usr/lib/systemd/system/gannet.service")
        with open(unit_path) as f:
            unit = unit_settings(f.read())
        svc = lambda name: unit.get(("[Service]", name), [])  # noqa: E731
        (start,) = svc("ExecStart")
        argv = shlex.split(start)
        assert argv[0] == "/usr/sbin/gannet", argv
        assert argv[1] == "serve" and "--foreground" in argv, argv
        assert argv[argv.index("--config") + 1] == "/etc/gannet/gannet.conf", argv
        (pre,) = svc("ExecStartPre")
        assert shlex.split(pre) == ["/usr/sbin/gannet", "config", "check", "--config", "/etc/gannet/gannet.conf"], pre
        (reload_,) = svc("ExecReload")
        assert shlex.split(reload_)[1:] == ["-HUP", "$MAINPID"], reload_
        (stop,) = svc("TimeoutStopSec")
        assert int(stop.rstrip("s")) > 10, "the drain takes up to 10 s: " + stop
        assert svc("KillMode") == ["mixed"], svc("KillMode")
        assert svc("User") == [], "the master must start as root (ports, key, setuid)"
        (nofile,) = svc("LimitNOFILE")
        assert int(nofile) >= 20000 * 2, "20,000 connections and their index files: " + nofile
        assert "/var/lib/gannet" in " ".join(svc("ReadWritePaths")), svc("ReadWritePaths")
        assert svc("ProtectSystem") == ["strict"] and svc("NoNewPrivileges") == ["yes"]

        # PREFIX defaults to /usr/local
        dry = make("-n", "install", "DESTDIR=/nonexistent")
        assert "/nonexistent/usr/local/sbin/gannet" in dry and "s|@SBINDIR@|/usr/local/sbin|" in dry, dry

        make("uninstall", "DESTDIR=" + d, "PREFIX=/usr")
        left = [os.path.relpath(os.path.join(p, f), d) for p, _, fs in os.walk(d) for f in fs]
        assert left == [], "left after make uninstall: %s" % left
        assert not os.path.exists(os.path.join(d, "usr/share/doc/gannet"))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_the_unit_passes_systemd_analyze_verify():
    """systemd-analyze verify with the installed binary and man pages: every
    key is known, every value parses, ExecStart and ExecReload are
    executables, and Documentation's man pages exist. It exits 0 on an
    unknown key, so its messages are checked as well."""
    assert shutil.which("systemd-analyze"), "systemd-analyze missing (scripts/deps.sh installs systemd)"
    d = tempfile.mkdtemp(prefix="gannet-unit-")
    try:
        make("install", "DESTDIR=" + d, "PREFIX=/usr")
        # systemd-analyze looks for ExecStart's program on this machine: point
        # it at the copy just installed under DESTDIR
        with open(os.path.join(d, "usr/lib/systemd/system/gannet.service")) as f:
            text = f.read()
        assert text.count("/usr/sbin/gannet") == 2, text  # ExecStartPre, ExecStart
        os.mkdir(os.path.join(d, "verify"))
        unit = os.path.join(d, "verify", "gannet.service")
        with open(unit, "w") as f:
            f.write(text.replace("/usr/sbin/gannet", os.path.join(d, "usr/sbin/gannet")))
        env = dict(os.environ, MANPATH=os.path.join(d, "usr/share/man"), SYSTEMD_LOG_LEVEL="notice")
        p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                           timeout=60, env=env)
        assert p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "", p
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_every_setting_and_subcommand_is_documented():
    entries = conf_page_entries()
    names = {n for n, _ in help_settings()}
    for name, default in help_settings():
        assert name in entries, "gannet.conf(5) lacks %s (gannet help settings has it)" % name
        if name != "workers":  # its default is this machine's number of cores
            assert "Default: %d." % default in entries[name] or "Default: %d (" % default in entries[name], (
                "gannet.conf(5): %s's default is %d" % (name, default))
    words = [w for w in word_options() if w not in ("config", "preauth")]  # command line only
    for w in words:
        assert w in entries, "gannet.conf(5) lacks %s (an option in src/main.c)" % w
    for name in entries:
        assert name in names or name in words, (
            "gannet.conf(5) documents %s, which gannet does not have" % name)

    with open(os.path.join(DOC, "gannet.8")) as f:
        page = f.read().replace("\\-", "-")
    for w in word_options():
        assert "--" + w in page, "gannet(8) lacks --%s" % w
    # every form in the usage message is in the synopsis
    usage = subprocess.run([harness.BIN], capture_output=True, text=True, timeout=30).stderr
    forms = re.findall(r"gannet ((?:[a-z]+)(?: [a-z|]+)?)", usage)
    assert len(forms) >= 6, usage
    synopsis = page[page.index(".SH SYNOPSIS"):page.index(".SH DESCRIPTION")]
    for form in forms:
        cmd, _, subs = form.partition(" ")
        for sub in (subs.split("|") if subs and cmd in ("user", "config", "help") else [""]):
            want = (cmd + " " + sub).strip()
            assert re.search(r"\.B gannet %s\b" % re.escape(want), synopsis), "gannet(8) SYNOPSIS lacks " + want
    for sub in ("index check", "index rebuild", "help settings"):
        assert ".B gannet " + sub in synopsis, sub
    signals = page[page.index(".SH SIGNALS"):page.index(".SH FILES")]
    for sig in ("SIGHUP", "SIGTERM"):
        assert re.search(r"^\.BR? %s\b" % sig, signals, re.M), "gannet(8) SIGNALS lacks " + sig
    flat = " ".join(page.split())
    for code in ("64", "65", "67", "75"):  # deliver's exit status, per sysexits.h
        assert code + " (EX_" in flat, code


def test_man_pages_render_without_warnings():
    for page in ("gannet.8", "gannet.conf.5"):
        path = os.path.join(DOC, page)
        p = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stderr == "", (page, p.stderr)
        p = subprocess.run(["mandoc", "-Tlint", "-Wall", path], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stdout == "" and p.stderr == "", (page, p.stdout, p.stderr)
        # and as text, the way man(1) shows it
        p = subprocess.run(["mandoc", "-Tutf8", path], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and "SEE ALSO" in re.sub(".\b", "", p.stdout), page


def _status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def _wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + (what() if callable(what) else what))


def test_master_works_under_the_units_capabilities_and_no_new_privileges():
    """What systemd gives the service without a systemd to run it: as root,
    the unit's CapabilityBoundingSet (so root has only those), NoNewPrivileges
    and UMask. The workers become the mail user and write mail, SIGHUP rolls
    the workers (the master signals processes of another user: CAP_KILL), and
    SIGTERM drains and stops within the unit's TimeoutStopSec."""
    if os.geteuid() != 0:
        return  # the capability set is root's; nothing to check as anyone else
    with open(UNIT_IN) as f:
        unit = unit_settings(f.read())
    (caps,) = unit[("[Service]", "CapabilityBoundingSet")]
    (umask,) = unit[("[Service]", "UMask")]
    bset = ",".join("+" + c.lower().removeprefix("cap_") for c in caps.split())
    d = tempfile.mkdtemp(prefix="gannet-caps-")
    proc = None
    try:
        data = harness.mail_data_dir(d)
        harness.gannet("user", "add", harness.USER, "--data", data, "--password-stdin",
                       stdin=(harness.PASSWORD + "\n").encode())
        made_by_user_add = set(_tree(data))  # in a shell's umask, not the unit's
        port = harness.free_port()
        log = open(os.path.join(d, "log"), "wb")
        proc = subprocess.Popen(
            ["setpriv", "--bounding-set", "-all," + bset, "--inh-caps", "-all", "--no-new-privs",
             harness.BIN, "serve", "--data", data, "--listen", "127.0.0.1:%d" % port, "--foreground",
             "--workers", "1", "--user", pwd.getpwuid(harness.MAIL_UID).pw_name],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.umask(int(umask, 8)))
        log.close()

        def up():
            assert proc.poll() is None, "gannet exited:\n" + _log(d)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        _wait_for(up, 15, "the listener")
        master = _status(proc.pid)
        assert master["NoNewPrivs"] == "1" and master["Uid"].split()[1] == "0", master
        assert int(master["CapEff"], 16) == int(master["CapBnd"], 16), master

        srv = harness.Server.__new__(harness.Server)  # only for its client helpers
        srv.port = port
        c = srv.imap()
        c.append("INBOX", None, None, b"Subject: sandboxed\r\n\r\nbody\r\n")
        typ, data_ = c.select("INBOX")
        assert typ == "OK" and data_[0] == b"1", data_
        c.logout()
        (worker,) = _wait_for(lambda: _children(proc.pid), 5, "a worker")
        ws = _status(worker)
        assert ws["Uid"].split() == [str(harness.MAIL_UID)] * 4, ws["Uid"]
        assert int(ws["CapEff"], 16) == 0 and int(ws["CapPrm"], 16) == 0, ws
        made = set(_tree(data)) - made_by_user_add
        assert any("/cur/" in f or "/new/" in f for f in made), made  # the message
        for name in made:
            st = os.lstat(name)
            assert st.st_uid == harness.MAIL_UID and st.st_mode & 0o077 == 0, (name, oct(st.st_mode))

        # SIGHUP: a new worker, and the old one (another user's process) told to go
        proc.send_signal(signal.SIGHUP)
        _wait_for(lambda: (lambda k: k and worker not in k)(_children(proc.pid)), 8,
                  lambda: "the old worker to be replaced after SIGHUP:\n" + _log(d))
        c = srv.imap()
        c.select("INBOX")

        # SIGTERM: drained and stopped well within TimeoutStopSec
        (timeout,) = unit[("[Service]", "TimeoutStopSec")]
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=int(timeout.rstrip("s")))
        assert rc == 0, (rc, _log(d))
        assert time.time() - t0 < 12, time.time() - t0
        try:
            c.logout()
        except Exception:  # noqa: BLE001 - the server said BYE already
            pass
        assert "stopped" in _log(d), _log(d)
        assert not any(m in _log(d) for m in harness.SANITIZER_MARKS), _log(d)
    finally:
        if proc is not None and proc.poll() is None:
            for pid in _children(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


# Run inside new mount, PID and cgroup namespaces, as their PID 1 to be: the
# installed unit goes into /run/systemd/system (with a drop-in that only
# points ExecStart at the DESTDIR copy and the test's configuration and adds a
# log file), the test's data directory is bound to /var/lib/gannet, and
# systemd starts with a target that wants gannet.service alone.
SYSTEMD_INNER = r"""
set -e
T="$1"
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/systemd/system/gannet.service.d /run/gannet-test
mount --bind "$T/run" /run/gannet-test
mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /var/lib
mkdir /var/lib/gannet
mount --bind "$T/data" /var/lib/gannet
mount --bind "$T/run/console" /dev/console
cp "$T/inst/usr/lib/systemd/system/gannet.service" /run/systemd/system/
cp "$T/run/test.conf" /run/systemd/system/gannet.service.d/
printf '[Unit]\nWants=gannet.service\n' > /run/systemd/system/gannet-test.target
export container=gannet-test
exec /lib/systemd/systemd --unit=gannet-test.target --log-target=console --log-level=notice --show-status=no
"""


def _cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    return None


def _free_low_port(exclude=()):
    for port in range(990, 600, -1):
        if port in exclude:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port below 1024")


def test_the_installed_unit_runs_sandboxed_under_systemd():
    """The real thing, without systemd on this machine: systemd 252 as PID 1
    of a new PID namespace runs the installed unit with its whole sandbox
    (capabilities, ProtectSystem=strict, PrivateTmp/Devices, the system call
    filter, MemoryDenyWriteExecute, RestrictAddressFamilies, UMask, ...).
    Ports below 1024, TLS, APPEND, SEARCH in a charset that glibc loads a
    module for, IDLE woken through inotify, the shared failed-login table,
    `systemctl reload` and `systemctl stop` all have to work in it."""
    if os.geteuid() != 0:
        return  # namespaces and systemd as PID 1 need root
    cg2 = _cgroup2_mount()
    assert cg2, "no cgroup2 file system mounted"
    d = tempfile.mkdtemp(prefix="gannet-systemd-")
    os.chmod(d, 0o755)
    cgroup = os.path.join(cg2, "gannet-test-%d" % os.getpid())
    proc = None
    try:
        make("install", "DESTDIR=" + os.path.join(d, "inst"), "PREFIX=/usr")
        data = harness.mail_data_dir(d)
        os.chmod(data, 0o750)
        harness.gannet("user", "add", harness.USER, "--data", data, "--password-stdin",
                       stdin=(harness.PASSWORD + "\n").encode())
        run = os.path.join(d, "run")
        os.mkdir(run)
        cert, key = harness.make_cert(run)
        os.chmod(key, 0o600)
        open(os.path.join(run, "console"), "w").close()
        port = _free_low_port()
        tls_port = _free_low_port(exclude=(port,))
        with open(os.path.join(run, "gannet.conf"), "w") as f:
            f.write("data = /var/lib/gannet\nuser = %s\nlisten = 127.0.0.1:%d\ntls-listen = 127.0.0.1:%d\n"
                    "cert = /run/gannet-test/cert.pem\nkey = /run/gannet-test/cert.key\nworkers = 2\n"
                    "auth-fail-delay = 100\n" % (pwd.getpwuid(harness.MAIL_UID).pw_name, port, tls_port))
        with open(os.path.join(run, "test.conf"), "w") as f:
            f.write("[Unit]\nDefaultDependencies=no\n[Service]\n"
                    "ExecStartPre=\nExecStartPre=/run/gannet-test/gannet config check --config /run/gannet-test/gannet.conf\n"
                    "ExecStart=\nExecStart=/run/gannet-test/gannet serve --foreground --config /run/gannet-test/gannet.conf\n"
                    "StandardOutput=append:/run/gannet-test/gannet.log\n")
        shutil.copy(os.path.join(d, "inst/usr/sbin/gannet"), os.path.join(run, "gannet"))

        os.mkdir(cgroup)  # systemd's tree goes below it, and goes with it

        def into_cgroup():
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount", "--propagation", "private",
                                 "--mount-proc", "--cgroup", "sh", "-c", SYSTEMD_INNER, "sh", d],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(d, "unshare.log"), "wb"), preexec_fn=into_cgroup)

        def logs():
            out = []
            for name in ("unshare.log", "run/console", "run/gannet.log"):
                try:
                    with open(os.path.join(d, name), "rb") as f:
                        out.append("--- %s\n%s" % (name, f.read().decode("utf-8", "replace")[-2000:]))
                except OSError:
                    pass
            return "\n".join(out)

        def up():
            assert proc.poll() is None, "systemd exited:\n" + logs()
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                return True
            except OSError:
                return False
        _wait_for(up, 20, lambda: "gannet.service to listen:\n" + logs())
        (pid1,) = _children(proc.pid)

        def systemctl(*args):
            return subprocess.run(["nsenter", "-t", str(pid1), "-m", "-p", "systemctl", *args],
                                  capture_output=True, text=True, timeout=30)

        def show(*props):
            out = systemctl("show", "gannet.service", *("-p" + p for p in props)).stdout
            return dict(line.split("=", 1) for line in out.splitlines())

        main = int(show("MainPID")["MainPID"])
        (master,) = [p for p in _children(pid1) if _status(p)["NSpid"].split()[-1] == str(main)]
        ms = _status(master)
        assert ms["Seccomp"] == "2" and ms["NoNewPrivs"] == "1" and ms["Uid"].split()[1] == "0", ms
        with open("/proc/%d/mountinfo" % master) as f:
            mounts = {ln.split()[4]: ln.split()[5] for ln in f}
        assert mounts["/"].startswith("ro") and mounts["/var/lib/gannet"].startswith("rw"), mounts
        assert mounts["/tmp"].startswith("rw") and "/dev" in mounts, mounts

        srv = harness.Server.__new__(harness.Server)  # only for its client helpers
        srv.port, srv.tls_port, srv.cert = port, tls_port, cert
        c = srv.imap()
        body = "привет мир\r\n".encode("koi8-r")
        msg = (b"Subject: sandboxed\r\nContent-Type: text/plain; charset=koi8-r\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
        assert c.append("INBOX", None, None, msg)[0] == "OK"
        c.select("INBOX")
        c.literal = "мир".encode()
        assert c.search("UTF-8", "BODY") == ("OK", [b"1"]), "iconv under MemoryDenyWriteExecute"
        t = srv.imaps()
        t.select("INBOX")
        tag = t._new_tag()
        t.send(tag + b" IDLE\r\n")
        assert t.readline().startswith(b"+")
        c.append("INBOX", None, None, b"Subject: two\r\n\r\nx\r\n")
        t.sock.settimeout(5)
        assert t.readline() == b"* 2 EXISTS\r\n", "IDLE (inotify) in the sandbox"
        t.send(b"DONE\r\n")
        t.readline()
        t.logout()
        bad = srv.imap(login=False)
        try:
            bad.login(harness.USER, "wrong")
            raise AssertionError("a wrong password was taken")
        except imaplib.IMAP4.error as e:
            assert "AUTHENTICATIONFAILED" in str(e), e
        c.logout()
        for name in _tree(os.path.join(data, "users", harness.USER, "Maildir", "cur")):
            st = os.lstat(name)
            assert st.st_uid == harness.MAIL_UID and st.st_mode & 0o077 == 0, (name, oct(st.st_mode))

        workers = _children(master)
        assert len(workers) == 2, workers
        r = systemctl("reload", "gannet")
        assert r.returncode == 0, r
        _wait_for(lambda: (lambda k: len(k) == 2 and not set(k) & set(workers))(_children(master)), 10,
                  lambda: "new workers after systemctl reload:\n" + logs())
        srv.imap().logout()

        r = systemctl("stop", "gannet")
        assert r.returncode == 0, r
        st = show("ActiveState", "Result", "ExecMainStatus")
        assert st == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, (st, logs())
        log = logs()
        assert "configuration OK" in log and "SIGHUP: certificate" in log and "stopped" in log, log
    finally:
        if proc is not None:
            for pid in _children(proc.pid):
                os.kill(pid, signal.SIGKILL)  # PID 1 of the namespace: the kernel ends the rest
            proc.kill()
            proc.wait()
        if os.path.isdir(cgroup):
            for _ in range(50):  # the cgroups empty as their processes are reaped
                try:
                    for dirpath, dirnames, _files in sorted(os.walk(cgroup), key=lambda w: -w[0].count("/")):
                        os.rmdir(dirpath)
                    break
                except OSError:
                    time.sleep(0.1)
        shutil.rmtree(d, ignore_errors=True)


def _tree(top):
    for dirpath, dirnames, filenames in os.walk(top):
        yield dirpath
        for f in filenames:
            yield os.path.join(dirpath, f)


def _log(d):
    try:
        with open(os.path.join(d, "log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]
    except OSError:
        return ""
