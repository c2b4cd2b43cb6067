/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3) and UTF-8 validation.
 *
 * Both converters are strict: they accept only the one canonical form of a
 * name, so a name converts to one on-disk UTF-8 name and back to the same
 * wire form. Unicode control characters (U+0000-U+001F, U+007F-U+009F) are
 * refused in both directions (RFC 9051 section 5.1 lets servers refuse CTLs
 * in mailbox names). Results are malloc'd, NUL-terminated and owned by the
 * caller; NULL means invalid input (or out of memory). */
#ifndef GANNET_UTIL_MUTF7_H
#define GANNET_UTIL_MUTF7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Modified UTF-7 (len bytes, need not be NUL-terminated) to UTF-8. */
char *mutf7_to_utf8(const char *in, size_t len);

/* UTF-8 (len bytes) to modified UTF-7. */
char *utf8_to_mutf7(const char *in, size_t len);

/* True if s[0..len) is well-formed UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. NUL bytes count as valid (U+0000 is a character);
 * callers that forbid them must check for them separately. */
bool utf8_valid(const char *s, size_t len);

/* Decodes one UTF-8 sequence at s (len > 0 bytes available); returns its
 * length, or 0 if it is malformed, overlong, a surrogate or above U+10FFFF. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

#endif
