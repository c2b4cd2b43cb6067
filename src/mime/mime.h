/* MIME structure of a stored message (RFC 2045, 2046, 5322), for FETCH.
 *
 * mime_parse reads a message once, streaming through a small buffer, and
 * returns its part tree with the byte offset of every part's header and body
 * in the file, so any section can later be read with pread without parsing
 * again and without holding the message in memory. Only header blocks are
 * kept (each capped; see MIME_MAX_HEADER). Any input parses: a missing
 * boundary, a missing final boundary, NULs, 8-bit headers or absurd nesting
 * give a tree that is as sensible as the bytes allow, never an error; only
 * I/O fails. Offsets are into the file exactly as stored (CRLF or LF, as the
 * file has it).
 *
 * From the tree come the IMAP strings ENVELOPE and BODY/BODYSTRUCTURE
 * (RFC 9051 section 7.5.2), which the store caches so they are computed once.
 * Ownership: the caller frees a tree with mime_free and strings with free. */
#ifndef GANNET_MIME_MIME_H
#define GANNET_MIME_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIME_MAX_DEPTH 64            /* deeper parts are treated as opaque bodies */
#define MIME_MAX_PARTS 10000         /* more parts: the rest is body of the last */
#define MIME_MAX_HEADER (256 * 1024) /* header bytes kept per part; the offsets stay exact */

struct mime_param {
	char *name;  /* as written, e.g. "charset" or "filename*0*" */
	char *value; /* unquoted */
};

/* mime_part.flags: how the part was parsed. */
#define MIME_PART_MULTIPART 0x01 /* a multipart: children are its parts (none without boundary) */
#define MIME_PART_MESSAGE 0x02   /* message/rfc822: one child, the encapsulated message */
#define MIME_PART_TEXT 0x04      /* a text type (or the default): BODYSTRUCTURE counts lines */
#define MIME_PART_OPAQUE 0x08    /* a multipart or message left unparsed (depth or part limit) */
#define MIME_PART_HAS_NUL 0x10   /* a NUL byte in the header or body */

struct mime_part {
	/* [header_start, body_start) is the header including the blank line that
	 * ends it; [body_start, body_end) the body. For a multipart's child, the
	 * range excludes the boundary lines and the CRLF before a boundary; that
	 * CRLF is never in the part it ends, even when it is the blank line of a
	 * header that a boundary cuts short (the header then has no blank line;
	 * parts around it inside the multipart, such as the message/rfc822 part
	 * holding that header, keep the CRLF in their body, as Dovecot does). */
	uint64_t header_start, body_start, body_end;
	/* The same lengths with every bare LF counted as CRLF: the octets IMAP
	 * sends (RFC822.SIZE, BODYSTRUCTURE sizes); equal to the ranges' lengths
	 * in a file with CRLF line ends. */
	uint64_t header_vsize, body_vsize;
	uint64_t body_lines; /* lines in the body (text and message/rfc822 parts report it) */
	/* The header bytes, up to MIME_MAX_HEADER (4 KiB per part once one
	 * message has 64 MiB of headers kept, so memory stays bounded). */
	char *header;
	size_t header_len;
	unsigned flags; /* MIME_PART_* */

	/* Content-Type, defaults per RFC 2045 5.2 (text/plain; charset=us-ascii, or
	 * message/rfc822 inside multipart/digest), type and subtype as written
	 * ("" where the field is too broken to tell). params are as written, in
	 * order, before RFC 2231 continuations are joined, and none for a default
	 * type (BODYSTRUCTURE adds the default charset). Content-* fields count
	 * only in a MIME part (MIME-Version or Content-Type, or inside a
	 * multipart); the first of each wins, as in Dovecot. */
	char *type, *subtype;
	struct mime_param *params;
	size_t nparams;
	/* Unfolded values (CR and LF removed), NULL when absent; encoding is the
	 * Content-Transfer-Encoding token, NULL also when it is not one token. */
	char *id, *description, *encoding, *md5;
	char *disposition; /* NULL when absent */
	struct mime_param *disp_params;
	size_t ndisp_params;
	char *language; /* Content-Language's tags as "en, de", NULL when absent */
	char *location;

	/* multipart: its parts; message/rfc822: one child, the encapsulated
	 * message (whose header is that message's header). */
	struct mime_part *children;
	size_t nchildren;
};

/* Parses the message in fd (from offset 0 to size). 0, or -1 on I/O error. */
int mime_parse_fd(int fd, uint64_t size, struct mime_part **root);
/* The same for a message in memory (tests, fuzzing). */
int mime_parse_mem(const char *data, size_t len, struct mime_part **root);
void mime_free(struct mime_part *root);

/* The part a section number names ("2.1.3" as {2,1,3}), per RFC 9051 6.4.5:
 * numbering goes through multiparts; a message/rfc822 part's number names the
 * message's own body parts; part 1 of a non-multipart is the body itself.
 * n == 0 names the whole message (root). NULL if there is no such part,
 * which includes any part of a multipart that has none (Dovecot answers
 * BODY[n] for those with an empty string). */
const struct mime_part *mime_part_at(const struct mime_part *root, const uint32_t *path, size_t n);

/* IMAP strings, NUL-terminated, malloc'd. envelope: of the message whose
 * header is part->header (the root, or a message/rfc822 child). */
char *mime_envelope(const struct mime_part *part);
/* BODY (extended=false) or BODYSTRUCTURE (extended=true) of part. */
char *mime_bodystructure(const struct mime_part *part, bool extended);

/* Appends the fields of a header block whose names are (not) in names,
 * for BODY[HEADER.FIELDS (...)] and HEADER.FIELDS.NOT, followed by the
 * blank line, per RFC 9051 6.4.5. Names compare case-insensitively. */
void mime_header_fields(const char *header, size_t len, const char *const *names, size_t n,
                        bool exclude, char **out, size_t *out_len);

/* Content-Transfer-Encoding decoding for BINARY[] (RFC 3516): base64 and
 * quoted-printable decode, 7bit/8bit/binary (or absent) copy. A decoder is
 * fed the body in chunks. Returns NULL for an encoding it does not know
 * (the caller answers UNKNOWN-CTE). */
struct mime_decoder;
struct mime_decoder *mime_decoder_new(const char *encoding);
/* Decodes len bytes, appending output to *out (grown with realloc). */
void mime_decoder_feed(struct mime_decoder *d, const char *in, size_t len, char **out,
                       size_t *out_len, size_t *out_cap);
void mime_decoder_finish(struct mime_decoder *d, char **out, size_t *out_len, size_t *out_cap);
void mime_decoder_free(struct mime_decoder *d);

#endif
