"""Bad input: malformed, truncated, oversize and binary command lines, and
literals that lie about their length, sent in each protocol state.

After every case the connection must either
  - reject it: a tagged BAD/NO for its tag (or an untagged "* BAD" when the
    line has no usable tag), and then answer a following NOOP with OK, or
  - say "* BYE" and close.
A tagged OK for anything malformed is a failure, and so is a continuation
request for a literal the server has to refuse, a close without "* BYE", or
silence.  After each batch a witness connection opened before the batch and a
fresh connection opened after it must both still be served, and the server
must still run.

The generated cases come from a fixed seed, so a failure names the same bytes
on every run.  Everything runs on 127.0.0.1 with bounded socket timeouts."""

import base64
import os
import random
import re
import socket
import threading
import time


NA, AU, SE = "not-authenticated", "authenticated", "selected"
ALL = (NA, AU, SE)
READ_TIMEOUT = 10.0  # one read; the server answers a NOOP in milliseconds
BATCH_BUDGET = 75.0  # seconds per state batch; the runner's limit is 120 s
BADNO = (b"BAD", b"NO")
QUICKACK = getattr(socket, "TCP_QUICKACK", 12)
DEFAULT_MAILBOXES = {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}

# Every command name that some IMAP extension defines: a generated "unknown
# command" must not be one of these (nor a prefix that happens to be one).
KNOWN_COMMANDS = {
    "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "AUTHENTICATE", "LOGIN", "ENABLE", "SELECT", "EXAMINE",
    "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "NAMESPACE", "STATUS",
    "APPEND", "IDLE", "DONE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY",
    "MOVE", "UID", "ID", "SORT", "THREAD", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "GETACL", "SETACL",
    "DELETEACL", "LISTRIGHTS", "MYRIGHTS", "GETMETADATA", "SETMETADATA", "COMPRESS", "NOTIFY", "ESEARCH",
    "XLIST", "REPLACE", "UNAUTHENTICATE", "CONVERSIONS", "CONVERT", "URLFETCH", "RESETKEY", "GENURLAUTH",
    "CANCELUPDATE", "CONTEXT", "ESORT", "LANGUAGE", "COMPARATOR", "X", "XAPPLEPUSHSERVICE",
}


# --------------------------------------------------------------------------
# cases

class Cont:
    """Wait for the server's "+" continuation request and then send data; if
    the command gets its tagged reply instead, the data is not sent (as RFC
    9051 section 7.5 tells a client) and nor is anything after it."""

    def __init__(self, data):
        self.data = data


class Refuse:
    """The command so far carries a synchronising literal the server must
    refuse: it has to answer the tag, never with a continuation request."""


class Case:
    def __init__(self, name, parts, tag=b"a1", states=ALL, expect=BADNO, ok_tags=(), need_reject=True,
                 no_code=None):
        self.name = name
        self.parts = [p.encode("latin-1") if isinstance(p, str) else p for p in parts]
        self.tag = tag  # the tag that must get a tagged BAD/NO; None: the line has no usable tag
        self.states = states
        self.expect = expect  # allowed results for self.tag
        self.ok_tags = set(ok_tags)  # tags of well-formed commands hidden in the input
        self.need_reject = need_reject
        self.no_code = no_code  # a NO for self.tag must carry this response code

    def payload(self):
        out = []
        for p in self.parts:
            if isinstance(p, bytes):
                out.append(p)
            elif isinstance(p, Cont):
                out.append(b"<+>" + p.data)
            else:
                out.append(b"<refuse>")
        return b"".join(out)

    def __repr__(self):
        data = self.payload()
        shown = data if len(data) <= 160 else data[:120] + b"...(%d bytes)..." % len(data) + data[-30:]
        return "%s: %r" % (self.name, shown)


def b(s):
    return s.encode("latin-1") if isinstance(s, str) else s


def line(name, text, **kw):
    """One command line; CRLF is appended."""
    return Case(name, [b(text) + b"\r\n"], **kw)


def raw(name, *parts, **kw):
    """Exact bytes, with Cont/Refuse steps between them."""
    return Case(name, [b(p) if isinstance(p, (str, bytes)) else p for p in parts], **kw)


def lit(data):
    return Cont(b(data))


PLAIN_OK = base64.b64encode(b"\0alice\0secret-pw").decode()


def handwritten():
    c = []
    # lines without a usable tag
    c += [
        raw("empty line", "\r\n", tag=None),
        raw("spaces only", "   \r\n", tag=None),
        raw("tab only", "\t\r\n", tag=None),
        line("tag only", "a1", tag=None),
        line("tag and space", "a1 ", tag=None),
        line("tag '*'", "* NOOP", tag=None),
        line("tag '+'", "+ NOOP", tag=None),
        line("tag with '{'", "a{b NOOP", tag=None),
        line("tag with '%'", "a%b NOOP", tag=None),
        line("tag with '('", "a(b NOOP", tag=None),
        line("tag with ')'", "a)b NOOP", tag=None),
        line("tag with '*'", "a*b NOOP", tag=None),
        line("tag with '+'", "a+b NOOP", tag=None),
        line("tag with DQUOTE", 'a"b NOOP', tag=None),
        line("tag with backslash", "a\\b NOOP", tag=None),
        line("tag with CTL", "a\x01b NOOP", tag=None),
        line("tag with DEL", "a\x7fb NOOP", tag=None),
        line("tag with NUL", "a\x00b NOOP", tag=None),
        line("tag with 8-bit byte", "\xffa NOOP", tag=None),
        line("tag with UTF-8", "t\xc3\xa9 NOOP", tag=None),
        line("leading space (empty tag)", " NOOP", tag=None),
        line("quoted tag", '"a1" NOOP', tag=None),
        raw("literal as tag", "{3}\r\n", lit("abc NOOP\r\n"), tag=None),
        line("only NUL bytes", "\x00\x00\x00\x00", tag=None),
        line("only 8-bit bytes", "\xff\xfe\xfd\x80\x81", tag=None),
        line("only parentheses", "(((", tag=None),
    ]
    # unknown and malformed command names
    c += [
        line("unknown command", "a1 FOO"),
        line("unknown command with args", "a1 XYZZY arg1 (arg2) \"arg3\""),
        line("command name with suffix", "a1 NOOPX"),
        line("truncated command name", "a1 NOO"),
        line("numeric command", "a1 123"),
        line("NUL in command name", "a1 N\x00OP"),
        line("8-bit in command name", "a1 NO\xffOP"),
        line("UTF-8 command name", "a1 \xc3\xa9NOOP"),
        line("quoted command name", 'a1 "NOOP"'),
        raw("literal command name", "a1 {4}\r\n", lit("NOOP\r\n")),
        line("list as command", "a1 (NOOP)"),
        line("empty list as command", "a1 ()"),
        line("wildcard command", "a1 *"),
        line("flag as command", "a1 \\NOOP"),
        line("UID alone", "a1 UID"),
        line("UID NOOP", "a1 UID NOOP"),
        line("UID unknown", "a1 UID FOO 1"),
        line("DONE outside IDLE", "a1 DONE"),
        line("bare DONE", "DONE", tag=None),
        line("IDLE with argument", "a1 IDLE now"),
        line("STARTTLS with argument", "a1 STARTTLS now"),
    ]
    # missing and extra arguments, unbalanced parentheses and quotes
    c += [
        line("NOOP with argument", "a1 NOOP extra"),
        line("NOOP with trailing space", "a1 NOOP "),
        line("double space after tag", "a1  NOOP"),
        line("NOOP with open paren", "a1 NOOP ("),
        line("NOOP with close paren", "a1 NOOP )"),
        line("CAPABILITY with argument", "a1 CAPABILITY x"),
        line("LOGOUT with argument", "a1 LOGOUT now"),
        line("NAMESPACE with argument", "a1 NAMESPACE x"),
        line("CHECK with argument", "a1 CHECK x"),
        line("CLOSE with argument", "a1 CLOSE x"),
        line("UNSELECT with argument", "a1 UNSELECT x"),
        line("LOGIN without arguments", "a1 LOGIN"),
        line("LOGIN without password", "a1 LOGIN alice"),
        line("LOGIN with extra argument", "a1 LOGIN alice secret-pw extra"),
        line("LOGIN with list", "a1 LOGIN (alice) secret-pw"),
        line("LOGIN unterminated quote", 'a1 LOGIN "alice secret-pw'),
        line("LOGIN bad escape", 'a1 LOGIN alice "secret\\-pw"'),
        line("LOGIN NUL in password", "a1 LOGIN alice secret-pw\x00"),
        line("LOGIN NUL in quoted user", 'a1 LOGIN "ali\x00ce" secret-pw'),
        line("LOGIN bare CR in quoted", 'a1 LOGIN "ali\rce" secret-pw'),
        line("AUTHENTICATE without mechanism", "a1 AUTHENTICATE"),
        line("AUTHENTICATE bad base64", "a1 AUTHENTICATE PLAIN !!!!"),
        line("AUTHENTICATE extra argument", "a1 AUTHENTICATE PLAIN %s extra" % PLAIN_OK),
        line("AUTHENTICATE list", "a1 AUTHENTICATE (PLAIN)"),
        raw("AUTHENTICATE cancelled", "a1 AUTHENTICATE PLAIN\r\n", lit("*\r\n")),
        line("SELECT without mailbox", "a1 SELECT"),
        line("SELECT extra argument", "a1 SELECT INBOX extra"),
        line("SELECT open paren", "a1 SELECT INBOX ("),
        line("SELECT list as name", "a1 SELECT (INBOX)"),
        line("SELECT unterminated quote", 'a1 SELECT "INBOX'),
        line("SELECT unknown parameter", "a1 SELECT INBOX (XFOOPARAM)", expect=(b"BAD",)),
        line("SELECT bad escape", 'a1 SELECT "IN\\BOX"'),
        line("SELECT NUL in name", 'a1 SELECT "IN\x00BOX"'),
        line("EXAMINE without mailbox", "a1 EXAMINE"),
        line("EXAMINE two mailboxes", "a1 EXAMINE INBOX Sent"),
        line("CREATE without name", "a1 CREATE"),
        line("CREATE two names", "a1 CREATE a b"),
        line("CREATE unterminated quote", 'a1 CREATE "unterminated'),
        line("CREATE bad escape", 'a1 CREATE "a\\b"'),
        line("CREATE escaped final quote", 'a1 CREATE "a\\"'),
        line("CREATE bare CR in quoted", 'a1 CREATE "a\rb"'),
        line("CREATE list as name", "a1 CREATE (foo)"),
        line("CREATE stray close paren", "a1 CREATE foo)"),
        line("CREATE 8-bit atom", "a1 CREATE \xe2\x82\xac"),
        line("CREATE invalid UTF-8 quoted", 'a1 CREATE "\xff\xfe"'),
        raw("CREATE literal then extra argument", "a1 CREATE {3}\r\n", lit("foo bar\r\n")),
        line("DELETE without name", "a1 DELETE"),
        line("DELETE two names", "a1 DELETE a b"),
        line("RENAME without names", "a1 RENAME"),
        line("RENAME one name", "a1 RENAME foo"),
        line("RENAME three names", "a1 RENAME foo bar baz"),
        line("SUBSCRIBE without name", "a1 SUBSCRIBE"),
        line("SUBSCRIBE two names", "a1 SUBSCRIBE a b"),
        line("UNSUBSCRIBE without name", "a1 UNSUBSCRIBE"),
        line("LIST without arguments", "a1 LIST"),
        line("LIST one argument", 'a1 LIST ""'),
        line("LIST extra argument", 'a1 LIST "" "*" extra'),
        line("LIST arguments in a list", 'a1 LIST ("" "*")'),
        line("LIST unbalanced selection", 'a1 LIST (SUBSCRIBED "" "*"'),
        line("LIST unknown selection option", 'a1 LIST (XFOOOPT) "" "*"', expect=(b"BAD",)),
        line("LIST RECURSIVEMATCH alone", 'a1 LIST (RECURSIVEMATCH) "" "*"', expect=(b"BAD",)),
        line("LIST RETURN without options", 'a1 LIST "" "*" RETURN'),
        line("LIST RETURN unbalanced", 'a1 LIST "" "*" RETURN (CHILDREN'),
        line("LIST RETURN unknown option", 'a1 LIST "" "*" RETURN (XFOOOPT)', expect=(b"BAD",)),
        line("LIST RETURN STATUS without list", 'a1 LIST "" "*" RETURN (STATUS)'),
        line("LIST RETURN STATUS bad item", 'a1 LIST "" "*" RETURN (STATUS (XFOO))'),
        line("LIST escaped wildcard", 'a1 LIST "" "\\*"'),
        line("LIST NUL in pattern", 'a1 LIST "" "*\x00"'),
        line("LSUB without arguments", "a1 LSUB"),
        line("LSUB one argument", 'a1 LSUB ""'),
        line("STATUS without arguments", "a1 STATUS"),
        line("STATUS without items", "a1 STATUS INBOX"),
        line("STATUS empty item list", "a1 STATUS INBOX ()"),
        line("STATUS unknown item", "a1 STATUS INBOX (XFOO)"),
        line("STATUS item without parens", "a1 STATUS INBOX MESSAGES"),
        line("STATUS unbalanced open", "a1 STATUS INBOX (MESSAGES"),
        line("STATUS unbalanced close", "a1 STATUS INBOX (MESSAGES))"),
        line("STATUS nested list", "a1 STATUS INBOX ((MESSAGES))"),
        line("STATUS extra argument", "a1 STATUS INBOX (MESSAGES) extra"),
        line("STATUS bad escape", 'a1 STATUS "IN\\BOX" (MESSAGES)'),
        line("APPEND without arguments", "a1 APPEND"),
        line("APPEND without message", "a1 APPEND INBOX"),
        line("APPEND unbalanced flags", "a1 APPEND INBOX (\\Seen"),
        line("APPEND message as atom", "a1 APPEND INBOX abc"),
        line("APPEND message as quoted", 'a1 APPEND INBOX "abc"'),
        line("APPEND literal not at end of line", "a1 APPEND INBOX {3} extra"),
        line("APPEND backslash alone as flag", "a1 APPEND INBOX (\\Seen \\) {3+}\r\nabc"),
        raw("APPEND garbage date", 'a1 APPEND INBOX (\\Seen) "garbage-date" {3}\r\n', lit("abc\r\n")),
        raw("APPEND impossible date", 'a1 APPEND INBOX "32-Jan-2020 00:00:00 +0000" {3}\r\n', lit("abc\r\n")),
        raw("APPEND nested flags", "a1 APPEND INBOX ((\\Seen)) {3}\r\n", lit("abc\r\n")),
        raw("APPEND NUL in message", "a1 APPEND INBOX {3+}\r\na\x00c\r\n"),
        line("ENABLE without capability", "a1 ENABLE"),
        line("ENABLE list", "a1 ENABLE (IMAP4rev2)"),
        line("ID without argument", "a1 ID"),
        line("ID unbalanced", "a1 ID ("),
        line("ID odd field count", 'a1 ID ("name")'),
        line("ID three strings", 'a1 ID ("a" "b" "c")'),
        line("ID atom argument", "a1 ID foo"),
        line("ID unterminated list", 'a1 ID ("a" "b"'),
    ]
    # SASL PLAIN responses that decode but must not log anyone in
    def b64(x):
        return base64.b64encode(x.encode("latin-1")).decode()
    c += [
        raw("AUTHENTICATE empty initial response", "a1 AUTHENTICATE PLAIN =\r\n", lit("*\r\n")),
        raw("AUTHENTICATE continuation not base64", "a1 AUTHENTICATE PLAIN\r\n", lit("!!!!\r\n")),
        raw("AUTHENTICATE continuation without NULs", "a1 AUTHENTICATE PLAIN\r\n",
            lit(b64("alice secret-pw") + "\r\n")),
        raw("AUTHENTICATE continuation with a literal", "a1 AUTHENTICATE PLAIN\r\n", lit("{5}\r\n")),
        raw("AUTHENTICATE continuation 200 KB", "a1 AUTHENTICATE PLAIN\r\n", lit("QUFB" * 50000 + "\r\n"),
            tag=None),
        line("AUTHENTICATE PLAIN as another authzid", "a1 AUTHENTICATE PLAIN " + b64("bob\0alice\0secret-pw")),
        line("AUTHENTICATE PLAIN with a fourth field", "a1 AUTHENTICATE PLAIN " + b64("\0alice\0secret-pw\0x")),
        line("AUTHENTICATE PLAIN without authcid", "a1 AUTHENTICATE PLAIN " + b64("\0\0secret-pw")),
        line("AUTHENTICATE PLAIN two mechanisms", "a1 AUTHENTICATE PLAIN LOGIN"),
    ]
    # bad sequence sets
    for i, s in enumerate(["0", "1:", ":1", "1,,2", "1:2:3", "a", "-1", "1.5", "4294967296",
                           "99999999999999999999", "1,", ",1", "**", "1:*:2", "*:", "1 :2", "0:0"]):
        cmd = ["FETCH %s FLAGS", "STORE %s +FLAGS (\\Seen)", "COPY %s Sent", "UID FETCH %s (UID)",
               "SEARCH UID %s", "MOVE %s Sent", "UID STORE %s FLAGS ()"][i % 7]
        c.append(line("bad sequence set %r" % s, "a1 " + cmd % s))
    # deep nesting
    for depth in (1000, 10000):
        c += [
            line("STATUS nested %d deep" % depth, "a1 STATUS INBOX " + "(" * depth + "MESSAGES" + ")" * depth),
            line("NOOP with %d open parens" % depth, "a1 NOOP " + "(" * depth),
            line("LIST nested %d deep" % depth, "a1 LIST " + "(" * depth + ")" * depth + ' "" "*"'),
            line("FETCH nested %d deep" % depth, "a1 FETCH 1 " + "(" * depth + "FLAGS" + ")" * depth),
            line("APPEND flags nested %d deep" % depth,
                 "a1 APPEND INBOX " + "(" * depth + ")" * depth + " {3+}\r\nabc"),
            line("%d close parens" % depth, "a1 STATUS INBOX (MESSAGES" + ")" * depth),
        ]
    # bare CR and bare LF
    c += [
        raw("bare CR between commands", "a1 NOOP\ra2 NOOP\r\n"),
        raw("bare LF between commands", "a1 NOOP\na2 NOOP\r\n"),
        raw("bare LF as first byte", "\na2 NOOP\r\n", tag=None),
        raw("bare CR at end of line", "a1 NOOP\r\r\n"),
        raw("bare CR inside arguments", "a1 LOGIN alice\rsecret-pw\r\n"),
        raw("CR CR LF after LIST", 'a1 LIST "" "*"\r\r\n'),
    ]
    # literals that lie about their length, or sit where they should not
    c += [
        raw("sync literal shorter than announced, then a command",
            "a1 LOGIN {10}\r\n", lit("abc\r\na2 NOOP\r\n")),
        raw("sync literal announced 20, 7 bytes then two commands",
            "a1 SELECT {20}\r\n", lit("INBOX\r\na2 NOOP\r\na3 NOOP\r\n")),
        raw("sync literal shorter, CREATE", "a1 CREATE {10}\r\n", lit("foo\r\na2 NOOP\r\n")),
        raw("sync literal longer than announced", "a1 LOGIN {5}\r\n", lit("alicexyz secret-pw\r\n")),
        raw("LITERAL+ longer than announced", "a1 LOGIN {5+}\r\nalicexyz secret-pw\r\n"),
        raw("LITERAL+ password shorter, then a command", "a1 LOGIN alice {9+}\r\nsecret\r\n", "a2 NOOP\r\n"),
        raw("LITERAL+ APPEND shorter, then commands", "a1 APPEND INBOX {10+}\r\nabc\r\n",
            "a2 NOOP\r\na3 NOOP\r\n", ok_tags=[b"a3"]),
        raw("LITERAL+ APPEND longer than announced", "a1 APPEND INBOX {3+}\r\nabcdef\r\n"),
        raw("LOGIN literal user, no password", "a1 LOGIN {5}\r\n", lit("alice\r\n")),
        raw("LOGIN literal then garbage", "a1 LOGIN {5}\r\n", lit("alice\x00\x01\x02\r\n")),
        raw("LOGIN three LITERAL+ arguments", "a1 LOGIN {5+}\r\nalice {9+}\r\nsecret-pw {3+}\r\nabc\r\n"),
        raw("LOGIN NUL inside literal", "a1 LOGIN {5}\r\n", lit("al\x00ce secret-pw\r\n")),
        raw("LITERAL+ on unknown command hides a command",
            "a1 XFOO {9+}\r\nx1 NOOP\r\n\r\n"),
        raw("LITERAL+ after syntax error hides a command",
            "a1 NOOP ( {9+}\r\nx1 NOOP\r\n\r\n"),
        raw("LITERAL+ on a line without tag hides a command",
            "* XFOO {9+}\r\nx1 NOOP\r\n\r\n", tag=None),
        raw("sync literal on unknown command", "a1 XFOO {9}\r\n", lit("x1 NOOP\r\n\r\n")),
        raw("literal not followed by CRLF", "a1 LOGIN {5}x\r\n"),
        raw("literal followed by bare LF", "a1 LOGIN {5}\n", "alice secret-pw\r\n"),
        raw("zero-length literal mailbox", "a1 CREATE {0}\r\n", lit(" extra\r\n")),
        raw("binary literal in LOGIN", "a1 LOGIN ~{5}\r\n", lit("alice secret-pw\r\n")),
        raw("literal after a stray brace", "a1 LOGIN {{5}\r\n", lit("alice secret-pw\r\n")),
    ]
    # big literals that are read in full and then rejected: nothing is stored
    mb = 1024 * 1024
    c += [
        raw("APPEND 1 MB literal then an extra argument", "a1 APPEND INBOX {%d}\r\n" % mb,
            Cont(b"X" * mb + b" extra\r\n")),
        raw("APPEND 1 MB LITERAL+ then garbage", b"a1 APPEND INBOX {%d+}\r\n" % mb + b"X" * mb + b"garbage\r\n"),
        raw("APPEND 1 MB LITERAL+ with NUL bytes", b"a1 APPEND INBOX {%d+}\r\n" % mb + b"\0" * mb + b"\r\n"),
        raw("APPEND literal then a flag list", "a1 APPEND INBOX {3+}\r\nabc (\\Seen)\r\n"),
        raw("LOGIN 100 KB literal user name", "a1 LOGIN {%d}\r\n" % (100 * 1024),
            Cont(b"u" * 100 * 1024 + b" secret-pw\r\n")),
        raw("CREATE 200 KB literal name", "a1 CREATE {%d+}\r\n" % (200 * 1024) + "n" * 200 * 1024 + "\r\n"),
        raw("two literals without a space", "a1 LOGIN {5+}\r\nalice{9+}\r\nsecret-pw\r\n"),
        raw("literal as a STATUS item", "a1 STATUS INBOX ({8+}\r\nMESSAGES)\r\n"),
        raw("literal as a flag", "a1 APPEND INBOX ({5+}\r\n\\Seen) {3+}\r\nabc\r\n"),
        raw("literal as the command name after LITERAL+", "a1 {4+}\r\nNOOP\r\n"),
    ]
    # huge and garbage literal sizes: refused without a continuation request
    for n in ["99999999999", "4294967296", "4294967297", "18446744073709551615", "18446744073709551616",
              "18446744073709551617", "1000000000"]:
        c.append(raw("LOGIN literal {%s}" % n, "a1 LOGIN {%s}\r\n" % n, Refuse()))
    for n in ["99999999999", "4294967296", "4294967297", "18446744073709551616", "18446744073709551617"]:
        c.append(raw("APPEND literal {%s}" % n, "a1 APPEND INBOX {%s}\r\n" % n, Refuse(), no_code=b"[TOOBIG]"))
    for n in ["-1", "1a", "", "+", " 5", "5 ", "0x10", "1e3", "+5", "5++", "5-", "5.0", "\xff"]:
        c.append(raw("LOGIN literal size {%s}" % n, "a1 LOGIN {%s}\r\n" % n, Refuse()))
    for n in ["-1+", "1a+", "+5+", " 5+"]:
        c.append(raw("LITERAL+ size {%s}" % n, "a1 LOGIN {%s}\r\n" % n))
    c.append(raw("literal size with extra brace", "a1 LOGIN {5}}\r\n", Refuse()))
    # commands in the wrong state: a tagged BAD that says which state is needed
    wrong = {
        NA: ["SELECT INBOX", "EXAMINE INBOX", "CREATE foo", "DELETE foo", "RENAME foo bar", "SUBSCRIBE INBOX",
             "UNSUBSCRIBE INBOX", 'LIST "" "*"', 'LSUB "" "*"', "STATUS INBOX (MESSAGES)", "CHECK", "CLOSE",
             "UNSELECT", "NAMESPACE", "ENABLE IMAP4rev2", "IDLE", "FETCH 1 FLAGS", "EXPUNGE", "SEARCH ALL",
             "UID FETCH 1 FLAGS", "APPEND INBOX {3+}\r\nabc"],
        AU: ["LOGIN alice secret-pw", "AUTHENTICATE PLAIN " + PLAIN_OK, "CHECK", "CLOSE", "UNSELECT",
             "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "COPY 1 Sent", "MOVE 1 Sent",
             "UID FETCH 1 FLAGS", "EXPUNGE"],
        # (not ENABLE: RFC 5161 lets a server accept it after SELECT)
        SE: ["LOGIN alice secret-pw", "AUTHENTICATE PLAIN " + PLAIN_OK, 'LOGIN {5+}\r\nalice "secret-pw"'],
    }
    for st, cmds in wrong.items():
        for cmd in cmds:
            c.append(line("%s in %s state" % (cmd.split("\r")[0], st), "a1 " + cmd, states=(st,),
                          expect=(b"BAD",)))
    c.append(raw("APPEND sync literal in not-authenticated state", "a1 APPEND INBOX {3}\r\n", lit("abc\r\n"),
                 states=(NA,), expect=(b"BAD",)))
    c.append(raw("LOGIN with literals in selected state", "a1 LOGIN {5}\r\n", lit("alice {9}\r\n"),
                 lit("secret-pw\r\n"), states=(SE,), expect=(b"BAD",)))
    # authentication that parses but must fail (answered after a delay)
    c += [
        raw("LOGIN literal wrong password", "a1 LOGIN {5}\r\n", lit("alice {9}\r\n"), lit("secret-px\r\n"),
            states=(NA,), expect=(b"NO",)),
        raw("LOGIN literal 8-bit user", "a1 LOGIN {5}\r\n", lit("al\xffce secret-pw\r\n"), states=(NA,)),
    ]
    return c


# --------------------------------------------------------------------------
# generated cases (fixed seed)

TEMPLATES = [
    "NOOP", "CAPABILITY", "LOGOUT", 'LOGIN alice "secret-pw"', "SELECT INBOX", 'EXAMINE "INBOX"',
    'CREATE "foo/bar"', "DELETE foo", 'RENAME "foo" "bar"', 'SUBSCRIBE "Sent"', "UNSUBSCRIBE Sent",
    'LIST "" "*"', "LIST \"\" %", 'LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN SPECIAL-USE)',
    'LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))', 'LSUB "" "*"',
    "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)", "ENABLE IMAP4rev2",
    'ID ("name" "test" "version" "1")', "NAMESPACE", "CHECK", "CLOSE", "UNSELECT",
    'APPEND INBOX (\\Seen) "01-Jan-2024 10:00:00 +0000" {3+}',
]
# Bytes that are invalid anywhere in a command line outside literal data, in
# IMAP4rev1 and IMAP4rev2 alike: NUL, bytes that never occur in UTF-8 or
# cannot start a sequence, and a CR not followed by LF.
POISON = [b"\x00", b"\xff", b"\xfe", b"\x80", b"\xc0", b"\r"]
ATOM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!#&'+,;:<=>?@^`|~"
SOUP = '()"\\ {}[]<>%*'


def unclosed_positions(text):
    """Offsets at which a prefix of text leaves a quote or a paren open."""
    out, q, esc, depth = [], False, False, 0
    for i, ch in enumerate(text):
        if q:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                q = False
        elif ch == '"':
            q = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if q or depth > 0:
            out.append(i + 1)
    return out


def fix_end(data):
    """A generated line must not end in "}": that would announce a literal."""
    while data.endswith(b"}"):
        data = data[:-1] + b"x"
    return data


def generated():
    rng = random.Random(20240517)
    out = []
    n = 0

    def tag():
        nonlocal n
        n += 1
        return "g%d" % n

    for tmpl in TEMPLATES:
        cmd = tmpl.encode()
        tail = b"\r\nabc" if tmpl.endswith("+}") else b""
        # poison bytes inserted at random places
        for _ in range(4):
            t = tag().encode()
            body = t + b" " + cmd
            pos = rng.randrange(0, len(body) + 1)
            poison = rng.choice(POISON)
            data = body[:pos] + poison + body[pos:]
            usable = pos > len(t)
            out.append(Case("poison %r at %d in %r" % (poison, pos, tmpl), [data + tail + b"\r\n"],
                            tag=t if usable else None))
        # truncated where a quote or a parenthesis is still open
        cut = unclosed_positions(tmpl)
        for pos in sorted(set(rng.choice(cut) for _ in range(2))) if cut else []:
            t = tag()
            out.append(line("truncated %r at %d" % (tmpl, pos), "%s %s" % (t, tmpl[:pos]), tag=t.encode()))
        # truncated command name
        name = tmpl.split(" ")[0]
        prefixes = [name[:k] for k in range(1, len(name)) if name[:k] not in KNOWN_COMMANDS]
        if prefixes:
            t = tag()
            p = rng.choice(prefixes)
            rest = tmpl[len(name):] if rng.random() < 0.5 else ""
            if rest.endswith("+}"):
                rest = rest[:-4]
            out.append(line("command name cut to %r" % p, "%s %s%s" % (t, p, rest), tag=t.encode()))
    # printable garbage under an unknown command name
    for _ in range(30):
        t = tag()
        while True:
            cmd = "".join(rng.choice(ATOM) for _ in range(rng.randint(1, 12)))
            if cmd.upper() not in KNOWN_COMMANDS:
                break
        args = "".join(rng.choice(ATOM + SOUP) for _ in range(rng.randint(0, 80)))
        text = fix_end(("%s %s %s" % (t, cmd, args)).encode())
        out.append(Case("garbage command %r" % cmd, [text + b"\r\n"], tag=t.encode()))
    # binary lines: random bytes with at least one NUL, no CR or LF
    for _ in range(30):
        data = bytearray(rng.choice([c for c in range(256) if c not in (10, 13)])
                         for _ in range(rng.randint(1, 300)))
        data.insert(rng.randrange(len(data) + 1), 0)
        out.append(Case("binary line", [fix_end(bytes(data)) + b"\r\n"], tag=None))
    # binary arguments after a valid tag and command
    for _ in range(15):
        t = tag()
        cmd = rng.choice(["LOGIN", "SELECT", "LIST", "STATUS", "CREATE", "NOOP", "APPEND"])
        data = bytearray(rng.randrange(1, 256) for _ in range(rng.randint(1, 200)))
        data.insert(rng.randrange(len(data) + 1), 0)
        data = bytes(data).replace(b"\r", b"\x00").replace(b"\n", b"\x00")
        out.append(Case("binary %s arguments" % cmd, [fix_end(t.encode() + b" " + cmd.encode() + b" " + data)
                                                      + b"\r\n"], tag=t.encode()))
    # paren and quote soup where a status list, a fetch or a message belongs
    for _ in range(20):
        t = tag()
        soup = "".join(rng.choice(SOUP) for _ in range(rng.randint(1, 60)))
        soup += rng.choice('"\\{[<%*')  # never a valid argument list
        soup = "".join(rng.sample(soup, len(soup)))
        head = rng.choice(["STATUS INBOX ", "APPEND INBOX ", "FETCH 1 "])
        out.append(Case("soup after %s" % head.strip(), [fix_end(("%s %s%s" % (t, head, soup)).encode())
                                                         + b"\r\n"], tag=t.encode()))
    # random bad sequence sets
    bad_atoms = ["0", "", "x", "-3", "4294967296", "1:", ":", "*:*:*", "1..2", "1;2", "%", "1e2"]
    for _ in range(25):
        t = tag()
        good = [str(rng.randint(1, 50)) if rng.random() < 0.6 else "%d:%s" % (rng.randint(1, 9), rng.choice("*9"))
                for _ in range(rng.randint(0, 4))]
        good.insert(rng.randrange(len(good) + 1), rng.choice(bad_atoms))
        seq = ",".join(good)
        cmd = rng.choice(["FETCH %s FLAGS", "UID FETCH %s FLAGS", "STORE %s -FLAGS (\\Deleted)", "COPY %s Trash",
                          "UID COPY %s Trash", "SEARCH %s", "UID SEARCH UID %s", "UID EXPUNGE %s"])
        out.append(line("bad sequence set %r" % seq, "%s %s" % (t, cmd % seq), tag=t.encode()))
    # oversize lines
    for size in (5000, 9000, 17000, 33000, 65536, 70000, 131072, 250000, 400000, 1100000):
        t = tag()
        kind = rng.choice(["NOOP ", "XFOO ", "CREATE \"", "STATUS INBOX (", "LIST \"\" \""])
        filler = "".join(rng.choice(ATOM) for _ in range(64)) * (size // 64 + 1)
        out.append(Case("oversize %d bytes, %s..." % (size, kind.strip()),
                        [("%s %s%s" % (t, kind, filler[:size])).encode() + b"\r\n"], tag=None))
    return out


HANDWRITTEN = handwritten()
GENERATED = generated()


def big_cases():
    return [
        line("100 KB line", "a1 NOOP " + "x" * 100 * 1024, tag=None),
        line("1 MB line", "a1 XFOO " + "y" * 1024 * 1024, tag=None),
        line("1 MB quoted string", 'a1 LOGIN "' + "z" * 1024 * 1024 + '" pw', tag=None),
        line("100 KB of open parens", "a1 STATUS INBOX " + "(" * 100 * 1024, tag=None),
        raw("10000 LITERAL+ arguments", "a1 XFOO" + " {1+}\r\nx" * 10000 + "\r\n"),
        raw("200 KB line of bare LFs", "a1 XFOO " + "\n" * 200 * 1024 + "\r\n", tag=None),
    ]


# --------------------------------------------------------------------------
# client

class Hang(Exception):
    pass


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.reset = False
        self.send_error = None
        self.greeting = self.line()
        if self.greeting is None or not self.greeting.startswith(b"* OK"):
            raise AssertionError("bad greeting %r" % self.greeting)

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError) as e:
            self.send_error = e
            return False

    def send_async(self, data):
        """For big payloads: send from a thread while the caller reads, so a
        server that answers before reading everything cannot deadlock us."""
        t = threading.Thread(target=self.send, args=(data,), daemon=True)
        t.start()
        return t

    def line(self):
        """The next line without CRLF, or None at EOF (or reset)."""
        while b"\r\n" not in self.buf:
            if self.eof:
                if self.buf:
                    rest, self.buf = self.buf, b""
                    return rest
                return None
            try:
                # answer at once: a server that writes a reply in pieces
                # without TCP_NODELAY would otherwise wait for our delayed ACK
                self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise Hang("no complete line from the server within %.0f s (have %r)"
                           % (READ_TIMEOUT, self.buf[:200])) from None
            except ConnectionResetError:
                self.reset = True
                chunk = b""
            if not chunk:
                self.eof = True
            self.buf += chunk
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out

    def cmd(self, tag, text):
        self.send(b(tag) + b" " + b(text) + b"\r\n")
        tag = b(tag) + b" "
        lines = []
        while True:
            ln = self.line()
            if ln is None:
                raise AssertionError("connection closed during %r; got %r" % (text, lines))
            if ln.startswith(tag):
                return lines, ln
            lines.append(ln)

    def ok(self, tag, text):
        lines, tagged = self.cmd(tag, text)
        assert tagged.startswith(b(tag) + b" OK"), (text, tagged)
        return lines

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def open_state(srv, state):
    c = Conn(srv.port)
    if state in (AU, SE):
        c.ok("L1", 'LOGIN alice "secret-pw"')
    if state == SE:
        c.ok("S1", "SELECT INBOX")
    return c


def sentinels(state, n):
    """Well-formed commands that must be answered OK after every case; in
    the selected state CHECK also proves the mailbox is still selected."""
    out = [(b"z%d" % n, b"NOOP")]
    if state == SE:
        out.append((b"y%d" % n, b"CHECK"))
    return out


def short(data, n=300):
    return data if len(data) <= n else data[:n] + b"...(%d bytes)" % len(data)


class Outcome:
    def __init__(self, case, sent):
        self.case = case
        self.sent = {t: None for t, _ in sent}
        self.lines = []
        self.errors = []
        self.bye = False
        self.closed = False
        self.rejected = False
        self.case_reply = None
        self.got_no = False

    def err(self, msg):
        self.errors.append(msg)

    def take(self, ln):
        """Judges one server line that is not a continuation request."""
        self.lines.append(ln)
        if ln.startswith(b"* BYE"):
            self.bye = True
            self.rejected = True
            return
        if ln.startswith(b"* BAD"):
            self.rejected = True
            return
        if ln.startswith(b"*"):
            return
        tag, _, rest = ln.partition(b" ")
        status = rest.split(b" ", 1)[0].upper()
        if tag in self.sent:
            if status == b"BAD" and tag.startswith(b"y") and self.got_no:
                pass  # a failed SELECT/EXAMINE leaves no mailbox selected (RFC 9051 6.3.2)
            elif status != b"OK":
                self.err("well-formed %r got %r" % (tag, short(ln)))
            self.sent[tag] = ln
            return
        if status == b"OK" and tag not in self.case.ok_tags:
            self.err("OK for malformed input: %r" % short(ln))
            return
        if status not in (b"OK", b"BAD", b"NO"):
            self.err("tagged reply with bad status: %r" % short(ln))
            return
        if status != b"OK":
            self.rejected = True
        if status == b"NO":
            self.got_no = True
        if tag == self.case.tag and self.case_reply is None:
            self.case_reply = ln
            if status not in self.case.expect:
                self.err("expected %s for %r, got %r" % ("/".join(s.decode() for s in self.case.expect),
                                                          tag, short(ln)))
            elif status == b"NO" and self.case.no_code and self.case.no_code not in ln:
                self.err("NO without %s: %r" % (self.case.no_code.decode(), short(ln)))

    def drain_after_bye(self, conn):
        """After "* BYE" the server closes: read the rest, which must end in EOF."""
        while True:
            ln = conn.line()
            if ln is None:
                self.closed = True
                return
            if ln.startswith(b"+"):
                self.err("continuation request after BYE: %r" % short(ln))
            else:
                self.take(ln)


def run_case(conn, case, state, n):
    """Sends one case and then the sentinels; returns an Outcome."""
    sent = sentinels(state, n)
    out = Outcome(case, sent)
    parts = list(case.parts)
    pending = []  # plain bytes not yet sent
    try:
        for p in parts:
            if isinstance(p, bytes):
                pending.append(p)
                continue
            if pending:
                conn.send(b"".join(pending))
                pending = []
            # wait for "+" (Cont) or for the tagged reply (Cont, Refuse)
            answered = False
            while True:
                ln = conn.line()
                if ln is None:
                    if not out.bye:
                        out.err("connection closed without * BYE (waiting for continuation)")
                    out.closed = True
                    return out
                if ln.startswith(b"+"):
                    if isinstance(p, Refuse):
                        out.err("continuation request for a literal that must be refused: %r" % short(ln))
                        out.closed = True  # the server now waits for the literal: start over
                        return out
                    conn.send(p.data)
                    break
                out.take(ln)
                if out.bye:
                    out.drain_after_bye(conn)
                    return out
                if out.case_reply is not None or out.rejected:
                    answered = True  # rejected before the literal: the data must not follow
                    break
            if answered:
                pending = []
                break
        final = b"".join(pending) + b"".join(t + b" " + c + b"\r\n" for t, c in sent)
        if len(final) > 65536:
            sender = conn.send_async(final)
        else:
            sender = None
            conn.send(final)
        while any(v is None for v in out.sent.values()):
            ln = conn.line()
            if ln is None:
                if not out.bye:
                    out.err("connection %s without * BYE" % ("reset" if conn.reset else "closed"))
                out.closed = True
                break
            if ln.startswith(b"+"):
                out.err("unexpected continuation request: %r" % short(ln))
                out.closed = True
                break
            out.take(ln)
            if out.bye:
                out.drain_after_bye(conn)
                break
        if sender is not None:
            sender.join(READ_TIMEOUT)
    except Hang as e:
        out.err(str(e))
        out.closed = True
        return out
    if not out.bye and not out.closed:
        if case.tag is not None and out.case_reply is None:
            out.err("no tagged reply for %r" % case.tag)
        if case.need_reject and not out.rejected:
            out.err("no BAD/NO/BYE for malformed input")
    elif out.bye and not out.closed:
        out.err("* BYE but the connection stayed open")
    return out


def describe(state, case, out):
    lines = [short(x, 200) for x in out.lines[-8:]]
    return "[%s] %r\n      errors: %s\n      server said: %r" % (state, case, "; ".join(out.errors), lines)


def serve_check(srv, what):
    assert srv.alive(), "server died (%s):\n%s" % (what, srv.log()[-3000:])
    c = Conn(srv.port)
    c.ok("c1", 'LOGIN alice "secret-pw"')
    c.ok("c2", "NOOP")
    c.ok("c3", "LOGOUT")
    c.close()


def run_batch(srv, state, cases, budget=BATCH_BUDGET):
    deadline = time.time() + budget
    witness = open_state(srv, AU)
    failures = []
    conn = open_state(srv, state)
    n = 0
    for case in cases:
        if state not in case.states:
            continue
        if time.time() > deadline:
            failures.append("[%s] time budget of %.0f s used up before %r" % (state, budget, case))
            break
        n += 1
        out = run_case(conn, case, state, n)
        if out.errors:
            failures.append(describe(state, case, out))
        if out.closed or out.errors or out.bye:
            conn.close()
            try:
                conn = open_state(srv, state)
            except Exception as e:  # noqa: B902 - the server stopped serving: report what broke it
                raise AssertionError("server no longer serves after %r: %s\nfailures so far:\n%s\n%s"
                                     % (case, e, "\n".join(failures), srv.log()[-3000:])) from None
        elif state == SE and out.got_no:
            conn.ok("r%d" % n, "SELECT INBOX")  # a failed SELECT leaves no mailbox selected
    # the connection that was there all along, and a new one
    try:
        witness.ok("w1", "NOOP")
    except Exception as e:  # noqa: B902
        failures.append("[%s] the witness connection opened before the batch died: %s" % (state, e))
    witness.close()
    conn.close()
    serve_check(srv, "after the %s batch" % state)
    return n, failures


def check_nothing_changed(srv):
    c = Conn(srv.port)
    c.ok("c1", 'LOGIN alice "secret-pw"')
    lines = c.ok("c2", 'LIST "" "*"')
    names = set()
    for ln in lines:
        m = re.match(rb'^\* LIST \([^)]*\) (?:"[^"]*"|NIL) (.*)$', ln)
        assert m, ln
        name = m.group(1)
        if name.startswith(b'"'):
            name = name[1:-1]
        names.add(name.decode("latin-1"))
    lines = c.ok("c3", "STATUS INBOX (MESSAGES)")
    c.ok("c4", "LOGOUT")
    c.close()
    assert names == DEFAULT_MAILBOXES, "malformed commands changed the mailbox list: %r" % sorted(names)
    # and rejected APPENDs left no partial message files behind
    left = []
    for root, dirs, files in os.walk(srv.maildir()):
        if os.path.basename(root) == "tmp":
            left += [os.path.join(root, f) for f in files]
    assert not left, "files left in tmp/ by rejected APPENDs: %r" % left[:5]
    assert any(re.match(rb"^\* STATUS \"?INBOX\"? \(MESSAGES 0\)$", x) for x in lines), lines


def finish(srv, results):
    failures = [f for _, fs in results for f in fs]
    check_nothing_changed(srv)
    assert srv.alive()
    if failures:
        raise AssertionError("%d of %d cases failed:\n%s" % (len(failures), sum(n for n, _ in results),
                                                             "\n".join(failures[:40])))


# --------------------------------------------------------------------------
# tests

def test_case_count():
    assert len(GENERATED) >= 200, len(GENERATED)
    assert len(HANDWRITTEN) >= 150, len(HANDWRITTEN)
    # deterministic: the same seed gives the same bytes
    again = generated()
    assert [c.payload() for c in again] == [c.payload() for c in GENERATED]
    for c in GENERATED:  # no generated line may announce a literal
        assert not c.parts[0].rstrip(b"\r\n").endswith(b"}") or b"{3+}\r\nabc" in c.parts[0], c


def test_handwritten_not_authenticated(srv):
    finish(srv, [run_batch(srv, NA, HANDWRITTEN)])


def test_handwritten_authenticated(srv):
    finish(srv, [run_batch(srv, AU, HANDWRITTEN)])


def test_handwritten_selected(srv):
    finish(srv, [run_batch(srv, SE, HANDWRITTEN)])


def test_generated_not_authenticated(srv):
    finish(srv, [run_batch(srv, NA, GENERATED)])


def test_generated_authenticated(srv):
    finish(srv, [run_batch(srv, AU, GENERATED)])


def test_generated_selected(srv):
    finish(srv, [run_batch(srv, SE, GENERATED)])


def test_oversize(srv):
    results = [run_batch(srv, st, big_cases(), budget=30) for st in ALL]
    finish(srv, results)


def test_login_with_literals(srv):
    """Literals in LOGIN are well-formed: synchronising and LITERAL+ both log in."""
    c = Conn(srv.port)
    assert b"LITERAL+" in c.greeting.upper(), c.greeting
    c.send(b"a1 LOGIN {5}\r\n")
    ln = c.line()
    assert ln is not None and ln.startswith(b"+"), ("no continuation request for a 5-byte literal", ln)
    c.send(b"alice {9}\r\n")
    ln = c.line()
    assert ln is not None and ln.startswith(b"+"), ("no continuation request for a 9-byte literal", ln)
    c.send(b"secret-pw\r\n")
    while True:
        ln = c.line()
        assert ln is not None, "closed after LOGIN with literals"
        if not ln.startswith(b"* "):
            break
    assert ln.startswith(b"a1 OK"), ln
    c.ok("a2", "NOOP")
    c.ok("a3", "SELECT INBOX")
    c.close()
    c = Conn(srv.port)
    _, tagged = c.cmd("b1", b"LOGIN {5+}\r\nalice {9+}\r\nsecret-pw")
    assert tagged.startswith(b"b1 OK"), tagged
    c.ok("b2", "NOOP")
    c.close()
    c = Conn(srv.port)
    _, tagged = c.cmd("d1", b'LOGIN alice {9+}\r\nsecret-pw')
    assert tagged.startswith(b"d1 OK"), tagged
    c.close()


def test_truncated_then_closed(srv):
    """A client that vanishes in the middle of a command, a quoted string or
    a literal must not hurt the server or anyone else's session."""
    pieces = [
        b"a1 LOGIN alice",
        b'a1 LIST "" "*',
        b"a1 " + b"x" * 50000,
        b"\xff\x00",
        b"a1 STATUS INBOX (" + b"(" * 5000,
        b"a1 APPEND INBOX {100+}\r\nabc",
        b"a1 APPEND INBOX {100000+}\r\n" + b"y" * 50000,
        b"a1 LOGIN {5}\r\n",
        b"a1 LOGIN {5+}\r\nali",
        b"a1 CREATE \"foo\r",
    ]
    for state in ALL:
        witness = open_state(srv, AU)
        for data in pieces:
            c = open_state(srv, state)
            c.send(data)
            c.close()
            d = open_state(srv, state)
            d.ok("n1", "NOOP")
            d.close()
        # a synchronising literal that was granted and then abandoned
        c = open_state(srv, state)
        c.send(b"a1 APPEND INBOX {100}\r\n")
        ln = c.line()
        assert ln is not None and (ln.startswith(b"+") or ln.startswith(b"a1 BAD") or ln.startswith(b"a1 NO")), ln
        if ln.startswith(b"+"):
            c.send(b"From: x\r\n")
        c.close()
        witness.ok("w1", "NOOP")
        witness.close()
        serve_check(srv, "after truncated input in the %s state" % state)
    check_nothing_changed(srv)


def append_limit(greeting):
    m = re.search(rb"APPENDLIMIT=(\d+)", greeting, re.I)
    return int(m.group(1)) if m else None


def test_oversize_literal_plus(srv):
    """A LITERAL+ literal beyond every limit: the server may answer BYE and
    close, or reject the command and then read and discard the announced
    bytes; it must never run the literal's bytes as commands."""
    for state in ALL:
        for size in ("99999999999", "4294967296"):
            c = open_state(srv, state)
            c.sock.settimeout(2.0)
            c.send(b"a1 APPEND INBOX {%s+}\r\nx1 NOOP\r\n" % size.encode())
            seen = []
            while True:
                try:
                    ln = c.line()
                except Hang:
                    ln = b"(silence)"
                if ln is None or ln == b"(silence)":
                    # BYE and close, or still reading the literal: both fine
                    assert ln == b"(silence)" or any(x.startswith(b"* BYE") for x in seen), \
                        ("closed without BYE", state, size, seen)
                    break
                seen.append(ln)
                assert not ln.startswith(b"x1 OK"), ("literal bytes ran as a command", state, size, seen)
                assert not ln.startswith(b"a1 OK"), ("oversize APPEND accepted", state, size, seen)
                assert not ln.startswith(b"+"), ("continuation request for a LITERAL+", state, size, seen)
                if ln.startswith(b"a1 "):
                    # rejected: the rest of the literal must still be swallowed
                    c.sock.settimeout(1.0)
                    c.send(b"x2 NOOP\r\n")
                    try:
                        more = c.line()
                    except (Hang, OSError):
                        more = None
                    assert more is None or not more.startswith((b"x1 OK", b"x2 OK")), \
                        ("literal bytes ran as commands after %r" % ln, state, size, more)
                    break
            c.close()
            serve_check(srv, "after {%s+} in the %s state" % (size, state))
    check_nothing_changed(srv)


def test_append_over_limit(srv):
    """An APPEND literal over the advertised APPENDLIMIT gets NO [TOOBIG] or
    BAD before the client sends it (synchronising), and a LITERAL+ one is
    rejected (after the server swallowed it) or answered with BYE."""
    c = Conn(srv.port)
    caps = c.greeting
    c.ok("c1", 'LOGIN alice "secret-pw"')
    lines = c.ok("c2", "CAPABILITY")
    caps += b" ".join(lines)
    limit = append_limit(caps)
    sizes = [4294967296, 99999999999]
    if limit is not None:
        sizes.insert(0, limit + 1)
    for n, size in enumerate(sizes):
        c.send(b"a%d APPEND INBOX {%d}\r\n" % (n, size))
        ln = c.line()
        while ln is not None and ln.startswith(b"* ") and not ln.startswith(b"* BYE"):
            ln = c.line()
        assert ln is not None and not ln.startswith(b"+"), ("continuation request for %d bytes" % size, ln)
        assert ln.startswith(b"a%d BAD" % n) or ln.startswith(b"a%d NO [TOOBIG]" % n), ln
        c.ok("n%d" % n, "NOOP")
    c.close()
    if limit is not None and limit <= 64 * 1024 * 1024:
        # LITERAL+ one byte over the limit: swallowed and rejected, or BYE
        c = open_state(srv, AU)
        size = limit + 1
        body = b"x1 NOOP\r\n" + b"A" * (size - 9)
        t = c.send_async(b"a1 APPEND INBOX {%d+}\r\n" % size + body + b"\r\nz1 NOOP\r\n")
        c.sock.settimeout(60)
        seen = []
        while True:
            ln = c.line()
            if ln is None:
                assert any(x.startswith(b"* BYE") for x in seen), ("closed without BYE", seen)
                break
            seen.append(ln)
            assert not ln.startswith((b"x1 OK", b"a1 OK")), seen
            if ln.startswith(b"a1 "):
                assert ln.startswith(b"a1 BAD") or ln.startswith(b"a1 NO [TOOBIG]"), ln
            if ln.startswith(b"z1 "):
                assert ln.startswith(b"z1 OK"), ln
                assert any(x.startswith(b"a1 ") for x in seen), seen
                break
        t.join(30)
        c.close()
    serve_check(srv, "after over-limit APPENDs")
    check_nothing_changed(srv)


class ByteConn(Conn):
    """Sends every byte in its own TCP segment: the parser must keep its
    place across any split of a line, a literal announcement or a literal."""

    def send(self, data):
        try:
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
            return True
        except (BrokenPipeError, ConnectionResetError) as e:
            self.send_error = e
            return False

    def send_async(self, data):
        t = threading.Thread(target=self.send, args=(data,), daemon=True)
        t.start()
        return t


def byte_cases():
    keep = ("literal", "LITERAL+", "quote", "escape", "bare", "tag", "NUL", "APPEND", "LOGIN")
    return [c for c in HANDWRITTEN if any(k in c.name for k in keep) and len(c.payload()) < 400]


def test_byte_at_a_time(srv):
    cases = byte_cases()
    assert len(cases) >= 60, len(cases)
    failures = []
    total = 0
    for state in ALL:
        deadline = time.time() + 25
        conn = None
        n = 0
        for case in cases:
            if state not in case.states:
                continue
            if time.time() > deadline:
                failures.append("[%s] time budget used up before %r" % (state, case))
                break
            if conn is None:
                conn = open_state(srv, state)
                conn.__class__ = ByteConn
            n += 1
            out = run_case(conn, case, state, n)
            if out.errors:
                failures.append(describe(state, case, out))
            if out.closed or out.errors or out.bye:
                conn.close()
                conn = None
            elif state == SE and out.got_no:
                conn.ok("r%d" % n, "SELECT INBOX")
        if conn is not None:
            conn.close()
        total += n
    serve_check(srv, "after byte-at-a-time input")
    finish(srv, [(total, failures)])


def test_byte_at_a_time_wellformed(srv):
    """The same splitting on well-formed commands: literals, LITERAL+ and an
    APPEND all work when every byte arrives on its own."""
    c = Conn(srv.port)
    c.__class__ = ByteConn
    c.send(b"a1 LOGIN {5}\r\n")
    assert c.line().startswith(b"+")
    c.send(b"alice {9+}\r\nsecret-pw\r\n")
    while True:
        ln = c.line()
        assert ln is not None
        if ln.startswith(b"a1 "):
            break
    assert ln.startswith(b"a1 OK"), ln
    msg = b"From: a@example.org\r\nSubject: split\r\n\r\nbody\r\n"
    _, tagged = c.cmd("a2", b'APPEND INBOX (\\Seen) "06-May-2024 10:00:00 +0000" {%d+}\r\n' % len(msg) + msg)
    assert tagged.startswith(b"a2 OK"), tagged
    c.send(b"a3 APPEND Sent {%d}\r\n" % len(msg))
    assert c.line().startswith(b"+")
    c.send(msg + b"\r\n")
    while True:
        ln = c.line()
        assert ln is not None
        if ln.startswith(b"a3 "):
            break
    assert ln.startswith(b"a3 OK"), ln
    lines = c.ok("a4", "STATUS INBOX (MESSAGES)") + c.ok("a5", "STATUS Sent (MESSAGES)")
    assert any(re.match(rb'^\* STATUS "?INBOX"? \(MESSAGES 1\)$', x) for x in lines), lines
    assert any(re.match(rb'^\* STATUS "?Sent"? \(MESSAGES 1\)$', x) for x in lines), lines
    c.ok("a6", "LOGOUT")
    c.close()


def test_pipelined(srv):
    """All generated lines in one stream, without waiting for replies: each
    tagged one gets its own BAD/NO, in order, and the NOOP at the end is
    answered OK (or the server says BYE and closes)."""
    cases = [c for c in GENERATED if len(c.parts) == 1 and isinstance(c.parts[0], bytes)]
    assert len(cases) >= 200, len(cases)
    failures = []
    for state in ALL:
        conn = open_state(srv, state)
        stream = b"".join(c.parts[0] for c in cases) + b"zz1 NOOP\r\n"
        sender = conn.send_async(stream)
        want = [c.tag for c in cases if c.tag is not None]
        got = []
        bye = False
        ok = False
        try:
            while True:
                ln = conn.line()
                if ln is None:
                    if not bye:
                        failures.append("[%s] connection closed without BYE after %d replies" % (state, len(got)))
                    break
                if ln.startswith(b"* BYE"):
                    bye = True
                    continue
                if ln.startswith(b"+"):
                    failures.append("[%s] continuation request in pipelined garbage: %r" % (state, ln))
                    break
                if ln.startswith(b"*"):
                    continue
                tag, _, rest = ln.partition(b" ")
                status = rest.split(b" ", 1)[0]
                if tag == b"zz1":
                    ok = status == b"OK"
                    if not ok:
                        failures.append("[%s] final NOOP got %r" % (state, ln))
                    break
                if status not in (b"BAD", b"NO"):
                    failures.append("[%s] %r for malformed input (after %r)" % (state, short(ln), got[-3:]))
                got.append(tag)
        except Hang as e:
            failures.append("[%s] %s after %d replies, last %r" % (state, e, len(got), got[-3:]))
        sender.join(READ_TIMEOUT)
        conn.close()
        # lines without a usable tag may still carry one by accident (a
        # binary line that starts with "j "): those replies are extra
        wanted = set(want)
        got = [t for t in got if t in wanted]
        if ok:
            if got != want:
                missing = [t for t in want if t not in got]
                failures.append("[%s] replies out of step: missing %r, order %r" % (state, missing[:10],
                                                                                   got[:10]))
        elif bye:
            assert got == want[:len(got)], (state, got[-5:])
        serve_check(srv, "after pipelined garbage in the %s state" % state)
    check_nothing_changed(srv)
    assert not failures, "\n".join(failures)


def test_list_wildcard_bomb(srv):
    """Patterns built to make a backtracking matcher take exponential time:
    each LIST is answered within seconds and the server stays responsive."""
    c = Conn(srv.port)
    c.ok("a1", 'LOGIN alice "secret-pw"')
    long_name = "a" * 60
    c.ok("a2", "CREATE " + long_name)
    patterns = ["*a" * 40 + "b", "%a" * 40 + "b", "*%" * 400 + "b", "*" * 2000 + "b", ("*a%" * 30 + "b")]
    for i, pat in enumerate(patterns):
        t0 = time.time()
        lines, tagged = c.cmd("w%d" % i, 'LIST "" "%s"' % pat)
        dt = time.time() - t0
        assert tagged.startswith(b"w%d OK" % i) or tagged.startswith(b"w%d BAD" % i) \
            or tagged.startswith(b"w%d NO" % i), tagged
        assert not any(x.startswith(b"* LIST") for x in lines), (pat[:40], lines)
        assert dt < 5, "LIST with pattern %r... took %.1f s" % (pat[:30], dt)
    lines = c.ok("w9", 'LIST "" "*a"')
    assert any(x.endswith(long_name.encode() + b'"') or x.endswith(b" " + long_name.encode()) for x in lines), lines
    c.ok("w10", "DELETE " + long_name)
    c.close()
    serve_check(srv, "after wildcard bombs")
