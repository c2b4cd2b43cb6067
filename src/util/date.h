/* IMAP date-time (RFC 9051 section 9, "date-time"):
 * "dd-Mon-yyyy hh:mm:ss +zzzz", the day possibly space-padded. */
#ifndef GANNET_UTIL_DATE_H
#define GANNET_UTIL_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

bool imap_datetime_parse(const char *s, time_t *out);
/* Formats t in UTC as an IMAP date-time (27 bytes and the NUL). */
void imap_datetime_format(time_t t, char out[32]);

#endif
