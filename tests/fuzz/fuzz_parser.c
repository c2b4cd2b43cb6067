/* libFuzzer target: the incremental IMAP command parser (src/imap/parser.h).
 *
 * Input layout: byte 0 holds options, bytes 1-4 are chunk sizes, the rest is
 * what a client sends. The stream is fed in chunks of those sizes (cycled,
 * low six bits, 0 meaning "everything left"), so a line, a literal header or
 * a literal can be cut anywhere, as TCP may cut them.
 *
 * Options (byte 0):
 *   0x01  UTF8=ACCEPT is on (quoted strings may hold UTF-8)
 *   0x02  parser_want_line before the first byte (SASL initial response)
 *   0x04  parser_want_line after every AUTHENTICATE command, as the session does
 *   0x08  small limits (every limit reachable with short inputs), else the
 *         server's defaults from src/main.c
 *   0x10  the literal sink refuses literals of APPEND with SINK_TOOBIG
 *
 * Every event is checked against what parser.h promises; a broken promise
 * aborts so libFuzzer reports it. Commands are freed; a PARSE_FATAL parser is
 * replaced by a new one, as a new connection would be, and feeding goes on. */
#include "imap/parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER 5

static const struct parser_limits server_limits = {
    .max_line = 64 * 1024,
    .max_depth = 32,
    .max_tokens = 100000,
    .max_literal = 1024 * 1024,
    .max_command = 8 * 1024 * 1024,
    .max_discard = 64 * 1024 * 1024,
};

static const struct parser_limits small_limits = {
    .max_line = 200,
    .max_depth = 4,
    .max_tokens = 20,
    .max_literal = 100,
    .max_command = 150,
    .max_discard = 1000,
};

struct run {
	unsigned opts;
	struct imap_parser *p;
};

static enum literal_sink sink(void *ctx, const char *name, uint64_t size, int *fd, char **path)
{
	const struct run *r = ctx;

	(void)size;
	(void)fd;
	(void)path;
	if ((r->opts & 0x10) && name && strcmp(name, "APPEND") == 0)
		return SINK_TOOBIG;
	return SINK_MEMORY;
}

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Walks an argument tree, checking the shape parser.h describes. */
static void check_arg(const struct imap_arg *a)
{
	switch (a->type) {
	case ARG_ATOM:
		check(a->str && !a->literal && !a->file && a->len > 0 && strlen(a->str) == a->len);
		check(a->nlist == 0);
		break;
	case ARG_STRING:
		/* the sink never asks for a file, so every string is in memory */
		check(a->str && !a->file && a->nlist == 0);
		check(a->has_nul == (memchr(a->str, '\0', a->len) != NULL));
		check(a->has_nul || strlen(a->str) == a->len);
		check(a->str[a->len] == '\0');
		check(a->literal || !a->literal8);
		check(a->literal || !a->has_nul);
		break;
	case ARG_LIST:
		check(!a->str && (a->list || a->nlist == 0));
		for (size_t i = 0; i < a->nlist; i++)
			check_arg(&a->list[i]);
		break;
	default:
		abort();
	}
}

static void check_command(const struct imap_command *c)
{
	check(c->tag && imap_tag_valid(c->tag));
	check(c->name && c->name[0]);
	for (const char *s = c->name; *s; s++)
		check(*s < 'a' || *s > 'z'); /* upper-cased */
	check(c->args || c->nargs == 0);
	for (size_t i = 0; i < c->nargs; i++)
		check_arg(&c->args[i]);
}

static void check_error(const struct imap_parser *p, bool fatal)
{
	const char *tag = parser_error_tag(p), *status = parser_error_status(p);
	const char *text = parser_error_text(p);

	check(tag && status && text && text[0]);
	check(strcmp(tag, "*") == 0 || imap_tag_valid(tag));
	if (fatal)
		check(strcmp(status, "BYE") == 0 || strcmp(status, "BAD") == 0 ||
		      strcmp(status, "NO") == 0);
	else
		check(strcmp(status, "BAD") == 0 || strcmp(status, "NO") == 0);
}

static void new_parser(struct run *r)
{
	parser_free(r->p);
	r->p = parser_new((r->opts & 0x08) ? &small_limits : &server_limits, sink, r);
	parser_set_utf8(r->p, r->opts & 0x01);
}

/* Feeds one chunk, handling events until it is used up. */
static void feed_chunk(struct run *r, const char *data, size_t len)
{
	while (len > 0) {
		struct imap_command *cmd = NULL;
		const char *line = NULL;
		size_t used = 0;
		enum parse_event ev = parser_feed(r->p, data, len, &used, &cmd, &line);

		check(used <= len);
		check((ev == PARSE_COMMAND) == (cmd != NULL));
		/* every event consumes input (else this loop would never end) */
		check(used > 0);
		data += used;
		len -= used;
		switch (ev) {
		case PARSE_COMMAND:
			check_command(cmd);
			if ((r->opts & 0x04) && strcmp(cmd->name, "AUTHENTICATE") == 0)
				parser_want_line(r->p);
			imap_command_free(cmd);
			break;
		case PARSE_LINE:
			check(line != NULL);
			(void)strlen(line);
			break;
		case PARSE_ERROR:
			check_error(r->p, false);
			break;
		case PARSE_FATAL:
			check_error(r->p, true);
			new_parser(r); /* the session would close; start a new one */
			break;
		case PARSE_MORE:
		case PARSE_CONTINUE:
			break;
		default:
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = {0};

	if (size < HEADER)
		return 0;
	r.opts = data[0];
	new_parser(&r);
	if (r.opts & 0x02)
		parser_want_line(r.p);
	const char *s = (const char *)data + HEADER;
	size_t left = size - HEADER;
	for (unsigned i = 0; left > 0; i++) {
		size_t n = data[1 + i % 4] & 0x3f;
		if (n == 0 || n > left)
			n = left;
		feed_chunk(&r, s, n);
		s += n;
		left -= n;
	}
	parser_free(r.p);
	return 0;
}
