#include "auth/passwd.h"
#include "unit.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct names {
	char buf[512];
};

static void collect(const char *user, void *arg)
{
	struct names *n = arg;

	strcat(n->buf, user);
	strcat(n->buf, ",");
}

static const char *list(const char *path, struct names *n)
{
	n->buf[0] = '\0';
	CHECK(passwd_list(path, collect, n) == 0);
	return n->buf;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void spew(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A hash made with crypt_r from a setting ("$6$salt", "$2b$04$..."). */
static char *make_hash(const char *password, const char *setting)
{
	static struct crypt_data cd;
	const char *h = crypt_r(password, setting, &cd);

	return strdup(h ? h : "*");
}

static void test_names(void)
{
	CHECK(user_name_valid("alice"));
	CHECK(user_name_valid("a"));
	CHECK(user_name_valid("Bob.Smith+tag@example.org"));
	CHECK(user_name_valid("x_y-z.9"));
	CHECK(user_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	CHECK(
	    !user_name_valid("01234567890123456789012345678901234567890123456789012345678901234"));
	CHECK(!user_name_valid(""));
	CHECK(!user_name_valid("."));
	CHECK(!user_name_valid(".."));
	CHECK(!user_name_valid(".hidden"));
	CHECK(!user_name_valid("-rf"));
	CHECK(!user_name_valid("a/b"));
	CHECK(!user_name_valid("a:b"));
	CHECK(!user_name_valid("a b"));
	CHECK(!user_name_valid("a\nb"));
	CHECK(!user_name_valid("#root"));
	CHECK(!user_name_valid("jürgen"));
}

static void test_lifecycle(const char *dir)
{
	char path[512], other[512];
	struct names n;
	struct stat st;

	snprintf(path, sizeof path, "%s/passwd", dir);
	CHECK_STR(list(path, &n), "");
	errno = 0;
	CHECK(passwd_verify(path, "alice", "pw") == -1);
	CHECK(errno == ENOENT);
	CHECK(passwd_delete(path, "alice") == PASSWD_ENOENT);

	CHECK(passwd_set(path, "alice", "correct horse", PASSWD_ADD) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(strncmp(slurp(path), "alice:$y$", 9) == 0);
	CHECK(strstr(slurp(path), "correct horse") == NULL);
	CHECK(passwd_verify(path, "alice", "correct horse") == 0);
	errno = 0;
	CHECK(passwd_verify(path, "alice", "correct horsE") == -1);
	CHECK(errno == 0);
	CHECK(passwd_verify(path, "alice", "") == -1);
	CHECK(passwd_verify(path, "Alice", "correct horse") == -1);
	CHECK(passwd_verify(path, "mallory", "correct horse") == -1);
	CHECK(passwd_verify(path, "../alice", "correct horse") == -1);

	CHECK(passwd_set(path, "alice", "other", PASSWD_ADD) == PASSWD_EEXIST);
	CHECK(passwd_verify(path, "alice", "correct horse") == 0);
	CHECK(passwd_set(path, "bob", "pw", PASSWD_CHANGE) == PASSWD_ENOENT);
	CHECK(passwd_set(path, "alice", "battery staple", PASSWD_CHANGE) == 0);
	CHECK(passwd_verify(path, "alice", "correct horse") == -1);
	CHECK(passwd_verify(path, "alice", "battery staple") == 0);

	CHECK(passwd_set(path, "bob", "bobpw", PASSWD_ADD) == 0);
	CHECK(passwd_set(path, "carol", "carolpw", PASSWD_ADD) == 0);
	CHECK_STR(list(path, &n), "alice,bob,carol,");
	CHECK(passwd_delete(path, "bob") == 0);
	CHECK(passwd_delete(path, "bob") == PASSWD_ENOENT);
	CHECK(passwd_verify(path, "bob", "bobpw") == -1);
	CHECK(passwd_verify(path, "carol", "carolpw") == 0);
	CHECK_STR(list(path, &n), "alice,carol,");

	snprintf(other, sizeof other, "%s/passwd.tmp", dir);
	CHECK(access(other, F_OK) != 0);
	snprintf(other, sizeof other, "%s/passwd.lock", dir);
	CHECK(access(other, F_OK) == 0);
}

static void test_invalid_args(const char *dir)
{
	char path[512], longpw[PASSWD_MAX + 2];

	snprintf(path, sizeof path, "%s/passwd-inval", dir);
	memset(longpw, 'x', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = '\0';
	CHECK(passwd_set(path, "bad name", "pw", PASSWD_ADD) == PASSWD_EINVAL);
	CHECK(passwd_set(path, ".x", "pw", PASSWD_ADD) == PASSWD_EINVAL);
	CHECK(passwd_set(path, "ok", "", PASSWD_ADD) == PASSWD_EINVAL);
	CHECK(passwd_set(path, "ok", longpw, PASSWD_ADD) == PASSWD_EINVAL);
	CHECK(passwd_delete(path, "a:b") == PASSWD_EINVAL);
	longpw[PASSWD_MAX] = '\0';
	CHECK(passwd_set(path, "ok", longpw, PASSWD_ADD) == 0);
	CHECK(passwd_verify(path, "ok", longpw) == 0);
}

/* Lines written by hand or by other tools: other hash schemes, comments,
 * extra fields, locked and malformed entries. */
static void test_foreign_lines(const char *dir)
{
	char path[512], text[4096], *sha, *bcrypt, *locked, *des;
	struct names n;

	snprintf(path, sizeof path, "%s/passwd-foreign", dir);
	sha = make_hash("sha pass", "$6$saltsaltsalt");
	bcrypt = make_hash("bcrypt pass", "$2b$04$abcdefghijklmnopqrstuu");
	locked = make_hash("locked pass", "$6$lockedsalt");
	des = make_hash("despass", "ab");
	CHECK(strncmp(sha, "$6$", 3) == 0);
	CHECK(strncmp(bcrypt, "$2b$", 4) == 0);
	snprintf(text, sizeof text,
	         "# Gannet users\n\nsha:%s\r\nbcrypt:%s:1000:1000::\n  \nlocked:!%s\n"
	         "empty:\ndes:%s\nnocolon\nbad name:%s\ndup:%s\ndup:%s\n#sha:%s\nlast:%s",
	         sha, bcrypt, locked, des, sha, sha, bcrypt, bcrypt, sha);
	spew(path, text);

	CHECK(passwd_verify(path, "sha", "sha pass") == 0);
	CHECK(passwd_verify(path, "sha", "sha pasS") == -1);
	CHECK(passwd_verify(path, "bcrypt", "bcrypt pass") == 0);
	CHECK(passwd_verify(path, "bcrypt", "bcrypt") == -1);
	CHECK(passwd_verify(path, "locked", "locked pass") == -1);
	CHECK(passwd_verify(path, "empty", "") == -1);
	CHECK(passwd_verify(path, "empty", "x") == -1);
	CHECK(passwd_verify(path, "des", "despass") == -1);
	CHECK(passwd_verify(path, "nocolon", "") == -1);
	CHECK(passwd_verify(path, "dup", "sha pass") == 0); /* the first line counts */
	CHECK(passwd_verify(path, "dup", "bcrypt pass") == -1);
	CHECK(passwd_verify(path, "last", "sha pass") == 0); /* no final newline */
	CHECK_STR(list(path, &n), "sha,bcrypt,locked,empty,des,dup,dup,last,");

	/* A rewrite keeps every other line byte for byte. */
	CHECK(passwd_set(path, "dup", "new", PASSWD_CHANGE) == 0);
	CHECK(passwd_verify(path, "dup", "new") == 0);
	CHECK(passwd_set(path, "zed", "zedpw", PASSWD_ADD) == 0);
	CHECK(passwd_delete(path, "empty") == 0);
	CHECK_STR(list(path, &n), "sha,bcrypt,locked,des,dup,last,zed,");
	CHECK(strncmp(slurp(path), text, strstr(text, "empty:") - text) == 0);
	CHECK(strstr(slurp(path), "\nnocolon\nbad name:") != NULL);
	CHECK(strstr(slurp(path), "\n#sha:") != NULL);
	CHECK(passwd_verify(path, "sha", "sha pass") == 0);
	CHECK(passwd_verify(path, "bcrypt", "bcrypt pass") == 0);
	CHECK(passwd_verify(path, "last", "sha pass") == 0);
	free(sha);
	free(bcrypt);
	free(locked);
	free(des);
}

/* Writers in parallel processes must not lose each other's lines. */
static void test_concurrent_writers(const char *dir)
{
	char path[512], name[16];
	struct names n;
	int i, status, ok = 1;
	pid_t pid;

	snprintf(path, sizeof path, "%s/passwd-concurrent", dir);
	for (i = 0; i < 6; i++) {
		pid = fork();
		if (pid == 0) {
			snprintf(name, sizeof name, "u%d", i);
			_exit(passwd_set(path, name, "pw", PASSWD_ADD) == 0 ? 0 : 1);
		}
		CHECK(pid > 0);
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
	CHECK(ok);
	list(path, &n);
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof name, "u%d,", i);
		CHECK(strstr(n.buf, name) != NULL);
	}
	CHECK(strlen(n.buf) == 6 * 3);
}

static double verify_seconds(const char *path, const char *user)
{
	struct timespec a, b;
	double best = 1e9, t;
	int i;

	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		passwd_verify(path, user, "wrong password");
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

/* An unknown user must cost a hash computation too. The bound is loose so a
 * busy machine does not make the test flaky; skipping crypt_r would make the
 * unknown case thousands of times faster. */
static void test_unknown_user_timing(const char *dir)
{
	char path[512];
	double known, unknown, invalid;

	snprintf(path, sizeof path, "%s/passwd-timing", dir);
	CHECK(passwd_set(path, "known", "pw", PASSWD_ADD) == 0);
	known = verify_seconds(path, "known");
	unknown = verify_seconds(path, "unknown");
	invalid = verify_seconds(path, "not valid");
	CHECK(unknown > known / 4);
	CHECK(invalid > known / 4);
}

int main(void)
{
	char dir[] = "/tmp/gannet-test-passwd-XXXXXX", cmd[128];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_names();
	test_lifecycle(dir);
	test_invalid_args(dir);
	test_foreign_lines(dir);
	test_concurrent_writers(dir);
	test_unknown_user_timing(dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	UNIT_END();
}
