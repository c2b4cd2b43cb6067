#include "auth/passwd.h"

#include <assert.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER_NAME_MAX 64

static_assert(PASSWD_MAX < CRYPT_MAX_PASSPHRASE_SIZE, "crypt_r must accept every password");

/* A yescrypt hash at the default cost of crypt_gensalt_rn("$y$", 0, ...), the
 * same cost as new hashes, so checking an unknown user takes as long as
 * checking a known one. Its password is irrelevant: a match is never
 * accepted. */
static const char dummy_hash[] =
    "$y$j9T$ae1icnOt/84tHq7AKD7bV/$47d2UdX4h96pUIDgiAfCq65l9DR51Suh6YyamVrSwK5";

bool user_name_valid(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; name[i]; i++) {
		if (i >= USER_NAME_MAX)
			return false;
		if (!strchr("._@+-", name[i]) && !(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= 'A' && name[i] <= 'Z') && !(name[i] >= '0' && name[i] <= '9'))
			return false;
	}
	return true;
}

/* Reads the whole file into a malloc'd *buf (NUL-terminated, *len bytes). A
 * missing file reads as empty. Returns 0 or -1 with errno set. */
static int read_file(const char *path, char **buf, size_t *len, bool missing_ok)
{
	size_t cap = 4096, n = 0;
	ssize_t r;
	char *b, *nb;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && missing_ok)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	b = malloc(cap);
	while (b) {
		r = read(fd, b + n, cap - n - 1);
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		n += (size_t)r;
		if (cap - n - 1 == 0) {
			nb = realloc(b, cap * 2);
			if (!nb)
				goto fail;
			b = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (!b)
		return -1;
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	close(fd);
	free(b);
	return -1;
}

/* Length of the line at buf[off..len), including its '\n' if it has one. */
static size_t line_len(const char *buf, size_t len, size_t off)
{
	const char *nl = memchr(buf + off, '\n', len - off);

	return nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
}

static bool line_is_user(const char *line, size_t n, const char *user)
{
	size_t ulen = strlen(user);

	return n > ulen && memcmp(line, user, ulen) == 0 && line[ulen] == ':';
}

/* Finds user's first line; returns its offset, or len if there is none. */
static size_t find_line(const char *buf, size_t len, const char *user)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = line_len(buf, len, off);
		if (line_is_user(buf + off, n, user))
			return off;
	}
	return len;
}

/* Copies the hash field of user's first line into hash. Returns false if
 * there is no such line or the field does not fit. */
static bool find_hash(const char *buf, size_t len, const char *user, char *hash, size_t size)
{
	size_t off = find_line(buf, len, user), h;
	const char *field;

	if (off == len)
		return false;
	field = buf + off + strlen(user) + 1;
	/* buf is NUL-terminated, and a NUL in the field ends it early. */
	h = strcspn(field, ":\r\n");
	if (h >= size)
		return false;
	memcpy(hash, field, h);
	hash[h] = '\0';
	return true;
}

/* Compares without stopping at the first difference, so the time taken
 * does not tell an attacker how much of a guessed hash was right. */
static bool equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	volatile unsigned char diff = la != lb;

	for (i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)(i < lb ? b[i] : 0);
	return diff == 0;
}

/* Returns 0 with hash filled in if user has a usable "$id$" hash, 1 if not,
 * -1 if the file could not be read. */
static int lookup(const char *path, const char *user, char *hash, size_t size)
{
	char *buf;
	size_t len;
	bool found;

	if (!user_name_valid(user))
		return 1;
	if (read_file(path, &buf, &len, false) != 0)
		return -1;
	found = find_hash(buf, len, user, hash, size);
	free(buf);
	return found && hash[0] == '$' ? 0 : 1;
}

int passwd_verify(const char *path, const char *user, const char *password)
{
	char stored[CRYPT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *setting = dummy_hash, *got;
	int found, saved_errno = 0;
	bool ok = false;

	found = lookup(path, user, stored, sizeof stored);
	if (found < 0)
		saved_errno = errno;
	if (found == 0 && strlen(password) <= PASSWD_MAX)
		setting = stored;
	cd = calloc(1, sizeof *cd);
	if (cd) {
		got = crypt_r(password, setting, cd);
		ok = got && setting == stored && equal_ct(got, stored);
		explicit_bzero(cd, sizeof *cd);
		free(cd);
	} else {
		saved_errno = ENOMEM;
	}
	errno = ok ? 0 : saved_errno;
	return ok ? 0 : -1;
}

static int hash_new(const char *password, char *out, size_t size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int rc = -1;

	/* NULL random bytes: libxcrypt reads the OS random source itself. */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
		return -1;
	cd = calloc(1, sizeof *cd);
	if (!cd)
		return -1;
	h = crypt_r(password, salt, cd);
	if (h && h[0] == '$' && strlen(h) < size) {
		strcpy(out, h);
		rc = 0;
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return rc;
}

/* Returns a descriptor holding an exclusive flock on "path.lock"; closing it
 * releases the lock. */
static int lock_file(const char *path)
{
	char *lockpath;
	int fd;

	if (asprintf(&lockpath, "%s.lock", path) < 0)
		return -1;
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(lockpath);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Writes buf to f with user's lines dropped and, if newline is not NULL, the
 * first of them replaced by newline (or newline appended if there was none). */
static void write_lines(FILE *f, const char *buf, size_t len, const char *user, const char *newline)
{
	size_t off, n;
	bool done = newline == NULL;

	for (off = 0; off < len; off += n) {
		n = line_len(buf, len, off);
		if (line_is_user(buf + off, n, user)) {
			if (!done)
				fputs(newline, f);
			done = true;
			continue;
		}
		fwrite(buf + off, 1, n, f);
		if (buf[off + n - 1] != '\n')
			fputc('\n', f);
	}
	if (!done)
		fputs(newline, f);
}

/* Makes the rename durable: the new directory entry is on disk only once the
 * directory itself has been fsync'd. */
static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc;

	if (!slash)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Replaces path by buf edited as in write_lines, atomically and durably. */
static int replace_file(const char *path, const char *buf, size_t len, const char *user,
                        const char *newline)
{
	char *tmp;
	FILE *f = NULL;
	int fd, rc = -1;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -1;
	/* A PATH.tmp left by a crash is stale: we hold the lock. */
	if (unlink(tmp) != 0 && errno != ENOENT)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		goto out_unlink;
	}
	write_lines(f, buf, len, user, newline);
	if (fchmod(fd, 0600) != 0 || fflush(f) != 0 || ferror(f) || fsync(fd) != 0)
		goto out_unlink;
	if (fclose(f) != 0) {
		f = NULL;
		goto out_unlink;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		goto out_unlink;
	rc = fsync_dir_of(path);
	goto out;
out_unlink:
	if (f)
		fclose(f);
	unlink(tmp);
out:
	free(tmp);
	return rc;
}

/* Under the lock: checks whether user exists against what the caller
 * requires, then rewrites the file. newline NULL means delete. */
static int edit_locked(const char *path, const char *user, const char *newline, bool must_exist)
{
	char *buf;
	size_t len;
	bool exists;
	int lockfd, rc;

	lockfd = lock_file(path);
	if (lockfd < 0)
		return PASSWD_EIO;
	if (read_file(path, &buf, &len, true) != 0) {
		close(lockfd);
		return PASSWD_EIO;
	}
	exists = find_line(buf, len, user) < len;
	if (exists != must_exist)
		rc = exists ? PASSWD_EEXIST : PASSWD_ENOENT;
	else
		rc = replace_file(path, buf, len, user, newline) == 0 ? PASSWD_OK : PASSWD_EIO;
	free(buf);
	close(lockfd);
	return rc;
}

int passwd_set(const char *path, const char *user, const char *password, enum passwd_mode mode)
{
	char hash[CRYPT_OUTPUT_SIZE], *line;
	size_t pwlen = strlen(password);
	int rc;

	if (!user_name_valid(user) || pwlen == 0 || pwlen > PASSWD_MAX)
		return PASSWD_EINVAL;
	if (hash_new(password, hash, sizeof hash) != 0)
		return PASSWD_EIO;
	if (asprintf(&line, "%s:%s\n", user, hash) < 0)
		return PASSWD_EIO;
	rc = edit_locked(path, user, line, mode == PASSWD_CHANGE);
	free(line);
	return rc;
}

int passwd_delete(const char *path, const char *user)
{
	if (!user_name_valid(user))
		return PASSWD_EINVAL;
	return edit_locked(path, user, NULL, true);
}

int passwd_list(const char *path, void (*cb)(const char *user, void *arg), void *arg)
{
	char *buf, name[USER_NAME_MAX + 1];
	size_t len, off, n, nlen;

	if (read_file(path, &buf, &len, true) != 0)
		return -1;
	for (off = 0; off < len; off += n) {
		n = line_len(buf, len, off);
		nlen = strcspn(buf + off, ":\n");
		if (nlen >= n || buf[off + nlen] != ':' || nlen > USER_NAME_MAX)
			continue;
		memcpy(name, buf + off, nlen);
		name[nlen] = '\0';
		if (user_name_valid(name))
			cb(name, arg);
	}
	free(buf);
	return 0;
}

struct find_user {
	const char *name;
	bool found;
};

static void find_user_cb(const char *user, void *arg)
{
	struct find_user *f = arg;
	f->found |= strcmp(user, f->name) == 0;
}

int passwd_has_user(const char *path, const char *user)
{
	struct find_user f = {.name = user};
	return passwd_list(path, find_user_cb, &f) < 0 ? -1 : f.found;
}
