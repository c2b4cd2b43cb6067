/* How fast the MIME parser is, printed, never asserted: parse time of a
 * 25 MB message with one base64 attachment (through a file descriptor, as
 * the server reads it, and from memory), and of a 1,000-part message, plus
 * BODYSTRUCTURE for the latter. The checks are only that the parses are
 * right. Under `make test` this is the sanitised -O1 build; for release
 * figures build it alone with -O2 from this file, every .c file of
 * src/mime, src/util/str.c and src/util/base64.c. */
#include "mime/mime.h"
#include "unit.h"
#include "util/str.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *attachment_message(size_t *len)
{
	struct sbuf b = {0};
	char line[79];

	sbuf_adds(&b, "From: Big Sender <big@example.com>\r\nTo: you@example.net\r\n"
	              "Subject: the 25 MB attachment\r\nMIME-Version: 1.0\r\n"
	              "Content-Type: multipart/mixed; boundary=\"=_big_boundary\"\r\n\r\n"
	              "--=_big_boundary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	              "See attached.\r\n\r\n--=_big_boundary\r\n"
	              "Content-Type: application/octet-stream; name=\"big.bin\"\r\n"
	              "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
	              "Content-Transfer-Encoding: base64\r\n\r\n");
	for (int i = 0; i < 76; i++)
		line[i] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i * 7 % 64];
	memcpy(line + 76, "\r\n", 3);
	while (b.len < 25u * 1000 * 1000)
		sbuf_add(&b, line, 78);
	sbuf_adds(&b, "\r\n--=_big_boundary--\r\n");
	*len = b.len;
	return sbuf_take(&b);
}

static char *many_parts_message(int n, size_t *len)
{
	struct sbuf b = {0};

	sbuf_adds(&b, "From: a@example.com\r\nSubject: 1,000 parts\r\nMIME-Version: 1.0\r\n"
	              "Content-Type: multipart/mixed; boundary=\"part-boundary\"\r\n\r\n");
	for (int i = 0; i < n; i++)
		sbuf_printf(&b,
		            "--part-boundary\r\nContent-Type: text/plain; charset=us-ascii; "
		            "name=\"part%d.txt\"\r\nContent-Disposition: attachment; "
		            "filename=\"part%d.txt\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
		            "Part %d of the message, a short text attachment.\r\n"
		            "A second line, and a third one to make it look like mail.\r\n"
		            "The end of part %d.\r\n\r\n",
		            i, i, i, i);
	sbuf_adds(&b, "--part-boundary--\r\n");
	*len = b.len;
	return sbuf_take(&b);
}

/* Best of `runs` timings of parsing from memory. */
static double time_mem(const char *data, size_t len, int runs, struct mime_part **keep)
{
	double best = 1e9;

	for (int i = 0; i < runs; i++) {
		struct mime_part *root;
		double t = now();
		mime_parse_mem(data, len, &root);
		t = now() - t;
		best = t < best ? t : best;
		if (i == 0 && keep)
			*keep = root;
		else
			mime_free(root);
	}
	return best;
}

static double time_fd(const char *data, size_t len, int runs)
{
	char path[] = "/tmp/gannet-bench-XXXXXX";
	int fd = mkstemp(path);
	double best = 1e9;

	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	for (int i = 0; i < runs; i++) {
		struct mime_part *root;
		double t = now();
		CHECK(mime_parse_fd(fd, len, &root) == 0);
		t = now() - t;
		best = t < best ? t : best;
		CHECK(root->nchildren == 2);
		mime_free(root);
	}
	close(fd);
	unlink(path);
	return best;
}

static void report(const char *what, size_t len, double secs)
{
	printf("  %-44s %8.2f ms  %7.1f MB/s\n", what, secs * 1e3, (double)len / 1e6 / secs);
}

int main(void)
{
	size_t len;
	char *msg = attachment_message(&len), *s;
	struct mime_part *root;
	double t;

#if defined(__SANITIZE_ADDRESS__) || !defined(__OPTIMIZE__)
	printf("mime bench (sanitised or unoptimised build: figures are not release figures)\n");
#else
	printf("mime bench\n");
#endif
	report("25 MB base64 attachment, from an fd", len, time_fd(msg, len, 5));
	t = time_mem(msg, len, 5, &root);
	report("25 MB base64 attachment, from memory", len, t);
	CHECK(root->nchildren == 2 && root->children[1].body_lines > 300000);
	mime_free(root);
	free(msg);

	msg = many_parts_message(1000, &len);
	t = time_mem(msg, len, 20, &root);
	report("1,000-part message, from memory", len, t);
	CHECK(root->nchildren == 1000);
	t = now();
	s = mime_bodystructure(root, true);
	t = now() - t;
	printf("  %-44s %8.2f ms  (%zu bytes)\n", "BODYSTRUCTURE of the 1,000-part message",
	       t * 1e3, strlen(s));
	free(s);
	mime_free(root);
	free(msg);
	UNIT_END();
}
