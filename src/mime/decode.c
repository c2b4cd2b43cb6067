/* Content-Transfer-Encoding decoders (RFC 2045 section 6) for BINARY[]
 * (RFC 3516), fed a body in chunks of any size.
 *
 * Both decoders are lenient, since BINARY should return what a mail reader
 * would show rather than fail on the many slightly broken encoders:
 *   - base64 ignores every character outside the alphabet (RFC 2045 6.8:
 *     "Any characters outside of the base64 alphabet are to be ignored").
 *     '=' ends a quantum; decoding resumes after it, so two encodings pasted
 *     together both decode. A trailing partial quantum gives the bytes it
 *     holds.
 *   - quoted-printable (RFC 2045 6.7) joins soft line breaks ("=" at the end
 *     of a line, also with blanks between), removes trailing blanks (rule
 *     3), accepts lower-case hex, and passes a '=' that starts no valid
 *     escape through unchanged. Hard line breaks come out as CRLF, the
 *     canonical form (RFC 2045 6.7 rule 4).
 * 7bit, 8bit, binary and no encoding at all copy the bytes. */
#include "mime/mime.h"
#include "util/base64.h"
#include "util/str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Blanks kept back while waiting to see whether they end a line. More than
 * this cannot be transport padding (lines are at most 76 characters), so
 * they are let through. */
#define QP_MAX_BLANKS 1024

enum kind { COPY, BASE64, QP };

enum qp_state { QP_TEXT, QP_BLANKS, QP_EQ, QP_EQ_HEX, QP_EQ_BLANKS, QP_CR, QP_SOFT_CR };

struct mime_decoder {
	enum kind kind;
	/* base64 */
	uint32_t bits;
	int nbits; /* sextets held in bits */
	/* quoted-printable */
	enum qp_state state;
	char hex1;
	char blanks[QP_MAX_BLANKS];
	size_t nblanks;
};

struct mime_decoder *mime_decoder_new(const char *encoding)
{
	struct mime_decoder *d;
	enum kind k;

	if (!encoding || strcasecmp(encoding, "7bit") == 0 || strcasecmp(encoding, "8bit") == 0 ||
	    strcasecmp(encoding, "binary") == 0)
		k = COPY;
	else if (strcasecmp(encoding, "base64") == 0)
		k = BASE64;
	else if (strcasecmp(encoding, "quoted-printable") == 0)
		k = QP;
	else
		return NULL;
	d = xcalloc(1, sizeof *d);
	d->kind = k;
	return d;
}

void mime_decoder_free(struct mime_decoder *d)
{
	free(d);
}

struct out {
	char **buf;
	size_t *len, *cap;
};

static void reserve(struct out *o, size_t extra)
{
	size_t need = *o->len + extra, cap = *o->cap;

	if (need <= cap && *o->buf)
		return;
	if (cap < 64)
		cap = 64;
	while (cap < need)
		cap *= 2;
	*o->buf = xrealloc(*o->buf, cap);
	*o->cap = cap;
}

static void put(struct out *o, const char *s, size_t n)
{
	reserve(o, n);
	if (n)
		memcpy(*o->buf + *o->len, s, n);
	*o->len += n;
}

static void putc1(struct out *o, char c)
{
	put(o, &c, 1);
}

/* Emits the whole bytes held in a partial quantum and empties it. */
static void b64_flush(struct mime_decoder *d, struct out *o)
{
	if (d->nbits == 2) {
		putc1(o, (char)(d->bits >> 4));
	} else if (d->nbits == 3) {
		putc1(o, (char)(d->bits >> 10));
		putc1(o, (char)(d->bits >> 2));
	}
	d->bits = 0;
	d->nbits = 0;
}

static void b64_feed(struct mime_decoder *d, const char *in, size_t len, struct out *o)
{
	reserve(o, len / 4 * 3 + 3);
	for (size_t i = 0; i < len; i++) {
		int v = base64_digit((unsigned char)in[i], '/');
		if (v < 0) {
			if (in[i] == '=')
				b64_flush(d, o);
			continue; /* RFC 2045 6.8: ignore what is not base64 */
		}
		d->bits = d->bits << 6 | (uint32_t)v;
		if (++d->nbits == 4) {
			char *p = *o->buf + *o->len;
			p[0] = (char)(d->bits >> 16);
			p[1] = (char)(d->bits >> 8);
			p[2] = (char)d->bits;
			*o->len += 3;
			d->bits = 0;
			d->nbits = 0;
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10; /* RFC 2045 6.7 (1) wants upper case; accept both */
	return -1;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static void keep_blank(struct mime_decoder *d, struct out *o, char c)
{
	if (d->nblanks == QP_MAX_BLANKS) {
		put(o, d->blanks, d->nblanks); /* too many to be padding */
		d->nblanks = 0;
	}
	d->blanks[d->nblanks++] = c;
}

static void drop_blanks(struct mime_decoder *d)
{
	d->nblanks = 0;
}

static void put_blanks(struct mime_decoder *d, struct out *o)
{
	put(o, d->blanks, d->nblanks);
	d->nblanks = 0;
}

/* Writes out what a state held back when it turns out not to be an escape,
 * a soft break or trailing blanks. */
static void qp_undo(struct mime_decoder *d, struct out *o)
{
	switch (d->state) {
	case QP_EQ:
		putc1(o, '=');
		break;
	case QP_EQ_HEX:
		putc1(o, '=');
		putc1(o, d->hex1);
		break;
	case QP_EQ_BLANKS:
		putc1(o, '=');
		put_blanks(d, o);
		break;
	case QP_CR:
		put_blanks(d, o);
		putc1(o, '\r');
		break;
	case QP_SOFT_CR:
		putc1(o, '=');
		put_blanks(d, o);
		putc1(o, '\r');
		break;
	case QP_BLANKS:
		put_blanks(d, o);
		break;
	case QP_TEXT:
		break;
	}
	d->state = QP_TEXT;
}

/* One input byte in state TEXT. */
static void qp_text(struct mime_decoder *d, struct out *o, char c)
{
	if (c == '=') {
		d->state = QP_EQ;
	} else if (c == '\r') {
		d->state = QP_CR;
	} else if (c == '\n') {
		put(o, "\r\n", 2); /* a bare LF is a line break too */
	} else if (blank(c)) {
		keep_blank(d, o, c);
		d->state = QP_BLANKS;
	} else {
		putc1(o, c);
	}
}

/* One byte in any other state; false when it must be read again in TEXT. */
static bool qp_step(struct mime_decoder *d, struct out *o, char c)
{
	switch (d->state) {
	case QP_BLANKS:
		if (blank(c))
			keep_blank(d, o, c);
		else if (c == '\r')
			d->state = QP_CR;
		else if (c == '\n') {
			drop_blanks(d); /* RFC 2045 6.7 (3): trailing blanks go */
			put(o, "\r\n", 2);
			d->state = QP_TEXT;
		} else
			return false;
		return true;
	case QP_EQ:
		if (hexval(c) >= 0) {
			d->hex1 = c;
			d->state = QP_EQ_HEX;
		} else if (blank(c)) {
			keep_blank(d, o, c);
			d->state = QP_EQ_BLANKS;
		} else if (c == '\r') {
			d->state = QP_SOFT_CR;
		} else if (c == '\n') {
			d->state = QP_TEXT; /* soft line break, RFC 2045 6.7 (5) */
		} else {
			return false;
		}
		return true;
	case QP_EQ_HEX:
		if (hexval(c) < 0)
			return false;
		putc1(o, (char)(hexval(d->hex1) << 4 | hexval(c)));
		d->state = QP_TEXT;
		return true;
	case QP_EQ_BLANKS:
		if (blank(c))
			keep_blank(d, o, c);
		else if (c == '\r')
			d->state = QP_SOFT_CR;
		else if (c == '\n') {
			drop_blanks(d);
			d->state = QP_TEXT;
		} else
			return false;
		return true;
	case QP_CR:
	case QP_SOFT_CR:
		if (c != '\n')
			return false;
		drop_blanks(d);
		if (d->state == QP_CR)
			put(o, "\r\n", 2);
		d->state = QP_TEXT;
		return true;
	case QP_TEXT:
		break;
	}
	return false;
}

static void qp_feed(struct mime_decoder *d, const char *in, size_t len, struct out *o)
{
	reserve(o, len);
	for (size_t i = 0; i < len; i++) {
		if (d->state == QP_TEXT) {
			qp_text(d, o, in[i]);
		} else if (!qp_step(d, o, in[i])) {
			qp_undo(d, o);
			qp_text(d, o, in[i]);
		}
	}
}

void mime_decoder_feed(struct mime_decoder *d, const char *in, size_t len, char **out,
                       size_t *out_len, size_t *out_cap)
{
	struct out o = {out, out_len, out_cap};

	switch (d->kind) {
	case COPY:
		put(&o, in, len);
		break;
	case BASE64:
		b64_feed(d, in, len, &o);
		break;
	case QP:
		qp_feed(d, in, len, &o);
		break;
	}
}

void mime_decoder_finish(struct mime_decoder *d, char **out, size_t *out_len, size_t *out_cap)
{
	struct out o = {out, out_len, out_cap};

	if (d->kind == BASE64) {
		b64_flush(d, &o);
	} else if (d->kind == QP) {
		if (d->state == QP_BLANKS) { /* trailing blanks at the very end */
			drop_blanks(d);
			d->state = QP_TEXT;
		}
		qp_undo(d, &o);
	}
	reserve(&o, 0); /* *out is never NULL after finish */
}
