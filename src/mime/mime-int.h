/* Internals shared by the files of src/mime/; not part of the API.
 *
 * Where the RFCs leave room, these follow what Dovecot 2.3 answers, byte for
 * byte: tests/corpus/mime holds Dovecot's answers for the corpus. */
#ifndef GANNET_MIME_MIME_INT_H
#define GANNET_MIME_MIME_INT_H

#include "mime/mime.h"
#include "util/str.h"

/* U+FFFD in UTF-8: what a NUL in a header value becomes in ENVELOPE and
 * BODYSTRUCTURE strings. */
#define MIME_NUL_REPLACEMENT "\xef\xbf\xbd"
/* RFC 2046 5.1.1 allows 70 characters; longer boundaries are cut to this,
 * and only this much of a line is compared (a prefix match suffices). */
#define MIME_BOUNDARY_MAX 80

/* mime.c: mime_parse_mem fed chunk bytes at a time, to test that where
 * the input is split changes nothing. */
int mime_parse_chunks(const char *data, size_t len, size_t chunk, struct mime_part **root);

/* header-fields.c: a header block as fields (RFC 5322 2.2). A line that
 * starts with SP or HTAB continues the field before it; a line without ':'
 * is a field whose name is the whole line; the first empty line ends the
 * header. Lines end at LF, with or without CR. */
struct mime_field {
	const char *name; /* trailing blanks before the ':' removed */
	size_t name_len;
	const char *start, *end; /* all the field's lines, newlines included */
	const char *value;       /* just after ':', or NULL without one */
};

struct mime_field_iter {
	const char *p, *end;
};

void mime_field_iter_init(struct mime_field_iter *it, const char *header, size_t len);
bool mime_field_next(struct mime_field_iter *it, struct mime_field *f);
bool mime_field_is(const struct mime_field *f, const char *name);
/* The value unfolded as Dovecot keeps it: the blanks after ':' skipped (all
 * but one when the first line has nothing else), each continuation line
 * appended after "\n" whole, the CR of each CRLF dropped. NUL-terminated,
 * malloc'd; *len excludes the NUL and may count NUL bytes inside. */
char *mime_field_value(const struct mime_field *f, size_t *len);

/* imap-string.c: IMAP strings (RFC 9051 4.3) as Dovecot writes them. */
/* NIL for NULL; a quoted string, or a literal when s has CR, LF, an 8-bit
 * byte or more than four characters to escape. */
void imap_add_nstring(struct sbuf *b, const char *s);
/* For display names and subjects: a quoted string when s is plain, else a
 * literal with CR and LF dropped, runs of blanks made one space and blanks
 * at either end removed (Dovecot's imap_append_string_for_humans). */
void imap_add_human(struct sbuf *b, const char *s, size_t len);
/* A header value for a single-line string: CR and LF dropped (a space put
 * in when the next byte is not blank), NUL made U+FFFD. malloc'd. */
char *mime_unfold(const char *s, size_t len);

/* rfc822.c: the RFC 5322 3.2 lexical tokens, with Dovecot's leniency.
 * Functions return 1 when input remains after the token (and the blanks
 * and comments after it), 0 at its end, -1 on a syntax error. The byte at
 * end reads as NUL, so callers may look at it. */
struct rfc822 {
	const unsigned char *p, *end;
	struct sbuf *comment; /* when set, gets the text of each comment skipped */
	const char *nul_repl; /* when set, NULs in quoted strings, comments and
	                         domain literals become this */
};

void rfc822_init(struct rfc822 *r, const char *s, size_t len);
int rfc822_peek(const struct rfc822 *r);
int rfc822_skip_cfws(struct rfc822 *r);
int rfc822_atom(struct rfc822 *r, struct sbuf *out);
int rfc822_dot_atom(struct rfc822 *r, struct sbuf *out);
int rfc822_quoted(struct rfc822 *r, struct sbuf *out);
int rfc822_phrase(struct rfc822 *r, struct sbuf *out);
int rfc822_domain(struct rfc822 *r, struct sbuf *out);
/* A MIME token (RFC 2045 5.1), '.' allowed; may be empty. */
int rfc822_token(struct rfc822 *r, struct sbuf *out);
/* "type/subtype" into out; -1 with out holding just the type when there is
 * no subtype, or nothing when the field is broken otherwise. */
int rfc822_content_type(struct rfc822 *r, struct sbuf *out);
/* The ";"-separated parameters that follow, as written (RFC 2045 5.1). */
void rfc822_params(struct rfc822 *r, struct mime_param **params, size_t *n);

/* params.c */
/* Joins RFC 2231 continuations (RFC 2231 3, 4) as Dovecot does: plain
 * parameters first, then the joined ones, "name*" when any piece was
 * extended; pieces with gaps in their numbering are left apart. */
struct mime_param *mime_params_merge(const struct mime_param *raw, size_t n, size_t *out_n);
/* The value of the first parameter called name (ASCII case-insensitive). */
const char *mime_param_get(const struct mime_param *p, size_t n, const char *name);
void mime_params_free(struct mime_param *p, size_t n);

/* content.c: the part's Content-* fields and flags from its header. */
void mime_part_fill(struct mime_part *part, bool in_multipart, bool in_digest);
/* The boundary of a multipart (joined, first one, cut to
 * MIME_BOUNDARY_MAX), or NULL. malloc'd. */
char *mime_part_boundary(const struct mime_part *part);
/* Frees what mime_part_fill set, keeping offsets, header and children. */
void mime_part_clear_fields(struct mime_part *part);
bool mime_part_is_digest(const struct mime_part *part);
/* The language tags of a Content-Language value (RFC 3282 2), as Dovecot
 * reads them: atoms separated by commas, up to the first that is not one. */
size_t mime_language_list(const char *v, size_t len, char ***langs);

/* address.c: RFC 5322 3.4 address lists as Dovecot reads them. A group is
 * {NULL, NULL, name, NULL} ... {NULL, NULL, NULL, NULL}; a mailbox lacking a
 * part gets "MISSING_MAILBOX" or "MISSING_DOMAIN" as RFC 9051 7.5.2 asks. */
struct mime_addr {
	char *name, *route, *mailbox, *domain;
};

struct mime_addr *mime_addr_parse(const char *s, size_t len, size_t *n);
void mime_addr_free(struct mime_addr *a, size_t n);

#endif
