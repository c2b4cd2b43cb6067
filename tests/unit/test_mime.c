/* MIME parser tests.
 *
 * The corpus in tests/corpus/mime holds, beside each message, what Dovecot
 * 2.3 answers for it (ENVELOPE, BODY, BODYSTRUCTURE, BODY[HEADER] and, for
 * every part, BODY[n] and BODY[n.MIME]); see its README. Every message is
 * parsed from memory, from a file descriptor and fed in odd-sized chunks,
 * and must give those bytes exactly. Then come the API pieces one by one
 * and the limits: deep nesting, many parts, long lines, large bodies. */
#include "mime/mime-int.h"
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define CORPUS "tests/corpus/mime"

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	*len = (size_t)read(fd, buf, (size_t)st.st_size);
	buf[*len] = '\0';
	close(fd);
	return buf;
}

/* The bytes [a, b) as an IMAP server sends them, like Dovecot: a bare LF
 * as CRLF, NUL as 0x80. */
static char *as_sent(const char *data, uint64_t a, uint64_t b, size_t *n)
{
	char *o = xmalloc((size_t)(b - a) * 2 + 1);

	*n = 0;
	for (uint64_t i = a; i < b; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			o[(*n)++] = '\r';
		o[(*n)++] = data[i] ? data[i] : (char)0x80;
	}
	o[*n] = '\0';
	return o;
}

static bool same_bytes(const char *what, const char *got, size_t glen, const char *want,
                       size_t wlen)
{
	size_t i = 0;

	if (glen == wlen && memcmp(got, want, glen) == 0)
		return true;
	while (i < glen && i < wlen && got[i] == want[i])
		i++;
	fprintf(stderr,
	        "%s: differs at byte %zu (got %zu bytes, want %zu)\n  got:  %.*s\n  want: %.*s\n",
	        what, i, glen, wlen, (int)(glen - i < 120 ? glen - i : 120), got + i,
	        (int)(wlen - i < 120 ? wlen - i : 120), want + i);
	return false;
}

/* A text dump of a tree: every offset, size, flag and field, to compare
 * parses of the same bytes. */
static void dump_tree(struct sbuf *b, const struct mime_part *p, int depth)
{
	sbuf_printf(b,
	            "%d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
	            " %zu %u %s/%s %zu\n",
	            depth, p->header_start, p->body_start, p->body_end, p->header_vsize,
	            p->body_vsize, p->body_lines, p->header_len, p->flags, p->type, p->subtype,
	            p->nchildren);
	for (size_t i = 0; i < p->nchildren; i++)
		dump_tree(b, &p->children[i], depth + 1);
}

static char *tree_text(const struct mime_part *p)
{
	struct sbuf b = {0};
	dump_tree(&b, p, 0);
	return sbuf_take(&b);
}

static bool parse_path(const char *s, uint32_t *path, size_t *n)
{
	*n = 0;
	while (*s && *n < 64) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s)
			return false;
		path[(*n)++] = (uint32_t)v;
		s = *end == '.' ? end + 1 : end;
	}
	return *n > 0;
}

struct corpus {
	char **names;
	size_t n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct corpus list_corpus(void)
{
	struct corpus c = {NULL, 0};
	DIR *d = opendir(CORPUS);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		c.names = xrealloc(c.names, (c.n + 1) * sizeof *c.names);
		c.names[c.n++] = xstrdup(e->d_name);
	}
	if (d)
		closedir(d);
	qsort(c.names, c.n, sizeof *c.names, cmp_str);
	return c;
}

static void check_string(const char *name, const char *suffix, const char *got)
{
	char path[512], what[512];
	size_t wlen;
	char *want;

	snprintf(path, sizeof path, CORPUS "/%s.%s", name, suffix);
	snprintf(what, sizeof what, "%s.%s", name, suffix);
	want = read_file(path, &wlen);
	CHECK(want != NULL);
	if (want)
		CHECK(same_bytes(what, got, strlen(got), want, wlen));
	free(want);
}

/* BODY[n] or BODY[n.MIME] of every part Dovecot listed: a part that does
 * not exist here (a multipart with no parts) must be empty there. */
static void check_part_file(const char *file, const char *msg, const char *data,
                            const struct mime_part *root)
{
	const char *p = file + strlen(msg) + 1;
	bool mime = strncmp(p, "mime-", 5) == 0;
	const struct mime_part *part;
	uint32_t path[64];
	size_t n, glen, wlen;
	char full[512], *want, *got;

	snprintf(full, sizeof full, CORPUS "/%s", file);
	p += 5; /* the part number follows "part-" or "mime-" */
	CHECK(parse_path(p, path, &n));
	part = mime_part_at(root, path, n);
	want = read_file(full, &wlen);
	if (!part)
		got = xstrdup("");
	else if (mime)
		got = as_sent(data, part->header_start, part->body_start, &glen);
	else
		got = as_sent(data, part->body_start, part->body_end, &glen);
	CHECK(want && same_bytes(file, got, strlen(got), want, wlen));
	free(want);
	free(got);
}

static void check_parses_agree(const char *name, const char *data, size_t len,
                               const struct mime_part *root)
{
	static const size_t chunks[] = {1, 2, 3, 7, 64, 4093};
	char path[512], *want = tree_text(root), *got;
	struct mime_part *other;
	int fd;

	snprintf(path, sizeof path, CORPUS "/%s.eml", name);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && mime_parse_fd(fd, len, &other) == 0);
	close(fd);
	got = tree_text(other);
	CHECK_STR(got, want);
	free(got);
	mime_free(other);
	for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
		mime_parse_chunks(data, len, chunks[i], &other);
		got = tree_text(other);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "%s: chunk size %zu parses differently\n", name, chunks[i]);
		CHECK(strcmp(got, want) == 0);
		free(got);
		mime_free(other);
	}
	free(want);
}

static void check_message(const char *name, const struct corpus *c)
{
	char path[512], *data, *s;
	struct mime_part *root;
	size_t len, prefix, hlen;

	snprintf(path, sizeof path, CORPUS "/%s.eml", name);
	data = read_file(path, &len);
	CHECK(data != NULL);
	if (!data)
		return;
	CHECK(mime_parse_mem(data, len, &root) == 0);
	check_parses_agree(name, data, len, root);
	s = mime_envelope(root);
	check_string(name, "envelope", s);
	free(s);
	s = mime_bodystructure(root, false);
	check_string(name, "body", s);
	free(s);
	s = mime_bodystructure(root, true);
	check_string(name, "bodystructure", s);
	free(s);
	s = as_sent(data, root->header_start, root->body_start, &hlen);
	check_string(name, "header", s);
	free(s);
	prefix = strlen(name);
	for (size_t i = 0; i < c->n; i++) {
		const char *f = c->names[i];
		if (strncmp(f, name, prefix) == 0 && (strncmp(f + prefix, ".part-", 6) == 0 ||
		                                      strncmp(f + prefix, ".mime-", 6) == 0))
			check_part_file(f, name, data, root);
	}
	mime_free(root);
	free(data);
}

static void test_corpus(void)
{
	struct corpus c = list_corpus();
	size_t messages = 0;

	for (size_t i = 0; i < c.n; i++) {
		size_t l = strlen(c.names[i]);
		if (l > 4 && strcmp(c.names[i] + l - 4, ".eml") == 0) {
			c.names[i][l - 4] = '\0';
			check_message(c.names[i], &c);
			c.names[i][l - 4] = '.';
			messages++;
		}
	}
	CHECK(messages >= 55);
	for (size_t i = 0; i < c.n; i++)
		free(c.names[i]);
	free(c.names);
}

static struct mime_part *parse_file(const char *name, char **data)
{
	char path[512];
	struct mime_part *root = NULL;
	size_t len;

	snprintf(path, sizeof path, CORPUS "/%s.eml", name);
	*data = read_file(path, &len);
	if (*data)
		mime_parse_mem(*data, len, &root);
	return root;
}

static const struct mime_part *at(const struct mime_part *root, const char *p)
{
	uint32_t path[64];
	size_t n = 0;

	if (*p && !parse_path(p, path, &n))
		return NULL;
	return mime_part_at(root, path, n);
}

/* RFC 9051 6.4.5 numbering. */
static void test_part_at(void)
{
	char *data;
	struct mime_part *root = parse_file("04-forward", &data);

	CHECK(root != NULL);
	CHECK(at(root, "") == root);
	CHECK(at(root, "1") == &root->children[0]);
	CHECK(at(root, "2") == &root->children[1]);
	CHECK(at(root, "2.1") == &root->children[1].children[0].children[0]);
	CHECK(at(root, "2.2") == &root->children[1].children[0].children[1]);
	CHECK_STR(at(root, "2.2")->subtype, "png");
	CHECK(at(root, "2.3") == NULL);
	CHECK(at(root, "3") == NULL);
	CHECK(at(root, "0") == NULL);
	CHECK(at(root, "1.1") == NULL);
	mime_free(root);
	free(data);

	root = parse_file("01-plain", &data);
	CHECK(at(root, "1") == root); /* a non-multipart's part 1 is its body */
	CHECK(at(root, "1.1") == NULL);
	CHECK(at(root, "2") == NULL);
	mime_free(root);
	free(data);

	root = parse_file("20-rfc822-variants", &data);
	CHECK(at(root, "4.1") == &root->children[3].children[0]);
	CHECK(at(root, "4.1.1") == NULL);
	mime_free(root);
	free(data);

	root = parse_file("13-nested", &data);
	CHECK_STR(at(root, "1.2.2")->subtype, "png");
	CHECK_STR(at(root, "2")->subtype, "csv");
	CHECK(at(root, "1.2.3") == NULL);
	mime_free(root);
	free(data);

	root = parse_file("10-no-boundary-param", &data);
	CHECK(at(root, "1") == NULL); /* a multipart without parts */
	mime_free(root);
	free(data);
}

static void check_fields(const char *header, const char *const *names, size_t n, bool exclude,
                         const char *want)
{
	char *out;
	size_t len;

	mime_header_fields(header, strlen(header), names, n, exclude, &out, &len);
	CHECK(len == strlen(out));
	CHECK_STR(out, want);
	free(out);
}

/* The expected strings are Dovecot's answers to the same FETCHes. */
static void test_header_fields(void)
{
	static const char *const some[] = {"RECEIVED", "subject", "X-None"};
	static const char *const none[] = {"X-None"};
	static const char *const many[] = {"Received", "Return-Path", "To",         "Cc",
	                                   "From",     "Date",        "Message-ID", "MIME-Version"};
	static const char *const subject[] = {"SUBJECT"};
	static const char *const msgid[] = {"message-id"};
	char *data;
	struct mime_part *root = parse_file("01-plain", &data);

	check_fields(root->header, some, 3, false,
	             "Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n"
	             "\tby mx.example.net (Postfix) with ESMTPS id 4F1C2A0123\r\n"
	             "\tfor <bob@example.net>; Tue, 14 Mar 2023 09:12:44 +0100 (CET)\r\n"
	             "Subject: Lunch on Thursday?\r\n\r\n");
	check_fields(root->header, none, 1, false, "\r\n");
	check_fields(root->header, many, 8, true,
	             "Subject: Lunch on Thursday?\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	             "Content-Disposition: inline\r\nUser-Agent: Mutt/2.2.9 (2022-11-12)\r\n\r\n");
	mime_free(root);
	free(data);

	root = parse_file("15-lf-only", &data);
	check_fields(root->header, subject, 1, false, "Subject: LF-only line endings\r\n\r\n");
	mime_free(root);
	free(data);

	/* a header a boundary cut short, so without its blank line */
	root = parse_file("20-rfc822-variants", &data);
	check_fields(root->children[0].children[0].header, subject, 1, false,
	             "Subject: inner, header only\r\n\r\n");
	mime_free(root);
	free(data);

	check_fields("Subject: x\nsubject: y\nSUBJECT: z\n\nbody", subject, 1, false,
	             "Subject: x\r\nsubject: y\r\nSUBJECT: z\r\n\r\n");
	check_fields("Message-ID:\r\n <folded@id>\r\nX: y\r\n\r\n", msgid, 1, false,
	             "Message-ID:\r\n <folded@id>\r\n\r\n");
	check_fields("Subject : spaced\r\nSubjectx: no\r\n", subject, 1, false,
	             "Subject : spaced\r\n\r\n");
	check_fields("", subject, 1, true, "\r\n");
}

static char *decode(const char *enc, const char *in, size_t len, size_t step, size_t *out_len)
{
	struct mime_decoder *d = mime_decoder_new(enc);
	char *out = NULL;
	size_t cap = 0;

	*out_len = 0;
	if (!d)
		return NULL;
	for (size_t i = 0; i < len; i += step)
		mime_decoder_feed(d, in + i, len - i < step ? len - i : step, &out, out_len, &cap);
	mime_decoder_finish(d, &out, out_len, &cap);
	mime_decoder_free(d);
	return out;
}

/* Decodes in every chunk size up to 8 and once whole; all must agree. */
static void check_decode(const char *enc, const char *in, const char *want, size_t want_len)
{
	for (size_t step = 1; step <= 9; step++) {
		size_t len;
		char *out = decode(enc, in, strlen(in), step == 9 ? strlen(in) + 1 : step, &len);
		CHECK(out != NULL);
		if (out && !(len == want_len && memcmp(out, want, len) == 0)) {
			fprintf(stderr, "decode %s \"%s\" (step %zu): got \"%.*s\"\n", enc, in,
			        step, (int)len, out);
			CHECK(0);
		}
		free(out);
	}
}

#define DECODES(enc, in, want) check_decode(enc, in, want, sizeof(want) - 1)

static void test_decoders(void)
{
	/* base64, RFC 4648 vectors, then RFC 2045 6.8 leniency */
	DECODES("base64", "Zm9vYmFy", "foobar");
	DECODES("BASE64", "Zm9v\r\nYmE=\r\n", "fooba");
	DECODES("base64",
	        "Zm 9v\tYm\x01"
	        "Fy!!",
	        "foobar");
	DECODES("base64", "Zg==Zm8=", "ffo"); /* two encodings pasted together */
	DECODES("base64", "Zm9vYg", "foob");  /* no padding */
	DECODES("base64", "Zm9vY", "foo");    /* a lone sextet has no byte */
	DECODES("base64", "", "");
	DECODES("base64", "////", "\xff\xff\xff");
	/* quoted-printable, RFC 2045 6.7 */
	DECODES("quoted-printable", "caf=C3=A9", "caf\xc3\xa9");
	DECODES("quoted-printable", "soft=\r\nbreak", "softbreak");
	DECODES("quoted-printable", "soft=\nbreak LF", "softbreak LF");
	DECODES("quoted-printable", "blanks after = \t\r\nok", "blanks after ok");
	DECODES("quoted-printable", "line  \r\nnext\t\r\n", "line\r\nnext\r\n");
	DECODES("quoted-printable", "bare\nlf", "bare\r\nlf");
	DECODES("quoted-printable", "lower=c3=a9", "lower\xc3\xa9");
	DECODES("quoted-printable", "bad=G1 =4x =", "bad=G1 =4x =");
	DECODES("quoted-printable", "a=\rb", "a=\rb");
	DECODES("quoted-printable", "cr\rx", "cr\rx");
	DECODES("quoted-printable", "trailing   ", "trailing");
	DECODES("quoted-printable", "a = b", "a = b");
	DECODES("quoted-printable", "x=3D=3d", "x==");
	/* identity */
	DECODES("7bit", "as\r\nis=20", "as\r\nis=20");
	DECODES("8BIT", "\xc3\xa9", "\xc3\xa9");
	DECODES("binary", "a\nb", "a\nb");
	CHECK(mime_decoder_new("x-uuencode") == NULL);
	CHECK(mime_decoder_new("") == NULL);
	{
		size_t len;
		char *out = decode(NULL, "raw", 3, 2, &len); /* no encoding: copy */
		CHECK(out && len == 3 && memcmp(out, "raw", 3) == 0);
		free(out);
		out = decode("base64", "", 0, 1, &len);
		CHECK(out != NULL && len == 0); /* never NULL after finish */
		free(out);
	}
	{
		/* more blanks than could be padding come through, bounded */
		char in[5000], want[5000];
		memset(in, ' ', 3000);
		strcpy(in + 3000, "x");
		memcpy(want, in, 3002);
		check_decode("quoted-printable", in, want, 3001);
	}
}

/* Strings the API builds for particular header values. */
static void check_env(const char *msg, const char *want)
{
	struct mime_part *root;
	char *e;

	mime_parse_mem(msg, strlen(msg), &root);
	e = mime_envelope(root);
	CHECK_STR(e, want);
	free(e);
	mime_free(root);
}

static void check_bs(const char *msg, const char *want)
{
	struct mime_part *root;
	char *b;

	mime_parse_mem(msg, strlen(msg), &root);
	b = mime_bodystructure(root, true);
	CHECK_STR(b, want);
	free(b);
	mime_free(root);
}

/* Values seen from Dovecot for input the corpus does not hold (NULs). */
static void test_strings(void)
{
	static const char nul_msg[] = "Subject: nul\0in subject\r\nFrom: a\0b@c\r\n"
	                              "Content-Type: text/plain; name=\"x\0y\"\r\n\r\nbody\r\n";
	struct mime_part *root;
	char *s;

	mime_parse_mem(nul_msg, sizeof nul_msg - 1, &root);
	s = mime_envelope(root);
	CHECK_STR(s,
	          "(NIL {16}\r\nnul\xef\xbf\xbdin subject ((NIL NIL \"a\" \"MISSING_DOMAIN\")) "
	          "((NIL NIL \"a\" \"MISSING_DOMAIN\")) ((NIL NIL \"a\" \"MISSING_DOMAIN\")) NIL "
	          "NIL NIL NIL NIL)");
	free(s);
	s = mime_bodystructure(root, true);
	CHECK_STR(s,
	          "(\"text\" \"plain\" (\"name\" {5}\r\nx\xef\xbf\xbdy \"charset\" \"us-ascii\") "
	          "NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)");
	CHECK(root->flags & MIME_PART_HAS_NUL);
	free(s);
	mime_free(root);

	check_env("", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	check_env("From: a@b\r\nSender:\r\n",
	          "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	          "((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)");
	check_env("Subject: a\rb\r\n\r\n", "(NIL {2}\r\nab NIL NIL NIL NIL NIL NIL NIL NIL)");
	check_env("Message-ID: <a\rb>\r\n\r\n", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL \"<a b>\")");
	check_bs("",
	         "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	         "NIL)");
	check_bs("\n\n",
	         "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1 NIL NIL "
	         "NIL NIL)");
	/* not MIME: Content-* fields without MIME-Version or Content-Type */
	check_bs(
	    "Content-Transfer-Encoding: base64\r\nContent-ID: <x>\r\n\r\nAAAA\r\n",
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)");
	check_bs(
	    "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n",
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"base64\" 6 1 NIL NIL NIL "
	    "NIL)");
}

/* n levels of multipart, or of message/rfc822, around a text part. */
static char *nested(int n, bool message, size_t *len)
{
	struct sbuf b = {0};

	for (int i = 0; i < n; i++) {
		if (message)
			sbuf_adds(&b, "Content-Type: message/rfc822\r\n\r\n");
		else
			sbuf_printf(
			    &b, "Content-Type: multipart/mixed; boundary=b%04d\r\n\r\n--b%04d\r\n",
			    i, i);
	}
	sbuf_adds(&b, "\r\ninnermost\r\n");
	for (int i = n - 1; !message && i >= 0; i--)
		sbuf_printf(&b, "--b%04d--\r\n", i);
	*len = b.len;
	return sbuf_take(&b);
}

static int tree_depth(const struct mime_part *p, const struct mime_part **deepest)
{
	int best = 0;

	*deepest = p;
	for (size_t i = 0; i < p->nchildren; i++) {
		const struct mime_part *d;
		int k = tree_depth(&p->children[i], &d) + 1;
		if (k > best) {
			best = k;
			*deepest = d;
		}
	}
	return best;
}

static void check_deep(bool message)
{
	size_t len;
	char *msg = nested(1000, message, &len), *s;
	const struct mime_part *deepest;
	struct mime_part *root;

	CHECK(mime_parse_mem(msg, len, &root) == 0);
	CHECK(tree_depth(root, &deepest) == MIME_MAX_DEPTH);
	CHECK(deepest->flags & MIME_PART_OPAQUE);
	/* the rest is its body: all of it inside messages, up to the close
	 * delimiter of the multipart around it otherwise */
	CHECK(message ? deepest->body_end == len : deepest->body_end > deepest->body_start);
	CHECK(root->body_end == len);
	s = mime_bodystructure(root, true);
	CHECK(strstr(s, "\"application\" \"octet-stream\"") != NULL);
	free(s);
	s = mime_bodystructure(root, false);
	free(s);
	mime_free(root);
	free(msg);
}

static void test_many_parts(void)
{
	struct sbuf b = {0};
	struct mime_part *root;
	size_t n = MIME_MAX_PARTS + 500;

	sbuf_adds(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&b, "--p\r\n\r\n%zu\r\n", i);
	sbuf_adds(&b, "--p--\r\n");
	mime_parse_mem(b.s, b.len, &root);
	CHECK(root->nchildren == MIME_MAX_PARTS - 1); /* the root counts too */
	CHECK(root->children[root->nchildren - 1].body_end == b.len);
	free(mime_bodystructure(root, true));
	mime_free(root);
	sbuf_free(&b);
}

/* Headers past MIME_MAX_HEADER are not kept; the offsets still are exact. */
static void test_long_lines(void)
{
	size_t big = 3 * MIME_MAX_HEADER, hlen;
	struct sbuf b = {0};
	struct mime_part *root;
	char *line = xmalloc(big);

	memset(line, 'x', big);
	sbuf_adds(&b, "Subject: ");
	sbuf_add(&b, line, big);
	sbuf_adds(&b, "\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n");
	hlen = b.len;
	sbuf_adds(&b, "--q\r\n\r\n");
	sbuf_add(&b, line, big); /* a body line with no end in sight */
	sbuf_adds(&b, "\r\n--q--\r\n");
	mime_parse_mem(b.s, b.len, &root);
	CHECK(root->header_len == MIME_MAX_HEADER);
	CHECK(root->body_start == hlen);
	CHECK(root->nchildren == 0); /* its Content-Type was past the cap */
	mime_free(root);
	sbuf_free(&b);

	/* one line, no newline at all */
	mime_parse_mem(line, big, &root);
	CHECK(root->body_start == big && root->body_end == big &&
	      root->header_len == MIME_MAX_HEADER);
	mime_free(root);
	free(line);
}

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A 25 MB attachment parses through a file descriptor keeping only the
 * headers: the resident size grows by far less than the message. */
static void test_large_from_fd(bool lf_only)
{
	const char *eol = lf_only ? "\n" : "\r\n";
	char path[] = "/tmp/gannet-mime-XXXXXX", line[80];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w+");
	struct mime_part *root;
	struct stat st;
	long before, after;
	size_t kept = 0;

	CHECK(f != NULL);
	fprintf(f,
	        "From: big@example.com%sSubject: big%sMIME-Version: 1.0%s"
	        "Content-Type: multipart/mixed; boundary=big%s%s--big%s%s%stext%s--big%s"
	        "Content-Type: application/octet-stream%sContent-Transfer-Encoding: base64%s%s",
	        eol, eol, eol, eol, eol, eol, eol, eol, eol, eol, eol, eol, eol);
	memset(line, 'A', 76);
	memcpy(line + 76, eol, strlen(eol) + 1);
	for (int i = 0; i < 25 * 1024 * 1024 / 78; i++)
		fputs(line, f);
	fprintf(f, "--big--%s", eol);
	fflush(f);
	fstat(fd, &st);
	before = rss_kb();
	CHECK(mime_parse_fd(fd, (uint64_t)st.st_size, &root) == 0);
	after = rss_kb();
	CHECK(root->nchildren == 2);
	for (size_t i = 0; i < root->nchildren; i++)
		kept += root->children[i].header_len;
	CHECK(kept + root->header_len < 1024);
	/* the last newline is the boundary's */
	CHECK(root->children[1].body_lines == 25 * 1024 * 1024 / 78 - 1);
	CHECK(root->children[1].body_vsize == (uint64_t)(25 * 1024 * 1024 / 78) * 78 - 2);
	if (after - before > 8192)
		fprintf(stderr, "parsing 25 MB grew RSS by %ld kB\n", after - before);
	CHECK(after - before < 8192);
	mime_free(root);
	/* a file shorter than said is an error, with no tree */
	CHECK(mime_parse_fd(fd, (uint64_t)st.st_size + 1, &root) == -1 && root == NULL);
	fclose(f);
	unlink(path);
}

int main(void)
{
	test_corpus();
	test_part_at();
	test_header_fields();
	test_decoders();
	test_strings();
	check_deep(false);
	check_deep(true);
	test_many_parts();
	test_long_lines();
	test_large_from_fd(false);
	test_large_from_fd(true);
	UNIT_END();
}
