/* search/: evaluating programs against messages written to temp files.
 * Programs come from imap/search-parse.c with every word an atom, which
 * keeps the cases short (the parser has its own tests). */
#include "imap/search-parse.h"
#include "search/search.h"
#include "store/maildir.h"
#include "unit.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct file {
	char path[64];
	int opens;
};

static const uint32_t saved[] = {7, 8};

static const struct search_parse_ctx pctx = {
    .nmsgs = 5, .max_uid = 50, .saved = saved, .nsaved = 2, .max_depth = 10, .max_keys = 100};

static int open_cb(void *arg, int *fd, uint64_t *size)
{
	struct file *f = arg;
	struct stat st;

	f->opens++;
	*fd = open(f->path, O_RDONLY);
	if (*fd < 0)
		return -1;
	fstat(*fd, &st);
	*size = (uint64_t)st.st_size;
	return 0;
}

static void write_file(struct file *f, const char *text)
{
	int fd;

	strcpy(f->path, "/tmp/gannet-search-XXXXXX");
	fd = mkstemp(f->path);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	f->opens = 0;
}

/* A program from words, each an atom (NULL-terminated list). */
static struct search_node *program(const char *first, va_list ap)
{
	struct imap_arg args[16] = {0};
	const char *status, *w = first;
	char err[128];
	size_t n = 0;
	struct search_node *prog;

	for (; w && n < 16; w = va_arg(ap, const char *), n++) {
		args[n].type = ARG_ATOM;
		args[n].str = (char *)w;
		args[n].len = strlen(w);
	}
	prog = search_parse(args, n, &pctx, &status, err, sizeof err);
	if (!prog)
		fprintf(stderr, "program %s...: %s %s\n", first, status, err);
	return prog;
}

static struct file cur_file;
static struct search_msg cur = {.seq = 2, .uid = 8, .open_file = open_cb, .arg = &cur_file};

/* Whether the current message matches the program given as words. */
static bool matches(const char *first, ...)
{
	va_list ap;
	struct search_node *prog;
	struct search_cache *c = search_cache_new();
	bool r;

	va_start(ap, first);
	prog = program(first, ap);
	va_end(ap);
	CHECK(prog != NULL);
	r = prog && search_match(prog, &cur, c);
	search_cache_free(c);
	search_free(prog);
	return r;
}

static void use(const char *text)
{
	if (cur_file.path[0])
		unlink(cur_file.path);
	write_file(&cur_file, text);
}

static void test_qp_latin1_body(void)
{
	use("From: a@example.com\r\nSubject: menu\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=ISO-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Un caf=E9 cr=E8me, s'il vous pla=EEt, tr=\r\nes chaud.\r\n");
	CHECK(matches("BODY", "Caf\xc3\xa9", NULL));
	CHECK(matches("BODY", "CAF\xc3\x89", NULL)); /* É folds to é */
	CHECK(matches("BODY", "cr\xc3\xa8me", NULL));
	CHECK(matches("BODY", "tres", NULL)); /* soft line break joined */
	CHECK(!matches("BODY", "cafe", NULL));
	CHECK(!matches("BODY", "=E9", NULL));
	CHECK(!matches("BODY", "menu", NULL)); /* the header is not the body */
	CHECK(matches("TEXT", "menu", NULL));
	CHECK(matches("TEXT", "caf\xc3\xa9", NULL));
}

static void test_rfc2047_subject(void)
{
	use("Subject: =?UTF-8?B?w4lsw6h2ZQ==?= and\r\n =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\n"
	    "X-Split: =?UTF-8?Q?=E2=82?= =?UTF-8?Q?=AC?=  =?utf-8?q?5?=\r\n"
	    "X-Bad: =?x-no-such-charset?Q?abc?= =?UTF-8?Q?broken\r\n\r\nbody\r\n");
	CHECK(matches("SUBJECT", "\xc3\x89l\xc3\xa8ve", NULL));
	CHECK(matches("SUBJECT", "\xc3\xa9l\xc3\xa8ve and caf\xc3\xa9 cr\xc3\xa8me", NULL));
	CHECK(matches("SUBJECT", "Caf\xc3\xa9 Cr\xc3\x88me", NULL));
	CHECK(!matches("SUBJECT", "w4lsw6h2ZQ", NULL));
	/* a character split across words, white space between words dropped */
	CHECK(matches("HEADER", "X-Split",
	              "\xe2\x82\xac"
	              "5",
	              NULL));
	/* unknown charset and malformed words are searched as written */
	CHECK(matches("HEADER", "x-bad", "=?x-no-such-charset?Q?abc?=", NULL));
	CHECK(matches("HEADER", "X-BAD", "=?UTF-8?Q?broken", NULL));
	CHECK(matches("TEXT", "subject: \xc3\xa9l\xc3\xa8ve", NULL));
}

static void test_base64_and_parts(void)
{
	use("From: x@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
	    "R3LDvMOfZSBhdXMgS8O2bG4sIENhZsOpCg==\n--b\n"
	    "Content-Type: application/octet-stream\n\nhidden words\n--b\n"
	    "Content-Type: text/html; charset=x-unknown-charset\n\n<p>Plain ASCII <b>html</b></p>\n"
	    "--b\nContent-Type: message/rfc822\n\n"
	    "Subject: =?UTF-8?Q?inner_=C3=BCber?=\nContent-Type: text/plain; charset=koi8-r\n"
	    "\n\xf0\xd2\xc9\xd7\xc5\xd4\n--b--\n");
	CHECK(matches("BODY", "K\xc3\xb6ln", NULL));
	CHECK(matches("BODY",
	              "GR\xc3\x9c\xc3\x9f"
	              "E",
	              NULL));
	CHECK(!matches("BODY", "R3LDvM", NULL));
	CHECK(!matches("BODY", "hidden", NULL));         /* not a text part */
	CHECK(matches("BODY", "plain ascii <b>", NULL)); /* unknown charset: raw */
	CHECK(matches("BODY",
	              "inner \xc3\x9c"
	              "ber",
	              NULL)); /* an attached message's header */
	/* KOI8-R "Привет", found in upper case: Cyrillic folds */
	CHECK(matches("BODY", "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2", NULL));
	CHECK(!matches("SUBJECT", "inner", NULL)); /* not the message's own header */
}

static void test_header_keys(void)
{
	use("From: \"=?UTF-8?Q?Jos=C3=A9?= P\xc3\xa9rez\" <Jose.Perez@Example.COM>\n"
	    "To: Anna <anna@example.org>, bob@example.net\n"
	    "Cc: =?ISO-8859-7?B?wcjH1cE=?= <athens@example.gr>\n"
	    "X-Spam:\nReceived: from a\nReceived: from b\n"
	    "Subject: folded\n\tsubject line\n\nBody text\n");
	CHECK(matches("FROM", "jos\xc3\xa9 p\xc3\xa9rez", NULL));
	CHECK(matches("FROM", "jose.perez@example.com", NULL));
	CHECK(matches("FROM", "<jose", NULL));
	CHECK(!matches("FROM", "anna", NULL));
	CHECK(matches("TO", "BOB@", NULL));
	CHECK(matches("TO", "anna", NULL));
	CHECK(matches("CC", "\xce\xb1\xce\xb8\xce\xb7\xcf\x85\xce\xb1", NULL)); /* Greek, folded */
	CHECK(!matches("BCC", "", NULL));             /* no Bcc field at all */
	CHECK(matches("HEADER", "X-Spam", "", NULL)); /* empty value: exists */
	CHECK(!matches("HEADER", "X-Spam-Flag", "", NULL));
	CHECK(matches("HEADER", "received", "from b", NULL)); /* every occurrence counts */
	CHECK(matches("SUBJECT", "folded\tsubject", NULL));   /* unfolded */
	CHECK(!matches("HEADER", "Subject", "body", NULL));
	CHECK(matches("NOT", "HEADER", "X-Absent", "", NULL));
}

static void test_dates(void)
{
	/* INTERNALDATE 2024-01-01 23:59:59 UTC */
	cur.internaldate = 1704153599;
	use("Date: Mon, 1 Jan 2024 23:30:00 -0800\n\nx\n");
	CHECK(matches("ON", "1-Jan-2024", NULL));
	CHECK(matches("BEFORE", "2-Jan-2024", NULL));
	CHECK(!matches("BEFORE", "1-Jan-2024", NULL));
	CHECK(matches("SINCE", "1-Jan-2024", NULL));
	CHECK(!matches("SINCE", "2-Jan-2024", NULL));
	cur.internaldate = 1704153600; /* a second later: 2 January */
	CHECK(matches("ON", "2-Jan-2024", NULL));
	CHECK(matches("SINCE", "2-Jan-2024", NULL));
	CHECK(!matches("BEFORE", "2-Jan-2024", NULL));

	/* 2 January in UTC, but 1 January where it was written */
	CHECK(matches("SENTON", "1-Jan-2024", NULL));
	CHECK(!matches("SENTON", "2-Jan-2024", NULL));
	CHECK(matches("SENTBEFORE", "2-Jan-2024", NULL));
	CHECK(!matches("SENTBEFORE", "1-Jan-2024", NULL));
	CHECK(matches("SENTSINCE", "1-Jan-2024", NULL));
	CHECK(!matches("SENTSINCE", "2-Jan-2024", NULL));

	use("Date: 2 Jan 2024 00:10 +1400\n\nx\n"); /* no day of week, no seconds */
	CHECK(matches("SENTON", "2-Jan-2024", NULL));
	use("Date: (comment) Thu, 31 Dec 99 23:59:59 EST\n\nx\n"); /* obsolete */
	CHECK(matches("SENTON", "31-Dec-1999", NULL));
	use("Date:  29 feb 2024 12:00:00 GMT\n\nx\n");
	CHECK(matches("SENTON", "29-Feb-2024", NULL));
	use("Date: sometime last week\n\nx\n");
	CHECK(!matches("SENTBEFORE", "1-Jan-2100", NULL));
	CHECK(!matches("SENTSINCE", "1-Jan-1970", NULL));
	use("Subject: no date\n\nx\n");
	CHECK(!matches("SENTON", "1-Jan-2024", NULL));
	CHECK(matches("NOT", "SENTON", "1-Jan-2024", NULL));
}

static void test_view_keys(void)
{
	cur.size = 1000;
	cur.flags = FLAG_SEEN | FLAG_FLAGGED;
	cur.keywords = "$Forwarded Work";
	cur.recent = true;
	CHECK(matches("LARGER", "999", NULL));
	CHECK(!matches("LARGER", "1000", NULL));
	CHECK(matches("SMALLER", "1001", NULL));
	CHECK(!matches("SMALLER", "1000", NULL));
	CHECK(matches("SEEN", "FLAGGED", "UNDELETED", "UNANSWERED", "UNDRAFT", NULL));
	CHECK(!matches("UNSEEN", NULL));
	CHECK(matches("KEYWORD", "work", "UNKEYWORD", "$Junk", NULL));
	CHECK(!matches("KEYWORD", "Wor", NULL));
	CHECK(matches("RECENT", NULL));
	CHECK(!matches("NEW", NULL)); /* recent but seen */
	CHECK(!matches("OLD", NULL));
	cur.flags = 0;
	CHECK(matches("NEW", NULL));
	cur.recent = false;
	CHECK(matches("OLD", NULL));
	/* seq 2, UID 8 */
	CHECK(matches("2", NULL));
	CHECK(matches("1:3", NULL));
	CHECK(!matches("3:*", NULL));
	CHECK(matches("UID", "5:9", NULL));
	CHECK(!matches("UID", "9:*", NULL));
	CHECK(matches("$", NULL)); /* saved UIDs 7, 8 */
	CHECK(matches("UID", "$", NULL));
	CHECK(matches("OR", "UID", "1", "1", "UID", "8", NULL) == false);
	CHECK(matches("OR", "UID", "1", "2", NULL));
}

static void test_cache_and_failures(void)
{
	struct search_node *prog;
	struct search_cache *c = search_cache_new();
	const char *status;
	char err[64];
	struct imap_arg a[6] = {{.type = ARG_ATOM, .str = "SUBJECT", .len = 7},
	                        {.type = ARG_ATOM, .str = "menu", .len = 4},
	                        {.type = ARG_ATOM, .str = "BODY", .len = 4},
	                        {.type = ARG_ATOM, .str = "soup", .len = 4},
	                        {.type = ARG_ATOM, .str = "TEXT", .len = 4},
	                        {.type = ARG_ATOM, .str = "menu", .len = 4}};

	use("Subject: Menu\n\nSoup of the day\n");
	prog = search_parse(a, 6, &pctx, &status, err, sizeof err);
	CHECK(search_match(prog, &cur, c));
	CHECK(cur_file.opens == 1);
	search_cache_clear(c);
	CHECK(search_match(prog, &cur, c));
	CHECK(cur_file.opens == 2);
	CHECK(search_needs_message(prog));

	/* a file that cannot be opened: header and body keys are false */
	search_cache_clear(c);
	unlink(cur_file.path);
	CHECK(!search_match(prog, &cur, c));
	cur_file.path[0] = '\0';
	search_free(prog);
	search_cache_free(c);
	CHECK(matches("NOT", "BODY", "x", NULL));

	prog = search_parse(a, 2, &pctx, &status, err, sizeof err);
	CHECK(search_needs_message(prog));
	search_free(prog);
	a[0].str = "UNSEEN";
	a[1].str = "2:4";
	prog = search_parse(a, 2, &pctx, &status, err, sizeof err);
	CHECK(!search_needs_message(prog));
	search_free(prog);
	a[0].str = "LARGER";
	a[1].str = "2";
	prog = search_parse(a, 2, &pctx, &status, err, sizeof err);
	CHECK(search_needs_message(prog));
	search_free(prog);
}

static void test_flag_keys_first(void)
{
	use("Subject: x\n\nbody\n");
	cur.flags = FLAG_SEEN;
	/* UNSEEN fails before BODY is looked at: the file is never opened */
	CHECK(!matches("BODY", "body", "UNSEEN", NULL));
	CHECK(cur_file.opens == 0);
	CHECK(matches("OR", "BODY", "nothing", "SEEN", NULL));
	CHECK(cur_file.opens == 0);
}

int main(void)
{
	test_qp_latin1_body();
	test_rfc2047_subject();
	test_base64_and_parts();
	test_header_keys();
	test_dates();
	test_view_keys();
	test_cache_and_failures();
	test_flag_keys_first();
	if (cur_file.path[0])
		unlink(cur_file.path);
	UNIT_END();
}
