/* libFuzzer target: the MIME parser (src/mime/mime.h) and what FETCH and
 * SEARCH do with its tree, on the input as a stored message.
 *
 * FETCH's paths: mime_parse_fd on the file (here a memfd), ENVELOPE of the
 * message and of every message/rfc822 part, BODY and BODYSTRUCTURE, every
 * section number that names a part (mime_part_at) with its HEADER, MIME,
 * HEADER.FIELDS (.NOT) and BINARY (mime_decoder_*) extraction. SEARCH's: the
 * header and decoded body text (src/search: RFC 2047, base64/QP, charsets,
 * folding) through search_match with a few header, body and date keys.
 *
 * What mime.h promises is checked, and a broken promise aborts: any input
 * parses; offsets nest and stay inside the message; kept header bytes are the
 * message's; the tree does not depend on how the bytes were split (memory,
 * file, or chunks whose size comes from the input); ENVELOPE and BODYSTRUCTURE
 * are well-formed IMAP; HEADER.FIELDS ends with the blank line. */
#include "imap/parser.h"
#include "imap/search-parse.h"
#include "mime/header.h"
#include "mime/mime-int.h"
#include "search/search.h"

#include "../mime_tree_check.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_SECTION_DEPTH 6
#define MAX_SECTIONS 200

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_imap(char *s)
{
	check(s && imap_list_ok(s));
	free(s);
}

/* ---- FETCH: sections ---- */

/* BINARY[section]: the body through its transfer decoding, fed in pieces. */
static void decode_body(const struct mime_part *p, const char *data, size_t step)
{
	struct mime_decoder *d = mime_decoder_new(p->encoding);
	char *out = NULL;
	size_t len = 0, cap = 0;

	if (!d)
		return; /* UNKNOWN-CTE */
	for (uint64_t i = p->body_start; i < p->body_end; i += step) {
		size_t n = p->body_end - i < step ? (size_t)(p->body_end - i) : step;
		mime_decoder_feed(d, data + i, n, &out, &len, &cap);
	}
	mime_decoder_finish(d, &out, &len, &cap);
	check(len <= cap && (out != NULL || len == 0));
	mime_decoder_free(d);
	free(out);
}

static void header_fields(const char *h, size_t len)
{
	static const char *const names[] = {"Subject", "content-type", "FROM", "x", "To", "Date"};

	for (int exclude = 0; exclude < 2; exclude++) {
		char *out = NULL;
		size_t olen = 0;
		mime_header_fields(h ? h : "", len, names, 1 + (size_t)exclude * 5, exclude, &out,
		                   &olen);
		check(out && olen >= 2 && memcmp(out + olen - 2, "\r\n", 2) == 0);
		free(out);
	}
}

/* What FETCH BODY[path], BODY[path.MIME], BODY[path.HEADER.FIELDS ...] and
 * BINARY[path] read of one part. */
static void extract(const struct mime_part *p, const char *data, size_t len, size_t step)
{
	check(p->body_end <= len);
	header_fields(p->header, p->header_len);
	if (p->flags & MIME_PART_MESSAGE)
		header_fields(p->children[0].header, p->children[0].header_len);
	if (!(p->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)))
		decode_body(p, data, step);
}

/* Every section number up to MAX_SECTION_DEPTH levels that names a part,
 * plus one past the end at each level (which must name none). */
static void sections(const struct mime_part *root, uint32_t *path, size_t n, const char *data,
                     size_t len, size_t *budget)
{
	const struct mime_part *p = mime_part_at(root, path, n);

	if (!p || *budget == 0)
		return;
	(*budget)--;
	extract(p, data, len, 1 + *budget % 61);
	if (n == MAX_SECTION_DEPTH)
		return;
	const struct mime_part *msg = p;
	if (n > 0 && (p->flags & MIME_PART_MESSAGE) && p->nchildren == 1)
		msg = &p->children[0];
	else if (n > 0 && !(p->flags & MIME_PART_MULTIPART))
		return; /* a leaf: "1" under it names nothing new */
	size_t kids = (msg->flags & MIME_PART_MULTIPART) ? msg->nchildren : 1;
	for (size_t i = 1; i <= kids + 1 && i <= 50; i++) {
		path[n] = (uint32_t)i;
		sections(root, path, n + 1, data, len, budget);
	}
}

static void envelopes(const struct mime_part *p)
{
	if (p->flags & MIME_PART_MESSAGE)
		check_imap(mime_envelope(&p->children[0]));
	for (size_t i = 0; i < p->nchildren; i++)
		envelopes(&p->children[i]);
}

/* ---- SEARCH: header and body text ---- */

static const char *const programs[] = {
    "a SEARCH SUBJECT \"caf\xc3\xa9\"\r\n",
    "a SEARCH FROM andre TO bob CC x BCC y\r\n",
    "a SEARCH HEADER Content-Type multipart\r\n",
    "a SEARCH HEADER X-Missing \"\"\r\n",
    "a SEARCH BODY hello\r\n",
    "a SEARCH TEXT \"gr\xc3\xbc\xc3\x9f\"\r\n",
    "a SEARCH OR SENTON 13-Feb-2024 SENTBEFORE 1-Jan-2000\r\n",
    "a SEARCH SENTSINCE 1-Jan-1970 LARGER 10\r\n",
};
#define NPROG (sizeof programs / sizeof programs[0])

static struct search_node *prog[NPROG];
static int msg_fd = -1;
static size_t cur_len;

static struct search_node *parse_program(const char *text)
{
	static const struct parser_limits lim = {.max_line = 1024,
	                                         .max_depth = 8,
	                                         .max_tokens = 100,
	                                         .max_literal = 1024,
	                                         .max_command = 1024,
	                                         .max_discard = 1024};
	static const struct search_parse_ctx ctx = {
	    .nmsgs = 1, .max_uid = 1, .max_depth = 32, .max_keys = 1000};
	struct imap_parser *p = parser_new(&lim, NULL, NULL);
	struct imap_command *cmd = NULL;
	const char *line = NULL, *status = NULL;
	size_t used = 0;
	char err[200];

	parser_set_utf8(p, true);
	if (parser_feed(p, text, strlen(text), &used, &cmd, &line) != PARSE_COMMAND) {
		fprintf(stderr, "fuzz_mime: cannot parse %s", text);
		abort();
	}
	struct search_node *n = search_parse(cmd->args, cmd->nargs, &ctx, &status, err, sizeof err);
	if (!n) {
		fprintf(stderr, "fuzz_mime: %s %s: %s", status, err, text);
		abort();
	}
	imap_command_free(cmd);
	parser_free(p);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < NPROG; i++)
		prog[i] = parse_program(programs[i]);
	msg_fd = memfd_create("fuzz-mime", 0);
	check(msg_fd >= 0);
	return 0;
}

static int open_file(void *arg, int *fd, uint64_t *size)
{
	(void)arg;
	*fd = dup(msg_fd);
	*size = cur_len;
	return *fd >= 0 ? 0 : -1;
}

static void search(void)
{
	struct search_cache *c = search_cache_new();
	struct search_msg m = {.seq = 1,
	                       .uid = 1,
	                       .size = cur_len,
	                       .internaldate = 1707813000,
	                       .open_file = open_file};

	for (size_t i = 0; i < NPROG; i++)
		(void)search_match(prog[i], &m, c);
	search_cache_free(c);
}

/* Puts the message in the memfd, as the file the server would read. */
static void store(const char *data, size_t len)
{
	check(ftruncate(msg_fd, 0) == 0);
	check(pwrite(msg_fd, data, len, 0) == (ssize_t)len);
	cur_len = len;
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
	const char *data = (const char *)bytes;
	struct mime_part *root = NULL, *other = NULL;
	uint32_t path[MAX_SECTION_DEPTH + 1];
	size_t budget = MAX_SECTIONS;

	store(data, len);
	check(mime_parse_fd(msg_fd, len, &root) == 0);
	check(mime_tree_ok(root, data, len, 0));
	check(mime_parse_mem(data, len, &other) == 0);
	check(mime_trees_same(root, other));
	mime_free(other);
	check(mime_parse_chunks(data, len, 1 + len % 97, &other) == 0);
	check(mime_trees_same(root, other));
	mime_free(other);

	check_imap(mime_envelope(root));
	check_imap(mime_bodystructure(root, false));
	check_imap(mime_bodystructure(root, true));
	envelopes(root);
	sections(root, path, 0, data, len, &budget);
	(void)mime_header_has_8bit(data, len);
	mime_free(root);

	search();
	return 0;
}
