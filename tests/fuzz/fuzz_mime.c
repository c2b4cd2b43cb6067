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

/* ---- tree invariants (as in tests/unit/test_mime_fuzz.c) ---- */

static bool part_ok(const struct mime_part *p, const char *data, size_t len, int depth)
{
	unsigned kinds = p->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE | MIME_PART_OPAQUE);

	if (!(p->header_start <= p->body_start && p->body_start <= p->body_end &&
	      p->body_end <= len))
		return false;
	if (p->header_len > p->body_start - p->header_start ||
	    (p->header_len && memcmp(p->header, data + p->header_start, p->header_len) != 0))
		return false;
	if (p->body_vsize < p->body_end - p->body_start || p->body_lines > p->body_vsize ||
	    p->header_vsize < p->body_start - p->header_start)
		return false;
	if (kinds != 0 && kinds != MIME_PART_MULTIPART && kinds != MIME_PART_MESSAGE &&
	    kinds != MIME_PART_OPAQUE)
		return false;
	if ((p->flags & MIME_PART_MESSAGE) && p->nchildren != 1)
		return false;
	if (!(p->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)) && p->nchildren != 0)
		return false;
	if (depth > MIME_MAX_DEPTH || !p->type || !p->subtype)
		return false;
	uint64_t prev_end = p->body_start;
	for (size_t i = 0; i < p->nchildren; i++) {
		const struct mime_part *c = &p->children[i];
		if (c->header_start < prev_end || c->body_end > p->body_end ||
		    !part_ok(c, data, len, depth + 1))
			return false;
		prev_end = c->body_end;
	}
	return true;
}

static void dump(struct sbuf *b, const struct mime_part *p)
{
	sbuf_printf(b,
	            "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
	            ",%zu,%u,%s/%s[",
	            p->header_start, p->body_start, p->body_end, p->header_vsize, p->body_vsize,
	            p->body_lines, p->header_len, p->flags, p->type, p->subtype);
	for (size_t i = 0; i < p->nchildren; i++)
		dump(b, &p->children[i]);
	sbuf_addc(b, ']');
}

static void check_same_tree(const struct mime_part *a, const struct mime_part *b)
{
	struct sbuf x = {0}, y = {0};

	dump(&x, a);
	dump(&y, b);
	check(strcmp(x.s, y.s) == 0);
	sbuf_free(&x);
	sbuf_free(&y);
}

/* A well-formed IMAP parenthesised list: atoms NIL and numbers, quoted
 * strings without CR, LF or 8-bit bytes, literals of the stated length. */
static bool imap_ok(const char *s)
{
	size_t n = strlen(s), i = 0;
	int depth = 0;

	if (n < 2 || s[0] != '(' || s[n - 1] != ')')
		return false;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c == '(' || c == ')' || c == ' ') {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
			if (depth < 0 || (depth == 0 && i + 1 < n))
				return false;
			i++;
		} else if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				unsigned char q = (unsigned char)s[i];
				if (q == '\r' || q == '\n' || q >= 0x80)
					return false;
				if (q == '\\' &&
				    (i + 1 >= n || (s[i + 1] != '"' && s[i + 1] != '\\')))
					return false;
				i += q == '\\';
			}
			if (i++ >= n)
				return false;
		} else if (c == '{') {
			char *end;
			unsigned long long l = strtoull(s + i + 1, &end, 10);
			if (strncmp(end, "}\r\n", 3) != 0 || (size_t)(end + 3 - s) + l > n)
				return false;
			i = (size_t)(end + 3 - s) + (size_t)l;
		} else if (strncmp(s + i, "NIL", 3) == 0) {
			i += 3;
		} else if (c >= '0' && c <= '9') {
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
		} else {
			return false;
		}
	}
	return depth == 0;
}

static void check_imap(char *s)
{
	check(s && imap_ok(s));
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
	check(part_ok(root, data, len, 0));
	check(mime_parse_mem(data, len, &other) == 0);
	check_same_tree(root, other);
	mime_free(other);
	check(mime_parse_chunks(data, len, 1 + len % 97, &other) == 0);
	check_same_tree(root, other);
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
