#include "imap/response.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mutf7.h"

static bool atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\]", c);
}

static bool quotable(const char *s, size_t len, bool utf8)
{
	if (len > 1024)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || (c >= 0x80 && !utf8))
			return false;
	}
	return true;
}

void resp_string(struct sbuf *out, const char *s, size_t len, bool utf8)
{
	if (!quotable(s, len, utf8)) {
		sbuf_printf(out, "{%zu}\r\n", len);
		sbuf_add(out, s, len);
		return;
	}
	sbuf_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			sbuf_addc(out, '\\');
		sbuf_addc(out, s[i]);
	}
	sbuf_addc(out, '"');
}

void resp_astring(struct sbuf *out, const char *s, size_t len, bool utf8)
{
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);
	for (size_t i = 0; atom && i < len; i++)
		atom = atom_char((unsigned char)s[i]);
	if (atom)
		sbuf_add(out, s, len);
	else
		resp_string(out, s, len, utf8);
}

void resp_mailbox(struct sbuf *out, const char *name, bool utf8)
{
	if (utf8) {
		resp_string(out, name, strlen(name), true);
		return;
	}
	char *m = utf8_to_mutf7(name, strlen(name));
	if (m)
		resp_string(out, m, strlen(m), false);
	else
		resp_string(out, name, strlen(name), false); /* unreachable for checked names */
	free(m);
}
