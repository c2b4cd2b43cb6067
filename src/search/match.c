/* Evaluating a search program against one message (search.h).
 *
 * Keys the view answers (flags, keywords, sequence numbers, UIDs, size,
 * INTERNALDATE) are tried before keys that read the message file, within
 * every AND and OR, so "UNSEEN BODY x" opens only the unseen messages. The
 * order cannot change the result: keys have no side effects. */
#include "search/search-int.h"

#include "store/maildir.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum cost { COST_VIEW, COST_FILE };

static enum cost cost_of(const struct search_node *n)
{
	switch (n->key) {
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
	case SK_HEADER:
	case SK_BODY:
	case SK_TEXT:
		return COST_FILE;
	default:
		for (size_t i = 0; i < n->nkids; i++)
			if (cost_of(&n->kids[i]) == COST_FILE)
				return COST_FILE;
		return COST_VIEW;
	}
}

bool search_needs_message(const struct search_node *n)
{
	switch (n->key) {
	case SK_LARGER:
	case SK_SMALLER:
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
	case SK_HEADER:
	case SK_BODY:
	case SK_TEXT:
		return true;
	default:
		for (size_t i = 0; i < n->nkids; i++)
			if (search_needs_message(&n->kids[i]))
				return true;
		return false;
	}
}

static bool in_ranges(const struct search_range *r, size_t n, uint32_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < r[mid].lo)
			hi = mid;
		else if (v > r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Keywords are case-insensitive like all flags (RFC 9051 2.3.2 names them
 * atoms; Dovecot compares them without case). */
static bool has_keyword(const char *list, const char *kw)
{
	size_t len = strlen(kw);

	while (list && *list) {
		const char *end = strchr(list, ' ');
		size_t n = end ? (size_t)(end - list) : strlen(list);

		if (n == len && strncasecmp(list, kw, n) == 0)
			return true;
		list = end ? end + 1 : NULL;
	}
	return false;
}

/* RFC 9051 6.4.4: BEFORE, ON and SINCE compare "disregarding time and
 * timezone"; the INTERNALDATE is kept as a UTC instant, so its day is the
 * UTC day. */
static int64_t utc_day(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

static bool compare_day(enum search_key k, int64_t day, int64_t want)
{
	switch (k) {
	case SK_BEFORE:
	case SK_SENTBEFORE:
		return day < want;
	case SK_ON:
	case SK_SENTON:
		return day == want;
	default:
		return day >= want;
	}
}

static bool contains(const char *hay, size_t hay_len, const char *needle)
{
	size_t len;
	char *folded = search_fold_str(needle, &len);
	bool found = len == 0 || memmem(hay, hay_len, folded, len) != NULL;

	free(folded);
	return found;
}

/* HEADER name value: any field of that name whose value holds the string;
 * an empty string matches when the field is there (RFC 9051 6.4.4). */
static bool match_header(const struct search_node *n, const struct search_msg *m,
                         struct search_cache *c)
{
	const char *raw;
	size_t len;

	return search_cache_raw(c, m, &raw, &len) &&
	       search_header_field_match(raw, len, n->field, n->str, contains);
}

static bool match_body(const struct search_node *n, const struct search_msg *m,
                       struct search_cache *c)
{
	const struct sbuf *b = search_cache_body(c, m);

	return b && contains(b->s, b->len, n->str);
}

static bool match_text(const struct search_node *n, const struct search_msg *m,
                       struct search_cache *c)
{
	const struct search_header *h = search_cache_header(c, m);

	if (h && contains(h->text.s, h->text.len, n->str))
		return true;
	return match_body(n, m, c);
}

static bool match_sent(const struct search_node *n, const struct search_msg *m,
                       struct search_cache *c)
{
	int64_t day;

	return search_cache_sent_day(c, m, &day) && compare_day(n->key, day, (int64_t)n->num);
}

/* AND (every kid) or OR (any kid), the cheap kids first. */
static bool match_kids(const struct search_node *n, const struct search_msg *m,
                       struct search_cache *c, bool any)
{
	for (int pass = COST_VIEW; pass <= COST_FILE; pass++)
		for (size_t i = 0; i < n->nkids; i++) {
			if (cost_of(&n->kids[i]) != (enum cost)pass)
				continue;
			if (search_match(&n->kids[i], m, c) == any)
				return any;
		}
	return !any;
}

bool search_match(const struct search_node *n, const struct search_msg *m, struct search_cache *c)
{
	switch (n->key) {
	case SK_ALL:
		return true;
	case SK_AND:
		return match_kids(n, m, c, false);
	case SK_OR:
		return match_kids(n, m, c, true);
	case SK_NOT:
		return n->nkids && !search_match(&n->kids[0], m, c);
	case SK_FLAG:
		return ((m->flags & n->flag) != 0) != n->negate;
	case SK_KEYWORD:
		return has_keyword(m->keywords, n->str) != n->negate;
	case SK_RECENT:
		return m->recent;
	case SK_NEW: /* RFC 3501 6.4.4: "equivalent to (RECENT UNSEEN)" */
		return m->recent && !(m->flags & FLAG_SEEN);
	case SK_SEQ:
		return in_ranges(n->ranges, n->nranges, m->seq);
	case SK_UID:
		return in_ranges(n->ranges, n->nranges, m->uid);
	case SK_LARGER:
		return m->size > n->num;
	case SK_SMALLER:
		return m->size < n->num;
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
		return compare_day(n->key, utc_day(m->internaldate), (int64_t)n->num);
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		return match_sent(n, m, c);
	case SK_HEADER:
		return match_header(n, m, c);
	case SK_BODY:
		return match_body(n, m, c);
	case SK_TEXT:
		return match_text(n, m, c);
	}
	return false;
}

static void clear_node(struct search_node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		clear_node(&n->kids[i]);
	free(n->kids);
	free(n->field);
	free(n->str);
	free(n->ranges);
}

void search_free(struct search_node *n)
{
	if (!n)
		return;
	clear_node(n);
	free(n);
}
