/* SASL PLAIN (RFC 4616): decoding the client's one message.
 *
 * The message is base64 "[authzid] NUL authcid NUL passwd". This module only
 * parses it; checking the password and whether authcid may act as authzid is
 * the caller's job. No normalisation (SASLprep) is applied: the fields are
 * returned byte for byte, and the password file compares them that way. */
#ifndef GANNET_AUTH_SASL_H
#define GANNET_AUTH_SASL_H

#include <stddef.h>

/* Longest decoded PLAIN message accepted, in bytes. */
#define SASL_PLAIN_MAX 1024

/* Decodes b64[0..len). Returns 0 and sets the three outputs to malloc'd
 * NUL-terminated strings the caller frees (authzid is "" when the client sent
 * none; callers should explicit_bzero the password before freeing it).
 * Returns -1, with all three set to NULL, if the base64 is malformed, the
 * message is over SASL_PLAIN_MAX bytes, it does not hold exactly two NULs,
 * authcid or passwd is empty, or a field is not valid UTF-8. */
int sasl_plain_decode(const char *b64, size_t len, char **authzid, char **authcid, char **password);

#endif
