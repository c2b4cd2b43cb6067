/* RFC 5322 section 3.2 lexical tokens and RFC 2045 section 5.1 Content-Type
 * syntax, read the way Dovecot 2.3 reads them so that ENVELOPE and
 * BODYSTRUCTURE come out the same: comments may nest (RFC 5322 3.2.2),
 * folding inside quoted strings is removed, a quoted-pair keeps its second
 * character except before CR, LF or NUL, where the backslash stays. */
#include "mime/mime-int.h"

#include <string.h>

/* 1: atext that is also a MIME token character; 2: letters, digits and
 * 8-bit bytes; 4: atext but a MIME tspecial ('/', '=', '?'). RFC 5322 3.2.3
 * atext with 8-bit bytes allowed, as real mail has them. */
static const unsigned char atext[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0-15 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 16-31 */
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 4, /* 32-47 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 4, 0, 4, /* 48-63 */
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 64-79 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1, /* 80-95 */
    1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 96-111 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0, /* 112-127 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 128-143 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 144-159 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 160-175 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 176-191 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 192-207 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 208-223 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 224-239 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 240-255 */
};

#define IS_ATEXT(c) (atext[(unsigned char)(c)] != 0)
#define IS_TOKEN(c) ((atext[(unsigned char)(c)] & 3) != 0 || (c) == '.')

void rfc822_init(struct rfc822 *r, const char *s, size_t len)
{
	memset(r, 0, sizeof *r);
	r->p = (const unsigned char *)s;
	r->end = r->p + len;
}

int rfc822_peek(const struct rfc822 *r)
{
	return r->p < r->end ? *r->p : 0;
}

static void add(struct sbuf *b, const unsigned char *s, size_t n)
{
	if (b && n)
		sbuf_add(b, s, n);
}

static void add_repl(const struct rfc822 *r, struct sbuf *b)
{
	if (b)
		sbuf_adds(b, r->nul_repl);
}

/* Drops the CR of a CRLF fold: the text from start to the LF at r->p. */
static void add_before_lf(struct sbuf *b, const unsigned char *start, const unsigned char *lf)
{
	size_t n = (size_t)(lf - start);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	add(b, start, n);
}

/* At '(': skips a comment, which may nest (RFC 5322 3.2.2). */
static int skip_comment(struct rfc822 *r)
{
	struct sbuf *c = r->comment;
	const unsigned char *start;
	int level = 1;

	if (c)
		sbuf_reset(c);
	start = ++r->p;
	for (; r->p < r->end; r->p++) {
		switch (*r->p) {
		case '\0':
			if (c && r->nul_repl) {
				add(c, start, (size_t)(r->p - start));
				add_repl(r, c);
				start = r->p + 1;
			}
			break;
		case '(':
			level++;
			break;
		case ')':
			if (--level > 0)
				break;
			add(c, start, (size_t)(r->p - start));
			r->p++;
			return r->p < r->end;
		case '\n':
			if (c)
				add_before_lf(c, start, r->p);
			start = r->p + 1;
			break;
		case '\\':
			if (++r->p >= r->end)
				return -1;
			if (*r->p == '\r' || *r->p == '\n' || *r->p == '\0') {
				r->p--; /* the backslash stays; the byte is read next */
				break;
			}
			add(c, start, (size_t)(r->p - start - 1));
			start = r->p;
			break;
		}
	}
	return -1; /* no ')' */
}

int rfc822_skip_cfws(struct rfc822 *r)
{
	while (r->p < r->end) {
		unsigned char ch = *r->p;
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			r->p++;
			continue;
		}
		if (ch != '(')
			break;
		if (skip_comment(r) < 0)
			return -1;
	}
	return r->p < r->end;
}

int rfc822_atom(struct rfc822 *r, struct sbuf *out)
{
	const unsigned char *start = r->p;

	if (r->p >= r->end || !IS_ATEXT(*r->p))
		return -1;
	while (r->p < r->end && IS_ATEXT(*r->p))
		r->p++;
	add(out, start, (size_t)(r->p - start));
	return r->p < r->end ? rfc822_skip_cfws(r) : 0;
}

/* RFC 5322 3.2.3 dot-atom, with CFWS allowed around the dots as in RFC 822;
 * a dot must be followed by another atom. */
int rfc822_dot_atom(struct rfc822 *r, struct sbuf *out)
{
	const unsigned char *start = r->p;
	int ret;

	if (r->p >= r->end || !IS_ATEXT(*r->p))
		return -1;
	for (;;) {
		while (r->p < r->end && IS_ATEXT(*r->p))
			r->p++;
		if (r->p == start)
			return -1;
		add(out, start, (size_t)(r->p - start));
		if (r->p >= r->end)
			return 0;
		if ((ret = rfc822_skip_cfws(r)) <= 0)
			return ret;
		if (*r->p != '.')
			return 1;
		r->p++;
		sbuf_addc(out, '.');
		if (rfc822_skip_cfws(r) <= 0)
			return -1;
		start = r->p;
	}
}

int rfc822_token(struct rfc822 *r, struct sbuf *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && IS_TOKEN(*r->p))
		r->p++;
	add(out, start, (size_t)(r->p - start));
	return r->p < r->end ? rfc822_skip_cfws(r) : 0;
}

int rfc822_quoted(struct rfc822 *r, struct sbuf *out)
{
	const unsigned char *start = ++r->p; /* past the '"' */

	for (; r->p < r->end; r->p++) {
		switch (*r->p) {
		case '\0':
			if (r->nul_repl) {
				add(out, start, (size_t)(r->p - start));
				add_repl(r, out);
				start = r->p + 1;
			}
			break;
		case '"':
			add(out, start, (size_t)(r->p - start));
			r->p++;
			return rfc822_skip_cfws(r);
		case '\n': /* RFC 5322 3.2.4: the fold is not part of the string */
			add_before_lf(out, start, r->p);
			start = r->p + 1;
			break;
		case '\\':
			if (++r->p >= r->end)
				return -1;
			if (*r->p == '\r' || *r->p == '\n' || *r->p == '\0') {
				r->p--;
				break;
			}
			add(out, start, (size_t)(r->p - start - 1));
			start = r->p;
			break;
		}
	}
	return -1; /* no closing '"' */
}

static int atom_or_dots(struct rfc822 *r, struct sbuf *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && (IS_ATEXT(*r->p) || *r->p == '.'))
		r->p++;
	add(out, start, (size_t)(r->p - start));
	return r->p < r->end ? rfc822_skip_cfws(r) : 0;
}

/* RFC 5322 3.2.5 phrase, with obs-phrase's dots; words joined by a space. */
int rfc822_phrase(struct rfc822 *r, struct sbuf *out)
{
	int ret, c;

	if (r->p >= r->end)
		return 0;
	if (*r->p == '.')
		return -1;
	for (;;) {
		ret = *r->p == '"' ? rfc822_quoted(r, out) : atom_or_dots(r, out);
		if (ret <= 0)
			return ret;
		c = *r->p;
		if (!IS_ATEXT(c) && c != '"' && c != '.')
			break;
		sbuf_addc(out, ' ');
	}
	return rfc822_skip_cfws(r);
}

/* RFC 5322 3.4.1 domain-literal, brackets included. */
static int domain_literal(struct rfc822 *r, struct sbuf *out)
{
	const unsigned char *start = r->p++;

	for (; r->p < r->end; r->p++) {
		switch (*r->p) {
		case '\0':
			if (r->nul_repl) {
				add(out, start, (size_t)(r->p - start));
				add_repl(r, out);
				start = r->p + 1;
			}
			break;
		case '[':
			return -1;
		case ']':
			add(out, start, (size_t)(r->p - start + 1));
			r->p++;
			return rfc822_skip_cfws(r);
		case '\n':
			add_before_lf(out, start, r->p);
			start = r->p + 1;
			break;
		case '\\':
			if (++r->p >= r->end)
				return -1;
			if (*r->p == '\r' || *r->p == '\n' || *r->p == '\0') {
				add(out, start, (size_t)(r->p - start));
				start = r->p;
				r->p--;
			}
			break;
		}
	}
	return -1;
}

int rfc822_domain(struct rfc822 *r, struct sbuf *out)
{
	r->p++; /* the '@' */
	if (rfc822_skip_cfws(r) <= 0)
		return -1;
	if (*r->p == '[')
		return domain_literal(r, out);
	return rfc822_dot_atom(r, out);
}

static void truncate_to(struct sbuf *b, size_t len)
{
	if (b->s) {
		b->len = len;
		b->s[len] = '\0';
	}
}

/* RFC 2045 5.1: type "/" subtype, then only parameters may follow. */
int rfc822_content_type(struct rfc822 *r, struct sbuf *out)
{
	size_t pos0 = out->len, pos;
	int ret;

	if (rfc822_skip_cfws(r) <= 0)
		return -1;
	if (rfc822_token(r, out) <= 0 || out->len == pos0)
		return -1; /* a type alone still names it, as in "text" */
	if (*r->p != '/') {
		truncate_to(out, pos0);
		return -1;
	}
	r->p++;
	if (rfc822_skip_cfws(r) <= 0) {
		truncate_to(out, pos0);
		return -1;
	}
	sbuf_addc(out, '/');
	pos = out->len;
	ret = rfc822_token(r, out);
	if (ret < 0 || out->len == pos || (r->p < r->end && *r->p != ';')) {
		truncate_to(out, pos0);
		return -1;
	}
	return ret;
}

/* One "; attribute=value" (RFC 2045 5.1). 0 at the end, -1 when broken. */
static int param(struct rfc822 *r, struct sbuf *key, struct sbuf *val)
{
	int ret;

	sbuf_reset(key);
	sbuf_reset(val);
	if (r->p >= r->end)
		return 0;
	if (*r->p != ';')
		return -1;
	r->p++;
	if (rfc822_skip_cfws(r) <= 0)
		return -1;
	if (rfc822_token(r, key) <= 0 || *r->p != '=')
		return -1;
	r->p++;
	if ((ret = rfc822_skip_cfws(r)) <= 0) {
		/* no value: an empty one, unless a comment was broken */
	} else if (*r->p == '"') {
		ret = rfc822_quoted(r, val);
	} else if (*r->p == '=') {
		/* an unquoted encoded word, name==?utf-8?b?...?=, taken whole */
		while (r->p < r->end && !memchr("; \t\r\n", *r->p, 5))
			sbuf_addc(val, (char)*r->p++);
	} else {
		ret = rfc822_token(r, val);
	}
	return ret < 0 ? -1 : 1;
}

void rfc822_params(struct rfc822 *r, struct mime_param **params, size_t *n)
{
	struct sbuf key = {0}, val = {0};
	size_t cap = 0;
	int ret;

	*params = NULL;
	*n = 0;
	r->nul_repl = MIME_NUL_REPLACEMENT;
	while ((ret = param(r, &key, &val)) != 0) {
		if (ret < 0) {
			/* skip a byte and look for the next ';' */
			if (r->p >= r->end)
				break;
			r->p++;
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*params = xrealloc(*params, cap * sizeof **params);
		}
		(*params)[*n].name = xstrndup(key.s ? key.s : "", key.len);
		(*params)[*n].value = xstrndup(val.s ? val.s : "", val.len);
		(*n)++;
	}
	sbuf_free(&key);
	sbuf_free(&val);
}
