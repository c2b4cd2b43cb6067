#include "imap/seqset.h"

#include "util/str.h"

#include <stdlib.h>

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT, at most
 * 4294967295 (RFC 9051 section 9). Advances *i past it. */
static int parse_number(const char *s, size_t len, size_t *i, uint32_t *out)
{
	uint64_t v = 0;

	if (*i < len && s[*i] == '*') {
		*out = SEQ_STAR;
		(*i)++;
		return 0;
	}
	if (*i >= len || s[*i] < '1' || s[*i] > '9')
		return -1;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (uint64_t)(s[*i] - '0');
		if (v > UINT32_MAX)
			return -1;
		(*i)++;
	}
	*out = (uint32_t)v;
	return 0;
}

/* seq-number / seq-range, followed by ',' or the end. */
static int parse_item(const char *s, size_t len, size_t *i, struct seqrange *r)
{
	if (parse_number(s, len, i, &r->lo) != 0)
		return -1;
	r->hi = r->lo;
	if (*i < len && s[*i] == ':') {
		(*i)++;
		if (parse_number(s, len, i, &r->hi) != 0)
			return -1;
	}
	if (*i == len)
		return 0;
	if (s[*i] != ',')
		return -1;
	(*i)++;
	/* A trailing ',' must be followed by another item. */
	return *i < len ? 0 : -1;
}

int seqset_parse(const char *s, size_t len, size_t max_ranges, struct seqset *out)
{
	size_t i, items = 1;

	out->r = NULL;
	out->n = 0;
	if (len == 0)
		return -1;
	/* Count first so an over-long set is refused before any allocation. */
	for (i = 0; i < len; i++)
		items += s[i] == ',';
	if (items > max_ranges)
		return SEQSET_TOO_MANY;
	out->r = malloc(items * sizeof *out->r);
	if (!out->r)
		return -2;
	for (i = 0; i < len; out->n++) {
		if (parse_item(s, len, &i, &out->r[out->n]) != 0) {
			seqset_free(out);
			return -1;
		}
	}
	return 0;
}

static int cmp_lo(const void *a, const void *b)
{
	const struct seqrange *x = a, *y = b;

	return (x->lo > y->lo) - (x->lo < y->lo);
}

void seqset_resolve(struct seqset *set, uint32_t star)
{
	struct seqrange *r = set->r, t;
	size_t i, j;

	if (set->n == 0)
		return;
	for (i = 0; i < set->n; i++) {
		if (r[i].lo == SEQ_STAR)
			r[i].lo = star;
		if (r[i].hi == SEQ_STAR)
			r[i].hi = star;
		if (r[i].lo > r[i].hi) {
			t = r[i];
			r[i].lo = t.hi;
			r[i].hi = t.lo;
		}
	}
	qsort(r, set->n, sizeof *r, cmp_lo);
	for (i = 1, j = 0; i < set->n; i++) {
		/* lo - 1 cannot wrap: lo == 0 already satisfies lo <= hi. */
		if (r[i].lo <= r[j].hi || r[i].lo - 1 == r[j].hi) {
			if (r[i].hi > r[j].hi)
				r[j].hi = r[i].hi;
		} else {
			r[++j] = r[i];
		}
	}
	set->n = j + 1;
}

bool seqset_contains(const struct seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->n, mid;

	/* Find the first range with r.lo > n; the one before it may hold n. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (set->r[mid].lo <= n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && n <= set->r[lo - 1].hi;
}

uint32_t seqset_max(const struct seqset *set)
{
	return set->n ? set->r[set->n - 1].hi : 0;
}

void seqset_free(struct seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

void seqset_format(struct sbuf *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		sbuf_printf(b, i ? ",%u" : "%u", v[i]);
		if (j > i)
			sbuf_printf(b, ":%u", v[j]);
		i = j + 1;
	}
}
