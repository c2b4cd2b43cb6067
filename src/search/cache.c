/* Per-message search state (struct search_cache): the message file, its
 * decoded header, decoded body text and Date: day, each computed on first
 * use and kept until search_cache_clear, so a program with several header
 * or body keys reads and decodes the message once. The file is opened at
 * most once per message and closed by search_cache_clear.
 *
 * Header keys read only the header: up to the first empty line, at most
 * SEARCH_MAX_HEADER bytes (a longer header is searched in its first
 * SEARCH_MAX_HEADER bytes). The body is parsed only for BODY and TEXT. */
#include "search/search-int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024)

enum state { NOT_YET, LOADED, FAILED };

struct search_cache {
	int fd;
	uint64_t size;
	enum state file, raw_state, header, body, date;
	char *raw; /* the raw header */
	size_t raw_len;
	struct search_header hdr;
	struct sbuf body_text;
	int64_t sent_day;
};

struct search_cache *search_cache_new(void)
{
	struct search_cache *c = xcalloc(1, sizeof *c);

	c->fd = -1;
	return c;
}

void search_cache_clear(struct search_cache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->raw);
	search_header_free(&c->hdr);
	sbuf_free(&c->body_text);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

void search_cache_free(struct search_cache *c)
{
	if (!c)
		return;
	search_cache_clear(c);
	free(c);
}

static bool open_file(struct search_cache *c, const struct search_msg *m)
{
	if (c->file == NOT_YET) {
		c->file = FAILED;
		if (m->open_file && m->open_file(m->arg, &c->fd, &c->size) == 0)
			c->file = LOADED;
		else
			c->fd = -1;
	}
	return c->file == LOADED;
}

/* The header ends at the first empty line: "\n\n" or "\n\r\n", or an
 * empty first line. Returns its length in buf[0..len), or 0 if not found. */
static size_t header_end(const char *buf, size_t len)
{
	if (len >= 1 && buf[0] == '\n')
		return 1;
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
		return 2;
	for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + len - p))); p++) {
		if (p + 1 < buf + len && p[1] == '\n')
			return (size_t)(p + 2 - buf);
		if (p + 2 < buf + len && p[1] == '\r' && p[2] == '\n')
			return (size_t)(p + 3 - buf);
	}
	return 0;
}

/* Reads the raw header: in pieces, stopping at the empty line, EOF or the cap. */
static void read_header(struct search_cache *c)
{
	size_t len = 0, end = 0;

	c->raw = xmalloc(SEARCH_MAX_HEADER + 1);
	while (len < SEARCH_MAX_HEADER && !end) {
		size_t want =
		    SEARCH_MAX_HEADER - len < READ_CHUNK ? SEARCH_MAX_HEADER - len : READ_CHUNK;
		ssize_t got = pread(c->fd, c->raw + len, want, (off_t)len);

		if (got <= 0)
			break;
		/* Look again from a little before the new bytes: the empty
		 * line may straddle two reads. */
		size_t from = len >= 2 ? len - 2 : 0;
		len += (size_t)got;
		end = header_end(c->raw + from, len - from);
		if (end)
			end += from;
	}
	c->raw_len = end ? end : len;
	c->raw[c->raw_len] = '\0';
}

bool search_cache_raw(struct search_cache *c, const struct search_msg *m, const char **raw,
                      size_t *len)
{
	if (c->raw_state == NOT_YET) {
		c->raw_state = FAILED;
		/* the index's copy first: header keys then open no file */
		if (m->load_header && m->load_header(m->arg, &c->raw, &c->raw_len) == 0) {
			c->raw_state = LOADED;
		} else if (open_file(c, m)) {
			read_header(c);
			c->raw_state = LOADED;
		}
	}
	*raw = c->raw;
	*len = c->raw_len;
	return c->raw_state == LOADED;
}

const struct search_header *search_cache_header(struct search_cache *c, const struct search_msg *m)
{
	const char *raw;
	size_t len;
	if (c->header == NOT_YET) {
		c->header = FAILED;
		if (search_cache_raw(c, m, &raw, &len)) {
			search_header_add(&c->hdr, raw, len);
			c->header = LOADED;
		}
	}
	return c->header == LOADED ? &c->hdr : NULL;
}

const struct sbuf *search_cache_body(struct search_cache *c, const struct search_msg *m)
{
	if (c->body == NOT_YET) {
		c->body = FAILED;
		if (open_file(c, m)) {
			search_body_text(c->fd, c->size, &c->body_text);
			c->body = LOADED;
		}
	}
	return c->body == LOADED ? &c->body_text : NULL;
}

/* The first Date: field decides; a missing or unparseable one makes every
 * SENT* key false (and NOT SENTON true), since the message has no sent
 * date to compare (RFC 9051 does not say; a missing date is not "before"
 * any day). */
bool search_cache_sent_day(struct search_cache *c, const struct search_msg *m, int64_t *day)
{
	if (c->date == NOT_YET) {
		c->date = FAILED;
		if (search_cache_header(c, m)) {
			char *v = search_header_raw(c->raw, c->raw_len, "Date");

			if (v && search_rfc5322_day(v, &c->sent_day))
				c->date = LOADED;
			free(v);
		}
	}
	*day = c->sent_day;
	return c->date == LOADED;
}
