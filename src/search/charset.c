/* Charset conversion to UTF-8 with glibc iconv, for message text
 * (Content-Type charset) and RFC 2047 words.
 *
 * US-ASCII and UTF-8 (and an absent charset) are copied, not converted:
 * text labelled US-ASCII that has 8-bit bytes is almost always UTF-8 or
 * Latin-1 really, and copying keeps UTF-8 findable. Bytes iconv calls
 * invalid are dropped one at a time and the conversion goes on, so one bad
 * byte does not hide the rest of a part. */
#include "search/search-int.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

static bool is_passthrough(const char *cs)
{
	return !cs || !*cs || strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0 ||
	       strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0;
}

/* Runs the conversion, growing out as needed. */
static void convert(iconv_t cd, const char *in, size_t len, struct sbuf *out)
{
	char *ip = (char *)in;
	size_t ileft = len;

	while (ileft > 0) {
		size_t room = ileft * 4 + 16;
		char *op;
		size_t oleft, r;

		if (out->cap < out->len + room + 1) {
			out->cap = out->len + room + 1;
			out->s = xrealloc(out->s, out->cap);
		}
		op = out->s + out->len;
		oleft = room;
		r = iconv(cd, &ip, &ileft, &op, &oleft);
		out->len = (size_t)(op - out->s);
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno != EILSEQ)
			break; /* EINVAL: a sequence cut short at the end */
		ip++;          /* drop the invalid byte */
		ileft--;
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	sbuf_add(out, "", 0);
}

bool search_charset_to_utf8(const char *charset, const char *in, size_t len, struct sbuf *out)
{
	iconv_t cd;

	if (is_passthrough(charset)) {
		sbuf_add(out, in, len);
		return true;
	}
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return false;
	convert(cd, in, len, out);
	iconv_close(cd);
	return true;
}
