/* Case folding for search matching (RFC 9051 6.4.4: "all searching is
 * case-insensitive" for strings).
 *
 * A small table instead of full Unicode folding: one character to one
 * character, lower case, for
 *   - ASCII A-Z;
 *   - Latin-1 Supplement U+00C0-U+00DE (not U+00D7), and U+00B5 MICRO SIGN
 *     to Greek mu as Unicode's CaseFolding.txt does;
 *   - Latin Extended-A U+0100-U+017F (U+0130 to "i", U+017F LONG S to "s",
 *     U+0178 to U+00FF);
 *   - Greek U+0386-U+03AB, final sigma U+03C2 to sigma;
 *   - Cyrillic U+0400-U+042F and the paired letters U+0460-U+052F.
 * Not folded: everything else, and the expanding folds (German sharp s
 * stays one letter, so "strasse" does not find "Straße"). No normalisation
 * either: a precomposed "é" does not match "e" plus a combining accent. */
#include "search/search-int.h"

#include <stdlib.h>
#include <string.h>

static uint32_t fold_latin(uint32_t c)
{
	if ((c >= 0xC0 && c <= 0xDE && c != 0xD7))
		return c + 0x20;
	if (c == 0xB5)
		return 0x3BC;
	if (c == 0x130)
		return 'i';
	if (c == 0x17F)
		return 's';
	if (c == 0x178)
		return 0xFF;
	/* Pairs: upper case even from U+0100 to U+0137 and U+014A to U+0177,
	 * odd from U+0139 to U+0148 and U+0179 to U+017E. */
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1) ? c + 1 : c;
	return c;
}

static uint32_t fold_greek_cyrillic(uint32_t c)
{
	if (c == 0x386)
		return 0x3AC;
	if (c >= 0x388 && c <= 0x38A)
		return c + 37;
	if (c == 0x38C)
		return 0x3CC;
	if (c == 0x38E || c == 0x38F)
		return c + 63;
	if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
		return c + 0x20;
	if (c == 0x3C2)
		return 0x3C3;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
		return c | 1;
	if (c == 0x4C0)
		return 0x4CF;
	if (c >= 0x4C1 && c <= 0x4CE)
		return (c & 1) ? c + 1 : c;
	return c;
}

static uint32_t fold_char(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
	if (c < 0x180)
		return fold_latin(c);
	if (c >= 0x386 && c < 0x530)
		return fold_greek_cyrillic(c);
	return c;
}

/* Decodes one two-byte UTF-8 sequence at s (the only length the table
 * folds beyond ASCII); 0 if s does not start with one. */
static uint32_t two_byte(const unsigned char *s, size_t left)
{
	if (left < 2 || s[0] < 0xC2 || s[0] > 0xDF || (s[1] & 0xC0) != 0x80)
		return 0;
	return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
}

/* Writes c (below U+0800) at p; returns the bytes written. */
static size_t put_char(unsigned char *p, uint32_t c)
{
	if (c < 0x80) {
		p[0] = (unsigned char)c;
		return 1;
	}
	p[0] = (unsigned char)(0xC0 | c >> 6);
	p[1] = (unsigned char)(0x80 | (c & 0x3F));
	return 2;
}

/* Folds in place: no folded character is longer in UTF-8 than the one it
 * replaces, so the write position never passes the read position. */
void search_fold(struct sbuf *out, const char *s, size_t len)
{
	size_t start = out->len, i = 0, o = 0;
	unsigned char *p;

	sbuf_add(out, s, len);
	p = (unsigned char *)out->s + start;
	while (i < len) {
		uint32_t c;

		if (p[i] < 0x80) {
			p[o++] = (unsigned char)fold_char(p[i++]);
		} else if ((c = two_byte(p + i, len - i)) != 0) {
			o += put_char(p + o, fold_char(c));
			i += 2;
		} else {
			p[o++] = p[i++]; /* a byte the table does not fold */
		}
	}
	out->len = start + o;
	out->s[out->len] = '\0';
}

char *search_fold_str(const char *s, size_t *len)
{
	struct sbuf b = {0};

	search_fold(&b, s, strlen(s));
	*len = b.len;
	return sbuf_take(&b);
}
