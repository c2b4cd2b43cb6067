/* The searchable text of a message body, for BODY and TEXT.
 *
 * RFC 9051 6.4.4 leaves "the body" to the server; ours is what a reader
 * sees: every text part (text/plain, text/html, ...; in multiparts and in encapsulated messages at
 * any depth up to mime.h's limits), its Content-Transfer-Encoding undone (an unknown encoding is
 * searched as it is) and its charset converted to UTF-8 (an unknown charset is searched as raw
 * bytes, which finds ASCII and UTF-8), plus the header of each message/rfc822 part, decoded like
 * the top-level header. Non-text parts (images, application types) are skipped: their bytes are not
 * text and base64 matches would be noise. Parts are separated by a newline so a match never spans
 * two parts.
 *
 * Memory: at most SEARCH_MAX_BODY bytes of folded text per message; text
 * beyond that is not searched. Decoding reads the file in 64 KiB pieces and
 * stops once the budget is spent, so a huge part costs no more than that. */
#include "search/search-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mime/mime.h"

#define CHUNK (64 * 1024)

struct body {
	int fd;
	struct sbuf *out;
};

static size_t budget(const struct body *b)
{
	return b->out->len < SEARCH_MAX_BODY ? SEARCH_MAX_BODY - b->out->len : 0;
}

static const char *charset_of(const struct mime_part *p)
{
	for (size_t i = 0; i < p->nparams; i++)
		if (strcasecmp(p->params[i].name, "charset") == 0)
			return p->params[i].value;
	return NULL;
}

/* The part's body with its transfer encoding undone, up to max bytes. */
static void decode_part(const struct body *b, const struct mime_part *p, size_t max, char **out,
                        size_t *len, size_t *cap)
{
	struct mime_decoder *d = mime_decoder_new(p->encoding);
	char *buf = xmalloc(CHUNK);
	uint64_t off = p->body_start;

	if (!d)
		d = mime_decoder_new(NULL);
	while (off < p->body_end && *len < max) {
		size_t want = p->body_end - off < CHUNK ? (size_t)(p->body_end - off) : CHUNK;
		ssize_t got = pread(b->fd, buf, want, (off_t)off);

		if (got <= 0)
			break;
		mime_decoder_feed(d, buf, (size_t)got, out, len, cap);
		off += (uint64_t)got;
	}
	mime_decoder_finish(d, out, len, cap);
	mime_decoder_free(d);
	free(buf);
}

static void add_text(struct body *b, const struct mime_part *p)
{
	char *raw = NULL;
	size_t len = 0, cap = 0, max = budget(b);
	struct sbuf utf8 = {0};
	const char *cs = charset_of(p);

	decode_part(b, p, max, &raw, &len, &cap);
	if (!search_charset_to_utf8(cs, raw ? raw : "", len, &utf8))
		sbuf_add(&utf8, raw ? raw : "", len);
	free(raw);
	if (utf8.len > max)
		utf8.len = max;
	search_fold(b->out, utf8.s ? utf8.s : "", utf8.len);
	sbuf_addc(b->out, '\n');
	sbuf_free(&utf8);
}

static void add_header(struct body *b, const struct mime_part *p)
{
	struct search_header h = {0};

	search_header_add(&h, p->header ? p->header : "", p->header_len);
	sbuf_add(b->out, h.text.s, h.text.len < budget(b) ? h.text.len : budget(b));
	sbuf_addc(b->out, '\n');
	search_header_free(&h);
}

static bool is_text(const struct mime_part *p)
{
	return (p->flags & MIME_PART_TEXT) || (p->type && strcasecmp(p->type, "text") == 0);
}

static void add_part(struct body *b, const struct mime_part *p)
{
	if (budget(b) == 0 || (p->flags & MIME_PART_OPAQUE))
		return;
	if (p->flags & MIME_PART_MULTIPART) {
		for (size_t i = 0; i < p->nchildren; i++)
			add_part(b, &p->children[i]);
	} else if (p->flags & MIME_PART_MESSAGE) {
		if (p->nchildren) {
			add_header(b, &p->children[0]);
			add_part(b, &p->children[0]);
		}
	} else if (is_text(p)) {
		add_text(b, p);
	}
}

void search_body_text(int fd, uint64_t size, struct sbuf *out)
{
	struct mime_part *root = NULL;
	struct body b = {fd, out};

	sbuf_add(out, "", 0);
	if (mime_parse_fd(fd, size, &root) != 0)
		return;
	add_part(&b, root);
	mime_free(root);
}
