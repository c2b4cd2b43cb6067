/* libFuzzer target: search programs (src/imap/search-parse.h), parsed and
 * then evaluated (src/search/search.h).
 *
 * The input is what a client sends: one or more command lines such as
 * "a SEARCH OR FROM x (SINCE 1-Feb-2024 NOT SEEN)\r\n" (a missing final CRLF
 * is added). Each goes through the real command parser first, so the search
 * parser sees the argument trees it sees in the server: atoms, quoted
 * strings, literals, nested lists. After "UID SEARCH" or "SEARCH", and an
 * optional "RETURN (...)", the rest is the program, with the server's
 * limits (32 levels, 1,000 keys), a 10-message view whose largest UID is 20,
 * and "$" = UIDs 2, 5, 7. An input starting with 'u' runs as after ENABLE
 * UTF8=ACCEPT; one starting with 'r' allows 4 ranges in a sequence set
 * instead of the server's 100,000, so that limit is reachable too. A
 * program that parses is checked against the contract in search-parse.h
 * and evaluated on three small messages (headers, RFC 2047 words, a
 * base64/quoted-printable multipart, an empty one), so the evaluator meets
 * every key the parser can produce. */
#include "imap/parser.h"
#include "imap/search-parse.h"
#include "search/search.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct parser_limits limits = {
    .max_line = 64 * 1024,
    .max_depth = 32,
    .max_tokens = 100000,
    .max_literal = 1024 * 1024,
    .max_command = 8 * 1024 * 1024,
    .max_discard = 64 * 1024 * 1024,
};

static const uint32_t saved[] = {2, 5, 7};

static const char *const messages[] = {
    "From: =?UTF-8?Q?Andr=C3=A9?= <andre@example.org>\r\n"
    "To: bob@example.com, \"Carol\" <carol@example.net>\r\n"
    "Cc: dave@example.com\r\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9?= meeting\r\n"
    "Date: Tue, 13 Feb 2024 09:30:00 +0100\r\n"
    "X-Priority: 1\r\n"
    "\r\n"
    "Hello Bob, see you at the café.\r\n",

    "From: Eve <eve@example.org>\r\n"
    "Subject: report\r\n"
    "Date: 1 Jan 2000 00:00:00 -0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=FC=DFe, soft=\r\n"
    "break\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PGI+Ym9sZDwvYj4gdGV4dA==\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "inner body\r\n"
    "--b1--\r\n",

    "",
};
#define NMSG (sizeof messages / sizeof messages[0])

static int msg_fd[NMSG];

struct msg_arg {
	size_t i;
	bool header_from_index;
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < NMSG; i++) {
		size_t len = strlen(messages[i]);
		msg_fd[i] = memfd_create("fuzz-search-msg", 0);
		check(msg_fd[i] >= 0 && write(msg_fd[i], messages[i], len) == (ssize_t)len);
	}
	return 0;
}

static int open_file(void *arg, int *fd, uint64_t *size)
{
	const struct msg_arg *m = arg;

	*fd = dup(msg_fd[m->i]);
	*size = strlen(messages[m->i]);
	return *fd >= 0 ? 0 : -1;
}

/* The index's cached copy of the header, as the store hands it over. */
static int load_header(void *arg, char **raw, size_t *len)
{
	const struct msg_arg *m = arg;
	const char *s = messages[m->i], *end = strstr(s, "\r\n\r\n");

	if (!m->header_from_index)
		return -1;
	*len = end ? (size_t)(end + 4 - s) : strlen(s);
	*raw = strndup(s, *len);
	return 0;
}

/* "sequence sets are resolved here, so the tree holds only sorted,
 * disjoint ranges" */
static void check_ranges(const struct search_node *n)
{
	for (size_t i = 0; i < n->nranges; i++) {
		check(n->ranges[i].lo <= n->ranges[i].hi);
		check(i == 0 || n->ranges[i - 1].hi < n->ranges[i].lo);
	}
}

/* The tree's shape as search.h and search-parse.h describe it. */
static void check_tree(const struct search_node *n)
{
	switch (n->key) {
	case SK_OR:
		check(n->nkids == 2);
		break;
	case SK_NOT:
		check(n->nkids == 1);
		break;
	case SK_AND:
		break;
	case SK_SEQ:
	case SK_UID:
		check_ranges(n);
		/* fall through */
	default:
		check(n->nkids == 0);
	}
	if (n->key == SK_KEYWORD || n->key == SK_BODY || n->key == SK_TEXT)
		check(n->str != NULL);
	if (n->key == SK_HEADER)
		check(n->field && n->str);
	for (size_t i = 0; i < n->nkids; i++)
		check_tree(&n->kids[i]);
}

static void evaluate(const struct search_node *prog)
{
	struct search_cache *c = search_cache_new();

	(void)search_needs_message(prog);
	for (size_t i = 0; i < NMSG; i++) {
		struct msg_arg arg = {i, i == 1};
		struct search_msg m = {
		    .seq = (uint32_t)(i * 4 + 1),
		    .uid = (uint32_t)(i * 9 + 2),
		    .flags = (uint32_t)(i * 5),
		    .keywords = i == 0 ? "$Forwarded Work" : "",
		    .recent = i == 2,
		    .size = strlen(messages[i]),
		    .internaldate = 1707813000 + (int64_t)i * 86400 * 400,
		    .open_file = open_file,
		    .load_header = load_header,
		    .arg = &arg,
		};
		(void)search_match(prog, &m, c);
		search_cache_clear(c);
	}
	search_cache_free(c);
}

static bool is_word(const struct imap_arg *a, const char *w)
{
	return a->type == ARG_ATOM && strcasecmp(a->str, w) == 0;
}

static void run_command(const struct imap_command *cmd, bool utf8, size_t max_ranges)
{
	const struct imap_arg *a = cmd->args;
	size_t n = cmd->nargs;

	if (strcmp(cmd->name, "UID") == 0 && n > 0 && is_word(&a[0], "SEARCH"))
		a++, n--;
	if (n >= 2 && is_word(&a[0], "RETURN") && a[1].type == ARG_LIST)
		a += 2, n -= 2;
	struct search_parse_ctx ctx = {
	    .nmsgs = 10,
	    .max_uid = 20,
	    .saved = saved,
	    .nsaved = 3,
	    .utf8 = utf8,
	    .max_depth = 32,
	    .max_keys = 1000,
	    .max_ranges = max_ranges,
	};
	const char *status = NULL;
	char err[200] = "";
	struct search_node *prog = search_parse(a, n, &ctx, &status, err, sizeof err);
	if (!prog) {
		check(status && (strcmp(status, "BAD") == 0 || strcmp(status, "NO") == 0));
		check(err[0] != '\0');
		return;
	}
	check(prog->key == SK_AND);
	check_tree(prog);
	evaluate(prog);
	search_free(prog);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool utf8 = size > 0 && data[0] == 'u';
	size_t max_ranges = size > 0 && data[0] == 'r' ? 4 : 100000;
	char *buf = malloc(size + 2);
	size_t len = size;

	memcpy(buf, data, size);
	if (len < 2 || buf[len - 2] != '\r' || buf[len - 1] != '\n') {
		buf[len++] = '\r';
		buf[len++] = '\n';
	}
	struct imap_parser *p = parser_new(&limits, NULL, NULL);
	parser_set_utf8(p, utf8);
	for (size_t off = 0; off < len;) {
		struct imap_command *cmd = NULL;
		const char *line = NULL;
		size_t used = 0;
		enum parse_event ev = parser_feed(p, buf + off, len - off, &used, &cmd, &line);

		off += used;
		if (ev == PARSE_COMMAND) {
			run_command(cmd, utf8, max_ranges);
			imap_command_free(cmd);
		} else if (ev == PARSE_FATAL || used == 0) {
			break;
		}
	}
	parser_free(p);
	free(buf);
	return 0;
}
