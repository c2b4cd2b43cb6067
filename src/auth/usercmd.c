#include "auth/usercmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "auth/passwd.h"
#include "util/mutf7.h"

struct user_args {
	const char *sub;  /* add, passwd, del or list */
	const char *name; /* NULL for list */
	const char *data;
	bool password_stdin;
};

static void usage(FILE *f)
{
	fputs("usage: gannet user add NAME --data DIR [--password-stdin]\n"
	      "       gannet user passwd NAME --data DIR [--password-stdin]\n"
	      "       gannet user del NAME --data DIR\n"
	      "       gannet user list --data DIR\n",
	      f);
}

/* Parses one argument after the subcommand; returns the number of argv
 * entries it used, or 0 if it is not acceptable. */
static int parse_one(struct user_args *a, int argc, char **argv, int i)
{
	if (strcmp(argv[i], "--data") == 0 && i + 1 < argc && !a->data) {
		a->data = argv[i + 1];
		return 2;
	}
	if (strncmp(argv[i], "--data=", 7) == 0 && !a->data) {
		a->data = argv[i] + 7;
		return 1;
	}
	if (strcmp(argv[i], "--password-stdin") == 0) {
		a->password_stdin = true;
		return 1;
	}
	if (argv[i][0] != '-' && !a->name) {
		a->name = argv[i];
		return 1;
	}
	return 0;
}

static bool parse_args(struct user_args *a, int argc, char **argv)
{
	bool takes_name, takes_password;
	int i, used;

	if (argc < 2)
		return false;
	a->sub = argv[1];
	takes_name = strcmp(a->sub, "list") != 0;
	takes_password = strcmp(a->sub, "add") == 0 || strcmp(a->sub, "passwd") == 0;
	if (takes_name && !takes_password && strcmp(a->sub, "del") != 0)
		return false;
	for (i = 2; i < argc; i += used) {
		used = parse_one(a, argc, argv, i);
		if (used == 0)
			return false;
	}
	if (!a->data || a->data[0] == '\0' || (a->password_stdin && !takes_password))
		return false;
	return takes_name == (a->name != NULL);
}

/* Creates dir and any missing parents, each with mode 0700. */
static int mkdir_p(const char *dir)
{
	char *p = strdup(dir), *s, c;
	struct stat st;
	int rc = -1;

	if (!p)
		return -1;
	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			goto out;
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(p, &st) != 0)
		goto out;
	if (!S_ISDIR(st.st_mode))
		errno = ENOTDIR;
	else
		rc = 0;
out:
	free(p);
	return rc;
}

/* Reads a line from fd into buf (size bytes, NUL-terminated), dropping
 * "\n" or "\r\n". Returns its length, or -1 if it did not fit or on error.
 * The whole line is consumed either way. */
static ssize_t read_line_fd(int fd, char *buf, size_t size)
{
	size_t n = 0;
	bool too_long = false;
	ssize_t r;
	char c;

	while ((r = read(fd, &c, 1)) == 1 || (r < 0 && errno == EINTR)) {
		if (r < 0)
			continue;
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
		else
			too_long = true;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return r < 0 || too_long ? -1 : (ssize_t)n;
}

/* Prompts on the terminal with echo off, as getpass(3) does, but
 * restores the settings before returning whatever happened. */
static ssize_t prompt_tty(int tty, const char *prompt, char *buf, size_t size)
{
	struct termios saved, quiet;
	ssize_t n;

	if (tcgetattr(tty, &saved) != 0)
		return -1;
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (write(tty, prompt, strlen(prompt)) < 0 || tcsetattr(tty, TCSAFLUSH, &quiet) != 0)
		return -1;
	n = read_line_fd(tty, buf, size);
	tcsetattr(tty, TCSAFLUSH, &saved);
	return n;
}

/* Reads the new password twice from /dev/tty into buf; *len is its length. */
static int password_from_tty(const char *name, char *buf, size_t size, size_t *len)
{
	char prompt[128], again[PASSWD_MAX + 2];
	ssize_t n = -1, n2 = -1;
	int tty, rc = USERCMD_OK;

	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0) {
		fprintf(stderr, "gannet user: no terminal to ask for the password on; "
		                "use --password-stdin\n");
		return USERCMD_EUSAGE;
	}
	snprintf(prompt, sizeof prompt, "New password for %s: ", name);
	n = prompt_tty(tty, prompt, buf, size);
	if (n >= 0)
		n2 = prompt_tty(tty, "Retype password: ", again, sizeof again);
	if (n < 0 || n2 < 0) {
		fprintf(stderr, "gannet user: could not read the password (at most %d bytes)\n",
		        PASSWD_MAX);
		rc = USERCMD_EUSER;
	} else if (n != n2 || memcmp(buf, again, (size_t)n) != 0) {
		fprintf(stderr, "gannet user: the passwords do not match\n");
		rc = USERCMD_EUSER;
	}
	explicit_bzero(again, sizeof again);
	close(tty);
	*len = n < 0 ? 0 : (size_t)n;
	return rc;
}

/* Reads the first line of stdin into buf; *len is its length. */
static int password_from_stdin(char *buf, size_t size, size_t *len)
{
	ssize_t n = read_line_fd(STDIN_FILENO, buf, size);

	*len = n < 0 ? 0 : (size_t)n;
	if (n < 0) {
		fprintf(stderr,
		        "gannet user: could not read the password from stdin "
		        "(at most %d bytes)\n",
		        PASSWD_MAX);
		return USERCMD_EUSER;
	}
	return USERCMD_OK;
}

/* The rules passwd_set does not know: SASL PLAIN (RFC 4616 section 2)
 * carries the password as UTF-8 without NULs. */
static int password_check(const char *pw, size_t len)
{
	if (len == 0) {
		fprintf(stderr, "gannet user: the password must not be empty\n");
		return USERCMD_EUSER;
	}
	if (len > PASSWD_MAX) {
		fprintf(stderr, "gannet user: the password is too long (at most %d bytes)\n",
		        PASSWD_MAX);
		return USERCMD_EUSER;
	}
	if (memchr(pw, '\0', len) || !utf8_valid(pw, len)) {
		fprintf(stderr, "gannet user: the password must be UTF-8 text without NUL bytes\n");
		return USERCMD_EUSER;
	}
	return USERCMD_OK;
}

static int read_password(const struct user_args *a, char *buf, size_t size)
{
	size_t len;
	int rc;

	if (a->password_stdin)
		rc = password_from_stdin(buf, size, &len);
	else
		rc = password_from_tty(a->name, buf, size, &len);
	if (rc != USERCMD_OK)
		return rc;
	return password_check(buf, len);
}

struct find_user {
	const char *name;
	bool found;
};

static void match_name(const char *user, void *arg)
{
	struct find_user *f = arg;

	if (strcmp(user, f->name) == 0)
		f->found = true;
}

static void print_name(const char *user, void *arg)
{
	(void)arg;
	printf("%s\n", user);
}

/* Checking before asking saves typing a password twice for nothing;
 * passwd_set checks again under its lock. */
static int check_exists(const char *path, const char *name, bool want)
{
	struct find_user f = {name, false};

	if (passwd_list(path, match_name, &f) != 0) {
		fprintf(stderr, "gannet user: cannot read %s: %s\n", path, strerror(errno));
		return USERCMD_EIO;
	}
	if (f.found == want)
		return USERCMD_OK;
	fprintf(stderr, "gannet user: %s %s\n", name, want ? "does not exist" : "already exists");
	return USERCMD_EUSER;
}

/* Turns a passwd_set / passwd_delete result into an exit status. */
static int report(int rc, const char *path, const char *name)
{
	switch (rc) {
	case PASSWD_OK:
		return USERCMD_OK;
	case PASSWD_EEXIST:
		fprintf(stderr, "gannet user: %s already exists\n", name);
		return USERCMD_EUSER;
	case PASSWD_ENOENT:
		fprintf(stderr, "gannet user: %s does not exist\n", name);
		return USERCMD_EUSER;
	case PASSWD_EINVAL:
		fprintf(stderr, "gannet user: invalid user name or password\n");
		return USERCMD_EUSER;
	default:
		fprintf(stderr, "gannet user: cannot update %s: %s\n", path, strerror(errno));
		return USERCMD_EIO;
	}
}

static int cmd_set(const struct user_args *a, const char *path, enum passwd_mode mode)
{
	char pw[PASSWD_MAX + 2]; /* room for a '\r' before the '\n' */
	int rc;

	rc = check_exists(path, a->name, mode == PASSWD_CHANGE);
	if (rc == USERCMD_OK)
		rc = read_password(a, pw, sizeof pw);
	if (rc == USERCMD_OK)
		rc = report(passwd_set(path, a->name, pw, mode), path, a->name);
	explicit_bzero(pw, sizeof pw);
	return rc;
}

static int cmd_del(const struct user_args *a, const char *path)
{
	int rc = report(passwd_delete(path, a->name), path, a->name);

	if (rc == USERCMD_OK)
		printf("deleted %s; mail in %s/users/%s (if any) was left in place\n", a->name,
		       a->data, a->name);
	return rc;
}

static int cmd_list(const char *path)
{
	if (passwd_list(path, print_name, NULL) != 0) {
		fprintf(stderr, "gannet user: cannot read %s: %s\n", path, strerror(errno));
		return USERCMD_EIO;
	}
	return USERCMD_OK;
}

static int run(const struct user_args *a, const char *path)
{
	bool list = strcmp(a->sub, "list") == 0;

	if (!list && !user_name_valid(a->name)) {
		fprintf(stderr,
		        "gannet user: invalid user name \"%s\" (1-64 of A-Z a-z 0-9 . _ @ + -, "
		        "not starting with . or -)\n",
		        a->name);
		return USERCMD_EUSER;
	}
	if (!list && mkdir_p(a->data) != 0) {
		fprintf(stderr, "gannet user: cannot create %s: %s\n", a->data, strerror(errno));
		return USERCMD_EIO;
	}
	if (list)
		return cmd_list(path);
	if (strcmp(a->sub, "del") == 0)
		return cmd_del(a, path);
	return cmd_set(a, path, strcmp(a->sub, "add") == 0 ? PASSWD_ADD : PASSWD_CHANGE);
}

int usercmd_main(int argc, char **argv)
{
	struct user_args a = {0};
	char *path;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return USERCMD_OK;
	}
	if (!parse_args(&a, argc, argv)) {
		usage(stderr);
		return USERCMD_EUSAGE;
	}
	if (asprintf(&path, "%s/passwd", a.data) < 0)
		return USERCMD_EIO;
	rc = run(&a, path);
	free(path);
	if (fflush(stdout) != 0 && rc == USERCMD_OK) {
		fprintf(stderr, "gannet user: cannot write to stdout: %s\n", strerror(errno));
		rc = USERCMD_EIO;
	}
	return rc;
}
