"""TLS: implicit TLS (RFC 8314) and STARTTLS (RFC 9051 6.2.1), with
Python's ssl module and with openssl s_client; the plaintext policy
(LOGINDISABLED, NO [PRIVACYREQUIRED]); the STARTTLS command-injection
class; certificate reload on SIGHUP; the TLS versions refused."""

import imaplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import harness


def tls_server(args=()):
    return harness.serving(args=args, tls=True)


def caps(c):
    typ, data = c.capability()
    assert typ == "OK"
    return data[0].decode().upper().split()


def full_session(c):
    """Logged-in client: APPEND, SELECT, FETCH, STORE, SEARCH, LOGOUT."""
    msg = b"From: a@example.org\r\nSubject: over TLS\r\n\r\n" + b"x" * 70000 + b"\r\n"
    typ, _ = c.append("INBOX", None, None, msg)
    assert typ == "OK"
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"1"], data
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == msg
    assert c.store("1", "+FLAGS", "\\Seen")[0] == "OK"
    typ, data = c.search(None, "SUBJECT", '"over TLS"')
    assert data == [b"1"], data
    assert c.logout()[0] == "BYE"


def test_implicit_tls_full_session():
    with tls_server() as srv:
        c = srv.imaps(login=False)
        cap = caps(c)
        assert "STARTTLS" not in cap and "LOGINDISABLED" not in cap, cap
        assert "AUTH=PLAIN" in cap
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        c.login(harness.USER, harness.PASSWORD)
        full_session(c)


def test_starttls_full_session_and_capabilities_again():
    with tls_server() as srv:
        c = srv.imap(login=False)
        assert "STARTTLS" in caps(c)
        typ, _ = c.starttls(ssl_context=srv.tls_context())
        assert typ == "OK"
        cap = caps(c)
        assert "STARTTLS" not in cap and "AUTH=PLAIN" in cap, cap
        c.login(harness.USER, harness.PASSWORD)
        full_session(c)


def test_second_starttls_and_starttls_after_login_are_refused():
    with tls_server() as srv:
        r = srv.raw()
        _, tagged = r.cmd("a", "STARTTLS")
        assert tagged.startswith(b"a OK"), tagged
        s = srv.tls_context().wrap_socket(r.sock, server_hostname="localhost")
        s.sendall(b"b STARTTLS\r\n")
        assert read_until(s, b"b ").startswith(b"b BAD"), "second STARTTLS accepted"
        s.close()
        r = srv.raw().login()  # loopback: plaintext login allowed by default
        _, tagged = r.cmd("c", "STARTTLS")
        assert tagged.startswith(b"c BAD"), tagged
        r.close()


def read_until(sock, prefix, limit=65536):
    """Reads lines until one starts with prefix; returns that line."""
    buf = b""
    while len(buf) < limit:
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            if line.startswith(prefix):
                return line
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("closed before %r; had %r" % (prefix, buf))
        buf += chunk
    raise AssertionError("no %r in %r" % (prefix, buf))


def test_starttls_injection_does_not_run_inside_tls():
    """`a STARTTLS\\r\\nb CAPABILITY\\r\\n` in one packet: b was sent in the
    clear, so it must not run, neither before nor after the handshake."""
    with tls_server() as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        greeting = sock.recv(4096)
        assert greeting.startswith(b"* OK"), greeting
        sock.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        time.sleep(0.3)
        clear = sock.recv(4096)
        assert clear == b"a OK Begin TLS negotiation now\r\n", clear
        s = srv.tls_context().wrap_socket(sock, server_hostname="localhost")
        s.sendall(b"c NOOP\r\n")
        got = b""
        while b"c OK" not in got:
            chunk = s.recv(4096)
            assert chunk, "closed: %r" % got
            got += chunk
        assert b"b " not in got and b"CAPABILITY" not in got, got
        s.sendall(b"d LOGIN %s %s\r\n" % (harness.USER.encode(), harness.PASSWORD.encode()))
        assert read_until(s, b"d ").startswith(b"d OK")
        s.close()


def test_plaintext_injected_bytes_arriving_late_fail_the_handshake():
    """Bytes that arrive after the OK but are not TLS end the connection;
    they are never read as a command."""
    with tls_server() as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        sock.recv(4096)
        sock.sendall(b"a STARTTLS\r\n")
        assert sock.recv(4096).startswith(b"a OK")
        sock.sendall(b"b LOGIN alice secret-pw\r\n")
        sock.settimeout(10)
        rest = b""
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                rest += chunk
        except ConnectionResetError:
            pass
        assert b"b OK" not in rest and b"b NO" not in rest, rest
        assert srv.alive()
        c = srv.imaps()
        c.logout()


def test_logindisabled_without_tls_when_loopback_counts_as_remote():
    with tls_server(["--plaintext-auth", "never"]) as srv:
        r = srv.raw()
        assert b"LOGINDISABLED" in r.greeting and b"STARTTLS" in r.greeting, r.greeting
        assert b"AUTH=PLAIN" not in r.greeting
        _, tagged = r.cmd("a", "LOGIN %s %s" % (harness.USER, harness.PASSWORD))
        assert tagged.startswith(b"a NO [PRIVACYREQUIRED]"), tagged
        _, tagged = r.cmd("b", "AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldC1wdw==")
        assert tagged.startswith(b"b NO [PRIVACYREQUIRED]"), tagged
        _, tagged = r.cmd("c", "AUTHENTICATE PLAIN")
        assert tagged.startswith(b"c NO [PRIVACYREQUIRED]"), tagged
        _, tagged = r.cmd("d", "STARTTLS")
        assert tagged.startswith(b"d OK"), tagged
        s = srv.tls_context().wrap_socket(r.sock, server_hostname="localhost")
        s.sendall(b"e CAPABILITY\r\n")
        line = read_until(s, b"* CAPABILITY")
        assert b"LOGINDISABLED" not in line and b"AUTH=PLAIN" in line, line
        s.sendall(b"f AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldC1wdw==\r\n")
        assert read_until(s, b"f ").startswith(b"f OK"), "login over STARTTLS refused"
        s.close()
        c = srv.imaps()  # implicit TLS is fine too
        c.logout()


def test_plaintext_always_allows_login_without_tls():
    with tls_server(["--plaintext-auth", "always"]) as srv:
        r = srv.raw()
        assert b"LOGINDISABLED" not in r.greeting
        r.login()
        r.close()


def test_no_certificate_means_no_starttls():
    srv = harness.Server(args=["--plaintext-auth", "never"])
    try:
        r = srv.raw()
        assert b"STARTTLS" not in r.greeting and b"LOGINDISABLED" in r.greeting, r.greeting
        _, tagged = r.cmd("a", "STARTTLS")
        assert tagged.startswith(b"a BAD"), tagged
        _, tagged = r.cmd("b", "LOGIN %s %s" % (harness.USER, harness.PASSWORD))
        assert tagged.startswith(b"b NO [PRIVACYREQUIRED]"), tagged
    finally:
        srv.cleanup()


def s_client(args, script):
    """Runs openssl s_client with script on stdin; returns its stdout."""
    p = subprocess.run(["openssl", "s_client", "-quiet", "-crlf", "-ign_eof", *args],
                       input=script, capture_output=True, timeout=30)
    return p.stdout


def test_openssl_s_client_implicit_and_starttls():
    with tls_server() as srv:
        script = ("a LOGIN %s %s\nb SELECT INBOX\nc NOOP\nd LOGOUT\n" % (harness.USER, harness.PASSWORD)).encode()
        for args in (["-connect", "127.0.0.1:%d" % srv.tls_port],
                     ["-connect", "127.0.0.1:%d" % srv.port, "-starttls", "imap"]):
            out = s_client(args + ["-CAfile", srv.cert, "-verify_return_error", "-servername", "localhost"],
                           script)
            for tag in (b"a OK", b"b OK", b"c OK", b"d OK"):
                assert tag in out, (args, out)
            assert b"* BYE" in out


def test_old_tls_versions_refused_and_tls12_accepted():
    with tls_server() as srv:
        for version in ("-tls1", "-tls1_1"):
            p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.tls_port, version,
                                "-cipher", "DEFAULT:@SECLEVEL=0"],
                               input=b"", capture_output=True, timeout=30)
            assert b"* OK" not in p.stdout, (version, p.stdout)
        ctx = srv.tls_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        c = imaplib.IMAP4_SSL("localhost", srv.tls_port, ssl_context=ctx, timeout=20)
        assert c.sock.version() == "TLSv1.2"
        cipher = c.sock.cipher()[0]
        assert "GCM" in cipher or "CHACHA20" in cipher, cipher  # forward-secret AEAD only
        c.login(harness.USER, harness.PASSWORD)
        c.logout()


def test_garbage_on_the_tls_port_does_not_hurt():
    with tls_server() as srv:
        for junk in (b"a LOGIN alice secret-pw\r\n", b"\x16\x03\x01\x00\x05hello", os.urandom(3000)):
            sock = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=10)
            sock.sendall(junk)
            try:
                sock.recv(4096)
            except (ConnectionResetError, socket.timeout):
                pass
            sock.close()
        sock = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=10)
        sock.close()  # a client that leaves before the handshake
        assert srv.alive()
        srv.imaps().logout()


def peer_cert(srv):
    c = srv.imaps(login=False)
    der = c.sock.getpeercert(binary_form=True)
    c.logout()
    return der


def test_sighup_reloads_the_certificate_and_keeps_it_when_broken():
    with tls_server() as srv:
        first = peer_cert(srv)
        harness.make_cert(srv.dir, "fresh")
        for ext in (".pem", ".key"):
            shutil.copy(os.path.join(srv.dir, "fresh" + ext), os.path.join(srv.dir, "cert" + ext))
        with open(os.path.join(srv.dir, "fresh.pem"), "rb") as f:
            fresh_pem = f.read()
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        second = first
        while second == first and time.time() < deadline:
            time.sleep(0.2)
            second = peer_cert(srv)
        assert second != first, "certificate not reloaded on SIGHUP"
        assert ssl.DER_cert_to_PEM_cert(second).strip() == fresh_pem.decode().strip()
        with open(os.path.join(srv.dir, "cert.key"), "w") as f:
            f.write("not a key\n")
        srv.proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert srv.alive()
        assert peer_cert(srv) == second, "a broken key must keep the previous certificate"
        assert "keeping the previous certificate" in srv.log()


def test_bad_certificate_is_refused_at_start():
    d = harness.tempfile.mkdtemp(prefix="gannet-tls-")
    try:
        data = harness.mail_data_dir(d)
        cert, key = harness.make_cert(d)
        other_cert, other_key = harness.make_cert(d, "other")
        port = harness.free_port()
        for c, k in ((cert, other_key), (os.path.join(d, "missing.pem"), key)):
            p = subprocess.run([harness.BIN, "serve", "--data", data, "--listen", "127.0.0.1:%d" % port,
                                "--foreground", "--workers", "1", "--cert", c, "--key", k],
                               capture_output=True, timeout=30)
            assert p.returncode != 0
            assert b"TLS:" in p.stderr, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_curl_over_implicit_tls_and_starttls():
    with tls_server() as srv:
        c = srv.imap()
        c.append("INBOX", None, None, b"Subject: curl over TLS\r\n\r\nbody\r\n")
        c.logout()
        user = "%s:%s" % (harness.USER, harness.PASSWORD)
        for url, extra in (("imaps://localhost:%d/INBOX;UID=1" % srv.tls_port, []),
                           ("imap://localhost:%d/INBOX;UID=1" % srv.port, ["--ssl-reqd"])):
            p = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", srv.cert, "-u", user,
                                "--resolve", "localhost:%d:127.0.0.1" % int(url.split(":")[2].split("/")[0]),
                                *extra, url], capture_output=True, timeout=30)
            assert p.returncode == 0, (url, p.stderr)
            assert p.stdout == b"Subject: curl over TLS\r\n\r\nbody\r\n", (url, p.stdout)
