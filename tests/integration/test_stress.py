"""Stress: 50 clients (threads) against `gannet serve --workers 3`, on three
shared mailboxes, doing random APPEND / STORE / EXPUNGE / FETCH / SEARCH /
MOVE / COPY / NOOP / IDLE / SELECT for GANNET_STRESS_SECONDS (default 60).

Each client is a helpers_live.LiveClient: it keeps its model of the view
(sequence number -> UID, flags) from the untagged responses and fails on
any response that contradicts it (a wrong UID at a sequence number, an
EXPUNGE during FETCH/STORE/SEARCH, a number out of range, a malformed
response). At the end every client does NOOP and its view must equal a
fresh session's EXAMINE + UID SEARCH ALL + UID FETCH 1:* FLAGS. No BAD, no
message lost: every APPEND that got OK is, following the MOVEs that carried
it (COPYUID), still in some mailbox, or some client stored \\Deleted on it
(on purpose). A UID always names the same message (checked by Subject).

The random seed is printed; GANNET_STRESS_SEED=N replays a run's choices
(the interleaving of the threads still varies). GANNET_STRESS_CLIENTS
changes the number of clients."""

import os
import random
import re
import socket
import sys
import threading
import time
import traceback

from helpers_fetch import copyuid
from helpers_live import ModelError, live_client, live_server, msg, quote, truth, worker_of, worker_pids

SECONDS = float(os.environ.get("GANNET_STRESS_SECONDS", "60"))
SEED = int(os.environ.get("GANNET_STRESS_SEED", "6061"))
CLIENTS = int(os.environ.get("GANNET_STRESS_CLIENTS", "50"))
MAILBOXES = ["INBOX", "Shared1", "Shared2"]
FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Work", "$Later"]
MAX_BOX = 250  # above this many messages in its view, a client deletes instead of appending
OPS = [("append", 16), ("store", 20), ("fetch", 18), ("expunge", 7), ("move", 6), ("copy", 3), ("noop", 8),
       ("search", 6), ("idle", 3), ("select", 3), ("status", 2)]


class Ledger:
    """What the clients did, shared by all threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.appended = {}     # (mailbox, uid) -> token
        self.moved = {}        # (mailbox, uid) -> (mailbox, uid)
        self.deleted = set()   # (mailbox, uid) some client stored \Deleted on
        self.subject = {}      # (mailbox, uid) -> Subject text first seen
        self.uidvalidity = {}  # mailbox -> UIDVALIDITY
        self.problems = []     # non-fatal protocol problems (text)
        self.counts = {}
        self.in_flight = {}    # client name -> [(mailbox, uid)] its MOVE in progress may carry away

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 2000:
                self.problems.append(text)

    def see_subject(self, mailbox, uid, subj, who):
        with self.lock:
            old = self.subject.setdefault((mailbox, uid), subj)
        if old != subj:
            raise ModelError("%s: UID %d of %s is %r now but was %r before: a UID named two messages"
                             % (who, uid, mailbox, subj, old))

    def see_uidvalidity(self, mailbox, v, who):
        with self.lock:
            old = self.uidvalidity.setdefault(mailbox, v)
        if old != v:
            raise ModelError("%s: UIDVALIDITY of %s changed from %d to %d" % (who, mailbox, old, v))


SUBJECT = re.compile(rb"^Subject: (\S+)\r\n", re.I | re.M)


class Worker:
    def __init__(self, srv, i, ledger, deadline):
        self.i = i
        self.rng = random.Random(SEED * 1000 + i)
        self.ledger = ledger
        self.deadline = deadline
        self.srv = srv
        self.c = None
        self.error = None
        self.k = 0
        self.ops = 0

    def run(self):
        try:
            self.c = live_client(self.srv, name="s%02d" % self.i, timeout=30)
            self.c.collect_syntax = []
            self.select(self.rng.choice(MAILBOXES))
            names, weights = zip(*OPS)
            while time.time() < self.deadline:
                op = self.rng.choices(names, weights)[0]
                getattr(self, "op_" + op)()
                self.ops += 1
                self.ledger.count(op)
        except (ModelError, AssertionError) as e:
            self.error = "%s" % e
        except (OSError, EOFError, socket.timeout) as e:
            self.error = "%s: connection problem: %r\n%s" % (self.c.name if self.c else "?", e, traceback.format_exc())
        except Exception as e:  # noqa: B902 - any failure is this client's result
            self.error = "%s: %r\n%s" % (self.c.name if self.c else "?", e, traceback.format_exc())

    # helpers

    def check_no(self, res, ok_codes=(None, "EXPUNGEISSUED")):
        if res.status == "NO":
            self.ledger.count("NO " + res.cmd.split()[0] + ("" if res.code is None else " [%s]" % res.code))
            if res.code not in ok_codes:
                self.ledger.problem("%s: %s -> %r" % (self.c.name, res.cmd, res.tagged))

    def pick_seqs(self, most=4):
        n = len(self.c.uids)
        if n == 0:
            return None
        a = self.rng.randint(1, n)
        b = min(n, a + self.rng.randint(0, most - 1))
        return "%d" % a if a == b else "%d:%d" % (a, b)

    def pick_uids(self, most=3):
        known = [u for u in self.c.uids if u is not None]
        if not known:
            return []
        return sorted(self.rng.sample(known, min(len(known), self.rng.randint(1, most))))

    def select(self, mailbox, examine=False):
        r = self.c.select(mailbox, examine=examine)
        if self.c.uidvalidity:
            self.ledger.see_uidvalidity(mailbox, self.c.uidvalidity, self.c.name)
        return r

    def record_subjects(self, res):
        for fr, uid in res.fetches:
            if uid is None:
                continue
            for k in fr.order:
                v = fr.items[k]
                if k.startswith("BODY[") and isinstance(v, bytes):
                    m = SUBJECT.search(v)
                    if m:
                        self.ledger.see_subject(self.c.mailbox, uid, m.group(1).decode(), self.c.name)

    # operations

    def op_append(self):
        c = self.c
        if c.mailbox and len(c.uids) > MAX_BOX and not c.readonly:
            return self.trim()
        mailbox = c.mailbox if c.mailbox and self.rng.random() < 0.6 else self.rng.choice(MAILBOXES)
        self.k += 1
        token = "t%d-c%02d-%d" % (SEED, self.i, self.k)
        body = "x" * self.rng.choice((10, 100, 1000, 20000)) + "\r\n"
        flags = self.rng.sample(FLAGS[:2] + FLAGS[4:], self.rng.randint(0, 2)) or None
        r = c.do_append(mailbox, msg(token, body=body), flags=flags)
        v, uid = r.appenduid
        self.ledger.see_uidvalidity(mailbox, v, c.name)
        with self.ledger.lock:
            self.ledger.appended[(mailbox, uid)] = token
        self.ledger.see_subject(mailbox, uid, token, c.name)

    def trim(self):
        c = self.c
        uids = self.pick_uids(10)
        with self.ledger.lock:
            self.ledger.deleted.update((c.mailbox, u) for u in uids)
        c.do("UID STORE %s +FLAGS.SILENT (\\Deleted)" % ",".join(map(str, uids)))
        c.do("EXPUNGE")

    def op_store(self):
        c = self.c
        if c.mailbox is None or c.readonly or not c.uids:
            return self.op_noop()
        deleting = self.rng.random() < 0.25
        # \Deleted only by UID: the ledger then knows exactly which messages may go,
        # even when a bug has put this client's sequence numbers out of step
        use_uid = deleting or self.rng.random() < 0.4
        if use_uid:
            uids = self.pick_uids()
            if not uids:
                return self.op_noop()
            target = ",".join(map(str, uids))
        else:
            target = self.pick_seqs()
            uids = [c.uids[i] for i in c.resolve(target, False) if c.uids[i] is not None]
        kind = self.rng.choice(("+FLAGS", "+FLAGS", "FLAGS") if deleting else ("+FLAGS", "+FLAGS", "-FLAGS", "FLAGS"))
        flags = self.rng.sample(FLAGS, self.rng.randint(0 if kind == "FLAGS" else 1, 3))
        if deleting:
            flags.append("\\Deleted")
        if "\\Deleted" in flags:
            with self.ledger.lock:
                self.ledger.deleted.update((c.mailbox, u) for u in uids)
        silent = ".SILENT" if self.rng.random() < 0.3 else ""
        r = c.do("%sSTORE %s %s%s (%s)" % ("UID " if use_uid else "", target, kind, silent, " ".join(flags)),
                 allow=("OK", "NO"))
        self.check_no(r)

    def op_fetch(self):
        c = self.c
        if c.mailbox is None or not c.uids:
            return self.op_noop()
        items = self.rng.choice(["UID FLAGS", "FLAGS RFC822.SIZE INTERNALDATE", "ENVELOPE",
                                 "BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "UID BODY.PEEK[]", "BODYSTRUCTURE",
                                 "BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.20>", "BODY[]", "FAST"])
        spec = items if items == "FAST" else "(%s)" % items
        if self.rng.random() < 0.4:
            uids = self.pick_uids(5)
            text = "UID FETCH %s %s" % (",".join(map(str, uids)) or "1:*", spec)
        else:
            text = "FETCH %s %s" % ("1:*" if self.rng.random() < 0.1 else self.pick_seqs(6), spec)
        r = c.do(text, allow=("OK", "NO"))
        self.check_no(r, ok_codes=("EXPUNGEISSUED",))
        self.record_subjects(r)

    def op_expunge(self):
        c = self.c
        if c.mailbox is None or c.readonly:
            return self.op_noop()
        if self.rng.random() < 0.5:
            r = c.do("EXPUNGE")
        else:
            uids = self.pick_uids(6)
            r = c.do("UID EXPUNGE %s" % (",".join(map(str, uids)) or "1:*"))

    def _copy(self, move):
        c = self.c
        if c.mailbox is None or not c.uids or (move and c.readonly):
            return self.op_noop()
        dest = self.rng.choice(MAILBOXES)
        if move and dest == c.mailbox:
            dest = self.rng.choice([m for m in MAILBOXES if m != c.mailbox])
        name = "MOVE" if move else "COPY"
        if self.rng.random() < 0.6:
            uids = self.pick_uids(3)
            if not uids:
                return self.op_noop()
            text = "UID %s %s %s" % (name, ",".join(map(str, uids)), quote(dest))
        else:
            seqs = self.pick_seqs(3)
            uids = [c.uids[i] for i in c.resolve(seqs, False)]
            text = "%s %s %s" % (name, seqs, quote(dest))
        if move:
            # should this client fail before it reads COPYUID, these are not counted as lost
            with self.ledger.lock:
                self.ledger.in_flight[c.name] = [(c.mailbox, u) for u in uids]
        r = c.do(text, allow=("OK", "NO"))
        self.check_no(r)
        if r.status != "OK":
            with self.ledger.lock:
                self.ledger.in_flight.pop(c.name, None)
            return
        cu = None
        for ln in r.other + [r.tagged]:
            cu = copyuid(ln) or cu
        if cu is None:
            return  # nothing existed to copy (UID forms)
        v, src, dst = cu
        self.ledger.see_uidvalidity(dest, v, c.name)
        if len(src) != len(dst):
            raise ModelError("%s: COPYUID with %d source and %d destination UIDs: %r" % (c.name, len(src), len(dst), r.lines))
        with self.ledger.lock:
            self.ledger.in_flight.pop(c.name, None)
            for s, d in zip(src, dst):
                if move:
                    self.ledger.moved[(c.mailbox, s)] = (dest, d)
                subj = self.ledger.subject.get((c.mailbox, s))
                if subj is not None:
                    old = self.ledger.subject.setdefault((dest, d), subj)
                    if old != subj:
                        raise ModelError("%s: COPYUID gave %s UID %d for %r, which was %r" % (c.name, dest, d, subj, old))

    def op_move(self):
        self._copy(True)

    def op_copy(self):
        self._copy(False)

    def op_noop(self):
        self.c.noop()

    def op_search(self):
        c = self.c
        if c.mailbox is None:
            return self.op_noop()
        before = list(c.uids)
        q = self.rng.choice(["ALL", "UNSEEN", "FLAGGED", "DELETED", "KEYWORD $Work", "SUBJECT t%d" % SEED])
        if self.rng.random() < 0.5:
            r = c.do("UID SEARCH " + q)
            if None not in before and r.search is not None:
                extra = set(r.search) - set(before)
                if extra:
                    raise ModelError("%s: UID SEARCH %s returned UIDs %r this client was never told of" % (c.name, q, sorted(extra)))
        else:
            r = c.do("SEARCH " + q)
            if r.search is not None and any(not 1 <= n <= len(before) for n in r.search):
                raise ModelError("%s: SEARCH %s returned %r with %d messages in the view" % (c.name, q, r.search, len(before)))

    def op_idle(self):
        c = self.c
        tag, res, cont = c.idle_start()
        if cont is None:
            raise ModelError("%s: IDLE answered %r" % (c.name, res.tagged))
        c.idle_until(res, lambda r: False, self.rng.uniform(0.02, 0.2))
        c.idle_done(tag, res)
        c.fill()

    def op_select(self):
        self.select(self.rng.choice(MAILBOXES), examine=self.rng.random() < 0.15)

    def op_status(self):
        r = self.c.do("STATUS %s (MESSAGES UIDNEXT UNSEEN)" % quote(self.rng.choice(MAILBOXES)))
        self.c.fill()


def test_stress_shared_mailboxes():
    print("  seed %d (GANNET_STRESS_SEED), %d clients (GANNET_STRESS_CLIENTS), %.0f s (GANNET_STRESS_SECONDS)"
          % (SEED, CLIENTS, SECONDS), flush=True)
    t_start = time.time()
    with live_server(3) as srv:
        setup = live_client(srv, name="setup")
        for m in MAILBOXES[1:]:
            setup.do("CREATE %s" % quote(m))
        setup.do("LOGOUT")
        ledger = Ledger()
        deadline = time.time() + SECONDS
        workers = [Worker(srv, i, ledger, deadline) for i in range(CLIENTS)]
        threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
        for t in threads:
            t.start()
        time.sleep(min(2.0, SECONDS / 2))
        spread = {}
        for w in workers:
            if w.c is not None:
                p = worker_of(srv, w.c)
                spread[p] = spread.get(p, 0) + 1
        print("  clients per worker: %r (workers %r)" % (spread, worker_pids(srv.proc.pid)), flush=True)
        for t in threads:
            t.join(max(1.0, deadline + 25 - time.time()))
        hung = [w.c.name if w.c else "s%02d" % w.i for w, t in zip(workers, threads) if t.is_alive()]
        errors = [w.error for w in workers if w.error]
        print("  %d operations in %.1f s: %s" % (sum(w.ops for w in workers), time.time() - t_start,
              ", ".join("%s %d" % kv for kv in sorted(ledger.counts.items()))), flush=True)
        assert srv.alive(), "the server died"

        # every client: NOOP, then its view must be the mailbox's
        truths = {m: truth(srv, m) for m in MAILBOXES}
        print("  mailboxes at the end: %s" % ", ".join("%s %d" % (m, len(v)) for m, v in truths.items()), flush=True)
        mismatched = []
        for w, t in zip(workers, threads):
            c = w.c
            if w.error or t.is_alive() or c is None:
                continue
            try:
                c.noop()
                if c.mailbox is not None:
                    got, want = c.view(), truths[c.mailbox]
                    if got != want:
                        mismatched.append(describe_mismatch(c, got, want))
                for p in c.collect_syntax:
                    ledger.problem("%s: %s" % (c.name, p))
                c.do("LOGOUT")
            except (ModelError, AssertionError, OSError, EOFError) as e:
                errors.append("%s at the final NOOP: %s" % (c.name, e))

        # no message lost
        present = {(m, u) for m, v in truths.items() for u, _ in v}
        # a UID names one message for good: the Subjects now are the ones first seen
        checker = live_client(srv, name="final")
        for m in MAILBOXES:
            checker.select(m, examine=True)
            if checker.uids:
                r = checker.do("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                try:
                    for fr, uid in r.fetches:
                        sm = SUBJECT.search(fr.get("BODY[HEADER.FIELDS (SUBJECT)]") or b"")
                        if sm:
                            ledger.see_subject(m, uid, sm.group(1).decode(), "final check")
                except ModelError as e:
                    errors.append(str(e))
        checker.do("LOGOUT")
        deleted = set(ledger.deleted)
        changed = True
        while changed:  # \Deleted travels with MOVE
            changed = False
            for s, d in ledger.moved.items():
                if s in deleted and d not in deleted:
                    deleted.add(d)
                    changed = True
        lost, uncertain = [], []
        # MOVEs whose COPYUID a client never read because it failed during them
        unsure = {x for xs in ledger.in_flight.values() for x in xs}
        for (m, u), token in sorted(ledger.appended.items()):
            loc, path = (m, u), [(m, u)]
            while loc in ledger.moved and len(path) < 1000:
                loc = ledger.moved[loc]
                path.append(loc)
            if loc in present or any(p in deleted for p in path):
                continue
            if loc in unsure or (loc[1] is None):
                uncertain.append(token)
                continue
            lost.append("%s (appended as %s UID %d; path %r)" % (token, m, u, path))
        # every message present is one a client appended, moved or copied: its Subject matches
        strangers = []
        for m, v in truths.items():
            for u, _ in v:
                if (m, u) not in ledger.subject:
                    strangers.append((m, u))

        report = []
        if hung:
            report.append("clients still running %d s after the deadline: %r" % (25, hung))
        if errors:
            report.append("%d clients failed; the first ones:\n%s" % (
                len(errors), "\n\n".join(e if len(e) < 7000 else e[:1500] + "\n[...]\n" + e[-5500:] for e in errors[:3])))
        if mismatched:
            report.append("%d clients' views differ from the mailbox after NOOP; the first ones:\n%s"
                          % (len(mismatched), "\n".join(mismatched[:5])))
        if uncertain:
            print("  %d messages gone that a failed client's MOVE may have carried away: %r" % (len(uncertain), uncertain[:10]))
        if lost:
            report.append("%d messages lost (APPEND OK, not moved away, never \\Deleted): %s" % (len(lost), lost[:10]))
        if ledger.problems:
            kinds = {}
            for p in ledger.problems:
                kinds.setdefault(re.sub(r"^s\d+: ", "", p).split(":")[0][:60], p)
            report.append("protocol problems (one example per kind, %d in all):\n  %s"
                          % (len(ledger.problems), "\n  ".join(kinds.values())))
        if strangers and not errors:
            report.append("%d messages in the mailboxes that no client appended, moved or copied: %r"
                          % (len(strangers), strangers[:10]))
        print("  seed %d; %.1f s in all" % (SEED, time.time() - t_start), flush=True)
        assert not report, "stress (seed %d):\n" % SEED + "\n\n".join(report)


def describe_mismatch(c, got, want):
    g, w = dict(got), dict(want)
    only_c = sorted(set(g) - set(w))
    only_m = sorted(set(w) - set(g))
    flags = [(u, sorted(g[u]), sorted(w[u])) for u in sorted(set(g) & set(w)) if g[u] != w[u]]
    order = [u for u, _ in got] != sorted(u for u, _ in got)
    hist = "".join("\n      UID %d as %s heard of it, last events:\n        %s" % (u, c.name, "\n        ".join(c.history[u]))
                   for u, _, _ in flags[:2])
    return ("  %s on %s: UIDs only in its view %r, only in the mailbox %r, flags differ (uid, view, mailbox) %r%s%s"
            % (c.name, c.mailbox, only_c[:10], only_m[:10], flags[:6], " (not ascending)" if order else "", hist))


if __name__ == "__main__":
    sys.exit("run with tests/integration/run.py test_stress")
