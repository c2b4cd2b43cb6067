"""Failed-login throttling (issue 7): the delay doubles per failure from one
address (every test connects from 127.0.0.1, so the address's count is what
shows), up to --auth-fail-delay-max; many connections guess no faster than
one; past the cap an attempt is refused unchecked; a right password still
works; the log names the address and never a password; AUTHENTICATE's "*"
and bad base64 are BAD and cost nothing (RFC 9051 6.2.2).

Timing assertions are lower bounds a little under the schedule and upper
bounds well over it, so a loaded machine cannot fail them, while a server
without the throttle (a fixed 100 ms) or without the cap fails them."""

import re
import threading
import time

from helpers_states import PASSWORD, USER, client, plain_ir, resp_code, server, status_word

BASE, CAP = 0.1, 0.8
ARGS = ("--auth-fail-delay", "100", "--auth-fail-delay-max", "800")


def schedule(n):
    """The delay of the n-th failure in a row (1-based)."""
    return min(CAP, BASE * 2 ** (n - 1))


def timed(c, text):
    t0 = time.monotonic()
    lines, tagged = c.run(text)
    return time.monotonic() - t0, tagged


def failures_logged(log):
    return [ln for ln in log.splitlines() if "login failed" in ln]


def test_delay_doubles_per_address_up_to_the_cap():
    with server(*ARGS) as srv:
        c = client(srv)
        got = []
        for i in range(7):
            # another user each time: only the address's count can slow these
            if i == 3:
                c = client(srv)  # and it follows the address to a new connection
            dt, tagged = timed(c, 'LOGIN user%d "wrong-%d"' % (i, i))
            assert status_word(tagged) == "NO" and resp_code(tagged) == "AUTHENTICATIONFAILED", tagged
            got.append(dt)
        for n, dt in enumerate(got, 1):
            assert dt >= 0.9 * schedule(n), "failure %d answered after %.3fs, before %.1fs: %r" % (
                n, dt, schedule(n), got)
        # capped: without the cap the 7th would wait 6.4 s
        assert max(got) < 3.0, "a delay past the cap: %r" % got
        # the right password still works, and is not held back once the last answer came
        dt, tagged = timed(c, 'LOGIN %s "%s"' % (USER, PASSWORD))
        assert status_word(tagged) == "OK", tagged
        assert dt < 3.0, dt


def test_parallel_connections_guess_no_faster():
    # two workers: the count and the queue are shared through the master's table
    with server(*ARGS, "--workers", "2") as srv:
        c = client(srv)
        for i in range(4):  # the next failures all wait the cap
            c.no('LOGIN %s "warm-%d"' % (USER, i))
        checked, refused, stop = [], [], time.monotonic() + 4.0
        lock = threading.Lock()

        def guesser(k):
            g = client(srv)
            n = 0
            while time.monotonic() < stop:
                n += 1
                lines, tagged = g.run('LOGIN %s "guess-%d-%d"' % (USER, k, n))
                assert status_word(tagged) == "NO", tagged
                with lock:
                    (refused if resp_code(tagged) == "UNAVAILABLE" else checked).append(tagged)

        errors = []

        def run(k):
            try:
                guesser(k)
            except BaseException as e:  # noqa: B902 - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(6)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - t0
        assert not errors, errors
        # one guess per 0.8 s whatever the number of connections (plus the
        # ones already queued when the time ran out); with a fixed delay six
        # connections would have had about 240 checked in 4 s
        assert len(checked) <= elapsed / CAP + 3, "%d guesses checked in %.1fs" % (len(checked), elapsed)
        assert refused, "no attempt was refused past the cap"
        assert all(b"Too many failed logins" in r for r in refused), refused[:3]
        # and the owner can still log in once the queue has drained
        time.sleep(2 * CAP)
        client(srv).login()


def test_log_names_the_address_never_the_password():
    with server(*ARGS) as srv:
        c = client(srv)
        c.no('LOGIN %s "Wrong-Pass-123"' % USER)
        c.no("AUTHENTICATE PLAIN " + plain_ir("", USER, "Other-Wrong-456"))
        c.no('LOGIN "Pa$$word!typed-as-name" "Third-Wrong-789"')
        c.login()
        srv.stop()
        log = srv.log()
        fails = failures_logged(log)
        assert len(fails) == 3, log
        assert all("from=127.0.0.1" in ln for ln in fails), fails
        assert "user=%s mech=LOGIN" % USER in fails[0], fails
        assert "user=%s mech=PLAIN" % USER in fails[1], fails
        assert "user=? " in fails[2], fails  # not a valid user name: maybe a password
        assert [re.search(r" failures=(\d+)", ln).group(1) for ln in fails] == ["1", "2", "3"], fails
        assert all(re.search(r" delay=\d+ms", ln) for ln in fails), fails
        for secret in ("Wrong-Pass-123", "Other-Wrong-456", "Third-Wrong-789", "Pa$$word", PASSWORD,
                       plain_ir("", USER, "Other-Wrong-456")):
            assert secret not in log, "%r appears in the log" % secret


def test_authenticate_cancel_and_bad_base64_cost_nothing():
    with server(*ARGS) as srv:
        c = client(srv)
        for i in range(6):
            tag = c.tag()
            t0 = time.monotonic()
            c.send(("%s AUTHENTICATE PLAIN\r\n" % tag).encode())
            assert c.response().startswith(b"+"), "no continuation"
            # RFC 9051 6.2.2: "*" cancels; an invalid BASE64 string is rejected too; both with BAD
            c.send(b"*\r\n" if i % 2 == 0 else b"%%%not base64%%%\r\n")
            lines, tagged = c.until(tag)
            assert status_word(tagged) == "BAD", tagged
            assert time.monotonic() - t0 < 2.0, "a cancelled AUTHENTICATE was held back"
        c.noop_ok()
        # nothing was counted: the next failure is the first, at the base delay
        dt, tagged = timed(c, 'LOGIN %s "wrong"' % USER)
        assert status_word(tagged) == "NO", tagged
        assert dt < 0.6, "the first failure after six cancellations waited %.2fs" % dt
        c.login()
        srv.stop()
        fails = failures_logged(srv.log())
        assert len(fails) == 1 and " failures=1 " in fails[0], fails
