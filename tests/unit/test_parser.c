#include "imap/parser.h"
#include "unit.h"
#include "util/str.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The limits most tests run with: small, so every one can be reached. */
static const struct parser_limits lim = {
    .max_line = 200,
    .max_depth = 4,
    .max_tokens = 20,
    .max_literal = 100,
    .max_command = 150,
    .max_discard = 1000,
};

/* A string literal with its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

struct cfg {
	const struct parser_limits *lim;
	bool utf8;
	bool want_line; /* parser_want_line() before feeding */
	literal_sink_fn sink;
	void *sink_ctx;
	/* Called with each command before it is freed. */
	void (*on_cmd)(const struct imap_command *cmd, void *ctx);
	void *cmd_ctx;
};

static void render_bytes(struct sbuf *out, const char *s, size_t len)
{
	sbuf_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			sbuf_printf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			sbuf_printf(out, "\\x%02X", c);
		else
			sbuf_addc(out, (char)c);
	}
	sbuf_addc(out, '"');
}

/* Atoms bare, quoted strings in quotes, literals as {len}"bytes" (with "~"
 * for literal8, "!nul" for has_nul, and "file" for one streamed to a file),
 * lists in parentheses. */
static void render_arg(struct sbuf *out, const struct imap_arg *a)
{
	switch (a->type) {
	case ARG_ATOM:
		CHECK(a->str && !a->literal && !a->file && a->len == strlen(a->str));
		sbuf_add(out, a->str, a->len);
		break;
	case ARG_STRING:
		if (a->literal)
			sbuf_printf(out, "%s{%zu}", a->literal8 ? "~" : "", a->len);
		else
			CHECK(!a->literal8 && !a->has_nul);
		if (a->file) {
			CHECK(a->str == NULL);
			sbuf_adds(out, "file");
		} else {
			CHECK(a->str && a->str[a->len] == '\0');
			render_bytes(out, a->str, a->len);
		}
		if (a->has_nul)
			sbuf_adds(out, "!nul");
		break;
	case ARG_LIST:
		sbuf_addc(out, '(');
		for (size_t i = 0; i < a->nlist; i++) {
			if (i)
				sbuf_addc(out, ' ');
			render_arg(out, &a->list[i]);
		}
		sbuf_addc(out, ')');
		break;
	}
}

static void render_event(struct sbuf *out, enum parse_event ev, struct imap_parser *p,
                         const struct imap_command *cmd, const char *line)
{
	if (out->len)
		sbuf_adds(out, " | ");
	switch (ev) {
	case PARSE_MORE:
		sbuf_adds(out, "MORE?");
		break;
	case PARSE_CONTINUE:
		sbuf_adds(out, "+");
		break;
	case PARSE_COMMAND:
		sbuf_printf(out, "CMD(%s %s", cmd->tag, cmd->name);
		for (size_t i = 0; i < cmd->nargs; i++) {
			sbuf_addc(out, ' ');
			render_arg(out, &cmd->args[i]);
		}
		sbuf_addc(out, ')');
		break;
	case PARSE_LINE:
		sbuf_adds(out, "LINE(");
		sbuf_adds(out, line ? line : "(null)");
		sbuf_addc(out, ')');
		break;
	case PARSE_ERROR:
	case PARSE_FATAL: {
		const char *text = parser_error_text(p);
		sbuf_printf(out, "%s(%s %s", ev == PARSE_ERROR ? "ERR" : "FATAL",
		            parser_error_tag(p),
		            parser_error_status(p) ? parser_error_status(p) : "(null)");
		/* only the response code of the text: the wording may change */
		if (text && text[0] == '[')
			sbuf_printf(out, " %.*s", (int)(strcspn(text, "]") + 1), text);
		sbuf_addc(out, ')');
		break;
	}
	}
}

/* Feeds in[0..len) in pieces of at most chunk bytes to a new parser and
 * returns the events as text (caller frees). Feeding stops at PARSE_FATAL. */
static char *transcript(const struct cfg *c, const char *in, size_t len, size_t chunk)
{
	struct imap_parser *p = parser_new(c->lim ? c->lim : &lim, c->sink, c->sink_ctx);
	struct sbuf out = {0};
	size_t off = 0;
	bool fatal = false;

	parser_set_utf8(p, c->utf8);
	if (c->want_line)
		parser_want_line(p);
	while (off < len && !fatal) {
		size_t end = len - off > chunk ? off + chunk : len;
		while (off < end) {
			struct imap_command *cmd = (struct imap_command *)&out; /* poison */
			const char *line = NULL;
			size_t used = (size_t)-1;
			enum parse_event ev =
			    parser_feed(p, in + off, end - off, &used, &cmd, &line);
			if (used > end - off || (ev == PARSE_MORE && used != end - off) ||
			    (ev == PARSE_COMMAND) != (cmd != NULL)) {
				fprintf(stderr, "parser_feed: event %d, consumed %zu of %zu\n", ev,
				        used, end - off);
				CHECK(0);
				fatal = true;
				break;
			}
			off += used;
			if (ev != PARSE_MORE)
				render_event(&out, ev, p, cmd, line);
			if (cmd && c->on_cmd)
				c->on_cmd(cmd, c->cmd_ctx);
			imap_command_free(cmd);
			if (ev == PARSE_FATAL) {
				fatal = true;
				break;
			}
		}
	}
	parser_free(p);
	return sbuf_take(&out);
}

/* The line of the test being run, for failure messages. */
static int test_line;

/* The same events whether the input comes at once or in small pieces. */
static void check_cfg_(const struct cfg *c, const char *in, size_t len, const char *want)
{
	static const size_t chunks[] = {(size_t)-1, 1, 2, 3, 7};

	for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
		char *got = transcript(c, in, len, chunks[i]);
		CHECK_STR(got, want);
		if (strcmp(got, want) != 0)
			fprintf(stderr,
			        "  (the test at line %d, input fed in pieces of %zd bytes)\n",
			        test_line, (ssize_t)chunks[i]);
		free(got);
	}
}

static void check_(const char *in, size_t len, const char *want)
{
	struct cfg c = {0};
	check_cfg_(&c, in, len, want);
}

#define check_cfg(...) (test_line = __LINE__, check_cfg_(__VA_ARGS__))
#define check(...) (test_line = __LINE__, check_(__VA_ARGS__))
#define bad(...) (test_line = __LINE__, bad_(__VA_ARGS__))
#define bad_cfg(...) (test_line = __LINE__, bad_cfg_(__VA_ARGS__))

/* One command from a complete line, fed at once; NULL (and a failure) otherwise. */
static struct imap_command *parse_one(const char *in, size_t len)
{
	struct imap_parser *p = parser_new(&lim, NULL, NULL);
	struct imap_command *cmd = NULL;
	const char *line = NULL;
	size_t used = 0;
	enum parse_event ev = parser_feed(p, in, len, &used, &cmd, &line);

	CHECK(ev == PARSE_COMMAND && cmd && used == len);
	if (ev != PARSE_COMMAND) {
		imap_command_free(cmd);
		cmd = NULL;
	}
	parser_free(p);
	return cmd;
}

static void test_simple(void)
{
	check(S("a NOOP\r\n"), "CMD(a NOOP)");
	check(S("A001.x] noop\r\n"), "CMD(A001.x] NOOP)");
	check(S("t1 CaPaBiLiTy\r\n"), "CMD(t1 CAPABILITY)");
	/* the command name is upper-cased, arguments are not */
	check(S("a login Fred pw\r\n"), "CMD(a LOGIN Fred pw)");
	check(S("a LOGIN \"fr ed\" \"p\\\"w\\\\d\"\r\n"), "CMD(a LOGIN \"fr ed\" \"p\\\"w\\\\d\")");
	check(S("a X \"\" \"(\" \"{3}\"\r\n"), "CMD(a X \"\" \"(\" \"{3}\")");
	check(S("a X NIL nil \"NIL\"\r\n"), "CMD(a X NIL nil \"NIL\")");
	check(S("a STORE 1:* +FLAGS.SILENT (\\Seen $Junk)\r\n"),
	      "CMD(a STORE 1:* +FLAGS.SILENT (\\Seen $Junk))");
	check(S("a X (b (c (d)) ()) (\"e\" f)\r\n"), "CMD(a X (b (c (d)) ()) (\"e\" f))");
	check(S("a LIST \"\" %/*\r\n"), "CMD(a LIST \"\" %/*)");
	check(S("a UID FETCH 1:* BODY.PEEK[]\r\n"), "CMD(a UID FETCH 1:* BODY.PEEK[])");
}

static void test_structure(void)
{
	struct imap_command *cmd;

	cmd = parse_one(S("a fetch 1 (BODY[HEADER.FIELDS (A B)]<0.10> FLAGS)\r\n"));
	if (cmd) {
		CHECK_STR(cmd->tag, "a");
		CHECK_STR(cmd->name, "FETCH");
		CHECK(cmd->nargs == 2);
		CHECK(cmd->args[0].type == ARG_ATOM);
		CHECK_STR(cmd->args[0].str, "1");
		CHECK(cmd->args[1].type == ARG_LIST && cmd->args[1].nlist == 2);
		if (cmd->args[1].nlist == 2) {
			CHECK(cmd->args[1].list[0].type == ARG_ATOM);
			CHECK_STR(cmd->args[1].list[0].str, "BODY[HEADER.FIELDS (A B)]<0.10>");
			CHECK(cmd->args[1].list[0].len ==
			      strlen("BODY[HEADER.FIELDS (A B)]<0.10>"));
			CHECK_STR(cmd->args[1].list[1].str, "FLAGS");
		}
	}
	imap_command_free(cmd);

	cmd = parse_one(S("a X NIL \"NIL\"\r\n"));
	if (cmd) {
		CHECK(cmd->nargs == 2);
		CHECK(cmd->args[0].type == ARG_ATOM && strcmp(cmd->args[0].str, "NIL") == 0);
		CHECK(cmd->args[1].type == ARG_STRING && !cmd->args[1].literal);
		CHECK(cmd->args[1].len == 3);
	}
	imap_command_free(cmd);

	cmd = parse_one(S("a X ((()))\r\n"));
	if (cmd) {
		CHECK(cmd->nargs == 1 && cmd->args[0].type == ARG_LIST);
		CHECK(cmd->args[0].nlist == 1 && cmd->args[0].list[0].type == ARG_LIST);
		CHECK(cmd->args[0].list[0].nlist == 1);
		CHECK(cmd->args[0].list[0].list[0].type == ARG_LIST);
		CHECK(cmd->args[0].list[0].list[0].nlist == 0);
	}
	imap_command_free(cmd);

	CHECK(imap_tag_valid("a"));
	CHECK(imap_tag_valid("A001"));
	CHECK(imap_tag_valid("a]b[.-_~!#$&'"));
	CHECK(!imap_tag_valid(""));
	CHECK(!imap_tag_valid("+"));
	CHECK(!imap_tag_valid("a+"));
	CHECK(!imap_tag_valid("*"));
	CHECK(!imap_tag_valid("a%"));
	CHECK(!imap_tag_valid("a\"b"));
	CHECK(!imap_tag_valid("a\\b"));
	CHECK(!imap_tag_valid("a b"));
	CHECK(!imap_tag_valid("a(b"));
	CHECK(!imap_tag_valid("a)b"));
	CHECK(!imap_tag_valid("a{b"));
	CHECK(!imap_tag_valid("a\x7f"));
	CHECK(!imap_tag_valid("\xc3\xa9"));
}

static void test_literals(void)
{
	/* synchronising: "+" after each literal header */
	check(S("a LOGIN {5}\r\nfr\"d\\ {3}\r\nx y\r\n"),
	      "+ | + | CMD(a LOGIN {5}\"fr\\\"d\\\\\" {3}\"x y\")");
	/* the literal's bytes are not a line: CRLF in them does not end it */
	check(S("a X {4}\r\n\r\n\r\n\r\n"), "+ | CMD(a X {4}\"\\x0D\\x0A\\x0D\\x0A\")");
	/* LITERAL+: no continuation */
	check(S("a LOGIN {5+}\r\nhello {3+}\r\nabc\r\n"), "CMD(a LOGIN {5}\"hello\" {3}\"abc\")");
	/* literal8 */
	check(S("a APPEND box ~{3}\r\nabc\r\n"), "+ | CMD(a APPEND box ~{3}\"abc\")");
	check(S("a APPEND box ~{3+}\r\nabc\r\n"), "CMD(a APPEND box ~{3}\"abc\")");
	/* zero length, both kinds */
	check(S("a LOGIN {0}\r\n {0+}\r\n\r\n"), "+ | CMD(a LOGIN {0}\"\" {0}\"\")");
	/* NUL bytes are flagged */
	check(S("a X {3}\r\na\0b\r\n"), "+ | CMD(a X {3}\"a\\x00b\"!nul)");
	check(S("a X ~{1+}\r\n\0\r\n"), "CMD(a X ~{1}\"\\x00\"!nul)");
	/* in lists, and leading zeros in the size */
	check(S("a X ({2}\r\nab {001+}\r\nc) d\r\n"), "+ | CMD(a X ({2}\"ab\" {1}\"c\") d)");
	/* a literal as the tag or the name does not make a command */
	check(S("{1}\r\nx NOOP\r\n"), "ERR(* BAD) | CMD(x NOOP)");
	check(S("a {4+}\r\nNOOP\r\nx NOOP\r\n"), "ERR(a BAD) | CMD(x NOOP)");
	/* at the limits: max_literal 100, max_command 150 */
	{
		char in[400];
		int n = snprintf(in, sizeof in, "a X {100}\r\n%0100d {50+}\r\n%050d\r\n", 0, 0);
		char want[400];
		snprintf(want, sizeof want, "+ | CMD(a X {100}\"%0100d\" {50}\"%050d\")", 0, 0);
		check(in, (size_t)n, want);
	}
}

static void test_pipelining(void)
{
	struct imap_parser *p = parser_new(&lim, NULL, NULL);
	struct imap_command *cmd = NULL;
	const char *line = NULL;
	const char *in = "a NOOP\r\nb CHECK\r\nc LOGOUT\r\nd NO";
	size_t used = 99;

	CHECK(parser_feed(p, in, 0, &used, &cmd, &line) == PARSE_MORE && used == 0 && !cmd);
	CHECK(parser_feed(p, in, strlen(in), &used, &cmd, &line) == PARSE_COMMAND);
	CHECK(used == 8 && cmd && strcmp(cmd->tag, "a") == 0);
	imap_command_free(cmd);
	in += used;
	CHECK(parser_feed(p, in, strlen(in), &used, &cmd, &line) == PARSE_COMMAND);
	CHECK(used == 9 && cmd && strcmp(cmd->tag, "b") == 0 && strcmp(cmd->name, "CHECK") == 0);
	imap_command_free(cmd);
	in += used;
	CHECK(parser_feed(p, in, strlen(in), &used, &cmd, &line) == PARSE_COMMAND);
	CHECK(used == 10 && cmd && strcmp(cmd->tag, "c") == 0);
	imap_command_free(cmd);
	in += used;
	CHECK(parser_feed(p, in, strlen(in), &used, &cmd, &line) == PARSE_MORE);
	CHECK(used == 4 && cmd == NULL);
	CHECK(parser_feed(p, "OP\r\n", 4, &used, &cmd, &line) == PARSE_COMMAND);
	CHECK(used == 4 && cmd && strcmp(cmd->tag, "d") == 0 && strcmp(cmd->name, "NOOP") == 0);
	imap_command_free(cmd);
	parser_free(p);

	check(S("a NOOP\r\nb LOGIN {1+}\r\nx {2}\r\nyz\r\nc LOGOUT\r\n"),
	      "CMD(a NOOP) | + | CMD(b LOGIN {1}\"x\" {2}\"yz\") | CMD(c LOGOUT)");
}

/* Each bad input is followed by "x NOOP", which must parse. */
static void bad_(const char *in, size_t len, const char *err)
{
	char buf[2048], want[200];

	CHECK(len + 8 < sizeof buf);
	memcpy(buf, in, len);
	memcpy(buf + len, "x NOOP\r\n", 8);
	snprintf(want, sizeof want, "%s | CMD(x NOOP)", err);
	check_(buf, len + 8, want);
}

static void bad_cfg_(const struct cfg *c, const char *in, size_t len, const char *err)
{
	char buf[2048], want[200];

	CHECK(len + 8 < sizeof buf);
	memcpy(buf, in, len);
	memcpy(buf + len, "x NOOP\r\n", 8);
	snprintf(want, sizeof want, "%s | CMD(x NOOP)", err);
	check_cfg_(c, buf, len + 8, want);
}

static void test_syntax_errors(void)
{
	/* no command */
	bad(S("\r\n"), "ERR(* BAD)");
	bad(S(" \r\n"), "ERR(* BAD)");
	/* no usable tag */
	bad(S(" NOOP\r\n"), "ERR(* BAD)");
	bad(S("\"a\" NOOP\r\n"), "ERR(* BAD)");
	bad(S("(a) NOOP\r\n"), "ERR(* BAD)");
	bad(S("+ NOOP\r\n"), "ERR(* BAD)");
	bad(S("a+b NOOP\r\n"), "ERR(* BAD)");
	bad(S("* NOOP\r\n"), "ERR(* BAD)");
	bad(S("a* NOOP\r\n"), "ERR(* BAD)");
	bad(S("a% NOOP\r\n"), "ERR(* BAD)");
	bad(S("\"a NOOP\r\n"), "ERR(* BAD)");
	bad(S("\\a NOOP\r\n"), "ERR(* BAD)");
	/* no command name */
	bad(S("a\r\n"), "ERR(a BAD)");
	bad(S("a (NOOP)\r\n"), "ERR(a BAD)");
	bad(S("a \"NOOP\"\r\n"), "ERR(a BAD)");
	/* parentheses */
	bad(S("a X (b\r\n"), "ERR(a BAD)");
	bad(S("a X ((b)\r\n"), "ERR(a BAD)");
	bad(S("a X b)\r\n"), "ERR(a BAD)");
	bad(S("a X (b))\r\n"), "ERR(a BAD)");
	bad(S("a X )(\r\n"), "ERR(a BAD)");
	bad(S("a X [b\r\n"), "ERR(a BAD)");
	/* quoted strings */
	bad(S("a X \"abc\r\n"), "ERR(a BAD)");
	bad(S("a X \"a\\b\"\r\n"), "ERR(a BAD)");
	bad(S("a X \"a\\\"\r\n"), "ERR(a BAD)");
	bad(S("a X \"a\rb\"\r\n"), "ERR(a BAD)");
	bad(S("a X \"a\0b\"\r\n"), "ERR(a BAD)");
	/* only CRLF ends a line: a bare LF or CR is an invalid byte in it */
	bad(S("a NOOP\nb NOOP\r\n"), "ERR(a BAD)");
	bad(S("a NOOP\rb NOOP\r\n"), "ERR(a BAD)");
	bad(S("a NOOP\n\r\n"), "ERR(a BAD)");
	/* spacing */
	bad(S("a  NOOP\r\n"), "ERR(a BAD)");
	bad(S("a NOOP \r\n"), "ERR(a BAD)");
	bad(S("a X b  c\r\n"), "ERR(a BAD)");
	bad(S("a X ( b)\r\n"), "ERR(a BAD)");
	bad(S("a X (b )\r\n"), "ERR(a BAD)");
	bad(S("a X (b)c\r\n"), "ERR(a BAD)");
	bad(S("a X \"b\"c\r\n"), "ERR(a BAD)");
	bad(S("a X \"b\"\"c\"\r\n"), "ERR(a BAD)");
	bad(S("a X b\tc\r\n"), "ERR(a BAD)");
	/* bytes that are not in an atom */
	bad(S("a X b\xc3\xa9\r\n"), "ERR(a BAD)");
	bad(S("a X \x80\r\n"), "ERR(a BAD)");
	bad(S("a X b\0c\r\n"), "ERR(a BAD)");
	bad(S("a X b\x7f\r\n"), "ERR(a BAD)");
	bad(S("a X b\x01\r\n"), "ERR(a BAD)");
	/* a literal header must end the line and follow a space */
	bad(S("a X {3} b\r\n"), "ERR(a BAD)");
	bad(S("a X{3}\r\n"), "ERR(a BAD)");
	bad(S("a X (b){3}\r\n"), "ERR(a BAD)");
	bad(S("a X{3+}\r\nabc\r\n"), "ERR(a BAD)");
	bad(S("a X {}\r\n"), "ERR(a BAD)");
	bad(S("a X {+}\r\n"), "ERR(a BAD)");
	bad(S("a X {-1}\r\n"), "ERR(a BAD)");
	bad(S("a X {1}}\r\n"), "ERR(a BAD)");
	/* the literal follows the previous argument without a space */
	bad(S("a X {1+}\r\nb{1+}\r\nc\r\n"), "ERR(a BAD)");
	/* an error before a synchronising literal: no "+", the client sends no data */
	bad(S("a X ) {3}\r\n"), "ERR(a BAD)");
	/* ... before a LITERAL+: its bytes are read and dropped, even if they look like commands */
	bad(S("a X ) {8+}\r\ny NOOP\r\n\r\n"), "ERR(a BAD)");
	bad(S("a X ) {3+}\r\nabc {8+}\r\nz NOOP\r\n\r\n"), "ERR(a BAD)");
	/* an error after a literal was accepted */
	bad(S("a X {3}\r\nabc)\r\n"), "+ | ERR(a BAD)");
	bad(S("a X {3}\r\nabc \r\n"), "+ | ERR(a BAD)");
	bad(S("a X {3}\r\nabc{1}\r\n"), "+ | ERR(a BAD)");
}

static void test_utf8(void)
{
	struct cfg on = {.utf8 = true};

	/* RFC 6855: only after ENABLE UTF8=ACCEPT */
	bad(S("a X \"caf\xc3\xa9\"\r\n"), "ERR(a BAD)");
	check_cfg(&on, S("a X \"caf\xc3\xa9\" \"\xe6\x97\xa5\"\r\n"),
	          "CMD(a X \"caf\\xC3\\xA9\" \"\\xE6\\x97\\xA5\")");
	check_cfg(&on, S("a X \"\xf0\x9f\x98\x80\\\"\"\r\n"),
	          "CMD(a X \"\\xF0\\x9F\\x98\\x80\\\"\")");
	/* but still well-formed UTF-8 only, and never in atoms */
	bad_cfg(&on, S("a X \"\xff\"\r\n"), "ERR(a BAD)");
	bad_cfg(&on, S("a X \"caf\xc3\"\r\n"), "ERR(a BAD)");
	bad_cfg(&on, S("a X \"\xc3\" \"\xa9\"\r\n"), "ERR(a BAD)");
	bad_cfg(&on, S("a X \"\xc0\xaf\"\r\n"), "ERR(a BAD)");
	bad_cfg(&on, S("a X \"\xed\xa0\x80\"\r\n"), "ERR(a BAD)");
	bad_cfg(&on, S("a X \"\xf4\x90\x80\x80\"\r\n"), "ERR(a BAD)");
	bad_cfg(&on, S("a X caf\xc3\xa9\r\n"), "ERR(a BAD)");

	/* parser_set_utf8(false) turns it off again */
	struct imap_parser *p = parser_new(&lim, NULL, NULL);
	struct imap_command *cmd = NULL;
	const char *line = NULL;
	size_t used;
	parser_set_utf8(p, true);
	CHECK(parser_feed(p, S("a X \"\xc3\xa9\"\r\n"), &used, &cmd, &line) == PARSE_COMMAND);
	imap_command_free(cmd);
	parser_set_utf8(p, false);
	CHECK(parser_feed(p, S("b X \"\xc3\xa9\"\r\n"), &used, &cmd, &line) == PARSE_ERROR);
	CHECK(cmd == NULL);
	CHECK_STR(parser_error_tag(p), "b");
	CHECK_STR(parser_error_status(p), "BAD");
	parser_free(p);
}

/* n copies of s, then tail, into buf. */
static size_t repeat(char *buf, size_t size, const char *head, const char *s, size_t n,
                     const char *tail)
{
	size_t o = (size_t)snprintf(buf, size, "%s", head);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s", s);
	o += (size_t)snprintf(buf + o, size - o, "%s", tail);
	CHECK(o < size);
	return o;
}

static void test_limits(void)
{
	char in[4096], want[4096];
	size_t n;

	/* max_depth 4 */
	check(S("a X ((((b))))\r\n"), "CMD(a X ((((b)))))");
	bad(S("a X (((((b)))))\r\n"), "ERR(a BAD)");
	bad(S("a X ((((()))))\r\n"), "ERR(a BAD)");
	bad(S("a X ((((((((((((((((((((\r\n"), "ERR(a BAD)");

	/* max_tokens 20, the tag and the name included */
	n = repeat(in, sizeof in, "a X", " b", 18, "\r\n");
	repeat(want, sizeof want, "CMD(a X", " b", 18, ")");
	check(in, n, want);
	n = repeat(in, sizeof in, "a X", " b", 19, "\r\n");
	bad(in, n, "ERR(a BAD)");
	n = repeat(in, sizeof in, "a X (", "b ", 18, "c)\r\n");
	bad(in, n, "ERR(a BAD)");
	n = repeat(in, sizeof in, "a X", " {1+}\r\nb", 19, "\r\n");
	bad(in, n, "ERR(a BAD)");
	/* A list counts towards max_tokens ("arguments in one command, all
	 * levels"): "a X" + 30 x " ()" is 32 arguments, "a X" + 10 x " (b)" 22,
	 * both over the limit of 20. (Once a bug: lists were free.) */
	n = repeat(in, sizeof in, "a X", " ()", 30, "\r\n");
	bad(in, n, "ERR(a BAD)");
	n = repeat(in, sizeof in, "a X", " (b)", 10, "\r\n");
	bad(in, n, "ERR(a BAD)");

	/* max_line 200 */
	n = repeat(in, sizeof in, "a X ", "b", 150, "\r\n");
	repeat(want, sizeof want, "CMD(a X ", "b", 150, ")");
	check(in, n, want);
	n = repeat(in, sizeof in, "* X \"", "b", 300, "\"\r\n");
	bad(in, n, "ERR(* BAD)");
	/* The tag of an over-long line is found however the line arrives, in
	 * one piece or split across feeds. (Once a bug: only when split.) */
	n = repeat(in, sizeof in, "a X ", "b", 300, "\r\n");
	bad(in, n, "ERR(a BAD)");
	/* ... and one much longer still, which must not be buffered whole */
	{
		size_t big = 1 << 20;
		char *huge = malloc(big + 32);
		memcpy(huge, "* X ", 4);
		memset(huge + 4, 'b', big);
		memcpy(huge + 4 + big, "\r\nx NOOP\r\n", 10);
		struct cfg c = {0};
		char *got = transcript(&c, huge, big + 14, 4096);
		CHECK_STR(got, "ERR(* BAD) | CMD(x NOOP)");
		free(got);
		free(huge);
	}
	/* an over-long line ending in a literal header: no "+" for {n}, and a
	 * {n+} literal is skipped (the line that overflows follows a literal,
	 * so the tag is known however the input is split) */
	n = repeat(in, sizeof in, "a APPEND box {1+}\r\nb (", "\\Seen ", 50, "\\Seen) {5}\r\n");
	bad(in, n, "ERR(a BAD)");
	n = repeat(in, sizeof in, "a APPEND box {1+}\r\nb (", "\\Seen ", 50,
	           "\\Seen) {8+}\r\ny NOOP\r\n\r\n");
	bad(in, n, "ERR(a BAD)");
	n = repeat(in, sizeof in, "a APPEND box {1+}\r\nb (", "\\Seen ", 50, "\\Seen) {1001+}\r\n");
	check(in, n, "FATAL(a BYE)");
	/* the limit is per line: literals and their lines may add up to more */
	{
		char line[160];
		memset(line, 'c', sizeof line - 1);
		line[sizeof line - 1] = '\0';
		n = (size_t)snprintf(in, sizeof in, "a X %s {2+}\r\nyz %s\r\n", line, line);
		snprintf(want, sizeof want, "CMD(a X %s {2}\"yz\" %s)", line, line);
		check(in, n, want);
	}

	/* a synchronising literal over max_literal is refused at once */
	bad(S("a APPEND box {101}\r\n"), "ERR(a NO [TOOBIG])");
	bad(S("a APPEND box ~{101}\r\n"), "ERR(a NO [TOOBIG])");
	bad(S("a APPEND box {18446744073709551615}\r\n"), "ERR(a NO [TOOBIG])");
	bad(S("a APPEND box {18446744073709551616}\r\n"), "ERR(a NO [TOOBIG])");
	bad(S("a APPEND box {99999999999999999999999}\r\n"), "ERR(a NO [TOOBIG])");
	/* ... as is one that takes the command over max_command (150) */
	n = (size_t)snprintf(in, sizeof in, "a X {100}\r\n%0100d {51}\r\n", 0);
	bad(in, n, "+ | ERR(a NO [TOOBIG])");
	n = (size_t)snprintf(in, sizeof in, "a X {100+}\r\n%0100d {51+}\r\n%051d\r\n", 0, 0);
	bad(in, n, "ERR(a NO [TOOBIG])");
	/* a LITERAL+ over max_literal is read and dropped (max_discard 1000) */
	n = (size_t)snprintf(in, sizeof in, "a APPEND box {1000+}\r\n%0992dy NOOP\r\n\r\n", 0);
	bad(in, n, "ERR(a NO [TOOBIG])");
	n = (size_t)snprintf(in, sizeof in, "a APPEND box {101+}\r\n%0101d (b)\r\n", 0);
	bad(in, n, "ERR(a NO [TOOBIG])");
	/* ... unless it is larger than that: the connection must close */
	check(S("a APPEND box {1001+}\r\nabc\r\nx NOOP\r\n"), "FATAL(a BYE)");
	check(S("a APPEND box {99999999999999999999999+}\r\nabc\r\nx NOOP\r\n"), "FATAL(a BYE)");
	check(S("a X ) {1001+}\r\nx NOOP\r\n"), "FATAL(a BYE)");
	check(S("{1001+}\r\nx NOOP\r\n"), "FATAL(* BYE)");

	/* the text of a refused literal starts with the response code */
	struct imap_parser *p = parser_new(&lim, NULL, NULL);
	struct imap_command *cmd = NULL;
	const char *line = NULL;
	size_t used;
	CHECK(parser_feed(p, S("t7 APPEND box {101}\r\n"), &used, &cmd, &line) == PARSE_ERROR);
	CHECK(used == strlen("t7 APPEND box {101}\r\n"));
	CHECK_STR(parser_error_tag(p), "t7");
	CHECK_STR(parser_error_status(p), "NO");
	CHECK(strncmp(parser_error_text(p), "[TOOBIG]", 8) == 0);
	parser_free(p);
}

/* A sink that streams APPEND literals into files of a directory. */
struct sink {
	char dir[64];
	enum literal_sink answer; /* for APPEND */
	int calls;
	char name[32];
	uint64_t size;
	char path[128];     /* the last file handed out */
	char content[8192]; /* what on_cmd read back from the file */
	size_t content_len;
	size_t files; /* file arguments seen by on_cmd */
};

static enum literal_sink sink_fn(void *ctx, const char *name, uint64_t size, int *fd, char **path)
{
	struct sink *k = ctx;

	k->calls++;
	snprintf(k->name, sizeof k->name, "%s", name ? name : "(null)");
	k->size = size;
	if (!name || strcmp(name, "APPEND") != 0)
		return SINK_MEMORY;
	if (k->answer != SINK_FILE)
		return k->answer;
	snprintf(k->path, sizeof k->path, "%s/lit.XXXXXX", k->dir);
	*fd = mkstemp(k->path);
	CHECK(*fd >= 0);
	*path = xstrdup(k->path);
	return SINK_FILE;
}

static void read_files(const struct imap_arg *a, struct sink *k)
{
	if (a->type == ARG_LIST) {
		for (size_t i = 0; i < a->nlist; i++)
			read_files(&a->list[i], k);
		return;
	}
	if (!a->file)
		return;
	k->files++;
	CHECK(a->str == NULL && a->literal);
	CHECK_STR(a->file, k->path);
	int fd = open(a->file, O_RDONLY);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	ssize_t r = read(fd, k->content, sizeof k->content);
	CHECK(r >= 0 && (size_t)r == a->len);
	k->content_len = r > 0 ? (size_t)r : 0;
	close(fd);
}

static void sink_on_cmd(const struct imap_command *cmd, void *ctx)
{
	for (size_t i = 0; i < cmd->nargs; i++)
		read_files(&cmd->args[i], ctx);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void test_sink(void)
{
	struct sink k = {.answer = SINK_FILE};
	struct cfg c = {.sink = sink_fn, .sink_ctx = &k, .on_cmd = sink_on_cmd, .cmd_ctx = &k};
	char *got;

	snprintf(k.dir, sizeof k.dir, "/tmp/gannet-unit-XXXXXX");
	CHECK(mkdtemp(k.dir) != NULL);

	/* a file literal, with a NUL in it */
	got = transcript(&c, S("a APPEND box (\\Seen) {11}\r\nHello\0World\r\n"), (size_t)-1);
	CHECK_STR(got, "+ | CMD(a APPEND box (\\Seen) {11}file!nul)");
	free(got);
	CHECK(k.calls == 1);
	CHECK_STR(k.name, "APPEND");
	CHECK(k.size == 11);
	CHECK(k.files == 1);
	CHECK(k.content_len == 11 && memcmp(k.content, "Hello\0World", 11) == 0);
	CHECK(k.path[0] && !exists(k.path)); /* imap_command_free removed it */

	/* larger than max_literal and max_discard, byte by byte, LITERAL+ */
	{
		size_t size = 5000;
		char *in = malloc(size + 64);
		int h = snprintf(in, 64, "b APPEND box ~{%zu+}\r\n", size);
		for (size_t i = 0; i < size; i++)
			in[h + i] = (char)('A' + i % 26);
		memcpy(in + h + size, "\r\nx NOOP\r\n", 10);
		k.calls = 0;
		k.files = 0;
		got = transcript(&c, in, (size_t)h + size + 10, 1);
		CHECK_STR(got, "CMD(b APPEND box ~{5000}file) | CMD(x NOOP)");
		free(got);
		CHECK(k.calls == 1 && k.size == size && k.files == 1);
		CHECK(k.content_len == size && memcmp(k.content, in + h, size) == 0);
		CHECK(!exists(k.path));
		free(in);
	}

	/* zero length */
	k.files = 0;
	got = transcript(&c, S("c APPEND box {0}\r\n\r\n"), (size_t)-1);
	CHECK_STR(got, "+ | CMD(c APPEND box {0}file)");
	free(got);
	CHECK(k.files == 1 && k.content_len == 0);
	CHECK(!exists(k.path));

	/* the command fails after the file was written: the file goes too */
	k.files = 0;
	got = transcript(&c, S("d APPEND box {3}\r\nabc)\r\nx NOOP\r\n"), (size_t)-1);
	CHECK_STR(got, "+ | ERR(d BAD) | CMD(x NOOP)");
	free(got);
	CHECK(k.files == 0);
	CHECK(k.path[0] && !exists(k.path));

	/* other commands' literals stay in memory; lower case name as sent */
	k.calls = 0;
	k.files = 0;
	got = transcript(&c, S("e login {3}\r\nabc pw\r\n"), (size_t)-1);
	CHECK_STR(got, "+ | CMD(e LOGIN {3}\"abc\" pw)");
	free(got);
	CHECK(k.calls == 1 && strcmp(k.name, "login") == 0 && k.files == 0);
	/* a literal with no command name before it: the sink sees NULL */
	k.calls = 0;
	got = transcript(&c, S("f {3}\r\nabc\r\nx NOOP\r\n"), (size_t)-1);
	CHECK_STR(got, "+ | ERR(f BAD) | CMD(x NOOP)");
	free(got);
	CHECK(k.calls == 1);
	CHECK_STR(k.name, "(null)");

	/* the sink refuses */
	k.answer = SINK_TOOBIG;
	k.calls = 0;
	bad_cfg(&c, S("g APPEND box {5}\r\n"), "ERR(g NO [TOOBIG])");
	bad_cfg(&c, S("g APPEND box {5+}\r\nhello\r\n"), "ERR(g NO [TOOBIG])");
	CHECK(k.calls > 0);
	/* the sink keeps it in memory: the memory limits apply */
	k.answer = SINK_MEMORY;
	bad_cfg(&c, S("g APPEND box {101}\r\n"), "ERR(g NO [TOOBIG])");
	check_cfg(&c, S("g APPEND box {5}\r\nhello\r\n"), "+ | CMD(g APPEND box {5}\"hello\")");

	CHECK(rmdir(k.dir) == 0); /* empty: every literal file was removed */
}

static void test_want_line(void)
{
	struct cfg c = {.want_line = true};

	check_cfg(&c, S("dGVzdA==\r\nx NOOP\r\n"), "LINE(dGVzdA==) | CMD(x NOOP)");
	check_cfg(&c, S("\r\nx NOOP\r\n"), "LINE() | CMD(x NOOP)");
	check_cfg(&c, S("*\r\n"), "LINE(*)");
	/* no literal, no tokens: the line as it came */
	check_cfg(&c, S("a (b {5}\r\nx NOOP\r\n"), "LINE(a (b {5}) | CMD(x NOOP)");
	/* only one line is raw */
	check_cfg(&c, S("a\r\nb\r\n"), "LINE(a) | ERR(b BAD)");
	/* a response longer than max_line cannot be answered in step */
	{
		char in[400];
		size_t n = repeat(in, sizeof in, "", "QUFB", 60, "\r\nx NOOP\r\n");
		check_cfg(&c, in, n, "FATAL(* BYE)");
	}

	struct imap_parser *p = parser_new(&lim, NULL, NULL);
	struct imap_command *cmd = NULL;
	const char *line = NULL;
	size_t used;
	CHECK(parser_feed(p, S("a AUTHENTICATE PLAIN\r\n"), &used, &cmd, &line) == PARSE_COMMAND);
	imap_command_free(cmd);
	parser_want_line(p);
	CHECK(parser_feed(p, S("AGZyZWQAcHc=\r\nb NOOP\r\n"), &used, &cmd, &line) == PARSE_LINE);
	CHECK(used == 14 && cmd == NULL);
	CHECK_STR(line, "AGZyZWQAcHc=");
	CHECK(parser_feed(p, S("b NOOP\r\n"), &used, &cmd, &line) == PARSE_COMMAND);
	CHECK(cmd && strcmp(cmd->tag, "b") == 0);
	imap_command_free(cmd);
	parser_free(p);
}

/* A parser freed in the middle of a command releases what it holds. */
static void test_free_midway(void)
{
	struct sink k = {.answer = SINK_FILE};
	struct imap_command *cmd = NULL;
	const char *line = NULL;
	size_t used;

	snprintf(k.dir, sizeof k.dir, "/tmp/gannet-unit-XXXXXX");
	CHECK(mkdtemp(k.dir) != NULL);
	struct imap_parser *p = parser_new(&lim, sink_fn, &k);
	CHECK(parser_feed(p, S("a APPEND (b (c {5}\r\n"), &used, &cmd, &line) == PARSE_CONTINUE);
	CHECK(parser_feed(p, S("abc"), &used, &cmd, &line) == PARSE_MORE);
	CHECK(k.path[0] && exists(k.path));
	parser_free(p);
	CHECK(!exists(k.path));
	CHECK(rmdir(k.dir) == 0);

	p = parser_new(&lim, NULL, NULL);
	CHECK(parser_feed(p, S("a X (b (c {5}\r\n"), &used, &cmd, &line) == PARSE_CONTINUE);
	CHECK(parser_feed(p, S("abc"), &used, &cmd, &line) == PARSE_MORE);
	parser_free(p);
}

int main(void)
{
	test_simple();
	test_structure();
	test_literals();
	test_pipelining();
	test_syntax_errors();
	test_utf8();
	test_limits();
	test_sink();
	test_want_line();
	test_free_midway();
	UNIT_END();
}
