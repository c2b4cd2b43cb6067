/* gannet deliver: one message from stdin into a user's mailbox (deliver.h). */
#include "server/deliver.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "auth/passwd.h"
#include "imap/session.h"
#include "store/store.h"
#include "util/log.h"
#include "util/str.h"

#define CHUNK (64 * 1024)

struct delivery {
	const char *user, *data_dir, *mailbox;
	unsigned long long limit;
	uint64_t size; /* bytes stored, after any envelope line */
};

/* Logs an error and repeats it on stderr, where the MTA picks it up for
 * the bounce or defer notice; returns code so callers can `return fail(...)`. */
static int __attribute__((format(printf, 2, 3))) fail(int code, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_error("deliver: %s", line);
	fprintf(stderr, "gannet deliver: %s\n", line);
	return code;
}

/* A warning does not fail the delivery; stderr gets it too, for whoever
 * runs the command by hand (an MTA ignores the output of a success). */
static void __attribute__((format(printf, 1, 2))) warn(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_warn("deliver: %s", line);
	fprintf(stderr, "gannet deliver: warning: %s\n", line);
}

static const struct option deliver_opts[] = {
    {"data", required_argument, NULL, 'd'},
    {"mailbox", required_argument, NULL, 'm'},
    {"append-limit", required_argument, NULL, 'l'},
    {NULL, 0, NULL, 0},
};

static bool parse_args(int argc, char **argv, struct delivery *d)
{
	uint64_t v;
	int ch;
	optind = 1;
	opterr = 1; /* getopt's own message names the bad option */
	while ((ch = getopt_long(argc, argv, "", deliver_opts, NULL)) != -1) {
		if (ch == 'd') {
			d->data_dir = optarg;
		} else if (ch == 'm') {
			d->mailbox = optarg;
		} else if (ch == 'l' && str_to_u64(optarg, strlen(optarg), 1ull << 40, &v) &&
		           v > 0) {
			d->limit = v;
		} else {
			fprintf(stderr, "gannet deliver: bad option or value\n");
			return false;
		}
	}
	if (optind + 1 != argc || !d->data_dir) {
		fprintf(stderr, "usage: gannet deliver USER --data DIR [--mailbox NAME] "
		                "[--append-limit BYTES]\n");
		return false;
	}
	d->user = argv[optind];
	return true;
}

/* 1 if user has a line in DATA/passwd, 0 if not, -1 if it cannot be read.
 * Checked before store_open, which would make a home for anyone. */
static int user_known(const char *data_dir, const char *user)
{
	char *path = xasprintf("%s/passwd", data_dir);
	int rc = passwd_has_user(path, user);
	int err = errno;
	free(path);
	errno = err; /* for the caller's message */
	return rc;
}

static ssize_t read_some(int fd, char *buf, size_t cap)
{
	ssize_t n;
	do
		n = read(fd, buf, cap);
	while (n < 0 && errno == EINTR);
	return n;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fills buf until it holds the first line, is full, or input ends, so the
 * envelope check sees the whole line however stdin splits it. */
static ssize_t read_first_line(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (len < cap && !memchr(buf, '\n', len)) {
		ssize_t n = read_some(fd, buf + len, cap - len);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* Length of a leading mbox envelope line ("From sender date\n"), or 0. A
 * header field "From:" (or the obsolete "From :") is not one. */
static size_t envelope_len(const char *buf, size_t len)
{
	if (len < 5 || memcmp(buf, "From ", 5) != 0)
		return 0;
	const char *lf = memchr(buf, '\n', len);
	if (!lf)
		return 0; /* no line end within a chunk: not an envelope line */
	size_t i = 5;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	if (i < len && buf[i] == ':')
		return 0;
	return (size_t)(lf - buf) + 1;
}

/* Appends n bytes to the temporary file, enforcing the size limit. */
static int put(struct delivery *d, int fd, const char *p, size_t n)
{
	if (d->size + n > d->limit)
		return fail(EX_DATAERR, "%s: message larger than the limit of %llu bytes", d->user,
		            d->limit);
	if (write_all(fd, p, n) < 0)
		return fail(EX_TEMPFAIL, "%s: cannot write a temporary file: %s", d->user,
		            strerror(errno));
	d->size += n;
	return EX_OK;
}

/* Streams stdin into fd one chunk at a time, minus any envelope line. */
static int copy_message(struct delivery *d, int fd)
{
	char *buf = xmalloc(CHUNK);
	ssize_t n = read_first_line(STDIN_FILENO, buf, CHUNK);
	int rc = EX_OK;
	if (n > 0) {
		size_t skip = envelope_len(buf, (size_t)n);
		rc = put(d, fd, buf + skip, (size_t)n - skip);
	}
	while (rc == EX_OK && n > 0) {
		n = read_some(STDIN_FILENO, buf, CHUNK);
		if (n > 0)
			rc = put(d, fd, buf, (size_t)n);
	}
	free(buf);
	if (rc == EX_OK && n < 0)
		rc = fail(EX_TEMPFAIL, "%s: cannot read the message: %s", d->user, strerror(errno));
	if (rc == EX_OK && d->size == 0)
		rc = fail(EX_DATAERR, "%s: empty message", d->user);
	return rc;
}

/* The canonical name to deliver into: INBOX unless --mailbox names a valid
 * mailbox; whether it exists is learnt from store_append. */
static char *target_name(struct store *s, const struct delivery *d)
{
	if (!d->mailbox)
		return xstrdup("INBOX");
	char *name = store_name_check(s, d->mailbox, NULL);
	if (!name) {
		warn("%s: --mailbox is not a valid mailbox name; delivering to INBOX", d->user);
		return xstrdup("INBOX");
	}
	return name;
}

static int store_message(struct store *s, struct delivery *d, const char *path)
{
	char *name = target_name(s, d);
	struct store_append req = {.path = path, .internaldate = time(NULL)};
	uint32_t uidvalidity, uid;
	enum store_rc rc = store_append(s, name, &req, &uidvalidity, &uid);
	if (rc == STORE_NONEXISTENT && strcmp(name, "INBOX") != 0) {
		/* As Dovecot's LDA does without autocreate: the mail is not lost. */
		warn("%s: no mailbox %s; delivering to INBOX", d->user, name);
		free(name);
		name = xstrdup("INBOX");
		rc = store_append(s, name, &req, &uidvalidity, &uid);
	}
	int ex = EX_OK;
	if (rc == STORE_OK)
		log_info("deliver: %s: %s uid %u, %llu bytes", d->user, name, uid,
		         (unsigned long long)d->size);
	else
		ex = fail(EX_TEMPFAIL, "%s: cannot store the message in %s (store error %d)",
		          d->user, name, (int)rc);
	free(name);
	return ex;
}

static int deliver(struct store *s, struct delivery *d)
{
	int fd;
	char *path;
	if (store_tmpfile(s, &fd, &path) != STORE_OK)
		return fail(EX_TEMPFAIL, "%s: cannot create a temporary file", d->user);
	int rc = copy_message(d, fd);
	if (close(fd) < 0 && rc == EX_OK)
		rc = fail(EX_TEMPFAIL, "%s: cannot write a temporary file: %s", d->user,
		          strerror(errno));
	if (rc == EX_OK)
		rc = store_message(s, d, path);
	store_tmpfile_discard(path); /* a no-op once store_append has moved it */
	return rc;
}

int deliver_main(int argc, char **argv, const struct session_config *cfg)
{
	struct delivery d = {.limit = cfg->append_limit};
	log_init("gannet", true, LOG_LVL_INFO);
	if (!parse_args(argc, argv, &d))
		return EX_USAGE;
	int known = user_known(d.data_dir, d.user);
	if (known < 0)
		return fail(EX_TEMPFAIL, "cannot read %s/passwd: %s", d.data_dir, strerror(errno));
	if (!known)
		return fail(EX_NOUSER, "no user %s in %s/passwd", d.user, d.data_dir);
	struct store *s;
	if (store_open(d.data_dir, d.user, &cfg->store, &s) != STORE_OK)
		return fail(EX_TEMPFAIL, "%s: cannot open the mail store", d.user);
	int rc = deliver(s, &d);
	store_close(s);
	return rc;
}
