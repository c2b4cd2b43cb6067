"""The configuration file (`gannet serve --config FILE`) and `gannet config
check`: settings by the options' names, the command line overriding the
file, unknown names and bad values refused at start with the file and line,
and doc/gannet.conf.example valid as shipped (paths aside)."""

import os
import re
import shutil
import subprocess
import tempfile

import harness

EXAMPLE = os.path.join(harness.ROOT, "doc", "gannet.conf.example")


def run(*args, stdin=None):
    """A subcommand whose exit status the test checks; a sanitizer report fails it."""
    return harness.gannet(*args, stdin=stdin, check=False)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def data_with_user(d):
    data = harness.mail_data_dir(d)
    harness.gannet("user", "add", harness.USER, "--data", data, "--password-stdin",
                   stdin=(harness.PASSWORD + "\n").encode())
    return data


def test_server_takes_its_settings_from_the_file_and_flags_override():
    d = tempfile.mkdtemp(prefix="gannet-conf-")
    try:
        data = data_with_user(d)
        port = harness.free_port()
        conf = write(os.path.join(d, "gannet.conf"),
                     "# a test configuration\n"
                     "data = %s\nlisten = 127.0.0.1:%d\nworkers = 1\nforeground = yes\n"
                     "append-limit = 5000   # small, to see it\nmax-mailboxes = 50\n" % (data, port))
        # the file's append-limit is overridden by the command line
        p = subprocess.Popen([harness.BIN, "serve", "--config", conf, "--append-limit", "7000"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            srv = harness.Server.__new__(harness.Server)  # only for its client helpers
            srv.port = port
            _wait(port, p)
            c = srv.imap()
            caps = c.capabilities
            assert "APPENDLIMIT=7000" in caps, caps
            c.logout()
        finally:
            p.terminate()
            _, err = p.communicate(timeout=15)
        assert b"listening on 127.0.0.1:%d" % port in err, err
        assert not any(m.encode() in err for m in harness.SANITIZER_MARKS), err[-3000:]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _wait(port, proc):
    import socket
    import time
    deadline = time.time() + 15
    while time.time() < deadline:
        assert proc.poll() is None, "gannet exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gannet did not start listening")


def test_unknown_names_and_bad_values_are_refused_with_file_and_line():
    d = tempfile.mkdtemp(prefix="gannet-conf-")
    try:
        data = harness.mail_data_dir(d)
        cases = [
            ("listen = 127.0.0.1:1\nno-such-setting = 3\n", r":2: no-such-setting: unknown setting"),
            ("workers = many\n", r":1: workers: many is not a number from 1 to 256"),
            ("workers = 0\n", r":1: workers: 0 is not a number"),
            ("\n\nplaintext-auth = sometimes\n", r":3: plaintext-auth: sometimes is not local, never or always"),
            ("foreground = maybe\n", r":1: foreground: maybe is not yes or no"),
            ("listen\n", r":1: expected name = value"),
            ("preauth = alice\n", r":1: preauth: unknown setting"),
            ("config = other.conf\n", r":1: config: unknown setting"),
        ]
        for text, want in cases:
            conf = write(os.path.join(d, "bad.conf"), "data = %s\n%s" % (data, text))
            for cmd in (["serve", "--config", conf, "--listen", "127.0.0.1:%d" % harness.free_port(),
                         "--foreground"], ["config", "check", "--config", conf]):
                p = run(*cmd)
                assert p.returncode != 0, (cmd, text)
                err = p.stderr.decode()
                # the line numbers count the data line written first
                line = int(re.search(r":(\d+):", want).group(1)) + 1
                assert re.search(re.escape(conf) + ":%d:" % line + re.escape(want.split(":", 2)[2]), err), \
                    (text, err)
        p = run("serve", "--config", os.path.join(d, "missing.conf"))
        assert p.returncode != 0 and b"missing.conf: No such file" in p.stderr, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def example_for(d, data):
    """The shipped example, with its paths pointed into d."""
    cert, key = harness.make_cert(d)
    with open(EXAMPLE) as f:
        text = f.read()
    text = text.replace("/var/lib/gannet", data).replace("/etc/gannet/cert.pem", cert)
    text = text.replace("/etc/gannet/key.pem", key)
    text = re.sub(r"(?m)^user = gannet$", "# user: the data directory's owner", text)
    return write(os.path.join(d, "gannet.conf"), text)


def test_config_check_accepts_the_example_and_finds_what_serve_would_refuse():
    d = tempfile.mkdtemp(prefix="gannet-conf-")
    try:
        data = harness.mail_data_dir(d)
        conf = example_for(d, data)
        p = run("config", "check", "--config", conf)
        assert p.returncode == 0 and b"configuration OK" in p.stdout, p.stderr
        # each thing serve would stop on
        p = run("config", "check", "--config", conf, "--data", os.path.join(d, "nowhere"))
        assert p.returncode != 0 and b"is not a directory" in p.stderr, p.stderr
        p = run("config", "check", "--config", conf, "--key", conf)
        assert p.returncode != 0 and b"TLS:" in p.stderr, p.stderr
        p = run("config", "check", "--config", conf, "--max-line", "12")
        assert p.returncode != 0 and b"--max-line: 12 is not a number from 1024" in p.stderr, p.stderr
        if os.geteuid() == 0:
            p = run("config", "check", "--config", conf, "--user", "root")
            assert p.returncode != 0 and b"refusing to touch mail as root" in p.stderr, p.stderr
        p = run("config", "check")
        assert p.returncode != 0 and b"--data is required" in p.stderr, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_the_example_serves_over_tls():
    d = tempfile.mkdtemp(prefix="gannet-conf-")
    try:
        data = data_with_user(d)
        conf = example_for(d, data)
        port, tls_port = harness.free_port(), harness.free_port()
        p = subprocess.Popen([harness.BIN, "serve", "--config", conf, "--foreground", "--workers", "1",
                              "--listen", "127.0.0.1:%d" % port, "--tls-listen", "127.0.0.1:%d" % tls_port],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait(port, p)
            srv = harness.Server.__new__(harness.Server)
            srv.port, srv.tls_port, srv.cert = port, tls_port, os.path.join(d, "cert.pem")
            r = srv.raw()  # the example says plaintext-auth = never: loopback too
            assert b"LOGINDISABLED" in r.greeting and b"STARTTLS" in r.greeting, r.greeting
            r.close()
            c = srv.imaps()
            c.select("INBOX")
            c.logout()
        finally:
            p.terminate()
            _, err = p.communicate(timeout=15)
        assert not any(m.encode() in err for m in harness.SANITIZER_MARKS), err[-3000:]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_subcommands_take_the_data_directory_from_the_file():
    d = tempfile.mkdtemp(prefix="gannet-conf-")
    try:
        data = harness.mail_data_dir(d)
        conf = write(os.path.join(d, "gannet.conf"), "data = %s\nlisten = 127.0.0.1:1\n" % data)
        harness.gannet("user", "add", "carol", "--config", conf, "--password-stdin", stdin=b"pw-carol\n")
        p = run("user", "list", "--config", conf)
        assert p.returncode == 0 and p.stdout.split() == [b"carol"], p
        msg = b"From: a@example.org\r\nSubject: via config\r\n\r\nhello\r\n"
        p = run("deliver", "carol", "--config", conf, stdin=msg)
        assert p.returncode == 0, p
        cur = os.path.join(data, "users", "carol", "Maildir", "cur")
        assert [open(os.path.join(cur, f), "rb").read() for f in os.listdir(cur)] == [msg]
        p = run("index", "check", "carol", "--config", conf)
        assert p.returncode == 0, p
        # a file without a data setting: deliver says temporary failure (75)
        bad = write(os.path.join(d, "bad.conf"), "workers = 2\n")
        p = run("deliver", "carol", "--config", bad, stdin=msg)
        assert p.returncode == 75 and b"sets no data directory" in p.stderr, p
    finally:
        shutil.rmtree(d, ignore_errors=True)
