"""Support code for test_live.py, test_idle.py and test_stress.py: a client
that keeps its own model of the selected mailbox as the server has told it
(sequence number -> UID and flags, RFC 9051 7.5.1 / 7.4.1 / 7.5.2) and checks
every untagged response against it, servers with several workers, finding
which worker process serves a connection, and the truth about a mailbox
from a fresh session. Not a test module (no test_ prefix).

The model: `uids[i]` is the UID of message i+1 as this client knows it, or
None while the client has been told of the message (EXISTS) but not yet of
its UID; `flags[i]` its flags (lower-case, without \\Recent) or None. Every
`* n EXISTS` / `* n EXPUNGE` / `* n FETCH` is applied in the order it comes,
and a FETCH's UID must agree with the model. EXPUNGE during non-UID FETCH,
STORE or SEARCH is a protocol error (RFC 9051 7.5.1)."""

import collections
import os
import re
import select
import time

import harness
from helpers_fetch import FClient, FParseError, parse_fetch
from helpers_states import code_args, quote, resp_code, server, status_word  # noqa: F401 (re-exported)

USER, PASSWORD = harness.USER, harness.PASSWORD

NO_EXPUNGE = {"FETCH", "STORE", "SEARCH"}
DATE_TIME = re.compile(rb'^[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$')


class ModelError(AssertionError):
    """The server said something that contradicts what it told this client before,
    or broke a rule of RFC 9051 7.5.1."""


class Result:
    """What one command brought: tagged line, status word, untagged lines, and
    what they did to the model."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.tagged = b""
        self.status = ""
        self.lines = []
        self.expunged = []      # (seq, uid or None) in arrival order
        self.exists = []        # EXISTS values in arrival order
        self.fetches = []       # (FetchResp, uid from the model at that moment)
        self.recent = None      # last `* n RECENT`
        self.search = None      # numbers of `* SEARCH`
        self.other = []         # every other untagged line

    @property
    def code(self):
        return resp_code(self.tagged)

    def __repr__(self):
        return "<%s -> %r (%d untagged)>" % (self.cmd, self.tagged, len(self.lines))


class LiveClient(FClient):
    def __init__(self, port, name="client", timeout=30):
        self.name = name
        self.transcript = collections.deque(maxlen=300)
        super().__init__(port, timeout=timeout)
        self.timeout = timeout
        self.collect_syntax = None
        self.reset_model(None)

    # ------------------------------------------------------------------ model

    def reset_model(self, mailbox):
        self.mailbox = mailbox
        self.uids = []
        self.flags = []
        self.recent = []
        self.readonly = None
        self.uidvalidity = None
        self.gone = []  # UIDs (or None) the server reported expunged since SELECT
        self.history = collections.defaultdict(lambda: collections.deque(maxlen=12))  # uid -> flag events

    def fail(self, msg):
        raise ModelError("%s: %s\n--- %s transcript (last lines) ---\n%s" % (
            self.name, msg, self.name, "\n".join(list(self.transcript)[-80:])))

    def note(self, direction, data):
        text = data.decode("latin-1") if isinstance(data, bytes) else data
        m = re.search(r"~?\{(\d+)\+?\}\r\n", text)
        if m and len(text) > 200:
            text = text[:m.start()] + "{%s}...(literals cut)" % m.group(1) + (")" if text.endswith(")") else "")
        text = text.replace("\r\n", "\\r\\n")
        if len(text) > 300:
            text = text[:300] + "...(%d chars)" % len(text)
        self.transcript.append("%.3f %s %s" % (time.time() % 1000, direction, text))

    def response(self):
        r = super().response()
        self.note("S:", r)
        return r

    def send(self, data):
        self.note("C:", data.rstrip(b"\r\n") if isinstance(data, bytes) else data.rstrip("\r\n"))
        super().send(data)

    def bad_syntax(self, what, line):
        """A response that breaks the grammar: fails, or with collect_syntax set
        (a list), is recorded there and the command goes on."""
        if self.collect_syntax is None:
            self.fail("%s: %r" % (what, line[:300]))
        self.collect_syntax.append("%s: %r" % (what, line[:300]))

    def _check_neighbours(self, i, uid):
        for j in range(i - 1, -1, -1):
            if self.uids[j] is not None:
                if self.uids[j] >= uid:
                    self.fail("UID %d for message %d is not above UID %d of message %d" % (uid, i + 1, self.uids[j], j + 1))
                break
        for j in range(i + 1, len(self.uids)):
            if self.uids[j] is not None:
                if self.uids[j] <= uid:
                    self.fail("UID %d for message %d is not below UID %d of message %d" % (uid, i + 1, self.uids[j], j + 1))
                break

    def apply(self, line, res, expunge_ok=True, selecting=False):
        """Applies one untagged response to the model, checking it."""
        res.lines.append(line)
        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE|RECENT|FETCH)\b", line, re.I)
        if m:
            n, what = int(m.group(1)), m.group(2).upper()
            if self.mailbox is None and not selecting:
                self.fail("%r with no mailbox selected" % line[:200])
            if what == b"EXISTS":
                if n < len(self.uids):
                    self.fail("* %d EXISTS with %d messages in the view (EXISTS never shrinks the view)" % (n, len(self.uids)))
                self.uids.extend([None] * (n - len(self.uids)))
                self.flags.extend([None] * (n - len(self.flags)))
                self.recent.extend([None] * (n - len(self.recent)))
                res.exists.append(n)
            elif what == b"EXPUNGE":
                if not expunge_ok:
                    self.fail("* %d EXPUNGE during %s (RFC 9051 7.5.1 forbids it)" % (n, res.cmd))
                if not 1 <= n <= len(self.uids):
                    self.fail("* %d EXPUNGE with %d messages in the view" % (n, len(self.uids)))
                uid = self.uids.pop(n - 1)
                self.flags.pop(n - 1)
                self.recent.pop(n - 1)
                self.gone.append(uid)
                res.expunged.append((n, uid))
            elif what == b"RECENT":
                if n > len(self.uids):
                    self.fail("* %d RECENT with %d messages in the view" % (n, len(self.uids)))
                res.recent = n
            else:
                self._apply_fetch(line, n, res)
            return
        if re.match(rb"\* SEARCH( |$)", line, re.I):
            nums = [int(x) for x in line[8:].split() if x.isdigit()]
            res.search = nums
            return
        if re.match(rb"\* BYE( |$)", line, re.I) and not res.cmd.upper().startswith("LOGOUT"):
            self.fail("unexpected BYE: %r" % line)
        if re.match(rb"\* (OK|NO|BAD|BYE|PREAUTH|FLAGS|CAPABILITY|LIST|LSUB|STATUS|ESEARCH|ENABLED|ID|NAMESPACE)( |$)",
                    line, re.I):
            if re.match(rb"\* BAD", line, re.I):
                self.fail("untagged BAD: %r" % line)
            res.other.append(line)
            return
        self.fail("unexpected untagged response %r" % line[:300])

    def _apply_fetch(self, line, n, res):
        try:
            r = parse_fetch(line)
        except FParseError as e:
            self.fail("malformed FETCH response (%s): %r" % (e, line[:500]))
        if not 1 <= n <= len(self.uids):
            self.fail("* %d FETCH with %d messages in the view" % (n, len(self.uids)))
        i = n - 1
        if "UID" in r:
            u = r["UID"]
            if not (isinstance(u, str) and u.isdigit() and int(u) > 0):
                self.fail("bad UID in %r" % line[:200])
            u = int(u)
            if self.uids[i] is None:
                self._check_neighbours(i, u)
                self.uids[i] = u
            elif self.uids[i] != u:
                self.fail("* %d FETCH says UID %d; this client was told message %d is UID %d" % (n, u, n, self.uids[i]))
        if "FLAGS" in r:
            v = r["FLAGS"]
            if not isinstance(v, list):
                self.fail("FLAGS not a list: %r" % line[:200])
            fl = {str(f).lower() for f in v}
            self.recent[i] = "\\recent" in fl
            self.flags[i] = frozenset(fl - {"\\recent"})
            self.history[self.uids[i]].append("%s: %r" % (res.cmd[:60], line[:160]))
        for k in r.order:
            v = r.items[k]
            if k == "RFC822.SIZE" and not (isinstance(v, str) and v.isdigit()):
                self.bad_syntax("RFC822.SIZE is not a number (RFC 9051 9: number64)", line)
            if k == "INTERNALDATE" and not (isinstance(v, bytes) and DATE_TIME.match(v)):
                self.bad_syntax("INTERNALDATE is not a date-time (RFC 9051 9)", line)
            if k == "ENVELOPE" and not (isinstance(v, list) and len(v) == 10):
                self.bad_syntax("ENVELOPE is not a 10-element list (RFC 9051 9)", line)
            if k in ("BODYSTRUCTURE", "BODY") and not isinstance(v, list):
                self.bad_syntax("%s is not a list (RFC 9051 9: body)" % k, line)
            if k.startswith("BINARY.SIZE[") and not (isinstance(v, str) and v.isdigit()):
                self.bad_syntax("%s is not a number (RFC 3516 / RFC 9051 9)" % k, line)
        res.fetches.append((r, self.uids[i]))

    # -------------------------------------------------------------- commands

    @staticmethod
    def command_name(text):
        words = text.split(None, 2)
        name = words[0].upper() if words else ""
        if name == "UID" and len(words) > 1:
            return words[1].upper(), True
        return name, False

    def start(self, text):
        """Sends a command; returns (tag, Result) for finish()."""
        tag = self.tag()
        name, uid = self.command_name(text)
        res = Result(text)
        res.expunge_ok = not (name in NO_EXPUNGE and not uid)
        res.selecting = name in ("SELECT", "EXAMINE")
        if res.selecting:
            mb = text.split(None, 1)[1].strip()
            self.reset_model(mb.strip('"'))
        self.send(tag.encode() + b" " + text.encode() + b"\r\n")
        return tag, res

    def finish(self, tag, res, allow=("OK",)):
        t = tag.encode() + b" "
        while True:
            ln = self.response()
            if ln == b"":
                self.fail("connection closed during %s" % res.cmd)
            if ln.startswith(t):
                break
            if ln.startswith(b"+"):
                self.fail("unexpected continuation during %s: %r" % (res.cmd, ln))
            self.apply(ln, res, res.expunge_ok, res.selecting)
        res.tagged = ln
        res.status = status_word(ln)
        if res.status not in ("OK", "NO", "BAD"):
            self.fail("tagged response with status %r: %r" % (res.status, ln))
        if res.selecting:
            if res.status == "OK":
                self.readonly = res.code == "READ-ONLY"
                for o in res.other:
                    v = code_args(o, "UIDVALIDITY")
                    if v:
                        self.uidvalidity = int(v)
            else:
                self.reset_model(None)
        name, _ = self.command_name(res.cmd)
        if name in ("CLOSE", "UNSELECT") and res.status == "OK":
            self.reset_model(None)
        if res.status not in allow:
            self.fail("%s: expected %s, got %r" % (res.cmd, "/".join(allow), ln))
        if res.status == "OK" and self.mailbox is not None and not self.readonly:
            self._own_effects(res)
        return res

    def resolve(self, text, uid):
        """Positions (0-based) in the model that a sequence set or UID set names."""
        out = set()
        n = len(self.uids)
        known = [u for u in self.uids if u is not None]
        top = max(known) if uid and known else n
        for piece in text.split(","):
            a, _, b = piece.partition(":")
            lo = top if a == "*" else int(a)
            hi = lo if not b else (top if b == "*" else int(b))
            lo, hi = min(lo, hi), max(lo, hi)
            if uid:
                out |= {i for i, u in enumerate(self.uids) if u is not None and lo <= u <= hi}
            else:
                out |= {i for i in range(lo - 1, min(hi, n))}
        return sorted(out)

    def _own_effects(self, res):
        """What this client's own command changed that the server rightly does not
        echo: flags set by STORE ... .SILENT, and \\Seen set by a FETCH of a body
        section without PEEK when the FETCH response carries no FLAGS."""
        name, uid = self.command_name(res.cmd)
        words = res.cmd.split(None, 3 if uid else 2)
        if uid:
            words = words[1:]
        if name == "STORE" and len(words) == 3:
            m = re.match(r"([+-]?)FLAGS\.SILENT\s+\(?([^)]*)\)?\s*$", words[2], re.I)
            if not m:
                return
            fl = {f.lower() for f in m.group(2).split()}
            told = {u for fr, u in res.fetches if "FLAGS" in fr}  # reported after the STORE: they win
            for i in self.resolve(words[1], uid):
                if self.uids[i] in told:
                    continue
                cur = self.flags[i] or frozenset()
                self.flags[i] = frozenset(cur | fl if m.group(1) == "+" else cur - fl if m.group(1) == "-" else fl)
                self.history[self.uids[i]].append("%s: own silent change -> %s" % (res.cmd[:60], sorted(self.flags[i])))
        elif name == "FETCH" and re.search(r"(?<![.\w])(BODY\[|BINARY\[|RFC822(?![.\w]))|RFC822\.TEXT", res.cmd, re.I):
            # by UID: a UID FETCH may carry EXPUNGEs that renumber what came before them
            told = {u for fr, u in res.fetches if "FLAGS" in fr}
            for fr, u in res.fetches:
                if u is not None and u not in told and u in self.uids:  # FLAGS in the response win
                    i = self.uids.index(u)
                    self.flags[i] = frozenset((self.flags[i] or frozenset()) | {"\\seen"})
                    self.history[u].append("%s: \\Seen by FETCH without FLAGS" % res.cmd[:60])

    def do(self, text, allow=("OK",)):
        tag, res = self.start(text)
        return self.finish(tag, res, allow)

    def do_append(self, mailbox, data, flags=None, allow=("OK",)):
        """APPEND with a LITERAL+ literal; returns Result (res.appenduid = (v, uid) or None)."""
        tag = self.tag()
        text = "APPEND %s" % quote(mailbox)
        if flags:
            text += " (%s)" % " ".join(flags)
        res = Result(text)
        res.expunge_ok = True
        res.selecting = False
        self.send(tag.encode() + b" " + text.encode() + b" {%d+}\r\n" % len(data) + data + b"\r\n")
        self.finish(tag, res, allow)
        res.appenduid = None
        args = code_args(res.tagged, "APPENDUID")
        if res.status == "OK":
            if not args or not re.fullmatch(r"[1-9]\d* [1-9]\d*", args):
                self.fail("APPEND OK without a valid [APPENDUID]: %r" % res.tagged)
            v, u = args.split()
            res.appenduid = (int(v), int(u))
        return res

    def login(self, user=USER, password=PASSWORD):
        self.do('LOGIN "%s" "%s"' % (user, password))
        return self

    def select(self, mailbox="INBOX", examine=False):
        res = self.do("%s %s" % ("EXAMINE" if examine else "SELECT", quote(mailbox)))
        self.fill()
        return res

    def fill(self, rounds=200):
        """Learns the UIDs (and flags) of messages the model has only from EXISTS,
        with non-UID FETCH (which may not bring EXPUNGEs, so the numbers hold)."""
        for _ in range(rounds):
            unknown = [i for i, u in enumerate(self.uids) if u is None or self.flags[i] is None]
            if not unknown:
                return
            lo, hi = unknown[0] + 1, unknown[-1] + 1
            res = self.do("FETCH %d:%d (UID FLAGS)" % (lo, hi), allow=("OK", "NO"))
            if res.status == "NO":
                if res.code != "EXPUNGEISSUED":
                    self.fail("FETCH %d:%d (UID FLAGS) answered %r" % (lo, hi, res.tagged))
                self.do("NOOP")  # learn the expunges, then ask again
                continue
            # no EXPUNGE can come during FETCH, so lo..hi still name the same messages
            told = {r.seq for r, _ in res.fetches}
            silent = [q for q in range(lo, hi + 1) if q not in told]
            if silent:
                self.fail("FETCH %d:%d (UID FLAGS) answered OK without data for %r" % (lo, hi, silent))
        self.fail("could not learn every UID in %d rounds" % rounds)

    def noop(self):
        res = self.do("NOOP")
        self.fill()
        return res

    def view(self):
        """[(uid, frozenset(flags))] in sequence order."""
        assert None not in self.uids, (self.name, self.uids)
        return list(zip(self.uids, self.flags))

    def uid_of(self, seq):
        return self.uids[seq - 1]

    def seq_of(self, uid):
        return self.uids.index(uid) + 1

    # ------------------------------------------------------------------ IDLE

    def wait_response(self, deadline):
        """The next response, or None if none is complete by deadline (time.time())."""
        while self.buf.find(b"\r\n", self.pos) < 0:
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            if not self._fill():
                self.fail("connection closed while waiting")
        return self.response()

    def idle_start(self):
        """Sends IDLE; returns (tag, Result, continuation line). If the server answers
        with a tagged response instead of `+`, the Result is finished and the line is None."""
        tag, res = self.start("IDLE")
        t = tag.encode() + b" "
        while True:
            ln = self.response()
            if ln == b"":
                self.fail("connection closed after IDLE")
            if ln.startswith(b"+"):
                return tag, res, ln
            if ln.startswith(t):
                res.tagged = ln
                res.status = status_word(ln)
                return tag, res, None
            self.apply(ln, res, True)

    def idle_until(self, res, pred, timeout):
        """While idling: applies untagged responses until pred(res) is true or timeout
        seconds pass; returns the seconds it took, or None on timeout."""
        t0 = time.time()
        deadline = t0 + timeout
        while not pred(res):
            ln = self.wait_response(deadline)
            if ln is None:
                return None
            if not ln.startswith(b"* "):
                self.fail("during IDLE, a response that is not untagged: %r" % ln)
            self.apply(ln, res, True)
        return time.time() - t0

    def idle_done(self, tag, res, word="DONE", allow=("OK",)):
        self.send(word.encode() + b"\r\n")
        return self.finish(tag, res, allow)


def live_client(srv, name="client", login=True, timeout=30):
    c = LiveClient(srv.port, name=name, timeout=timeout)
    if login:
        c.login()
    return c


# ---------------------------------------------------------------- workers


def worker_pids(master):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[1]) == master and st[0] != "Z":
            out.append(int(d))
    return sorted(out)


def _socket_inode(server_port, client_port):
    want_l = "0100007F:%04X" % server_port
    want_r = "0100007F:%04X" % client_port
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            p = ln.split()
            if p[1] == want_l and p[2] == want_r:
                return p[9]
    return None


def worker_of(srv, client):
    """The pid of the worker process serving client's connection, or None."""
    inode = _socket_inode(srv.port, client.sock.getsockname()[1])
    if inode is None:
        return None
    target = "socket:[%s]" % inode
    for pid in worker_pids(srv.proc.pid):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == target:
                    return pid
            except OSError:
                pass
    return None


def clients_on_workers(srv, n, name="c", tries=12):
    """n logged-in LiveClients spread over as many worker processes as the
    kernel lets us reach in up to `tries` connections (the spare ones are
    closed). Returns (clients, [worker pid of each])."""
    workers = len(worker_pids(srv.proc.pid)) or 1
    by_pid = collections.OrderedDict()
    opened = 0
    while opened < tries:
        c = live_client(srv, name="%s?" % name)
        opened += 1
        by_pid.setdefault(worker_of(srv, c), []).append(c)
        if len(by_pid) >= min(n, workers) and sum(map(len, by_pid.values())) >= n:
            break
    chosen, pids = [], []
    while len(chosen) < n and any(by_pid.values()):
        for pid, cs in by_pid.items():
            if cs and len(chosen) < n:
                chosen.append(cs.pop(0))
                pids.append(pid)
    for cs in by_pid.values():
        for c in cs:
            c.close()
    while len(chosen) < n:
        c = live_client(srv)
        chosen.append(c)
        pids.append(worker_of(srv, c))
    for i, c in enumerate(chosen):
        c.name = "%s%d" % (name, i + 1)
    return chosen, pids


# ------------------------------------------------------------------ truth


def truth(srv, mailbox):
    """[(uid, frozenset(flags))] of mailbox, from a fresh session's EXAMINE,
    UID SEARCH ALL and UID FETCH 1:* (FLAGS) (checked against each other)."""
    c = live_client(srv, name="truth")
    try:
        c.select(mailbox, examine=True)
        res = c.do("UID SEARCH ALL")
        uids = sorted(res.search or [])
        if uids != c.uids:
            c.fail("UID SEARCH ALL %r differs from the UIDs of a fresh EXAMINE %r" % (uids, c.uids))
        if uids:
            fr = c.do("UID FETCH 1:* (FLAGS)")
            got = {u: r for r, u in fr.fetches}
            if sorted(got) != uids:
                c.fail("UID FETCH 1:* answered for %r, UID SEARCH ALL gave %r" % (sorted(got), uids))
        c.do("LOGOUT")
        return c.view()
    finally:
        c.close()


def msg(tag, body="", extra_headers=""):
    """A small message whose Subject and Message-ID carry tag."""
    return ("From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"
            "Subject: %s\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <%s@example.org>\r\n%s\r\n"
            "Body of %s.\r\n%s" % (tag, tag, extra_headers, tag, body)).encode()


def live_server(workers=3, extra=()):
    """Context manager: a harness server with --workers N (checked for sanitizer reports)."""
    return server("--workers", str(workers), *extra)


def settle(srv, *clients, mailbox="INBOX"):
    """NOOP on every client, then each one's view must equal the mailbox's truth."""
    want = truth(srv, mailbox)
    for c in clients:
        if c.mailbox is None:
            continue
        c.noop()
        if c.view() != want:
            c.fail("after NOOP the view is\n  %r\nbut a fresh EXAMINE of %s gives\n  %r" % (c.view(), mailbox, want))
    return want


def spread(srv, n):
    """n clients spread over the server's workers; returns (clients, their worker pids)."""
    clients, pids = clients_on_workers(srv, n)
    print("  %d sessions on workers %r (of %r)" % (n, pids, worker_pids(srv.proc.pid)))
    return clients, pids
