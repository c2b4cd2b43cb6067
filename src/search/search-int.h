/* Internals shared by the files of src/search/; not part of the API.
 *
 * Text pipeline: bytes in some charset -> UTF-8 (charset.c, iconv) ->
 * RFC 2047 words decoded in headers (rfc2047.c) -> case-folded (fold.c) ->
 * substring search with memmem. Both the message text and the search string
 * are folded the same way, so matching is a plain byte comparison. */
#ifndef GANNET_SEARCH_SEARCH_INT_H
#define GANNET_SEARCH_SEARCH_INT_H

#include "search/search.h"
#include "util/str.h"

/* Caps that keep one message's search state bounded (cache.c, body.c). */
#define SEARCH_MAX_HEADER (256 * 1024)     /* raw header bytes read */
#define SEARCH_MAX_BODY (16 * 1024 * 1024) /* decoded body text kept per message */

/* fold.c: appends s[0..len) to out with every character case-folded (see
 * fold.c for which). Invalid UTF-8 bytes are copied as they are. */
void search_fold(struct sbuf *out, const char *s, size_t len);
/* The folded copy of a NUL-terminated UTF-8 string, malloc'd. */
char *search_fold_str(const char *s, size_t *len);

/* charset.c: appends in[0..len) converted from charset to UTF-8. Returns
 * false (appending nothing) when iconv does not know the charset; bytes
 * that are invalid in the charset are dropped. NULL, "", US-ASCII and
 * UTF-8 copy the bytes as they are. */
bool search_charset_to_utf8(const char *charset, const char *in, size_t len, struct sbuf *out);

/* rfc2047.c: appends value[0..len) with RFC 2047 encoded words decoded to
 * UTF-8; malformed words, and words in a charset iconv does not know, are
 * copied as they are. */
void search_rfc2047_decode(const char *value, size_t len, struct sbuf *out);

/* header.c: a header block, unfolded and decoded, folded for matching. text
 * holds one line per field, "name: value\n"; fields index it. */
struct search_field {
	size_t name, name_len; /* offsets into text */
	size_t value, value_len;
};

struct search_header {
	struct sbuf text;
	struct search_field *fields;
	size_t nfields, cap;
};

/* Appends the fields of the header block h[0..len) to hdr. */
void search_header_add(struct search_header *hdr, const char *h, size_t len);
/* The raw (undecoded, unfolded) value of the first field called name, as a
 * malloc'd string, or NULL. */
char *search_header_raw(const char *h, size_t len, const char *name);
void search_header_free(struct search_header *hdr);
/* Whether a field called name (case-insensitive) holds needle once decoded;
 * only those fields are unfolded and decoded. An empty needle asks whether
 * such a field exists. match is the evaluator's folded substring test. */
bool search_header_field_match(const char *h, size_t len, const char *name, const char *needle,
                               bool (*match)(const char *hay, size_t hay_len, const char *needle));

/* body.c: appends the decoded, folded text of the message in fd (text parts,
 * and the headers of encapsulated messages), at most SEARCH_MAX_BODY bytes. */
void search_body_text(int fd, uint64_t size, struct sbuf *out);

/* date.c: the day (days since 1970-01-01) of an RFC 5322 date-time as
 * written, in its own zone; false if it does not parse. */
bool search_rfc5322_day(const char *s, int64_t *day);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t search_days_from_civil(int64_t y, unsigned m, unsigned d);

/* cache.c: the parts of a message the evaluator needs, loaded on first use.
 * NULL (or false) when the message file cannot be opened or read. */
const struct search_header *search_cache_header(struct search_cache *c, const struct search_msg *m);
/* The raw header block only (HEADER keys decode just the fields they name). */
bool search_cache_raw(struct search_cache *c, const struct search_msg *m, const char **raw,
                      size_t *len);
const struct sbuf *search_cache_body(struct search_cache *c, const struct search_msg *m);
bool search_cache_sent_day(struct search_cache *c, const struct search_msg *m, int64_t *day);

#endif
