/* Robustness of the MIME code under random and damaged input, with a fixed
 * seed so a failure repeats: messages built from MIME-ish fragments, random
 * bytes, and corpus messages with bytes flipped, inserted, cut, repeated or
 * their line ends changed. Each goes through every entry point, under the
 * sanitizers, and must keep these invariants:
 *   - the tree's offsets nest and stay inside the input, kept header bytes
 *     are the input's, flags agree with children;
 *   - feeding the same bytes in other chunk sizes gives the same tree;
 *   - ENVELOPE and BODY/BODYSTRUCTURE are well-formed IMAP (balanced
 *     parentheses, valid quoted strings, exact literal lengths);
 *   - part numbers, HEADER.FIELDS and the decoders never fail.
 * The run is bounded in iterations and in time. */
#include "mime/mime-int.h"
#include "unit.h"

#include "../mime_tree_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ITERATIONS 10000
#define MAX_SECONDS 20

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: enough spread for choosing mutations */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static const char *const fragments[] = {
    "--",
    "--b",
    "--b--",
    "--c",
    "--c--",
    "\r\n",
    "\n",
    "\r",
    "\r\n\r\n",
    "\n\n",
    " ",
    "\t",
    ":",
    ";",
    "\"",
    "\\",
    "(",
    ")",
    "<",
    ">",
    "@",
    ",",
    "=",
    "*",
    "Content-Type: multipart/mixed; boundary=b\r\n",
    "Content-Type: multipart/alternative; boundary=\"c\"\r\n",
    "Content-Type: multipart/digest; boundary=b\r\n",
    "Content-Type: message/rfc822\r\n",
    "Content-Type: text/plain; charset*0*=utf-8''%C3; charset*1=x\r\n",
    "Content-Type: text\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "Content-Disposition: attachment; filename*=utf-8'en'a%20b\r\n",
    "Content-Language: en, de\r\n",
    "MIME-Version: 1.0\r\n",
    "From: \"A B\" <a@b.example>, group: c@d;\r\n",
    "To: (comment) x@y (z)\r\n",
    "Subject: =?utf-8?q?caf=C3=A9?=\r\n",
    " folded\r\n",
    "boundary=",
    "=3D=\r\n",
    "QUJD",
    "\0",
    "\xff\xfe",
    "\xc3\xa9",
};

#define NFRAG (sizeof fragments / sizeof *fragments)

static void add_fragment(struct sbuf *b)
{
	const char *f = fragments[below(NFRAG)];
	size_t n = f[0] ? strlen(f) : 1; /* the "\0" fragment is one NUL */

	sbuf_add(b, f, n);
}

static char *made_up(size_t *len)
{
	struct sbuf b = {0};
	size_t n = 1 + below(200);

	sbuf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (below(8) == 0)
			sbuf_addc(&b, (char)below(256));
		else
			add_fragment(&b);
	}
	*len = b.len;
	return sbuf_take(&b);
}

struct corpus {
	char **msg;
	size_t *len, n;
};

static struct corpus load_corpus(void)
{
	struct corpus c = {NULL, NULL, 0};
	DIR *d = opendir("tests/corpus/mime");
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char path[512];
		struct stat st;
		int fd;
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		snprintf(path, sizeof path, "tests/corpus/mime/%s", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		c.msg = xrealloc(c.msg, (c.n + 1) * sizeof *c.msg);
		c.len = xrealloc(c.len, (c.n + 1) * sizeof *c.len);
		c.msg[c.n] = xmalloc((size_t)st.st_size + 1);
		c.len[c.n] = (size_t)read(fd, c.msg[c.n], (size_t)st.st_size);
		c.n++;
		close(fd);
	}
	if (d)
		closedir(d);
	return c;
}

/* One random change to b. */
static void mutate(struct sbuf *b)
{
	size_t at = below(b->len + 1), n = 1 + below(64), i;
	struct sbuf t = {0};

	switch (below(7)) {
	case 0: /* flip bits */
		if (b->len)
			b->s[below(b->len)] ^= (char)(1u << below(8));
		break;
	case 1: /* insert a fragment */
		sbuf_add(&t, b->s, at);
		add_fragment(&t);
		sbuf_add(&t, b->s + at, b->len - at);
		break;
	case 2: /* cut a range */
		n = at + n > b->len ? b->len - at : n;
		memmove(b->s + at, b->s + at + n, b->len - at - n);
		b->len -= n;
		break;
	case 3: /* repeat a range */
		n = at + n > b->len ? b->len - at : n;
		sbuf_add(&t, b->s, at + n);
		sbuf_add(&t, b->s + at, b->len - at);
		break;
	case 4: /* end here */
		b->len = at;
		break;
	case 5: /* LF line ends from here on */
		sbuf_add(&t, b->s, at);
		for (i = at; i < b->len; i++)
			if (!(b->s[i] == '\r' && i + 1 < b->len && b->s[i + 1] == '\n'))
				sbuf_addc(&t, b->s[i]);
		break;
	default: /* a random byte */
		if (b->len)
			b->s[below(b->len)] = (char)below(256);
		break;
	}
	if (t.s) {
		sbuf_free(b);
		*b = t;
	}
	sbuf_add(b, "", 0);
}

static char *damaged(const struct corpus *c, size_t *len)
{
	struct sbuf b = {0};
	size_t k = below(c->n), rounds = 1 + below(6);

	sbuf_add(&b, c->msg[k], c->len[k]);
	for (size_t i = 0; i < rounds; i++)
		mutate(&b);
	*len = b.len;
	return sbuf_take(&b);
}

static size_t stat_parts, stat_deepest, stat_multipart, stat_message;

/* What the random messages reached, for the summary line. */
static void count_parts(const struct mime_part *p, int depth)
{
	stat_parts++;
	stat_deepest = (size_t)depth > stat_deepest ? (size_t)depth : stat_deepest;
	stat_multipart += (p->flags & MIME_PART_MULTIPART) && p->nchildren > 0;
	stat_message += (p->flags & MIME_PART_MESSAGE) != 0;
	for (size_t i = 0; i < p->nchildren; i++)
		count_parts(&p->children[i], depth + 1);
}

static void decode_part(const struct mime_part *p, const char *data)
{
	struct mime_decoder *d = mime_decoder_new(p->encoding);
	char *out = NULL;
	size_t len = 0, cap = 0, step = 1 + below(100);

	if (!d)
		return;
	for (uint64_t i = p->body_start; i < p->body_end; i += step)
		mime_decoder_feed(d, data + i, p->body_end - i < step ? p->body_end - i : step,
		                  &out, &len, &cap);
	mime_decoder_finish(d, &out, &len, &cap);
	CHECK(out != NULL && len <= cap);
	mime_decoder_free(d);
	free(out);
}

/* Strings for every part, decoders on every leaf, a few part numbers. */
static void exercise(const struct mime_part *p, const char *data, bool *ok)
{
	char *s;

	if (p->flags & MIME_PART_MESSAGE) {
		s = mime_envelope(&p->children[0]);
		*ok = *ok && imap_list_ok(s);
		free(s);
	}
	if (p->nchildren == 0)
		decode_part(p, data);
	for (size_t i = 0; i < p->nchildren; i++)
		exercise(&p->children[i], data, ok);
}

static void run_one(const char *data, size_t len)
{
	static const char *const names[] = {"Subject", "content-type", "FROM", "x"};
	struct mime_part *root, *other;
	uint32_t path[4];
	char *s, *out;
	size_t olen;
	bool ok = true;

	CHECK(mime_parse_mem(data, len, &root) == 0);
	CHECK(mime_tree_ok(root, data, len, 0));
	count_parts(root, 0);
	mime_parse_chunks(data, len, 1 + below(300), &other);
	CHECK(mime_trees_same(root, other));
	mime_free(other);
	s = mime_envelope(root);
	ok = ok && imap_list_ok(s);
	free(s);
	s = mime_bodystructure(root, true);
	ok = ok && imap_list_ok(s);
	free(s);
	s = mime_bodystructure(root, false);
	ok = ok && imap_list_ok(s);
	free(s);
	exercise(root, data, &ok);
	if (!ok)
		fprintf(stderr, "malformed IMAP string for input of %zu bytes\n", len);
	CHECK(ok);
	for (int i = 0; i < 8; i++) {
		size_t n = below(5);
		for (size_t j = 0; j < n; j++)
			path[j] = (uint32_t)below(4);
		(void)mime_part_at(root, path, n);
	}
	mime_header_fields(root->header, root->header_len, names, below(5), below(2), &out, &olen);
	CHECK(olen >= 2 && memcmp(out + olen - 2, "\r\n", 2) == 0);
	free(out);
	mime_free(root);
}

/* Random bytes straight into the decoders. */
static void run_decoders(void)
{
	static const char *const encs[] = {"base64", "quoted-printable", "7bit"};
	char in[512];
	size_t n = below(sizeof in);

	for (size_t i = 0; i < n; i++)
		in[i] = below(3) ? "AZaz09+/=\r\n \t=3D"[below(17)] : (char)below(256);
	for (size_t e = 0; e < 3; e++) {
		struct mime_decoder *d = mime_decoder_new(encs[e]);
		char *out = NULL;
		size_t len = 0, cap = 0, step = 1 + below(20);
		for (size_t i = 0; i < n; i += step)
			mime_decoder_feed(d, in + i, n - i < step ? n - i : step, &out, &len, &cap);
		mime_decoder_finish(d, &out, &len, &cap);
		CHECK(len <= 2 * n + 4); /* QP turns a bare LF into CRLF at most */
		mime_decoder_free(d);
		free(out);
	}
}

int main(void)
{
	struct corpus c = load_corpus();
	time_t start = time(NULL);
	int i;

	CHECK(c.n > 0);
	for (i = 0; i < ITERATIONS && time(NULL) - start < MAX_SECONDS; i++) {
		size_t len;
		char *msg = i % 2 && c.n ? damaged(&c, &len) : made_up(&len);
		run_one(msg, len);
		run_decoders();
		free(msg);
	}
	printf("%d inputs, %zu parts (%zu multiparts with parts, %zu messages), %zu deep at most\n",
	       i, stat_parts, stat_multipart, stat_message, stat_deepest);
	for (size_t k = 0; k < c.n; k++)
		free(c.msg[k]);
	free(c.msg);
	free(c.len);
	UNIT_END();
}
