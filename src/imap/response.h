/* Response formatting: strings as atoms, quoted strings or literals, as the
 * bytes require (RFC 9051 section 4.3), and mailbox names in modified UTF-7
 * or UTF-8 as the session has negotiated. */
#ifndef GANNET_IMAP_RESPONSE_H
#define GANNET_IMAP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/str.h"

/* A string as a quoted string, or a literal when it cannot be quoted. */
void resp_string(struct sbuf *out, const char *s, size_t len, bool utf8);
/* An astring: an atom where it can be one, else as resp_string. */
void resp_astring(struct sbuf *out, const char *s, size_t len, bool utf8);
/* A mailbox name (UTF-8 inside the server), always quoted or literal. */
void resp_mailbox(struct sbuf *out, const char *name, bool utf8);

#endif
