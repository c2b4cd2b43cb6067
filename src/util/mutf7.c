#include "util/mutf7.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/base64.h"

/* Modified BASE64: RFC 2045 base64 with ',' in place of '/', no padding. */
static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int modified_b64_digit(unsigned char c)
{
	return base64_digit(c, ',');
}

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, v = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, v = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, v = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i = 0, n;

	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Below U+00A0 every code point is either printable US-ASCII, which RFC 3501
 * section 5.1.3 says MUST represent itself, or a C0/DEL/C1 control. */
static bool cp_allowed_in_shift(uint32_t cp)
{
	return cp >= 0xa0;
}

/* State of one base64 run being decoded into UTF-8. */
struct shift_dec {
	uint32_t bits;
	int nbits;
	uint32_t high; /* pending high surrogate, or 0 */
	char *out;
	size_t o;
};

static bool shift_put_unit(struct shift_dec *d, uint32_t u)
{
	uint32_t cp;

	if (d->high) {
		if (u < 0xdc00 || u > 0xdfff)
			return false;
		cp = 0x10000 + ((d->high - 0xd800) << 10) + (u - 0xdc00);
		d->high = 0;
	} else if (u >= 0xd800 && u <= 0xdbff) {
		d->high = u;
		return true;
	} else if (u >= 0xdc00 && u <= 0xdfff) {
		return false;
	} else {
		cp = u;
	}
	if (!cp_allowed_in_shift(cp))
		return false;
	d->o += utf8_encode(cp, d->out + d->o);
	return true;
}

/* Decodes the base64 run that follows a '&', up to and including its '-'.
 * Returns the bytes consumed, or 0 if the run is invalid. */
static size_t shift_decode(const unsigned char *s, size_t len, struct shift_dec *d)
{
	size_t i;
	int v;

	for (i = 0; i < len && s[i] != '-'; i++) {
		v = modified_b64_digit(s[i]);
		if (v < 0)
			return 0;
		d->bits = d->bits << 6 | (uint32_t)v;
		d->nbits += 6;
		if (d->nbits >= 16) {
			d->nbits -= 16;
			if (!shift_put_unit(d, d->bits >> d->nbits & 0xffff))
				return 0;
			d->bits &= (1u << d->nbits) - 1;
		}
	}
	if (i == len || i == 0)
		return 0;
	/* A whole unused base64 character, or non-zero padding bits, would make
	 * a second spelling of the same name. */
	if (d->nbits >= 6 || d->bits != 0 || d->high)
		return 0;
	return i + 1;
}

char *mutf7_to_utf8(const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	struct shift_dec d = {0};
	bool after_shift = false;
	size_t i = 0, used;

	/* Each base64 character yields at most 9/8 bytes of UTF-8. */
	if (len > (SIZE_MAX - 1) / 2)
		return NULL;
	d.out = malloc(len * 2 + 1);
	if (!d.out)
		return NULL;
	while (i < len) {
		if (p[i] != '&') {
			if (p[i] < 0x20 || p[i] > 0x7e)
				goto bad;
			d.out[d.o++] = (char)p[i++];
			after_shift = false;
		} else if (i + 1 < len && p[i + 1] == '-') {
			d.out[d.o++] = '&';
			i += 2;
			after_shift = false;
		} else {
			/* RFC 3501 5.1.3: null shifts ("-&" in BASE64) are not permitted;
			 * the two runs should have been one. */
			if (after_shift)
				goto bad;
			d.bits = 0, d.nbits = 0, d.high = 0;
			used = shift_decode(p + i + 1, len - i - 1, &d);
			if (used == 0)
				goto bad;
			i += 1 + used;
			after_shift = true;
		}
	}
	d.out[d.o] = '\0';
	return d.out;
bad:
	free(d.out);
	return NULL;
}

/* State of one base64 run being encoded from UTF-16 units. */
struct shift_enc {
	uint32_t bits;
	int nbits;
	char *out;
	size_t o;
};

static void shift_put16(struct shift_enc *e, uint32_t u)
{
	e->bits = e->bits << 16 | u;
	e->nbits += 16;
	while (e->nbits >= 6) {
		e->nbits -= 6;
		e->out[e->o++] = b64chars[e->bits >> e->nbits & 0x3f];
	}
	e->bits &= (1u << e->nbits) - 1;
}

/* Encodes the maximal run of non-ASCII characters at s as "&...-".
 * Returns the input bytes consumed, or 0 on invalid UTF-8 or a control. */
static size_t shift_encode(const unsigned char *s, size_t len, struct shift_enc *e)
{
	size_t i = 0, n;
	uint32_t cp;

	e->bits = 0, e->nbits = 0;
	e->out[e->o++] = '&';
	while (i < len && s[i] >= 0x80) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || !cp_allowed_in_shift(cp))
			return 0;
		i += n;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			shift_put16(e, 0xd800 + (cp >> 10));
			shift_put16(e, 0xdc00 + (cp & 0x3ff));
		} else {
			shift_put16(e, cp);
		}
	}
	if (e->nbits > 0)
		e->out[e->o++] = b64chars[e->bits << (6 - e->nbits) & 0x3f];
	e->out[e->o++] = '-';
	return i;
}

char *utf8_to_mutf7(const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	struct shift_enc e = {0};
	size_t i = 0, used;

	/* Worst case is a lone 2-byte character: 2 bytes become "&AOk-". */
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	e.out = malloc(len * 3 + 1);
	if (!e.out)
		return NULL;
	while (i < len) {
		if (p[i] >= 0x80) {
			used = shift_encode(p + i, len - i, &e);
			if (used == 0)
				goto bad;
			i += used;
			continue;
		}
		if (p[i] < 0x20 || p[i] == 0x7f)
			goto bad;
		e.out[e.o++] = (char)p[i];
		if (p[i++] == '&')
			e.out[e.o++] = '-';
	}
	e.out[e.o] = '\0';
	return e.out;
bad:
	free(e.out);
	return NULL;
}
