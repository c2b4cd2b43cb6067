#include "imap/listmatch.h"
#include "unit.h"

#include <stdlib.h>
#include <time.h>

static void match(const char *pattern, const char *name)
{
	if (!list_match(pattern, name)) {
		fprintf(stderr, "\"%s\" does not match \"%s\"\n", pattern, name);
		CHECK(0);
		return;
	}
	CHECK(1);
}

static void no_match(const char *pattern, const char *name)
{
	if (list_match(pattern, name)) {
		fprintf(stderr, "\"%s\" matches \"%s\"\n", pattern, name);
		CHECK(0);
		return;
	}
	CHECK(1);
}

static void canon(const char *ref, const char *pattern, const char *want)
{
	char *got = list_pattern_canon(ref, pattern);
	CHECK_STR(got, want);
	free(got);
}

static void test_literal(void)
{
	match("", "");
	no_match("", "a");
	no_match("a", "");
	match("INBOX", "INBOX");
	no_match("INBOX", "INBOXES");
	no_match("INBOXES", "INBOX");
	no_match("INBOX", "INBO");
	no_match("a", "b");
	match("a/b", "a/b");
	no_match("a/b", "a/c");
	no_match("a/b", "a/b/");
	/* case-sensitive: the caller canonicalises INBOX */
	no_match("inbox", "INBOX");
	no_match("Sent", "sent");
	/* no other character is special */
	match("a.b", "a.b");
	no_match("a.b", "axb");
	no_match("a?", "ab");
	match("a?", "a?");
	no_match("[ab]", "a");
	match("a\\b", "a\\b");
	match("Entw\xc3\xbcrfe", "Entw\xc3\xbcrfe");
	no_match("Entw\xc3\xbcrfe", "Entwurfe");
}

static void test_star(void)
{
	match("*", "");
	match("*", "a");
	match("*", "a/b/c");
	match("*", "/");
	match("**", "a/b");
	match("a*", "a");
	match("a*", "abc/d/e");
	no_match("a*", "ba");
	match("*b", "b/b");
	match("*b", "a/b");
	no_match("*b", "a/bc");
	match("a*b*c", "axxbyyc");
	match("a*b*c", "abc");
	no_match("a*b*c", "axxcyyb");
	match("a/*/c", "a/b/x/c");
	match("a/*/c", "a//c");
	no_match("a/*/c", "a/c");
	match("*/*", "a/b/c");
	no_match("*/*", "abc");
	match("INBOX*", "INBOX");
	match("INBOX*", "INBOX/Sub");
	match("Entw*rfe", "Entw\xc3\xbcrfe");
}

static void test_percent(void)
{
	match("%", "");
	match("%", "abc");
	no_match("%", "a/b");
	no_match("%", "/");
	no_match("%", "a/");
	match("%%", "abc");
	no_match("%%", "a/b");
	match("a%", "abc");
	no_match("a%", "abc/d");
	match("%b", "ab");
	no_match("%b", "a/b");
	match("a/%/c", "a/b/c");
	match("a/%/c", "a//c");
	no_match("a/%/c", "a/b/x/c");
	no_match("a/%/c", "a/c");
	no_match("a/%/c", "b/b/c");
	match("%/%", "a/b");
	match("%/%", "/");
	no_match("%/%", "a/b/c");
	no_match("%/%", "a");
	match("%/*", "a/b/c");
	no_match("*/%", "abc");
	match("*/%", "a/b/c");
	no_match("INBOX/%", "INBOX");
	match("INBOX/%", "INBOX/Sub");
	no_match("INBOX/%", "INBOX/Sub/Sub2");
	match("Entw%rfe", "Entw\xc3\xbcrfe");
	match("%\xc3\xbc%", "Entw\xc3\xbcrfe");
	no_match("%\xc3\xbc%", "Entw\xc3\xbcrfe/x");
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Backtracking matchers take exponential time on these; the set-of-positions
 * one is O(pattern x name). */
static void test_pathological(void)
{
	char name[1002], pattern[400];
	double t0 = now();

	memset(name, 'a', 1000);
	name[1000] = '\0';
	no_match("*a*a*a*a*a*b", name);
	no_match("%a%a%a%a%a%b", name);
	no_match("*%*%*%*%*%*%*%*%*%*%b", name);
	for (size_t i = 0; i < sizeof pattern - 1; i += 2) {
		pattern[i] = i % 4 ? '%' : '*';
		pattern[i + 1] = 'a';
	}
	pattern[sizeof pattern - 1] = '\0';
	pattern[sizeof pattern - 2] = 'b';
	no_match(pattern, name);
	name[1000] = 'b';
	name[1001] = '\0';
	match("*a*a*a*a*a*b", name);
	match("%a%a%a%a%a%b", name);
	match(pattern, name);
	name[500] = '/';
	match("*a*a*a*a*a*b", name);
	no_match("%a%a%a%a%a%b", name);
	double took = now() - t0;
	if (took > 1.0)
		fprintf(stderr, "list_match took %.2f s\n", took);
	CHECK(took < 1.0);
}

static void test_canon(void)
{
	canon("", "inbox", "INBOX");
	canon("", "INBOX", "INBOX");
	canon("", "InBoX", "INBOX");
	canon("", "InBoX/x", "INBOX/x");
	canon("", "inbox/InBoX", "INBOX/InBoX");
	canon("", "inbox/%", "INBOX/%");
	canon("", "inboxes", "inboxes");
	canon("", "INBOXES", "INBOXES");
	canon("", "inbo", "inbo");
	canon("", "xinbox", "xinbox");
	canon("", "", "");
	canon("", "*", "*");
	canon("", "%", "%");
	/* the reference is prefixed */
	canon("foo/", "bar", "foo/bar");
	canon("foo/", "%", "foo/%");
	canon("inbox/", "%", "INBOX/%");
	canon("Inbox", "", "INBOX");
	canon("in", "box", "INBOX");
	canon("in", "box/a", "INBOX/a");
	canon("inbox", "es", "inboxes");
	canon("~smith/", "inbox", "~smith/inbox");
	canon("Entw\xc3\xbcrfe/", "*", "Entw\xc3\xbcrfe/*");
}

int main(void)
{
	test_literal();
	test_star();
	test_percent();
	test_pathological();
	test_canon();
	UNIT_END();
}
