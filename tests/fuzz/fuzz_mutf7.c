/* libFuzzer target: modified UTF-7 mailbox names (src/util/mutf7.h).
 *
 * The input is tried both ways, as a wire name and as a UTF-8 name, and the
 * promises of mutf7.h are checked; a broken one aborts:
 *   - utf8_to_mutf7 succeeds exactly for well-formed UTF-8 without controls
 *     (U+0000-U+001F, U+007F-U+009F), and gives printable US-ASCII;
 *   - then mutf7_to_utf8 of that gives the input back (UTF-8 -> mUTF-7 ->
 *     UTF-8 is the identity);
 *   - whatever mutf7_to_utf8 accepts is the one canonical spelling: it comes
 *     out as valid UTF-8 without controls, and encoding it again gives the
 *     input byte for byte (mUTF-7 -> UTF-8 -> mUTF-7 is the identity). */
#include "util/mutf7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* The first code point at s (which utf8_valid accepted), and its length. */
static size_t next_cp(const unsigned char *s, uint32_t *cp)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;

	*cp = n == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> n));
	for (size_t i = 1; i < n; i++)
		*cp = *cp << 6 | (s[i] & 0x3f);
	return n;
}

/* Well-formed UTF-8 free of the controls mutf7.h refuses. */
static bool acceptable_utf8(const char *s, size_t len)
{
	if (!utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;

		i += next_cp((const unsigned char *)s + i, &cp);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
	}
	return true;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static void utf8_first(const char *in, size_t len)
{
	char *m = utf8_to_mutf7(in, len);

	check((m != NULL) == acceptable_utf8(in, len));
	if (!m)
		return;
	check(printable_ascii(m));
	char *back = mutf7_to_utf8(m, strlen(m));
	check(back && strlen(back) == len && memcmp(back, in, len) == 0);
	free(back);
	free(m);
}

static void mutf7_first(const char *in, size_t len)
{
	char *u = mutf7_to_utf8(in, len);

	if (!u)
		return;
	size_t ulen = strlen(u);
	check(acceptable_utf8(u, ulen));
	char *again = utf8_to_mutf7(u, ulen);
	check(again && strlen(again) == len && memcmp(again, in, len) == 0);
	free(again);
	free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	mutf7_first(in, size);
	utf8_first(in, size);
	return 0;
}
