#include "util/base64.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_digit(unsigned char c, char char63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == (unsigned char)char63)
		return 63;
	return -1;
}

char *base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, o = 0;
	uint32_t v;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[v >> 12 & 0x3f];
		out[o++] = b64chars[v >> 6 & 0x3f];
		out[o++] = b64chars[v & 0x3f];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[v >> 12 & 0x3f];
		out[o++] = i + 1 < len ? b64chars[v >> 6 & 0x3f] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* Decodes one 4-character group into out; returns the number of bytes it
 * holds (1..3), or -1. Only the last group may carry padding. */
static int decode_group(const unsigned char *g, bool last, unsigned char *out)
{
	int v[4], pad = 0, i;
	uint32_t bits;

	if (last)
		pad = (g[3] == '=') + (g[3] == '=' && g[2] == '=');
	for (i = 0; i < 4 - pad; i++) {
		v[i] = base64_digit(g[i], '/');
		if (v[i] < 0)
			return -1;
	}
	for (; i < 4; i++)
		v[i] = 0;
	bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
	/* RFC 4648 3.5: bits beyond the last byte must be zero, or the same
	 * bytes would have several encodings. */
	if ((pad == 1 && (bits & 0xff)) || (pad == 2 && (bits & 0xffff)))
		return -1;
	out[0] = (unsigned char)(bits >> 16);
	out[1] = (unsigned char)(bits >> 8);
	out[2] = (unsigned char)bits;
	return 3 - pad;
}

int base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char *buf;
	size_t i, o = 0;
	int n;

	*out = NULL;
	*outlen = 0;
	if (len % 4 != 0)
		return -1;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -1;
	for (i = 0; i < len; i += 4) {
		n = decode_group(p + i, i + 4 == len, buf + o);
		if (n < 0) {
			free(buf);
			return -1;
		}
		o += (size_t)n;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}
