#include "store/maildir.h"
#include "store/store.h"
#include "unit.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>

static struct store *store;

static void name_ok(const char *name, const char *want)
{
	char *got = store_name_check(store, name, NULL);
	if (!got)
		fprintf(stderr, "store_name_check rejected \"%s\"\n", name);
	CHECK_STR(got, want);
	free(got);
}

static void name_bad(const char *name)
{
	char *got = store_name_check(store, name, NULL);
	if (got)
		fprintf(stderr, "store_name_check accepted \"%s\" as \"%s\"\n", name, got);
	CHECK(got == NULL);
	free(got);
}

static void test_name_check(void)
{
	char buf[128], want[128];

	/* INBOX in any case, alone or as the first level */
	name_ok("inbox", "INBOX");
	name_ok("INBOX", "INBOX");
	name_ok("iNbOx", "INBOX");
	name_ok("Inbox/Sub", "INBOX/Sub");
	name_ok("inbox/inbox", "INBOX/inbox");
	name_ok("INBOXES", "INBOXES");
	name_ok("inboxes", "inboxes");
	name_ok("Inbox.x", "Inbox.x");
	name_ok("x/inbox", "x/inbox");
	/* one trailing '/' is dropped */
	name_ok("foo/", "foo");
	name_ok("inbox/", "INBOX");
	name_ok("a/b/", "a/b");
	/* ordinary names */
	name_ok("Sent", "Sent");
	name_ok("a b", "a b");
	name_ok("a.b", "a.b");
	name_ok(".a", ".a");
	name_ok("a.", "a.");
	name_ok("...", "...");
	name_ok("a/.b/..c", "a/.b/..c");
	name_ok("50%", "50%");
	name_ok("~x&y", "~x&y");
	name_ok("Entw\xc3\xbcrfe", "Entw\xc3\xbcrfe");
	name_ok("\xe6\x97\xa5\xe6\x9c\xac/x", "\xe6\x97\xa5\xe6\x9c\xac/x");
	name_ok("\xc2\xa0", "\xc2\xa0");                 /* U+00A0, just above the C1 controls */
	name_ok("a\xe2\x80\xa7", "a\xe2\x80\xa7");       /* U+2027 */
	name_ok("a\xe2\x80\xaa", "a\xe2\x80\xaa");       /* U+202A */
	name_ok("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* U+1F600 */

	/* empty, absolute, empty components */
	name_bad("");
	name_bad("/");
	name_bad("//");
	name_bad("/abs");
	name_bad("a//b");
	name_bad("a///");
	/* Only one trailing '/' is dropped: "foo//" has an empty last
	 * component and is refused like "a//b". (Once a bug.) */
	name_bad("foo//");
	/* "." and ".." components */
	name_bad(".");
	name_bad("..");
	name_bad("./a");
	name_bad("../a");
	name_bad("a/.");
	name_bad("a/..");
	name_bad("a/./b");
	name_bad("a/../b");
	name_bad("../../etc");
	name_bad("INBOX/..");
	name_bad("../");
	/* control characters, C0 and C1, and the line and paragraph separators */
	name_bad("a\tb");
	name_bad("a\nb");
	name_bad("\x01");
	name_bad("a\x1f");
	name_bad("a\x7f");
	name_bad("\xc2\x80");
	name_bad("\xc2\x85");
	name_bad("a\xc2\x9f");
	name_bad("\xe2\x80\xa8");
	name_bad("a\xe2\x80\xa9/b");
	/* not UTF-8 */
	name_bad("\xff");
	name_bad("a\xc3");
	name_bad("\xc3/");
	name_bad("\xc0\xaf");
	name_bad("\xe0\x80\xaf");
	name_bad("\xed\xa0\x80");
	name_bad("\xf4\x90\x80\x80");
	name_bad("Entw\xfcrfe");

	/* max_name_len 64 bytes */
	memset(buf, 'a', 64);
	buf[64] = '\0';
	memcpy(want, buf, 65);
	name_ok(buf, want);
	memcpy(buf + 64, "/", 2); /* the trailing '/' does not count */
	name_ok(buf, want);
	memcpy(buf + 64, "a", 2);
	name_bad(buf);
	memcpy(buf + 62, "\xc3\xbc", 3); /* 64 bytes, 63 characters */
	name_ok(buf, buf);
	memcpy(buf + 62, "a\xc3\xbc", 4); /* 65 bytes */
	name_bad(buf);

	/* max_depth 4 */
	name_ok("a/b/c/d", "a/b/c/d");
	name_ok("a/b/c/d/", "a/b/c/d");
	name_ok("INBOX/b/c/d", "INBOX/b/c/d");
	name_bad("a/b/c/d/e");
	name_bad("a/b/c/d/e/");
}

static void dir_is(const char *name, const char *want)
{
	char *got = maildir_dir("/r", name);
	CHECK_STR(got, want);
	free(got);
}

/* Whatever the name, the result is NULL or one directory right below root. */
static void dir_safe(const char *name)
{
	char *got = maildir_dir("/r", name);
	bool ok = got == NULL || strcmp(got, "/r") == 0 ||
	          (strncmp(got, "/r/.", 4) == 0 && got[4] != '\0' && got[4] != '.' &&
	           !strchr(got + 3, '/') && !strstr(got, "/..") && !strstr(got, "..") &&
	           got[strlen(got) - 1] != '.');
	if (!ok)
		fprintf(stderr, "maildir_dir(\"/r\", \"%s\") = \"%s\"\n", name, got);
	CHECK(ok);
	free(got);
}

static void dir_null(const char *name)
{
	char *got = maildir_dir("/r", name);
	if (got)
		fprintf(stderr, "maildir_dir(\"/r\", \"%s\") = \"%s\"\n", name, got);
	CHECK(got == NULL);
	free(got);
}

static void test_maildir_dir(void)
{
	dir_is("INBOX", "/r");
	dir_is("Sent", "/r/.Sent");
	dir_is("A/B", "/r/.A.B");
	dir_is("INBOX/Sub", "/r/.INBOX.Sub");
	dir_is("a.b", "/r/.a%2Eb");
	dir_is("a.b/c.d", "/r/.a%2Eb.c%2Ed");
	dir_is("50%", "/r/.50%25");
	dir_is("a%2Eb", "/r/.a%252Eb"); /* not the same as "a.b" */
	dir_is("Entw\xc3\xbcrfe", "/r/.Entw&APw-rfe");
	dir_is("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/x", "/r/.&ZeVnLIqe-.x");
	dir_is("a&b", "/r/.a&-b");
	dir_is("a b", "/r/.a b");
	dir_is(".", "/r/.%2E");
	dir_is("..", "/r/.%2E%2E");
	dir_is("a/..", "/r/.a.%2E%2E");
	dir_is("...", "/r/.%2E%2E%2E");
	dir_is("a/", "/r/.a");
	dir_null("/a");
	dir_null("a//b");
	dir_null("/");

	static const char *names[] = {
	    "INBOX", "inbox", "a", "a/b/c", ".", "..", "...", "./..", "../..", "a/../..", "/..",
	    "../", "%", "%2E", "%2E%2E", "&", "&-", "~", "a/b/", "a\\b", "..\\..", "a b/ c",
	    "Entw\xc3\xbcrfe", "\xe2\x80\xa8",
	    /* names store_name_check refuses: not UTF-8, controls */
	    "\xff", "\xff/\xff", "\xc0\xae\xc0\xae", "a/\xff", "\x01", "\x01/\x01", "\t/\t/\t",
	    "a\n", "\xc2\x85/\xc2\x85", "\xed\xa0\x80/\xed\xa0\x80"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		dir_safe(names[i]);

	/* A component that cannot be converted to modified UTF-7 (not UTF-8,
	 * or a control character) makes the whole name unmappable, rather than
	 * an empty component: "\xff" must not give "/r/." (INBOX's directory),
	 * nor "\xff/\xff" "/r/.." (the tree's parent). */
	dir_null("\xff");
	dir_null("\x01/\x01");
	dir_null("\xff/\xff");
	dir_null("a/\xff");
	dir_null("a\tb");
	/* The empty name maps to no directory, never to the root (INBOX's).
	 * (Once a bug.) */
	dir_null("");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	char dir[] = "/tmp/gannet-unit-XXXXXX";
	struct store_limits lim = {.max_mailboxes = 100, .max_name_len = 64, .max_depth = 4};

	CHECK(mkdtemp(dir) != NULL);
	CHECK(store_open(dir, "u", &lim, &store) == STORE_OK);
	if (store)
		test_name_check();
	store_close(store);
	test_maildir_dir();
	CHECK(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
	UNIT_END();
}
