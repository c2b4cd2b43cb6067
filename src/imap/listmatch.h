/* LIST pattern matching (RFC 9051 section 6.3.9): "*" matches any run of
 * characters, "%" any run without the hierarchy separator '/'. Names and
 * patterns are UTF-8; INBOX is matched case-insensitively by the caller
 * canonicalising both. */
#ifndef GANNET_IMAP_LISTMATCH_H
#define GANNET_IMAP_LISTMATCH_H

#include <stdbool.h>

bool list_match(const char *pattern, const char *name);
/* The pattern with a leading "inbox" (any case) as "INBOX"; caller frees. */
char *list_pattern_canon(const char *reference, const char *pattern);

#endif
