/* What an import reads from a Maildir tree another program wrote: the folder
 * directories (maildir_folders, the inverse of maildir_dir) and Dovecot's
 * dovecot-uidlist, dovecot-keywords and subscriptions, in the shapes Dovecot
 * 2.3 writes them and in broken ones. */
#include "store/maildir-dovecot.h"
#include "store/maildir.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/gannet-unit-import-XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void dir(const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	mkdir(p, 0700);
}

static void test_folders(void)
{
	dir(".Work");
	dir(".Work.Projects");
	dir(".Entw&APw-rfe");
	dir(".a%2Eb");     /* "a.b": a dot inside a level */
	dir(".Bad&-x&");   /* not modified UTF-7 */
	dir(".trailing."); /* an empty level */
	dir(".a%2eb");     /* another spelling of "a.b" */
	dir("cur");
	put(".notadir", "x");
	char link[600];
	snprintf(link, sizeof link, "%s/.Linked", root);
	CHECK(symlink("/tmp", link) == 0);
	char **names;
	size_t n;
	CHECK(maildir_folders(root, &names, &n) == 0);
	const char *want[] = {"INBOX", "Entwürfe", "Work", "Work/Projects", "a.b"};
	CHECK(n == sizeof want / sizeof *want);
	for (size_t i = 0; i < n && i < sizeof want / sizeof *want; i++)
		CHECK_STR(names[i], want[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void test_uidlist_v3(void)
{
	dir(".V3");
	/* The header's N is behind the records (Dovecot appends lines
	 * without rewriting it); extension fields may come before " :". */
	put(".V3/dovecot-uidlist", "3 V1795662431 N3 G97ccd8115fa2076b2d7b000083ecc375\n"
	                           "1 :1795662431.M1P1.vm,S=159,W=166\n"
	                           "2 W170 S163 :1795662432.M2P1.vm,S=163,W=170\n"
	                           "5 :1795662433.M3P1.vm,S=10,W=12:2,S\n");
	char p[512];
	snprintf(p, sizeof p, "%s/.V3", root);
	struct dovecot_uidlist l;
	CHECK(dovecot_uidlist_read(p, &l) == 0);
	CHECK(l.uidvalidity == 1795662431u);
	CHECK(l.nextuid == 6);
	CHECK(l.n == 3);
	CHECK(dovecot_uidlist_find(&l, "1795662431.M1P1.vm,S=159,W=166:2,S") == 1);
	CHECK(dovecot_uidlist_find(&l, "1795662432.M2P1.vm,S=163,W=170") == 2);
	CHECK(dovecot_uidlist_find(&l, "1795662433.M3P1.vm,S=10,W=12:2,") == 5);
	CHECK(dovecot_uidlist_find(&l, "1795662431.M1P1.vm") == 0);
	CHECK(dovecot_uidlist_find(&l, "nothing") == 0);
	dovecot_uidlist_free(&l);
	CHECK(dovecot_uidlist_uidvalidity(p) == 1795662431u);
	CHECK(dovecot_uidlist_uidvalidity(root) == 0); /* none there */
}

static void test_uidlist_v1_and_broken(void)
{
	dir(".V1");
	put(".V1/dovecot-uidlist", "1 1100000000 4\n1 one.host\n3 three.host:2,F\n");
	char p[512];
	snprintf(p, sizeof p, "%s/.V1", root);
	struct dovecot_uidlist l;
	CHECK(dovecot_uidlist_read(p, &l) == 0);
	CHECK(l.uidvalidity == 1100000000u && l.nextuid == 4 && l.n == 2);
	CHECK(dovecot_uidlist_find(&l, "three.host:2,") == 3);
	dovecot_uidlist_free(&l);

	static const char *broken[] = {
	    "",                               /* empty */
	    "2 V1 N2\n",                      /* unknown version */
	    "3 N5\n",                         /* no UIDVALIDITY */
	    "3 V1 N9\n2 :b\n1 :a\n",          /* UIDs going down */
	    "3 V1 N9\n0 :a\n",                /* UID 0 */
	    "3 V1 N9\nx :a\n",                /* not a number */
	    "3 V1 N9\n1 a\n",                 /* no " :" in version 3 */
	    "3 V1 N9\n1 :../../etc/passwd\n", /* a path */
	    "3 V99999999999 N9\n",            /* UIDVALIDITY over 32 bits */
	    "3 V1 N9\n4294967295 :a\n",       /* no UID after it */
	};
	for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
		put(".V1/dovecot-uidlist", broken[i]);
		CHECK(dovecot_uidlist_read(p, &l) == -1);
		CHECK(l.n == 0 && l.uids == NULL);
	}
	/* a folder Dovecot made and never put a message in: a header only */
	put(".V1/dovecot-uidlist", "3 V1795662431 N1 G97ccd8115fa2076b2d7b000083ecc375\n");
	CHECK(dovecot_uidlist_read(p, &l) == 0);
	CHECK(l.n == 0 && l.nextuid == 1 && dovecot_uidlist_find(&l, "a") == 0);
	dovecot_uidlist_free(&l);
	dir(".None");
	snprintf(p, sizeof p, "%s/.None", root);
	CHECK(dovecot_uidlist_read(p, &l) == 1);
}

static void test_keywords(void)
{
	dir(".K");
	put(".K/dovecot-keywords", "0 $Label1\n1 work\n3 Urgent\n4 bad(word\n26 beyond\n"
	                           "x junk\n2\n");
	char p[512];
	snprintf(p, sizeof p, "%s/.K", root);
	char *kw[DOVECOT_KEYWORDS];
	dovecot_keywords_read(p, kw);
	CHECK_STR(kw[0], "$Label1");
	CHECK_STR(kw[1], "work");
	CHECK(kw[2] == NULL);
	CHECK_STR(kw[3], "Urgent");
	CHECK(kw[4] == NULL);
	char *got = dovecot_name_keywords("1.M1.vm,S=1:2,FSabdce", kw);
	CHECK_STR(got, "$Label1 work Urgent");
	free(got);
	got = dovecot_name_keywords("1.M1.vm,S=1", kw);
	CHECK_STR(got, "");
	free(got);
	dovecot_keywords_free(kw);
}

static void test_subscriptions(void)
{
	char **names;
	size_t n;
	CHECK(dovecot_subscriptions_read(root, &names, &n) == 1);
	put("subscriptions", "V\t2\n\nWork\nWork\tProjects\nEntw&APw-rfe\ninbox\n");
	CHECK(dovecot_subscriptions_read(root, &names, &n) == 0);
	const char *want[] = {"Work", "Work/Projects", "Entwürfe", "INBOX"};
	CHECK(n == 4);
	for (size_t i = 0; i < n && i < 4; i++)
		CHECK_STR(names[i], want[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	/* the version 1 file: one name per line, '.' between levels */
	put("subscriptions", "Work.Projects\nSent\n");
	CHECK(dovecot_subscriptions_read(root, &names, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(names[0], "Work/Projects");
		CHECK_STR(names[1], "Sent");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_folders();
	test_uidlist_v3();
	test_uidlist_v1_and_broken();
	test_keywords();
	test_subscriptions();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	CHECK(system(cmd) == 0);
	UNIT_END();
}
