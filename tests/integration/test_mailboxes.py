"""Mailbox management: the folders of a new user with SPECIAL-USE attributes
(RFC 6154), CREATE / DELETE / RENAME (RFC 3501 6.3.3-6.3.5, RFC 9051 6.3.4-
6.3.6, response codes RFC 5530), SUBSCRIBE / UNSUBSCRIBE / LSUB, LIST with
wildcards and references, LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
STATUS (with SIZE, RFC 8438, and DELETED, RFC 9051), modified UTF-7 and
UTF-8 names (RFC 6855), and names that must be refused without touching the
disk."""

import os

from helpers_states import (client, code_args, find_message_files, list_lines, list_map, message, parse_status_line, quote, resp_code,
                            snapshot, snapshot_diff, status_of, status_word, untagged)

DEFAULTS = {"INBOX": None, "Sent": "\\sent", "Drafts": "\\drafts", "Trash": "\\trash", "Junk": "\\junk",
            "Archive": "\\archive"}
SPECIAL_USE = {"\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash"}


def special_use_of(entry):
    return entry.lattrs & SPECIAL_USE


def assert_defaults(entries, how):
    assert set(entries) == set(DEFAULTS), "%s: a new user's mailboxes are %s" % (how, sorted(entries))
    for name, su in DEFAULTS.items():
        e = entries[name]
        assert e.delim == "/", e
        assert special_use_of(e) == ({su} if su else set()), "%s: %r" % (how, e)
        assert not e.has("\\noselect") and not e.has("\\nonexistent"), e


def children_attr(entry):
    """'\\haschildren', '\\hasnochildren' or None; fails if both."""
    hc, hn = entry.has("\\HasChildren"), entry.has("\\HasNoChildren")
    assert not (hc and hn), "both \\HasChildren and \\HasNoChildren: %r" % entry  # RFC 5258 section 4
    return "\\haschildren" if hc else "\\hasnochildren" if hn else None


# --------------------------------------------------------------------------- a new user's folders


def test_new_user_folders_return_special_use(srv):
    c = client(srv, login=True)
    lines = c.list('"" "*" RETURN (SPECIAL-USE)')
    assert_defaults(list_map(lines), 'LIST "" "*" RETURN (SPECIAL-USE)')


def test_new_user_folders_plain_list(srv):
    # RFC 6154 section 2 allows (MAY) special-use attributes in a plain LIST; issue 2 wants them there
    c = client(srv, login=True)
    assert_defaults(list_map(c.list('"" "*"')), 'LIST "" "*"')
    assert_defaults(list_map(c.list('"" "%"')), 'LIST "" "%"')


def test_list_special_use_selection_option(srv):
    # RFC 6154 section 2: the SPECIAL-USE selection option returns only mailboxes that have one
    c = client(srv, login=True)
    c.ok("CREATE Plain")
    got = list_map(c.list('(SPECIAL-USE) "" "*"'))
    assert set(got) == {"Sent", "Drafts", "Trash", "Junk", "Archive"}, sorted(got)
    for name, e in got.items():
        assert special_use_of(e) == {DEFAULTS[name]}, e


# --------------------------------------------------------------------------- CREATE


def test_create_nested_creates_superiors(srv):
    c = client(srv, login=True)
    c.ok('CREATE "a/b/c"')
    got = list_map(c.list('"" "a*"'))
    assert set(got) == {"a", "a/b", "a/b/c"}, sorted(got)
    for name in ("a", "a/b", "a/b/c"):
        assert not got[name].has("\\Noselect") and not got[name].has("\\NonExistent"), got[name]
        assert got[name].delim == "/"
    c.select("a")
    c.select("a/b")
    c.select("a/b/c")
    # the superiors are real mailboxes now
    _, tagged = c.no("CREATE a")
    assert resp_code(tagged) == "ALREADYEXISTS", tagged
    _, tagged = c.no("CREATE a/b/c")
    assert resp_code(tagged) == "ALREADYEXISTS", tagged


def test_create_duplicate_is_alreadyexists(srv):
    c = client(srv, login=True)
    c.ok("CREATE dup")
    _, tagged = c.no("CREATE dup")
    assert resp_code(tagged) == "ALREADYEXISTS", tagged
    _, tagged = c.no("CREATE Sent")
    assert resp_code(tagged) == "ALREADYEXISTS", tagged
    # RFC 3501 6.3.3: it is an error to create INBOX, in any case
    c.no("CREATE INBOX")
    c.no("CREATE inbox")
    c.no('CREATE "InBoX"')
    assert [e.name for e in list_lines(c.list('"" "*"')) if e.name.upper() == "INBOX"] == ["INBOX"]


def test_create_trailing_separator(srv):
    # RFC 3501 6.3.3: "foo/" declares foo as a parent; the name created is "foo"
    c = client(srv, login=True)
    c.ok('CREATE "foo/"')
    got = list_map(c.list('"" "foo*"'))
    assert list(got) == ["foo"], got
    _, tagged = c.no("CREATE foo")
    assert resp_code(tagged) == "ALREADYEXISTS", tagged
    c.ok('CREATE "foo/bar"')
    got = list_map(c.list('"" "foo*"'))
    assert set(got) == {"foo", "foo/bar"}, got


def test_create_name_with_dot_is_distinct_from_hierarchy(srv):
    # "." is an ordinary character when the separator is "/"; if accepted, "dot.ted" is not "dot/ted"
    c = client(srv, login=True)
    _, tagged = c.run('CREATE "dot.ted"')
    if status_word(tagged) != "OK":
        assert status_word(tagged) == "NO", tagged
        return
    c.ok('CREATE "dot/ted"')
    c.append_ok("dot.ted", message("dotted"))
    got = list_map(c.list('"" "dot*"'))
    assert set(got) == {"dot.ted", "dot", "dot/ted"}, got
    assert c.status("dot.ted", "MESSAGES") == {"MESSAGES": 1}
    assert c.status("dot/ted", "MESSAGES") == {"MESSAGES": 0}


# --------------------------------------------------------------------------- DELETE


def test_delete(srv):
    c = client(srv, login=True)
    _, tagged = c.no("DELETE no-such-box")
    assert resp_code(tagged) == "NONEXISTENT", tagged
    # RFC 3501 6.3.4: it is an error to delete INBOX
    c.no("DELETE INBOX")
    c.no("DELETE inbox")
    assert "INBOX" in list_map(c.list('"" "*"'))
    c.ok("CREATE empty")
    c.ok("DELETE empty")
    assert "empty" not in list_map(c.list('"" "*"'))
    _, tagged = c.no("DELETE empty")
    assert resp_code(tagged) == "NONEXISTENT", tagged
    c.no("SELECT empty")
    c.no("STATUS empty (MESSAGES)")


def test_delete_full_mailbox_and_recreate_does_not_reuse_uids(srv):
    # RFC 3501 6.3.4: the highest UID of a deleted mailbox is preserved, unless UIDVALIDITY changes
    c = client(srv, login=True)
    c.ok("CREATE full")
    uidv1, uid1 = c.append_ok("full", message("one"))
    uidv2, uid2 = c.append_ok("full", message("two"))
    assert uidv1 == uidv2 and uid2 > uid1
    c.ok("DELETE full")
    c.ok("CREATE full")
    st = c.status("full", "MESSAGES UIDVALIDITY UIDNEXT")
    assert st["MESSAGES"] == 0, st
    uidv3, uid3 = c.append_ok("full", message("three"))
    assert uidv3 == st["UIDVALIDITY"]
    assert uidv3 != uidv1 or uid3 > uid2, "UID %d reused under UIDVALIDITY %d" % (uid3, uidv3)


def test_delete_parent_with_children(srv):
    c = client(srv, login=True)
    c.ok('CREATE "p/c"')
    c.append_ok("p", message("in the parent"))
    _, tagged = c.run("DELETE p")
    everything = list_map(c.list('"" "*"'))
    assert "p/c" in everything, "RFC 3501 6.3.4: DELETE MUST NOT remove inferior names: %r" % everything
    if status_word(tagged) == "NO":
        # RFC 9051 6.3.5: a server that does not allow it SHOULD say HASCHILDREN; p stays as it was
        assert not everything["p"].has("\\Noselect"), everything["p"]
        assert c.status("p", "MESSAGES") == {"MESSAGES": 1}
        return
    assert status_word(tagged) == "OK", tagged
    # RFC 3501 6.3.4: the name is kept, with \Noselect, while it has inferiors
    pct = list_map(c.list('"" "%"'))
    assert "p" in pct and pct["p"].has("\\Noselect"), pct.get("p")
    assert "p/c" not in pct
    c.no("SELECT p")
    c.no("STATUS p (MESSAGES)")
    if "p" in everything:
        assert everything["p"].has("\\Noselect"), everything["p"]
    # it is an error to delete a \Noselect name that has inferiors
    c.no("DELETE p")
    assert "p/c" in list_map(c.list('"" "*"'))
    # CREATE makes it a mailbox again, empty
    c.ok("CREATE p")
    assert c.status("p", "MESSAGES") == {"MESSAGES": 0}
    c.ok("DELETE p/c")
    c.ok("DELETE p")
    assert not [n for n in list_map(c.list('"" "*"')) if n.startswith("p")]


def test_implied_parent_is_noselect_under_percent(srv):
    # RFC 3501 6.3.8: levels of hierarchy matched by a trailing "%" that are not selectable get \Noselect
    c = client(srv, login=True)
    c.ok('CREATE "top/mid/leaf"')
    for name in ("top/mid", "top"):
        _, tagged = c.run("DELETE " + name)
        if status_word(tagged) != "OK":
            return  # the server keeps parents with children (test_delete_parent_with_children checks it)
    got = list_map(c.list('"" "%"'))
    assert got["top"].has("\\Noselect"), got["top"]
    got = list_map(c.list('"" "top/%"'))
    assert set(got) == {"top/mid"} and got["top/mid"].has("\\Noselect"), got
    got = list_map(c.list('"" "top/mid/%"'))
    assert set(got) == {"top/mid/leaf"} and not got["top/mid/leaf"].has("\\Noselect"), got
    got = list_map(c.list('"" "*" RETURN (CHILDREN)'))
    assert children_attr(got["top/mid/leaf"]) == "\\hasnochildren", got["top/mid/leaf"]
    for name in ("top", "top/mid"):
        if name in got:  # "*" need not list them; if it does, they are not selectable (RFC 5258 3.4)
            assert got[name].has("\\Noselect") or got[name].has("\\NonExistent"), got[name]
            assert children_attr(got[name]) == "\\haschildren", got[name]


# --------------------------------------------------------------------------- RENAME


def test_rename_moves_children_and_messages(srv):
    c = client(srv, login=True)
    c.ok('CREATE "r/c1"')
    c.ok('CREATE "r/c2/d"')
    c.append_ok("r/c1", message("child message"))
    c.append_ok("r/c2/d", message("grandchild message"))
    c.ok("RENAME r q")
    got = list_map(c.list('"" "*"'))
    assert not [n for n in got if n == "r" or n.startswith("r/")], sorted(got)
    assert {"q", "q/c1", "q/c2", "q/c2/d"} <= set(got), sorted(got)
    assert c.status("q/c1", "MESSAGES") == {"MESSAGES": 1}
    assert c.status("q/c2/d", "MESSAGES") == {"MESSAGES": 1}
    c.no("STATUS r/c1 (MESSAGES)")
    # a child alone, to a new hierarchy
    c.ok('RENAME "q/c2/d" "z/y/x"')
    got = list_map(c.list('"" "*"'))
    assert "z/y/x" in got and "q/c2/d" not in got and "q/c2" in got, sorted(got)
    assert c.status("z/y/x", "MESSAGES") == {"MESSAGES": 1}
    c.select("z/y/x")


def test_rename_errors(srv):
    c = client(srv, login=True)
    # RFC 3501 6.3.5: it is an error to rename from a name that does not exist or to one that exists
    c.no("RENAME no-such-box anything")
    assert "anything" not in list_map(c.list('"" "*"'))
    c.no("RENAME Sent Drafts")
    c.no("RENAME Sent Sent")
    c.ok("CREATE x")
    c.no("RENAME x INBOX")
    c.no("RENAME x inbox")
    got = list_map(c.list('"" "*" RETURN (SPECIAL-USE)'))
    assert special_use_of(got["Sent"]) == {"\\sent"} and special_use_of(got["Drafts"]) == {"\\drafts"}, got
    assert "x" in got


def test_rename_inbox_moves_messages(srv):
    # RFC 3501 6.3.5: RENAME INBOX moves all messages to the new name, leaving INBOX empty
    c = client(srv, login=True)
    m1, m2 = message("first"), message("second")
    uidv, uid1 = c.append_ok("INBOX", m1, flags=["\\Seen"])
    _, uid2 = c.append_ok("INBOX", m2)
    c.ok('RENAME INBOX "old-mail"')
    got = list_map(c.list('"" "*"'))
    assert "INBOX" in got and "old-mail" in got, sorted(got)
    assert c.status("INBOX", "MESSAGES UNSEEN")["MESSAGES"] == 0
    assert c.status("old-mail", "MESSAGES UNSEEN") == {"MESSAGES": 2, "UNSEEN": 1}
    lines, tagged = c.select("INBOX")
    assert b"* 0 EXISTS" in lines, lines
    lines, tagged = c.select("old-mail")
    assert b"* 2 EXISTS" in lines, lines
    # the files moved out of INBOX's Maildir (design.md section 2: INBOX is the Maildir's root)
    root = srv.maildir()
    for sub in ("cur", "new"):
        d = os.path.join(root, sub)
        for f in os.listdir(d):
            with open(os.path.join(d, f), "rb") as fh:
                assert fh.read() not in (m1, m2), "a message of the renamed INBOX is still in %s" % d
    # no UID is reused in INBOX under the same UIDVALIDITY
    uidv3, uid3 = c.append_ok("INBOX", message("third"))
    assert uidv3 != uidv or uid3 > uid2, (uidv, uid2, uidv3, uid3)
    assert c.status("INBOX", "MESSAGES") == {"MESSAGES": 1}
    # INBOX can be renamed again
    c.ok('RENAME INBOX "older-mail"')
    assert c.status("older-mail", "MESSAGES") == {"MESSAGES": 1}
    assert c.status("INBOX", "MESSAGES") == {"MESSAGES": 0}


def test_rename_onto_existing_fails_and_changes_nothing(srv):
    c = client(srv, login=True)
    c.ok("CREATE one")
    c.ok('CREATE "two/child"')
    c.append_ok("one", message("m1"))
    _, tagged = c.no("RENAME one two")
    _, tagged = c.no('RENAME one "two/child"')
    assert c.status("one", "MESSAGES") == {"MESSAGES": 1}
    assert c.status("two", "MESSAGES") == {"MESSAGES": 0}
    got = list_map(c.list('"" "*"'))
    assert {"one", "two", "two/child"} <= set(got)
    assert not [n for n in got if n.startswith("one/") or n.startswith("two/child/")], sorted(got)


# --------------------------------------------------------------------------- SUBSCRIBE / LSUB


def test_subscribe_unsubscribe_lsub(srv):
    c = client(srv, login=True)
    c.ok("CREATE s1")
    c.ok('CREATE "s2/x"')
    c.ok("SUBSCRIBE s1")
    c.ok("SUBSCRIBE s1")  # RFC 9051 6.3.7: OK if already subscribed
    c.ok('SUBSCRIBE "s2/x"')
    lines, _ = c.ok('LSUB "" "s1"')
    got = list_map(lines, "LSUB")
    assert set(got) == {"s1"} and got["s1"].delim == "/", lines
    lines, _ = c.ok('LSUB "" "s2/*"')
    got = list_map(lines, "LSUB")
    assert set(got) == {"s2/x"} and got["s2/x"].delim == "/", lines
    # RFC 3501 6.3.9: "%" in LSUB returns an unsubscribed parent of a subscribed name, with \Noselect
    lines, _ = c.ok('LSUB "" "s%"')
    got = list_map(lines, "LSUB")
    assert set(got) == {"s1", "s2"}, got
    assert got["s2"].has("\\Noselect"), got["s2"]
    assert not got["s1"].has("\\Noselect"), got["s1"]
    c.ok("UNSUBSCRIBE s1")
    lines, _ = c.ok('LSUB "" "s%"')
    assert set(list_map(lines, "LSUB")) == {"s2"}, lines
    lines, _ = c.ok('LSUB "" "s1"')
    assert list_lines(lines, "LSUB") == [], lines
    # LSUB lists nothing that is not subscribed
    lines, _ = c.ok('LSUB "" "nothing-here*"')
    assert list_lines(lines, "LSUB") == [], lines
    # UNSUBSCRIBE of a name that is not subscribed: OK (RFC 9051) or NO (RFC 3501), never BAD
    _, tagged = c.run("UNSUBSCRIBE never-subscribed")
    assert status_word(tagged) in ("OK", "NO"), tagged
    c.noop_ok()


def test_lsub_star_lists_only_subscribed_names(srv):
    # RFC 3501 6.3.9: LSUB returns a subset of the subscribed names; only a "%" that stops at an
    # unsubscribed parent returns that parent (with \Noselect). With "*" the child itself matches.
    c = client(srv, login=True)
    c.ok('CREATE "s2/x"')
    c.ok('SUBSCRIBE "s2/x"')
    c.ok("CREATE s1")
    c.ok("SUBSCRIBE s1")
    lines, _ = c.ok('LSUB "" "s*"')
    assert set(list_map(lines, "LSUB")) == {"s1", "s2/x"}, lines


def test_subscriptions_survive_reconnect_and_restart(srv):
    c = client(srv, login=True)
    c.ok("CREATE keep")
    c.ok("SUBSCRIBE keep")
    c.logout()
    srv.restart()
    c = client(srv, login=True)
    lines, _ = c.ok('LSUB "" "keep"')
    assert set(list_map(lines, "LSUB")) == {"keep"}, lines


# --------------------------------------------------------------------------- LIST


def test_list_wildcards_and_reference(srv):
    c = client(srv, login=True)
    c.ok('CREATE "pat/a"')
    c.ok('CREATE "pat/b/c"')
    c.ok("CREATE patx")
    assert set(list_map(c.list('"" "pat*"'))) == {"pat", "pat/a", "pat/b", "pat/b/c", "patx"}
    assert set(list_map(c.list('"" "pat%"'))) == {"pat", "patx"}
    assert set(list_map(c.list('"" "pat/%"'))) == {"pat/a", "pat/b"}
    assert set(list_map(c.list('"" "pat/*"'))) == {"pat/a", "pat/b", "pat/b/c"}
    assert set(list_map(c.list('"" "%/%"'))) == {"pat/a", "pat/b"}
    assert set(list_map(c.list('"" "p*c"'))) == {"pat/b/c"}
    assert set(list_map(c.list('"" "p%c"'))) == set()
    # a reference is prefixed to the pattern (RFC 3501 6.3.8); the response has full names
    assert set(list_map(c.list('"pat/" "%"'))) == {"pat/a", "pat/b"}
    assert set(list_map(c.list('"pat/" "*"'))) == {"pat/a", "pat/b", "pat/b/c"}
    assert set(list_map(c.list('"pat/b/" "c"'))) == {"pat/b/c"}
    assert list_map(c.list('"" "no-such-name*"')) == {}
    assert set(list_map(c.list('"" "INBOX"'))) == {"INBOX"}
    assert set(list_map(c.list('"" "Sent"'))) == {"Sent"}
    assert list_map(c.list('"" "Sen"')) == {}
    everything = list_map(c.list('"" "*"'))
    assert set(everything) == set(DEFAULTS) | {"pat", "pat/a", "pat/b", "pat/b/c", "patx"}, sorted(everything)
    for e in everything.values():
        assert e.delim == "/", e


def test_list_quotes_names_round_trip(srv):
    # names with spaces, quotes, backslashes, parentheses and wildcard-free specials come back exactly
    c = client(srv, login=True)
    names = ['with space', 'dq "quoted"', "back\\slash", "paren (x)", "brace {3}", "sq 'x'", "a]b[c"]
    for n in names:
        c.ok("CREATE " + quote(n))
    got = list_map(c.list('"" "*"'))
    assert set(names) <= set(got), sorted(got)
    for n in names:
        assert status_of(c.ok("STATUS %s (MESSAGES)" % quote(n))[0], n) == {"MESSAGES": 0}, n
        c.select(n)


def test_list_empty_name_gives_delimiter(srv):
    # RFC 3501 6.3.8: LIST "" "" returns the hierarchy delimiter and the root name
    c = client(srv, login=True)
    lines = c.list('"" ""')
    entries = list_lines(lines)
    assert len(entries) == 1, lines
    e = entries[0]
    assert e.delim == "/" and e.name == "" and e.has("\\Noselect"), e
    assert [ln.lower() for ln in lines] == [b'* list (\\noselect) "/" ""'], lines


def test_list_children_attributes(srv):
    c = client(srv, login=True)
    c.ok('CREATE "kids/one"')
    c.ok('CREATE "kids/two/three"')
    got = list_map(c.list('"" "*" RETURN (CHILDREN)'))
    want = {"kids": "\\haschildren", "kids/one": "\\hasnochildren", "kids/two": "\\haschildren",
            "kids/two/three": "\\hasnochildren", "INBOX": "\\hasnochildren", "Sent": "\\hasnochildren"}
    for name, attr in want.items():
        # RFC 5258 section 4: with the CHILDREN return option these MUST be returned
        assert children_attr(got[name]) == attr, got[name]
    # plain LIST: CHILDREN is advertised, the attributes MAY be sent (RFC 3348); if sent, they must be right
    for pattern in ('"" "*"', '"" "%"', '"" "kids/%"'):
        for name, e in list_map(c.list(pattern)).items():
            a = children_attr(e)
            if a is not None and name in want:
                assert a == want[name], e
    # a child's deletion is visible
    c.ok('DELETE "kids/one"')
    c.ok('DELETE "kids/two/three"')
    got = list_map(c.list('"" "kids*" RETURN (CHILDREN)'))
    assert children_attr(got["kids/two"]) == "\\hasnochildren", got
    assert children_attr(got["kids"]) == "\\haschildren", got


def test_list_multiple_patterns(srv):
    # RFC 5258 section 3: a parenthesised list of patterns; each name at most once
    c = client(srv, login=True)
    got = list_lines(c.list('"" ("INBOX" "Sent" "S*")'))
    assert sorted(e.name for e in got) == ["INBOX", "Sent"], got


def test_list_subscribed_selection_and_nonexistent(srv):
    c = client(srv, login=True)
    for name in ("keep", "gone", "unsub"):
        c.ok("CREATE " + name)
    c.ok("SUBSCRIBE keep")
    c.ok("SUBSCRIBE gone")
    c.ok("DELETE gone")  # RFC 9051 6.3.7: the subscription SHOULD NOT be removed
    lines = c.list('(SUBSCRIBED) "" "*"')
    got = list_map(lines)
    assert "unsub" not in got, "RFC 5258 3.1: exactly the subscribed names are listed: %r" % lines
    assert got["keep"].has("\\Subscribed") and not got["keep"].has("\\NonExistent"), got["keep"]
    assert got["gone"].has("\\Subscribed") and got["gone"].has("\\NonExistent"), got["gone"]
    for e in got.values():
        assert e.has("\\Subscribed"), e  # RFC 5258 3.1: accurately computed, every line is subscribed
    # \NonExistent is not returned by a plain LIST, and deleted names are not listed
    plain = list_map(c.list('"" "*"'))
    assert "gone" not in plain and "keep" in plain and "unsub" in plain
    # the same with a pattern, and with RETURN (CHILDREN)
    got = list_map(c.list('(SUBSCRIBED) "" "g*" RETURN (CHILDREN)'))
    assert set(got) == {"gone"}, got
    # LSUB still has it (attributes of LSUB are not necessarily accurate)
    lines, _ = c.ok('LSUB "" "*"')
    lsub = list_map(lines, "LSUB")
    assert "gone" in lsub and "keep" in lsub and "unsub" not in lsub, lsub


def test_list_return_children_subscribed(srv):
    c = client(srv, login=True)
    c.ok('CREATE "fam/kid"')
    c.ok("CREATE lone")
    c.ok('SUBSCRIBE "fam/kid"')
    c.ok("SUBSCRIBE INBOX")
    lines = c.list('"" "*" RETURN (CHILDREN SUBSCRIBED)')
    got = list_map(lines)
    assert set(got) == set(DEFAULTS) | {"fam", "fam/kid", "lone"}, sorted(got)
    lines2, _ = c.ok('LSUB "" "*"')
    # the subscribed names (a \Noselect LSUB line is an unsubscribed parent, RFC 3501 6.3.9)
    subscribed = {n for n, e in list_map(lines2, "LSUB").items() if not e.has("\\Noselect")}
    assert {"fam/kid", "INBOX"} <= subscribed and not {"fam", "lone"} & subscribed, lines2
    for name, e in got.items():
        # RFC 5258 3.2: \Subscribed MUST be accurately computed; CHILDREN attributes MUST be returned
        assert e.has("\\Subscribed") == (name in subscribed), (e, subscribed)
        assert children_attr(e) is not None, e
    assert got["fam/kid"].has("\\Subscribed") and got["INBOX"].has("\\Subscribed")
    assert not got["lone"].has("\\Subscribed"), got["lone"]
    assert children_attr(got["fam"]) == "\\haschildren" and children_attr(got["fam/kid"]) == "\\hasnochildren"


def test_list_return_options_do_not_add_names(srv):
    # RFC 5258 section 3: return options MUST NOT cause information about additional names
    c = client(srv, login=True)
    c.ok("CREATE ghost")
    c.ok("SUBSCRIBE ghost")
    c.ok("DELETE ghost")
    got = list_map(c.list('"" "*" RETURN (SUBSCRIBED)'))
    assert "ghost" not in got, got
    assert set(got) == set(DEFAULTS), got


def test_list_unknown_options_are_bad(srv):
    # RFC 5258 section 3: the server MUST respond to options it does not recognise with BAD;
    # RECURSIVEMATCH alone MUST get BAD (3.1)
    c = client(srv, login=True)
    c.bad('LIST (X-NO-SUCH-OPTION) "" "*"')
    c.noop_ok()
    c.bad('LIST "" "*" RETURN (X-NO-SUCH-OPTION)')
    c.noop_ok()
    c.bad('LIST (RECURSIVEMATCH) "" "*"')
    c.noop_ok()


def test_list_status(srv):
    # RFC 5819 section 2: after each selectable mailbox's LIST response, an untagged STATUS
    c = client(srv, login=True)
    c.append_ok("INBOX", message("seen"), flags=["\\Seen"])
    c.append_ok("INBOX", message("unseen 1"))
    c.append_ok("INBOX", message("unseen 2"))
    c.append_ok("Sent", message("sent"), flags=["\\Seen"])
    c.ok('CREATE "ls/kid"')
    _, deleted = c.run("DELETE ls")  # leaves "ls" as a \Noselect parent where the server allows it
    lines, tagged = c.ok('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))')
    expect = {"INBOX": (3, 2), "Sent": (1, 0), "Drafts": (0, 0), "Trash": (0, 0), "Junk": (0, 0),
              "Archive": (0, 0), "ls/kid": (0, 0)}
    if status_word(deleted) != "OK":
        expect["ls"] = (0, 0)
    seen = {}
    i = 0
    while i < len(lines):
        entry = list_lines([lines[i]])
        if not entry:
            assert not untagged([lines[i]], "STATUS"), "STATUS not right after its LIST: %r" % lines
            i += 1
            continue
        e = entry[0]
        selectable = not e.has("\\Noselect") and not e.has("\\NonExistent")
        if selectable:
            assert i + 1 < len(lines) and untagged([lines[i + 1]], "STATUS"), "no STATUS after %r" % lines[i]
            name, items = parse_status_line(lines[i + 1])
            assert name == e.name, (lines[i], lines[i + 1])
            assert set(items) == {"MESSAGES", "UNSEEN"}, lines[i + 1]
            seen[name] = (items["MESSAGES"], items["UNSEEN"])
            i += 2
        else:
            assert e.name == "ls", e
            assert i + 1 >= len(lines) or not untagged([lines[i + 1]], "STATUS"), "STATUS for a \\Noselect name"
            i += 1
    assert seen == expect, seen
    # with "%" and other items
    lines, tagged = c.ok('LIST "" "%" RETURN (STATUS (UIDNEXT MESSAGES SIZE))')
    statuses = {parse_status_line(ln)[0]: parse_status_line(ln)[1] for ln in untagged(lines, "STATUS")}
    assert set(statuses) == set(DEFAULTS), statuses
    assert statuses["INBOX"]["MESSAGES"] == 3 and statuses["INBOX"]["SIZE"] == sum(
        len(m) for m in (message("seen"), message("unseen 1"), message("unseen 2")))


def test_list_status_with_special_use_and_subscribed(srv):
    c = client(srv, login=True)
    c.ok("SUBSCRIBE Sent")
    lines, _ = c.ok('LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES))')
    got = list_map(lines)
    assert "Sent" in got and all(e.has("\\Subscribed") for e in got.values()), got
    assert special_use_of(got["Sent"]) == {"\\sent"}, got["Sent"]
    assert status_of(lines, "Sent") == {"MESSAGES": 0}


# --------------------------------------------------------------------------- STATUS


def test_status_items(srv):
    c = client(srv, login=True)
    m1 = message("one", body="x" * 100 + "\r\n")
    m2 = message("two")
    m3 = message("three", body="3" * 7)
    uidv, u1 = c.append_ok("Archive", m1, flags=["\\Seen"])
    _, u2 = c.append_ok("Archive", m2, flags=["\\Deleted"])
    _, u3 = c.append_ok("Archive", m3)
    lines, tagged = c.ok("STATUS Archive (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT SIZE DELETED)")
    sts = untagged(lines, "STATUS")
    assert len(sts) == 1, lines
    name, st = parse_status_line(sts[0])
    assert name == "Archive", sts
    assert set(st) == {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "SIZE", "DELETED"}, st
    assert st["MESSAGES"] == 3
    assert st["UNSEEN"] == 2
    assert st["DELETED"] == 1
    assert st["RECENT"] == 3  # no session has selected Archive since they arrived
    assert st["SIZE"] == len(m1) + len(m2) + len(m3)  # RFC 8438: total of RFC822.SIZE
    assert st["UIDVALIDITY"] == uidv
    assert st["UIDNEXT"] > u3 > u2 > u1
    # one item alone, in the order asked
    assert c.status("Archive", "SIZE") == {"SIZE": st["SIZE"]}
    junk = c.status("Junk")
    assert junk["UIDVALIDITY"] > 0 and junk["UIDNEXT"] > 0, junk
    assert {k: v for k, v in junk.items() if k not in ("UIDVALIDITY", "UIDNEXT")} == {
        "MESSAGES": 0, "UNSEEN": 0, "RECENT": 0, "SIZE": 0, "DELETED": 0}, junk
    # errors
    _, tagged = c.no("STATUS no-such-box (MESSAGES)")
    c.bad("STATUS INBOX (MESSAGES X-NO-SUCH-ITEM)")
    c.bad("STATUS INBOX ()")
    c.noop_ok()


def test_status_uidvalidity_differs_between_mailboxes(srv):
    c = client(srv, login=True)
    c.ok("CREATE v1")
    c.ok("CREATE v2")
    a = c.status("v1", "UIDVALIDITY")["UIDVALIDITY"]
    b = c.status("v2", "UIDVALIDITY")["UIDVALIDITY"]
    assert a > 0 and b > 0


# --------------------------------------------------------------------------- international names


def test_modified_utf7_names(srv):
    c = client(srv, login=True)
    c.ok('CREATE "Entw&APw-rfe"')
    got = list_map(c.list('"" "Entw*"'))
    assert list(got) == ["Entw&APw-rfe"], got
    c.ok('CREATE "Tom &- Jerry"')
    got = list_map(c.list('"" "Tom*"'))
    assert list(got) == ["Tom &- Jerry"], got
    c.ok('CREATE "&ZeVnLIqe-/&U,BTFw-"')  # Japanese, two levels
    got = list_map(c.list('"" "&ZeVnLIqe-*"'))
    assert set(got) == {"&ZeVnLIqe-", "&ZeVnLIqe-/&U,BTFw-"}, got
    c.select("Entw&APw-rfe")
    _, tagged = c.no('CREATE "Entw&APw-rfe"')
    assert resp_code(tagged) == "ALREADYEXISTS", tagged
    lines, _ = c.ok('STATUS "Entw&APw-rfe" (MESSAGES)')
    assert status_of(lines, "Entw&APw-rfe") == {"MESSAGES": 0}, lines


def test_utf8_names_after_enable(srv):
    c = client(srv, login=True)
    lines, _ = c.ok("CAPABILITY")
    caps = untagged(lines, "CAPABILITY")[0].upper().split()
    # RFC 6855 section 3: a server that supports it advertises UTF8=ACCEPT (or UTF8=ONLY)
    assert b"UTF8=ACCEPT" in caps or b"UTF8=ONLY" in caps, caps
    c.ok('CREATE "Entw&APw-rfe"')
    c.ok('CREATE "Tom &- Jerry"')
    u = client(srv, login=True)
    lines, _ = u.ok("ENABLE UTF8=ACCEPT")
    assert untagged(lines, "ENABLED") == [b"* ENABLED UTF8=ACCEPT"], lines
    got = list_map(u.list('"" "*"'))
    assert "Entwürfe" in got and "Entw&APw-rfe" not in got, sorted(got)
    assert "Tom & Jerry" in got, sorted(got)
    # the same mailbox, by its UTF-8 name
    _, tagged = u.no('CREATE "Entwürfe"')
    assert resp_code(tagged) == "ALREADYEXISTS", tagged
    u.append_ok("Entwürfe", message("utf8"))
    lines, _ = u.ok('STATUS "Entwürfe" (MESSAGES)')
    assert status_of(lines, "Entwürfe") == {"MESSAGES": 1}, lines
    assert c.status("Entw&APw-rfe", "MESSAGES") == {"MESSAGES": 1}
    # created as UTF-8, listed as modified UTF-7 to a client that did not enable UTF-8 (RFC 6855 section 3)
    u.ok('CREATE "Straße/Öl"')
    got = list_map(c.list('"" "Stra*"'))
    assert set(got) == {"Stra&AN8-e", "Stra&AN8-e/&ANY-l"}, got
    for e in list_lines(c.list('"" "*"')):
        assert all(b < 0x80 for b in e.raw), "8-bit LIST response without ENABLE UTF8=ACCEPT: %r" % e.raw
    u.select("Straße/Öl")


def test_invalid_utf8_in_quoted_string_is_bad(srv):
    # RFC 6855 section 3: once UTF8=ACCEPT is enabled, the server MUST reject with BAD any octets
    # with the high bit set that are not UTF-8
    u = client(srv, login=True)
    u.ok("ENABLE UTF8=ACCEPT")
    for bad in (b"bad\xc3(utf8", b"lone\x80", b"over\xc0\xaflong", b"surr\xed\xa0\x80"):
        lines, tagged = u.run(b'CREATE "' + bad + b'"')
        assert status_word(tagged) == "BAD", (bad, tagged)
        u.noop_ok()
    assert not list_map(u.list('"" "*"')).keys() - set(DEFAULTS), "a mailbox was created from invalid UTF-8"


# --------------------------------------------------------------------------- hostile names


HOSTILE = [
    "../x", "a/../../b", "..", "a/..", "../../../../tmp/gannet-escape", "/abs", "/", "a//b",
    "a\x01b", "tab\there", "esc\x1b[31m", "del\x7f", "&Jjo", "&AC8-", "&AC4ALg-", "&AC4ALgAv-x",
    "&-&", "x&AIU-y", "&ICg-", "&AAE-", "x" * 1000, "/".join(["d"] * 300), "",
]
HOSTILE_LITERALS = [b"new\nline", b"cr\rhere", b"x" * 5000]


def check_unchanged(srv, before, wrong):
    """Nothing outside the user's Maildir changed (worst case: a path escape); every name was refused
    (wrong lists the ones that were not); and nothing at all changed on disk."""
    added, removed, changed = snapshot_diff(before, snapshot(srv.dir))
    md = os.path.relpath(srv.maildir(), srv.dir) + "/"
    outside = [p for p in added + removed + changed if not p.startswith(md)]
    assert not outside, "files outside the Maildir changed: %r (names accepted: %r)" % (outside, wrong)
    assert not wrong, "names not refused with NO: %r" % wrong
    assert (added, removed, changed) == ([], [], []), "files changed: +%r -%r ~%r" % (added, removed, changed)


def test_hostile_names_are_refused_and_touch_nothing(srv):
    c = client(srv, login=True)
    c.ok("CREATE victim")
    before_list = set(list_map(c.list('"" "*"')))
    before = snapshot(srv.dir)
    wrong = []  # every refusal that did not happen, reported together
    for name in HOSTILE:
        q = quote(name)
        for cmd in ("RENAME victim %s" % q, "RENAME %s victim2" % q, "DELETE %s" % q, "SELECT %s" % q,
                    "EXAMINE %s" % q, "STATUS %s (MESSAGES)" % q, "APPEND", "CREATE %s" % q):
            if cmd == "APPEND":
                lines, tagged = c.append(name, message("hostile"))
                if status_word(tagged) != "NO" or code_args(tagged, "TRYCREATE") is not None:
                    wrong.append(("APPEND " + q, tagged))  # NO, and no TRYCREATE for a name that can't be created
                c.noop_ok()
                continue
            lines, tagged = c.run(cmd)
            if status_word(tagged) != "NO":
                wrong.append((cmd, tagged))
            if cmd.startswith("RENAME victim ") and status_word(tagged) == "OK":
                c.run("RENAME %s victim" % q)  # undo, so the next commands test the name itself
            c.noop_ok()
    for data in HOSTILE_LITERALS:
        for prefix in ("CREATE", "RENAME victim"):
            lines, tagged = c.literal_command(c.tag(), prefix, data, plus=True)
            if status_word(tagged) != "NO":
                wrong.append(("%s {literal %r}" % (prefix, data[:20]), tagged))
            c.noop_ok()
    check_unchanged(srv, before, wrong)
    assert set(list_map(c.list('"" "*"'))) == before_list
    c.select("victim")


def test_deleting_a_refused_or_odd_name_never_touches_inbox(srv):
    # design.md section 2: a message APPEND said OK for survives; whatever the server makes of a name
    # with a C1 control or a line separator, CREATE and DELETE of it must not reach INBOX's files
    c = client(srv, login=True)
    msg = message("precious")
    c.append_ok("INBOX", msg)
    c.ok("ENABLE UTF8=ACCEPT")
    for name in ["x\u0085y", "line\u2028sep", "c1\u009f"]:
        c.run("CREATE " + quote(name))
        c.noop_ok()
        c.run("DELETE " + quote(name))
        c.noop_ok()
        assert len(find_message_files(srv.maildir(), msg)) == 1, "INBOX's message file is gone after %r" % name
        assert c.status("INBOX", "MESSAGES") == {"MESSAGES": 1}, name
    d = client(srv, login=True)
    for name in ["x&AIU-y", "&ICg-"]:
        d.run("CREATE " + quote(name))
        d.run("DELETE " + quote(name))
        assert len(find_message_files(srv.maildir(), msg)) == 1, "INBOX's message file is gone after %r" % name
        assert d.status("INBOX", "MESSAGES") == {"MESSAGES": 1}, name


def test_hostile_names_in_utf8_mode(srv):
    c = client(srv, login=True)
    c.ok("ENABLE UTF8=ACCEPT")
    before = snapshot(srv.dir)
    wrong = []
    # RFC 6855 section 3: names MUST NOT contain U+0000-U+001F, U+007F, U+0080-U+009F, U+2028, U+2029
    for name in ["../x", "a/../../b", "/abs", "a//b", "ctl\u0001", "del\u007f", "x\u0085y", "c1\u009f",
                 "line\u2028sep", "para\u2029sep", "é" * 600]:
        lines, tagged = c.run("CREATE " + quote(name))
        if status_word(tagged) != "NO":
            wrong.append((name, tagged))  # not deleted again: see test_deleting_a_refused_or_odd_name_...
        c.noop_ok()
    check_unchanged(srv, before, wrong)
