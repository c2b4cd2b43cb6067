/* imap/search-parse.c: SEARCH arguments to a program tree. Each case runs
 * the real command parser over "a SEARCH ..." and renders the tree as a
 * string (see show()), so the expectations read like the programs. */
#include "imap/parser.h"
#include "imap/search-parse.h"
#include "search/search.h"
#include "store/maildir.h"
#include "unit.h"

#include <stdlib.h>

static const struct parser_limits lim = {
    .max_line = 8192,
    .max_depth = 64,
    .max_tokens = 1000,
    .max_literal = 8192,
    .max_command = 65536,
    .max_discard = 8192,
};

static const uint32_t saved[] = {3, 4, 5, 9, 9, 20};

static struct search_parse_ctx ctx = {
    .nmsgs = 10,
    .max_uid = 40,
    .saved = saved,
    .nsaved = 6,
    .max_depth = 8,
    .max_keys = 50,
};

static void show(const struct search_node *n, struct sbuf *b)
{
	static const char *const dates[] = {"BEFORE",     "ON",     "SINCE",
	                                    "SENTBEFORE", "SENTON", "SENTSINCE"};
	switch (n->key) {
	case SK_ALL:
		sbuf_adds(b, "ALL");
		break;
	case SK_AND:
	case SK_OR:
	case SK_NOT:
		sbuf_adds(b, n->key == SK_AND ? "(" : n->key == SK_OR ? "OR(" : "NOT(");
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				sbuf_addc(b, ' ');
			show(&n->kids[i], b);
		}
		sbuf_addc(b, ')');
		break;
	case SK_FLAG:
		sbuf_printf(b, "%sFLAG%u", n->negate ? "UN" : "", (unsigned)n->flag);
		break;
	case SK_KEYWORD:
		sbuf_printf(b, "KW=%s", n->str);
		break;
	case SK_RECENT:
		sbuf_adds(b, "RECENT");
		break;
	case SK_NEW:
		sbuf_adds(b, "NEW");
		break;
	case SK_SEQ:
	case SK_UID:
		sbuf_adds(b, n->key == SK_SEQ ? "SEQ=" : "UID=");
		for (size_t i = 0; i < n->nranges; i++)
			sbuf_printf(b, "%s%u:%u", i ? "," : "", (unsigned)n->ranges[i].lo,
			            (unsigned)n->ranges[i].hi);
		break;
	case SK_LARGER:
	case SK_SMALLER:
		sbuf_printf(b, "%s=%llu", n->key == SK_LARGER ? "LARGER" : "SMALLER",
		            (unsigned long long)n->num);
		break;
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		sbuf_printf(b, "%s=%lld", dates[n->key - SK_BEFORE], (long long)(int64_t)n->num);
		break;
	case SK_HEADER:
		sbuf_printf(b, "HDR(%s=%s)", n->field, n->str);
		break;
	case SK_BODY:
		sbuf_printf(b, "BODY=%s", n->str);
		break;
	case SK_TEXT:
		sbuf_printf(b, "TEXT=%s", n->str);
		break;
	}
}

/* Parses "a SEARCH <prog>\r\n" into a command (literals included). */
static struct imap_command *command(const char *prog, bool utf8)
{
	struct imap_parser *p = parser_new(&lim, NULL, NULL);
	char *line = xasprintf("a SEARCH %s\r\n", prog);
	size_t off = 0, len = strlen(line), used;
	struct imap_command *cmd = NULL;
	const char *raw;

	parser_set_utf8(p, utf8);
	while (off < len) {
		enum parse_event ev = parser_feed(p, line + off, len - off, &used, &cmd, &raw);

		off += used;
		if (ev == PARSE_COMMAND || ev == PARSE_ERROR || ev == PARSE_FATAL)
			break;
	}
	parser_free(p);
	free(line);
	return cmd;
}

/* The rendered tree, or "STATUS text" on error; malloc'd. */
static char *run(const char *prog, const struct search_parse_ctx *c)
{
	struct imap_command *cmd = command(prog, c->utf8);
	const char *status = NULL;
	char err[256] = "";
	struct sbuf b = {0};
	struct search_node *n;

	if (!cmd)
		return xstrdup("(command parser refused)");
	n = search_parse(cmd->args, cmd->nargs, c, &status, err, sizeof err);
	if (n)
		show(n, &b);
	else
		sbuf_printf(&b, "%s %s", status, err);
	search_free(n);
	imap_command_free(cmd);
	return sbuf_take(&b);
}

#define EXPECT(prog, want)                    \
	do {                                  \
		char *got_ = run(prog, &ctx); \
		CHECK_STR(got_, want);        \
		free(got_);                   \
	} while (0)

/* Only the status and the start of the text. */
#define EXPECT_ERR(prog, prefix)                                                                 \
	do {                                                                                     \
		char *got_ = run(prog, &ctx);                                                    \
		if (strncmp(got_, prefix, strlen(prefix)) != 0) {                                \
			fprintf(stderr, "%s: got \"%s\", want \"%s...\"\n", prog, got_, prefix); \
			CHECK(0);                                                                \
		} else {                                                                         \
			CHECK(1);                                                                \
		}                                                                                \
		free(got_);                                                                      \
	} while (0)

static void test_flags(void)
{
	char want[256];

	snprintf(want, sizeof want, "(FLAG%d FLAG%d FLAG%d FLAG%d FLAG%d)", FLAG_ANSWERED,
	         FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN);
	EXPECT("ANSWERED deleted Draft FLAGGED SEEN", want);
	snprintf(want, sizeof want, "(UNFLAG%d UNFLAG%d UNFLAG%d UNFLAG%d UNFLAG%d)", FLAG_ANSWERED,
	         FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN);
	EXPECT("UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN", want);
	EXPECT("ALL NEW OLD RECENT", "(ALL NEW NOT(RECENT) RECENT)");
	EXPECT("KEYWORD $Junk UNKEYWORD foo", "(KW=$Junk NOT(KW=foo))");
}

static void test_strings(void)
{
	EXPECT("FROM joe TO \"a b\" CC {3+}\r\nx y BCC \"\" SUBJECT {5+}\r\nCaf\xc3\xa9",
	       "(HDR(From=joe) HDR(To=a b) HDR(Cc=x y) HDR(Bcc=) HDR(Subject=Caf\xc3\xa9))");
	EXPECT("HEADER Message-ID <a@b> header X-Spam \"\"",
	       "(HDR(Message-ID=<a@b>) HDR(X-Spam=))");
	EXPECT("BODY hello TEXT \"two words\"", "(BODY=hello TEXT=two words)");
	EXPECT_ERR("HEADER \"\" x", "BAD Invalid header field name");
	EXPECT_ERR("HEADER \"a:b\" x", "BAD Invalid header field name");
	EXPECT_ERR("HEADER X-Spam", "BAD Missing argument to HEADER");
	EXPECT_ERR("BODY (x)", "BAD Missing argument to BODY");
	EXPECT_ERR("BODY {3+}\r\na\x80z", "BAD Invalid UTF-8");
	EXPECT_ERR("\"SEEN\"", "BAD Search key expected");
}

static void test_dates_sizes(void)
{
	/* 19723 is 2024-01-01; 19782 2024-02-29. */
	EXPECT("BEFORE 1-Jan-2024 ON \"29-feb-2024\" SINCE 01-JAN-2024",
	       "(BEFORE=19723 ON=19782 SINCE=19723)");
	EXPECT("SENTBEFORE 1-Jan-1970 SENTON 31-Dec-1969 SENTSINCE 2-Jan-1970",
	       "(SENTBEFORE=0 SENTON=-1 SENTSINCE=1)");
	EXPECT_ERR("BEFORE 32-Jan-2020", "BAD Invalid date");
	EXPECT_ERR("ON 29-Feb-2023", "BAD Invalid date");
	EXPECT_ERR("SINCE 1-Jan-24", "BAD Invalid date");
	EXPECT_ERR("SINCE 1-Foo-2024", "BAD Invalid date");
	EXPECT_ERR("SINCE 1-Jan-2024x", "BAD Invalid date");
	EXPECT_ERR("SINCE", "BAD Missing argument to SINCE");
	EXPECT("LARGER 100 SMALLER 9223372036854775807",
	       "(LARGER=100 SMALLER=9223372036854775807)");
	EXPECT_ERR("LARGER 9223372036854775808", "BAD Invalid number");
	EXPECT_ERR("LARGER -1", "BAD Invalid number");
	EXPECT_ERR("LARGER \"5\"", "BAD Missing argument to LARGER");
	CHECK(search_parse_date("1-Jan-1970") == 0);
	CHECK(search_parse_date("bogus") == -1);
}

static void test_sets(void)
{
	struct search_parse_ctx empty = ctx;
	char *got;

	EXPECT("1:3,5 2,*", "(SEQ=1:3,5:5 SEQ=2:2,10:10)");
	EXPECT("7:* UID 30:*,2", "(SEQ=7:10 UID=2:2,30:40)");
	EXPECT("UID 100", "(UID=100:100)"); /* UIDs beyond the last are fine */
	EXPECT("$ UID $", "(UID=3:5,9:9,20:20 UID=3:5,9:9,20:20)");
	EXPECT_ERR("11", "BAD Message number out of range");
	EXPECT_ERR("1:11", "BAD Message number out of range");
	EXPECT_ERR("1:x", "BAD Invalid sequence set");
	EXPECT_ERR("0", "BAD Invalid sequence set");
	EXPECT_ERR("UID", "BAD Missing argument to UID");
	EXPECT_ERR("$,1", "BAD Invalid sequence set");

	empty.nmsgs = 0;
	empty.max_uid = 0;
	empty.nsaved = 0;
	/* no message number exists in an empty mailbox: BAD, as for FETCH;
	 * UIDs and "$" are fine */
	got = run("1:*", &empty);
	CHECK_STR(got, "BAD No messages: message number 1:* is out of range");
	free(got);
	got = run("UID 1:* $", &empty);
	CHECK_STR(got, "(UID=0:1 UID=)"); /* "*" is 0 here: it matches nothing */
	free(got);
}

static void test_operators(void)
{
	char *got;
	struct search_parse_ctx small = ctx;

	EXPECT("OR SEEN NOT DELETED", "(OR(FLAG1 NOT(FLAG8)))");
	EXPECT("(SEEN FROM x) OR (1 2) UID 4",
	       "((FLAG1 HDR(From=x)) OR((SEQ=1:1 SEQ=2:2) UID=4:4))");
	EXPECT("NOT NOT OR OR SEEN DRAFT FLAGGED ALL",
	       "(NOT(NOT(OR(OR(FLAG1 FLAG16) FLAG4))) ALL)");
	EXPECT_ERR("OR SEEN", "BAD Missing search key after OR");
	EXPECT_ERR("NOT", "BAD Missing search key after NOT");
	EXPECT_ERR("()", "BAD Missing search key");
	{
		const char *status = NULL;
		char err[64];

		CHECK(search_parse(NULL, 0, &ctx, &status, err, sizeof err) == NULL);
		CHECK_STR(status, "BAD");
	}
	EXPECT_ERR("FOO", "BAD Unknown search key FOO");
	EXPECT_ERR("SEEN (DELETED BOGUS)", "BAD Unknown search key BOGUS");

	small.max_depth = 2;
	got = run("NOT (SEEN)", &small);
	CHECK_STR(got, "(NOT((FLAG1)))");
	free(got);
	got = run("NOT (NOT SEEN)", &small);
	CHECK(strncmp(got, "BAD Search program nested too deeply", 36) == 0);
	free(got);
	got = run("((((((((((SEEN))))))))))", &small);
	CHECK(strncmp(got, "BAD Search program nested too deeply", 36) == 0);
	free(got);
	small.max_depth = 0;
	small.max_keys = 3;
	got = run("SEEN DRAFT FLAGGED", &small);
	CHECK_STR(got, "(FLAG1 FLAG16 FLAG4)");
	free(got);
	got = run("SEEN DRAFT NOT FLAGGED", &small);
	CHECK_STR(got, "BAD Too many search keys");
	free(got);
}

static void test_charset(void)
{
	struct search_parse_ctx u = ctx;
	char *got;

	EXPECT("CHARSET UTF-8 SUBJECT {5+}\r\nCaf\xc3\xa9", "(HDR(Subject=Caf\xc3\xa9))");
	EXPECT("charset \"utf-8\" ALL", "(ALL)");
	EXPECT("CHARSET us-ascii BODY x", "(BODY=x)");
	EXPECT_ERR("CHARSET US-ASCII BODY {2+}\r\n\xc3\xa9", "BAD 8-bit characters");
	EXPECT_ERR("CHARSET UTF-8 BODY {2+}\r\n\xc3\x28", "BAD Invalid UTF-8");
	EXPECT_ERR("CHARSET ISO-8859-1 BODY x", "NO [BADCHARSET (UTF-8 US-ASCII)]");
	EXPECT_ERR("CHARSET", "BAD Missing argument to CHARSET");
	EXPECT_ERR("CHARSET UTF-8", "BAD Missing search key");
	EXPECT_ERR("SEEN CHARSET UTF-8", "BAD Unknown search key CHARSET");

	u.utf8 = true;
	got = run("CHARSET UTF-8 ALL", &u);
	CHECK(strncmp(got, "BAD CHARSET is not allowed", 26) == 0);
	free(got);
	got = run("SUBJECT \"Caf\xc3\xa9\"", &u);
	CHECK_STR(got, "(HDR(Subject=Caf\xc3\xa9))");
	free(got);
}

int main(void)
{
	test_flags();
	test_strings();
	test_dates_sizes();
	test_sets();
	test_operators();
	test_charset();
	UNIT_END();
}
