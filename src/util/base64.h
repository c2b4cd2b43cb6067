/* Base64 (RFC 4648 section 4, the standard alphabet, with '=' padding).
 *
 * Decoding is strict: the input length must be a multiple of 4, padding is
 * allowed only at the end, no whitespace or other characters, and the unused
 * bits before the padding must be zero (section 3.5), so every byte string
 * has exactly one accepted encoding. Results are malloc'd and owned by the
 * caller. */
#ifndef GANNET_UTIL_BASE64_H
#define GANNET_UTIL_BASE64_H

#include <stddef.h>

/* NUL-terminated encoding of data[0..len), or NULL if out of memory. */
char *base64_encode(const void *data, size_t len);

/* Decodes in[0..len) (need not be NUL-terminated). Returns 0 and sets *out to
 * a malloc'd buffer of *outlen bytes followed by a NUL byte that *outlen does
 * not count; returns -1 (and sets *out = NULL, *outlen = 0) on malformed input
 * or out of memory. An empty input decodes to an empty buffer. */
int base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* The value of one base64 digit, where char63 is the last digit of the
 * alphabet ('/' here, ',' in IMAP's modified BASE64); -1 if c is none. */
int base64_digit(unsigned char c, char char63);

#endif
