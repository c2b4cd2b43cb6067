/* RFC 2047 encoded words in header text, decoded to UTF-8 for searching.
 *
 * encoded-word = "=?" charset "?" encoding "?" encoded-text "?=" (RFC 2047
 * section 2), with an optional "*language" after the charset (RFC 2231
 * section 5). Decoding is lenient where mail in the wild needs it: words
 * are recognised anywhere (also inside quoted strings and next to other
 * text, which section 5 forbids but mailers write), the 75-character limit
 * is not enforced, and base64 without padding is accepted. Per section 6.2,
 * white space between adjacent encoded words is dropped. Adjacent words in
 * the same charset are converted together, so a multi-byte character split
 * across two words (as some mailers do) still decodes. A word that is
 * malformed, or whose charset iconv does not know, is left as written. */
#include "search/search-int.h"

#include <string.h>
#include <strings.h>

#include "util/base64.h"

#define MAX_CHARSET 64

struct word {
	const char *end; /* just past "?=" */
	char charset[MAX_CHARSET];
	char enc; /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
};

/* Pending words of one charset, not yet converted. */
struct group {
	bool active;
	char charset[MAX_CHARSET];
	struct sbuf bytes;
	const char *raw_start, *raw_end;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses "charset?" at p into w->charset, the "*language" dropped. */
static const char *parse_charset(const char *p, const char *end, struct word *w)
{
	size_t n = 0;

	while (p < end && *p != '?' && !is_space(*p) && n + 1 < MAX_CHARSET)
		w->charset[n++] = *p++;
	w->charset[n] = '\0';
	if (p >= end || *p != '?' || n == 0)
		return NULL;
	char *star = strchr(w->charset, '*');
	if (star)
		*star = '\0';
	return w->charset[0] ? p + 1 : NULL;
}

static bool parse_word(const char *p, const char *end, struct word *w)
{
	if (end - p < 2 || p[0] != '=' || p[1] != '?')
		return false;
	p = parse_charset(p + 2, end, w);
	if (!p || end - p < 2 || p[1] != '?')
		return false;
	w->enc = (char)(p[0] == 'b' || p[0] == 'B' ? 'B' : p[0] == 'q' || p[0] == 'Q' ? 'Q' : 0);
	if (!w->enc)
		return false;
	w->text = p += 2;
	while (p < end && *p != '?' && !is_space(*p))
		p++;
	if (end - p < 2 || p[0] != '?' || p[1] != '=')
		return false;
	w->text_len = (size_t)(p - w->text);
	w->end = p + 2;
	return true;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 2047 4.2: "_" is a space, "=XX" an octet, the rest as it is. */
static void decode_q(const char *s, size_t len, struct sbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '_') {
			sbuf_addc(out, ' ');
		} else if (s[i] == '=' && i + 2 < len && (hi = hex(s[i + 1])) >= 0 &&
		           (lo = hex(s[i + 2])) >= 0) {
			sbuf_addc(out, (char)(hi << 4 | lo));
			i += 2;
		} else {
			sbuf_addc(out, s[i]);
		}
	}
}

/* RFC 2047 4.1 (base64), stopping at "=" and skipping stray characters. */
static void decode_b(const char *s, size_t len, struct sbuf *out)
{
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int d = base64_digit((unsigned char)s[i], '/');

		if (d < 0)
			continue;
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sbuf_addc(out, (char)(acc >> bits & 0xFF));
		}
	}
}

static void flush(struct group *g, struct sbuf *out)
{
	if (!g->active)
		return;
	if (!search_charset_to_utf8(g->charset, g->bytes.s, g->bytes.len, out))
		sbuf_add(out, g->raw_start, (size_t)(g->raw_end - g->raw_start));
	sbuf_reset(&g->bytes);
	g->active = false;
}

static void add_word(struct group *g, const char *start, const struct word *w, struct sbuf *out)
{
	if (g->active && strcasecmp(g->charset, w->charset) != 0)
		flush(g, out);
	if (!g->active) {
		g->active = true;
		memcpy(g->charset, w->charset, sizeof g->charset);
		g->raw_start = start;
	}
	g->raw_end = w->end;
	sbuf_add(&g->bytes, "", 0);
	if (w->enc == 'B')
		decode_b(w->text, w->text_len, &g->bytes);
	else
		decode_q(w->text, w->text_len, &g->bytes);
}

/* Past the blanks at p if an encoded word follows them, else p. */
static const char *skip_between(const char *p, const char *end)
{
	const char *q = p;
	struct word w;

	while (q < end && is_space(*q))
		q++;
	return q > p && parse_word(q, end, &w) ? q : p;
}

void search_rfc2047_decode(const char *value, size_t len, struct sbuf *out)
{
	const char *p = value, *end = value + len;
	struct group g = {0};
	struct word w;

	while (p < end) {
		const char *next = memmem(p, (size_t)(end - p), "=?", 2);

		if (!next)
			next = end;
		if (next > p) {
			flush(&g, out);
			sbuf_add(out, p, (size_t)(next - p));
			p = next;
		} else if (parse_word(p, end, &w)) {
			add_word(&g, p, &w, out);
			p = skip_between(w.end, end);
		} else {
			flush(&g, out);
			sbuf_add(out, p, 1);
			p++;
		}
	}
	flush(&g, out);
	sbuf_free(&g.bytes);
}
