/* MIME parameter lists: RFC 2231 continuations joined for BODYSTRUCTURE and
 * for finding a multipart's boundary.
 *
 * RFC 2231 3 splits a value over "name*0", "name*1", ... and RFC 2231 4
 * marks pieces in charset'language'%XX form with a trailing '*'. Like
 * Dovecot, the pieces are joined but not decoded: "name*" carries the
 * still-encoded value, which is what IMAP clients expect in BODYSTRUCTURE.
 * A plain piece among extended ones gets its '%' escaped so the joined
 * value stays valid, and a leading plain piece gets an empty charset and
 * language (''). Pieces whose numbers do not run 0, 1, 2, ... are left as
 * they are. */
#include "mime/mime-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct piece {
	char *key; /* the name before '*' */
	unsigned idx;
	bool extended;
	const char *value;
};

static void push(struct mime_param **out, size_t *n, size_t *cap, char *name, char *value)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*out = xrealloc(*out, *cap * sizeof **out);
	}
	(*out)[*n].name = name;
	(*out)[*n].value = value;
	(*n)++;
}

/* Reads "key*", "key*N" or "key*N*". idx carries over from the previous
 * piece when the name has no number, as in Dovecot (so "a*1=x; b*=y" gives
 * "b*1*"). False when the name is not of these forms. */
static bool parse_piece(const char *name, struct piece *pc)
{
	const char *star = strchr(name, '*'), *p;

	if (!star)
		return false;
	p = star;
	if (p[1] != '\0') {
		p++;
		pc->idx = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			pc->idx = pc->idx * 10 + (unsigned)(*p - '0');
	}
	pc->extended = *p == '*';
	if (pc->extended)
		p++;
	if (*p != '\0')
		return false;
	pc->key = xstrndup(name, (size_t)(star - name));
	return true;
}

/* A stable insertion sort by key (byte order), then number: the lists are
 * short, and equal pieces keep their order. */
static void sort_pieces(struct piece *pc, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct piece t = pc[i];
		size_t j = i;
		while (j > 0) {
			int c = strcmp(pc[j - 1].key, t.key);
			if (c < 0 || (c == 0 && pc[j - 1].idx <= t.idx))
				break;
			pc[j] = pc[j - 1];
			j--;
		}
		pc[j] = t;
	}
}

static void add_escaped(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%')
			sbuf_adds(b, "%25");
		else
			sbuf_addc(b, *s);
	}
}

/* Joins pc[0..n) (one name, numbered 0..n-1) into one parameter. */
static void join(const struct piece *pc, size_t n, struct mime_param **out, size_t *on, size_t *cap)
{
	struct sbuf v = {0};
	bool ext = false;

	for (size_t j = 0; j < n; j++)
		ext = ext || pc[j].extended;
	if (ext && !pc[0].extended)
		sbuf_adds(&v, "''");
	for (size_t j = 0; j < n; j++) {
		if (ext && !pc[j].extended)
			add_escaped(&v, pc[j].value);
		else
			sbuf_adds(&v, pc[j].value);
	}
	push(out, on, cap, ext ? xasprintf("%s*", pc[0].key) : xstrdup(pc[0].key), sbuf_take(&v));
}

static void keep_apart(const struct piece *pc, size_t n, struct mime_param **out, size_t *on,
                       size_t *cap)
{
	for (size_t j = 0; j < n; j++)
		push(out, on, cap,
		     xasprintf(pc[j].extended ? "%s*%u*" : "%s*%u", pc[j].key, pc[j].idx),
		     xstrdup(pc[j].value));
}

struct mime_param *mime_params_merge(const struct mime_param *raw, size_t n, size_t *out_n)
{
	struct mime_param *out = NULL;
	struct piece *pc = xcalloc(n ? n : 1, sizeof *pc), cur = {0};
	size_t on = 0, cap = 0, npc = 0;

	for (size_t i = 0; i < n; i++) {
		if (parse_piece(raw[i].name, &cur)) {
			cur.value = raw[i].value;
			pc[npc++] = cur;
		} else {
			push(&out, &on, &cap, xstrdup(raw[i].name), xstrdup(raw[i].value));
		}
	}
	sort_pieces(pc, npc);
	for (size_t i = 0, next; i < npc; i = next) {
		bool ok = true;
		for (next = i; next < npc && strcasecmp(pc[i].key, pc[next].key) == 0; next++)
			ok = ok && pc[next].idx == next - i;
		if (ok)
			join(pc + i, next - i, &out, &on, &cap);
		else
			keep_apart(pc + i, next - i, &out, &on, &cap);
	}
	for (size_t i = 0; i < npc; i++)
		free(pc[i].key);
	free(pc);
	*out_n = on;
	return out;
}

const char *mime_param_get(const struct mime_param *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}

void mime_params_free(struct mime_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}
