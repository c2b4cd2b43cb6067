/* SEARCH program parsing: see search-parse.h for the contract.
 *
 * The grammar is RFC 9051 section 9 "search-key" plus RFC 3501's rev1 keys
 * (NEW, OLD, RECENT, UNDRAFT is in both). The tree is built in place: each
 * node is pushed zeroed into its parent's kids and filled afterwards, so on
 * any error the partial tree is freed whole with search_free. */
#include "imap/search-parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/seqset.h"
#include "store/maildir.h"
#include "util/mutf7.h"
#include "util/str.h"

#define NUMBER64_MAX ((uint64_t)INT64_MAX) /* RFC 9051 section 9, number64 */

struct pstate {
	const struct search_parse_ctx *ctx;
	bool ascii; /* CHARSET US-ASCII: strings must be 7-bit */
	size_t keys;
	const char **status;
	char *err;
	size_t errlen;
};

/* The arguments of one level: the command's, or a parenthesised group's. */
struct cursor {
	const struct imap_arg *a;
	size_t n, i;
};

static bool fail(struct pstate *ps, const char *status, const char *fmt, const char *what)
{
	*ps->status = status;
	snprintf(ps->err, ps->errlen, fmt, what);
	return false;
}

static const struct imap_arg *next_arg(struct cursor *cur)
{
	return cur->i < cur->n ? &cur->a[cur->i++] : NULL;
}

/* Appends a zeroed kid to parent, counting it against max_keys. */
static struct search_node *push_kid(struct pstate *ps, struct search_node *parent)
{
	if (ps->ctx->max_keys && ++ps->keys > ps->ctx->max_keys) {
		fail(ps, "BAD", "%s", "Too many search keys");
		return NULL;
	}
	parent->kids = xrealloc(parent->kids, (parent->nkids + 1) * sizeof *parent->kids);
	memset(&parent->kids[parent->nkids], 0, sizeof *parent->kids);
	return &parent->kids[parent->nkids++];
}

/* An astring argument (atom, quoted or literal) in the search's charset:
 * RFC 9051 6.4.4 makes the strings UTF-8 or US-ASCII as CHARSET says. */
static const char *string_arg(struct pstate *ps, struct cursor *cur, const char *key)
{
	const struct imap_arg *a = next_arg(cur);

	if (!a || a->type == ARG_LIST || !a->str) {
		fail(ps, "BAD", "Missing argument to %s", key);
		return NULL;
	}
	if (a->has_nul || memchr(a->str, '\0', a->len)) {
		fail(ps, "BAD", "NUL in the argument to %s", key);
		return NULL;
	}
	for (size_t i = 0; ps->ascii && i < a->len; i++)
		if ((unsigned char)a->str[i] >= 0x80) {
			fail(ps, "BAD", "8-bit characters in a US-ASCII argument to %s", key);
			return NULL;
		}
	if (!utf8_valid(a->str, a->len)) {
		fail(ps, "BAD", "Invalid UTF-8 in the argument to %s", key);
		return NULL;
	}
	return a->str;
}

static const char *atom_arg(struct pstate *ps, struct cursor *cur, const char *key)
{
	const struct imap_arg *a = next_arg(cur);

	if (!a || a->type != ARG_ATOM) {
		fail(ps, "BAD", "Missing argument to %s", key);
		return NULL;
	}
	return a->str;
}

/* Copies the resolved set into n->ranges. */
static void take_ranges(struct search_node *n, const struct seqset *set)
{
	n->nranges = set->n;
	n->ranges = xmalloc((set->n ? set->n : 1) * sizeof *n->ranges);
	for (size_t i = 0; i < set->n; i++) {
		n->ranges[i].lo = set->r[i].lo;
		n->ranges[i].hi = set->r[i].hi;
	}
}

/* "$" (RFC 5182 2.1): the saved UIDs, as ranges. They are sorted, so runs
 * of consecutive (or repeated) UIDs merge in one pass. */
static void saved_ranges(const struct search_parse_ctx *ctx, struct search_node *n)
{
	n->key = SK_UID;
	n->ranges = xmalloc((ctx->nsaved ? ctx->nsaved : 1) * sizeof *n->ranges);
	for (size_t i = 0; i < ctx->nsaved; i++) {
		uint32_t u = ctx->saved[i];
		struct search_range *last = n->nranges ? &n->ranges[n->nranges - 1] : NULL;

		if (last && u >= last->lo && u <= (uint64_t)last->hi + 1) {
			if (u > last->hi)
				last->hi = u;
			continue;
		}
		n->ranges[n->nranges++] = (struct search_range){u, u};
	}
}

/* A sequence set of message numbers (uid false) or UIDs. RFC 9051 section
 * 9 (seq-number): a message number above the count is invalid, a UID above
 * the highest is not. In an empty mailbox any message set is simply empty:
 * "*" names nothing there, and the search has nothing to match anyway. */
static bool parse_set(struct pstate *ps, const char *s, bool uid, struct search_node *n)
{
	const struct search_parse_ctx *ctx = ps->ctx;
	struct seqset set;

	if (strcmp(s, "$") == 0) {
		saved_ranges(ctx, n);
		return true;
	}
	n->key = uid ? SK_UID : SK_SEQ;
	int rc = seqset_parse(s, strlen(s), ctx->max_ranges ? ctx->max_ranges : SIZE_MAX, &set);
	if (rc == SEQSET_TOO_MANY)
		return fail(ps, "BAD", "Too many ranges in the sequence set %.40s...", s);
	if (rc != 0)
		return fail(ps, "BAD", "Invalid sequence set %.100s", s);
	if (!uid && ctx->nmsgs == 0) { /* as FETCH: no message number exists */
		seqset_free(&set);
		return fail(ps, "BAD", "No messages: message number %s is out of range", s);
	}
	for (size_t i = 0; !uid && i < set.n; i++)
		if ((set.r[i].lo != SEQ_STAR && set.r[i].lo > ctx->nmsgs) ||
		    (set.r[i].hi != SEQ_STAR && set.r[i].hi > ctx->nmsgs)) {
			seqset_free(&set);
			return fail(ps, "BAD", "Message number out of range in %s", s);
		}
	seqset_resolve(&set, uid ? ctx->max_uid : ctx->nmsgs);
	take_ranges(n, &set);
	seqset_free(&set);
	return true;
}

/* RFC 5322 3.6.8 field-name: printable ASCII but ':'. */
static bool field_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 32 || (unsigned char)*s >= 127 || *s == ':')
			return false;
	return true;
}

enum action {
	A_ALL,
	A_FLAG,
	A_UNFLAG,
	A_RECENT,
	A_NEW,
	A_OLD,
	A_KEYWORD,
	A_UNKEYWORD,
	A_FIELD, /* FROM, TO, ...: a header field named by the table */
	A_HEADER,
	A_STRING, /* BODY, TEXT */
	A_DATE,
	A_SIZE,
	A_UID,
	A_NOT,
	A_OR,
};

struct keydef {
	const char *name;
	enum action act;
	enum search_key key;
	uint32_t flag;
	const char *field;
};

static const struct keydef keydefs[] = {
    {"ALL", A_ALL, SK_ALL, 0, NULL},
    {"ANSWERED", A_FLAG, SK_FLAG, FLAG_ANSWERED, NULL},
    {"DELETED", A_FLAG, SK_FLAG, FLAG_DELETED, NULL},
    {"DRAFT", A_FLAG, SK_FLAG, FLAG_DRAFT, NULL},
    {"FLAGGED", A_FLAG, SK_FLAG, FLAG_FLAGGED, NULL},
    {"SEEN", A_FLAG, SK_FLAG, FLAG_SEEN, NULL},
    {"UNANSWERED", A_UNFLAG, SK_FLAG, FLAG_ANSWERED, NULL},
    {"UNDELETED", A_UNFLAG, SK_FLAG, FLAG_DELETED, NULL},
    {"UNDRAFT", A_UNFLAG, SK_FLAG, FLAG_DRAFT, NULL},
    {"UNFLAGGED", A_UNFLAG, SK_FLAG, FLAG_FLAGGED, NULL},
    {"UNSEEN", A_UNFLAG, SK_FLAG, FLAG_SEEN, NULL},
    {"RECENT", A_RECENT, SK_RECENT, 0, NULL},
    {"NEW", A_NEW, SK_NEW, 0, NULL},
    {"OLD", A_OLD, SK_NOT, 0, NULL},
    {"KEYWORD", A_KEYWORD, SK_KEYWORD, 0, NULL},
    {"UNKEYWORD", A_UNKEYWORD, SK_NOT, 0, NULL},
    {"BCC", A_FIELD, SK_HEADER, 0, "Bcc"},
    {"CC", A_FIELD, SK_HEADER, 0, "Cc"},
    {"FROM", A_FIELD, SK_HEADER, 0, "From"},
    {"TO", A_FIELD, SK_HEADER, 0, "To"},
    {"SUBJECT", A_FIELD, SK_HEADER, 0, "Subject"},
    {"HEADER", A_HEADER, SK_HEADER, 0, NULL},
    {"BODY", A_STRING, SK_BODY, 0, NULL},
    {"TEXT", A_STRING, SK_TEXT, 0, NULL},
    {"BEFORE", A_DATE, SK_BEFORE, 0, NULL},
    {"ON", A_DATE, SK_ON, 0, NULL},
    {"SINCE", A_DATE, SK_SINCE, 0, NULL},
    {"SENTBEFORE", A_DATE, SK_SENTBEFORE, 0, NULL},
    {"SENTON", A_DATE, SK_SENTON, 0, NULL},
    {"SENTSINCE", A_DATE, SK_SENTSINCE, 0, NULL},
    {"LARGER", A_SIZE, SK_LARGER, 0, NULL},
    {"SMALLER", A_SIZE, SK_SMALLER, 0, NULL},
    {"UID", A_UID, SK_UID, 0, NULL},
    {"NOT", A_NOT, SK_NOT, 0, NULL},
    {"OR", A_OR, SK_OR, 0, NULL},
};

static const struct keydef *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof keydefs / sizeof *keydefs; i++)
		if (strcasecmp(name, keydefs[i].name) == 0)
			return &keydefs[i];
	return NULL;
}

static bool parse_key(struct pstate *ps, struct cursor *cur, size_t depth, struct search_node *n);

/* Parses keys into n's kids until the cursor is used up. */
static bool parse_keys(struct pstate *ps, struct cursor *cur, size_t depth, struct search_node *n)
{
	n->key = SK_AND;
	if (cur->i >= cur->n)
		return fail(ps, "BAD", "%s", "Missing search key");
	while (cur->i < cur->n) {
		struct search_node *kid = push_kid(ps, n);

		if (!kid || !parse_key(ps, cur, depth, kid))
			return false;
	}
	return true;
}

/* NOT, OR and groups nest: each is one level against max_depth. */
static bool enter(struct pstate *ps, size_t depth)
{
	if (ps->ctx->max_depth && depth + 1 > ps->ctx->max_depth)
		return fail(ps, "BAD", "%s", "Search program nested too deeply");
	return true;
}

static bool parse_group(struct pstate *ps, const struct imap_arg *a, size_t depth,
                        struct search_node *n)
{
	struct cursor sub = {a->list, a->nlist, 0};

	return enter(ps, depth) && parse_keys(ps, &sub, depth + 1, n);
}

/* NOT k (and OLD, UNKEYWORD) hold one kid; OR two. */
static bool parse_operands(struct pstate *ps, struct cursor *cur, size_t depth,
                           struct search_node *n, size_t count, const char *name)
{
	if (!enter(ps, depth))
		return false;
	for (size_t i = 0; i < count; i++) {
		struct search_node *kid = push_kid(ps, n);

		if (!kid)
			return false;
		if (cur->i >= cur->n)
			return fail(ps, "BAD", "Missing search key after %s", name);
		if (!parse_key(ps, cur, depth + 1, kid))
			return false;
	}
	return true;
}

static bool parse_date(struct pstate *ps, struct cursor *cur, const struct keydef *k,
                       struct search_node *n)
{
	const char *s = string_arg(ps, cur, k->name);
	int64_t day;

	if (!s)
		return false;
	if (!search_date_day(s, &day))
		return fail(ps, "BAD", "Invalid date %s", s);
	n->num = (uint64_t)day;
	return true;
}

static bool parse_size(struct pstate *ps, struct cursor *cur, const struct keydef *k,
                       struct search_node *n)
{
	const char *s = atom_arg(ps, cur, k->name);

	if (!s)
		return false;
	if (!str_to_u64(s, strlen(s), NUMBER64_MAX, &n->num))
		return fail(ps, "BAD", "Invalid number %s", s);
	return true;
}

static bool set_str(struct pstate *ps, struct cursor *cur, const char *key, char **out)
{
	const char *s = string_arg(ps, cur, key);

	if (!s)
		return false;
	*out = xstrdup(s);
	return true;
}

static bool parse_header(struct pstate *ps, struct cursor *cur, struct search_node *n)
{
	if (!set_str(ps, cur, "HEADER", &n->field))
		return false;
	if (!field_name_ok(n->field))
		return fail(ps, "BAD", "Invalid header field name %s", n->field);
	return set_str(ps, cur, "HEADER", &n->str);
}

/* The keys that take no argument besides those above. */
static bool parse_simple(struct pstate *ps, struct cursor *cur, size_t depth,
                         const struct keydef *k, struct search_node *n)
{
	struct search_node *kid;

	switch (k->act) {
	case A_UNFLAG:
		n->negate = true;
		/* fall through */
	case A_FLAG:
		n->flag = k->flag;
		return true;
	case A_OLD: /* RFC 3501 6.4.4: OLD is "NOT RECENT" */
		if (!enter(ps, depth) || !(kid = push_kid(ps, n)))
			return false;
		kid->key = SK_RECENT;
		return true;
	case A_UNKEYWORD:
		if (!enter(ps, depth) || !(kid = push_kid(ps, n)))
			return false;
		kid->key = SK_KEYWORD;
		return set_str(ps, cur, k->name, &kid->str);
	default:
		return true;
	}
}

static bool parse_named(struct pstate *ps, struct cursor *cur, size_t depth, const struct keydef *k,
                        struct search_node *n)
{
	const char *s;

	n->key = k->key;
	switch (k->act) {
	case A_KEYWORD:
	case A_STRING:
		return set_str(ps, cur, k->name, &n->str);
	case A_FIELD:
		n->field = xstrdup(k->field);
		return set_str(ps, cur, k->name, &n->str);
	case A_HEADER:
		return parse_header(ps, cur, n);
	case A_DATE:
		return parse_date(ps, cur, k, n);
	case A_SIZE:
		return parse_size(ps, cur, k, n);
	case A_UID:
		s = atom_arg(ps, cur, k->name);
		return s && parse_set(ps, s, true, n);
	case A_NOT:
		return parse_operands(ps, cur, depth, n, 1, k->name);
	case A_OR:
		return parse_operands(ps, cur, depth, n, 2, k->name);
	default:
		return parse_simple(ps, cur, depth, k, n);
	}
}

static bool parse_key(struct pstate *ps, struct cursor *cur, size_t depth, struct search_node *n)
{
	const struct imap_arg *a = next_arg(cur);
	const struct keydef *k;

	if (a->type == ARG_LIST)
		return parse_group(ps, a, depth, n);
	if (a->type != ARG_ATOM)
		return fail(ps, "BAD", "%s", "Search key expected, got a string");
	if (a->str[0] == '$' || a->str[0] == '*' || (a->str[0] >= '0' && a->str[0] <= '9'))
		return parse_set(ps, a->str, false, n);
	k = find_key(a->str);
	if (!k)
		return fail(ps, "BAD", "Unknown search key %s", a->str);
	return parse_named(ps, cur, depth, k, n);
}

/* RFC 9051 6.4.4: US-ASCII MUST be supported, and an unsupported charset
 * gets NO [BADCHARSET]; we take UTF-8 too. RFC 6855 3: after ENABLE
 * UTF8=ACCEPT, "the CHARSET search criterion" is not allowed (BAD). */
static bool parse_charset(struct pstate *ps, struct cursor *cur)
{
	const char *cs;

	if (cur->n == 0 || cur->a[0].type != ARG_ATOM || strcasecmp(cur->a[0].str, "CHARSET") != 0)
		return true;
	cur->i++;
	if (ps->ctx->utf8)
		return fail(ps, "BAD", "%s", "CHARSET is not allowed after ENABLE UTF8=ACCEPT");
	cs = string_arg(ps, cur, "CHARSET");
	if (!cs)
		return false;
	if (strcasecmp(cs, "US-ASCII") == 0)
		ps->ascii = true;
	else if (strcasecmp(cs, "UTF-8") != 0)
		return fail(ps, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset %s", cs);
	return true;
}

/* Without CHARSET the strings are taken as UTF-8, as Dovecot does: the
 * rev1 default is US-ASCII, of which UTF-8 is a superset, and clients send
 * 8-bit UTF-8 without CHARSET in practice (and must, after UTF8=ACCEPT). */
struct search_node *search_parse(const struct imap_arg *args, size_t n,
                                 const struct search_parse_ctx *ctx, const char **status, char *err,
                                 size_t errlen)
{
	struct pstate ps = {ctx, false, 0, status, err, errlen};
	struct cursor cur = {args, n, 0};
	struct search_node *root = xcalloc(1, sizeof *root);

	root->key = SK_AND;
	if (parse_charset(&ps, &cur) && parse_keys(&ps, &cur, 0, root))
		return root;
	search_free(root);
	return NULL;
}
