/* IMAP strings (RFC 9051 section 4.3) for ENVELOPE and BODYSTRUCTURE,
 * chosen as Dovecot chooses them so the bytes match: a quoted string when it
 * can be one, a literal otherwise. A quoted string cannot hold CR, LF or
 * 8-bit bytes (RFC 9051 9, QUOTED-CHAR); past four characters needing a
 * backslash a literal is shorter. */
#include "mime/mime-int.h"

#include <stdio.h>
#include <string.h>

#define MAX_ESCAPES 4

static void add_literal(struct sbuf *b, const char *s, size_t len)
{
	sbuf_printf(b, "{%zu}\r\n", len);
	sbuf_add(b, s, len);
}

static void add_quoted(struct sbuf *b, const char *s)
{
	sbuf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sbuf_addc(b, '\\');
		sbuf_addc(b, *s);
	}
	sbuf_addc(b, '"');
}

void imap_add_nstring(struct sbuf *b, const char *s)
{
	unsigned escapes = 0;

	if (!s) {
		sbuf_adds(b, "NIL");
		return;
	}
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\r' || c == '\n' || c >= 0x80 ||
		    ((c == '"' || c == '\\') && ++escapes > MAX_ESCAPES)) {
			add_literal(b, s, strlen(s));
			return;
		}
	}
	add_quoted(b, s);
}

static bool blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Whether s needs the literal form, and how many bytes that drops: CR and
 * LF, each blank after a blank (or at the start), and one trailing blank. */
static bool human_scan(const unsigned char *s, size_t len, size_t *drop)
{
	bool modify = false, last_blank = true, prefix = true;

	*drop = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c == '\r' || c == '\n') {
			(*drop)++;
			modify = true;
			continue;
		}
		if (blank(c)) {
			if (c == '\t' || last_blank)
				modify = true;
			if (last_blank)
				(*drop)++;
			last_blank = true;
		} else {
			if (c == '"' || c == '\\' || c >= 0x80 || c == '\0')
				modify = true;
			last_blank = false;
			prefix = false;
		}
	}
	if (last_blank && len > 0 && !prefix) {
		modify = true;
		(*drop)++;
	}
	return modify;
}

void imap_add_human(struct sbuf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	bool last_blank = true;
	size_t drop, start;

	if (!human_scan(s, len, &drop)) {
		sbuf_addc(b, '"');
		sbuf_add(b, s, len);
		sbuf_addc(b, '"');
		return;
	}
	if (drop == len) {
		sbuf_adds(b, "\"\""); /* only blanks */
		return;
	}
	sbuf_printf(b, "{%zu}\r\n", len - drop);
	start = b->len;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (blank(s[i])) {
			if (!last_blank)
				sbuf_addc(b, ' ');
			last_blank = true;
		} else {
			sbuf_addc(b, s[i] ? (char)s[i] : (char)0x80);
			last_blank = false;
		}
	}
	if (last_blank && b->len > start)
		b->s[--b->len] = '\0';
}

char *mime_unfold(const char *s, size_t len)
{
	struct sbuf b = {0};

	sbuf_add(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		char c = s[i], next = i + 1 < len ? s[i + 1] : '\0';
		if (c == '\0')
			sbuf_adds(&b, MIME_NUL_REPLACEMENT);
		else if (c != '\r' && c != '\n')
			sbuf_addc(&b, c);
		else if (i + 1 < len && !memchr(" \t\r\n", next, 4))
			sbuf_addc(&b, ' '); /* keep words on both sides apart */
	}
	return sbuf_take(&b);
}
