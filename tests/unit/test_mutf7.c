#include "unit.h"
#include "util/mutf7.h"

#include <stdlib.h>

/* Checks utf8 -> mutf7 and mutf7 -> utf8 both ways. */
static void round_trip(const char *utf8, const char *mutf7)
{
	char *m = utf8_to_mutf7(utf8, strlen(utf8));
	char *u = mutf7_to_utf8(mutf7, strlen(mutf7));

	CHECK_STR(m, mutf7);
	CHECK_STR(u, utf8);
	free(m);
	free(u);
}

static void rejects_mutf7(const char *in, size_t len)
{
	char *u = mutf7_to_utf8(in, len);

	if (u)
		fprintf(stderr, "accepted modified UTF-7 \"%s\"\n", in);
	CHECK(u == NULL);
	free(u);
}

static void rejects_utf8(const char *in, size_t len)
{
	char *m = utf8_to_mutf7(in, len);

	CHECK(m == NULL);
	free(m);
}

static void test_round_trips(void)
{
	round_trip("", "");
	round_trip("INBOX", "INBOX");
	round_trip("Entwürfe", "Entw&APw-rfe");
	round_trip("&", "&-");
	round_trip("a&b&&", "a&-b&-&-");
	round_trip("日本語", "&ZeVnLIqe-");
	round_trip("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	round_trip("\xf0\x9f\x98\x80", "&2D3eAA-"); /* U+1F600 as a surrogate pair */
	round_trip("\xf4\x8f\xbf\xbf", "&2,,f,w-"); /* U+10FFFF */
	round_trip("üü", "&APwA,A-");
	round_trip("ü&", "&APw-&-");
	round_trip("Привет", "&BB8EQAQ4BDIENQRC-");
	round_trip("a€b", "a&IKw-b");
	round_trip("x\xc2\xa0y", "x&AKA-y"); /* U+00A0, the first non-control above ASCII */
	round_trip(" !\"#$%'()*+,-./:;<=>?@[\\]^_`{|}~", " !\"#$%'()*+,-./:;<=>?@[\\]^_`{|}~");
}

static void test_mutf7_rejects(void)
{
	rejects_mutf7("&", 1);
	rejects_mutf7("abc&", 4);
	rejects_mutf7("&APw", 4);    /* unterminated shift */
	rejects_mutf7("&APwrfe", 7); /* unterminated shift */
	rejects_mutf7("&A/w-", 5);   /* '/' is not modified BASE64 */
	rejects_mutf7("&APw=-", 6);  /* no padding */
	rejects_mutf7("&AP w-", 6);
	rejects_mutf7("&APx-", 5);    /* non-zero leftover bits */
	rejects_mutf7("&APwA-", 6);   /* a whole superfluous character */
	rejects_mutf7("&AGE-", 5);    /* 'a' encoded */
	rejects_mutf7("&ACY-", 5);    /* '&' encoded */
	rejects_mutf7("&ACA-", 5);    /* ' ' encoded */
	rejects_mutf7("&AH4-", 5);    /* '~' encoded */
	rejects_mutf7("&2D0-", 5);    /* lone high surrogate */
	rejects_mutf7("&3gA-", 5);    /* lone low surrogate */
	rejects_mutf7("&2D0A,A-", 8); /* high surrogate then U+00FC */
	rejects_mutf7("&2D3YPQ-", 8); /* two high surrogates */
	rejects_mutf7("&2D0-&3gA-", 10);
	rejects_mutf7("&AAE-", 5); /* U+0001 */
	rejects_mutf7("&AAA-", 5); /* U+0000 */
	rejects_mutf7("&AJ8-", 5); /* U+009F, C1 control */
	rejects_mutf7("&AGE-&AGI-", 10);
	rejects_mutf7("&APw-&APw-", 10); /* should be "&APwA,A-" */
	rejects_mutf7("Entw\xc3\xbcrfe", 9);
	rejects_mutf7("a\tb", 3);
	rejects_mutf7("a\x7f", 2);
	rejects_mutf7("a\nb", 3);
	rejects_mutf7("a\0b", 3);
	rejects_mutf7("&-&AP", 5);
}

static void test_mutf7_len(void)
{
	char *u = mutf7_to_utf8("Entw&APw-rfeXYZ", 12);

	CHECK_STR(u, "Entwürfe");
	free(u);
	/* The length, not a NUL, ends the input: "&APw" cut short is unterminated. */
	u = mutf7_to_utf8("&APw-", 4);
	CHECK(u == NULL);
	free(u);
}

static void test_utf8_rejects(void)
{
	rejects_utf8("\xc0\xaf", 2);         /* overlong '/' */
	rejects_utf8("\xc1\xbf", 2);         /* overlong */
	rejects_utf8("\xe0\x80\xaf", 3);     /* overlong */
	rejects_utf8("\xe0\x9f\xbf", 3);     /* overlong U+07FF */
	rejects_utf8("\xf0\x8f\xbf\xbf", 4); /* overlong U+FFFF */
	rejects_utf8("\xed\xa0\x80", 3);     /* U+D800 */
	rejects_utf8("\xed\xbf\xbf", 3);     /* U+DFFF */
	rejects_utf8("\xf4\x90\x80\x80", 4); /* U+110000 */
	rejects_utf8("\xf5\x80\x80\x80", 4); /* lead byte above F4 */
	rejects_utf8("\xff", 1);
	rejects_utf8("\x80", 1);      /* stray continuation */
	rejects_utf8("a\xe6\x97", 3); /* truncated */
	rejects_utf8("\xe6\x97"
	             "a",
	             3); /* continuation missing */
	rejects_utf8("a\0b", 3);
	rejects_utf8("a\tb", 3);
	rejects_utf8("\x7f", 1);
	rejects_utf8("\xc2\x85", 2); /* U+0085, C1 control */
	rejects_utf8("\xe6\x97\xa5\x01", 4);
	CHECK(!utf8_valid("\xed\xa0\x80", 3));
	CHECK(!utf8_valid("\xc0\x80", 2));
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));
	CHECK(!utf8_valid("\xe6\x97", 2));
}

static void test_utf8_valid(void)
{
	CHECK(utf8_valid("", 0));
	CHECK(utf8_valid("plain", 5));
	CHECK(utf8_valid("a\0b", 3));
	CHECK(utf8_valid("\xf4\x8f\xbf\xbf", 4));
	CHECK(utf8_valid("\xef\xbf\xbf", 3)); /* U+FFFF is a noncharacter but well-formed */
	CHECK(utf8_valid("日本語", strlen("日本語")));
	/* len bounds the scan: the cut-off sequence is not looked at. */
	CHECK(utf8_valid("ab\xe6\x97\xa5", 2));
	CHECK(!utf8_valid("ab\xe6\x97\xa5", 4));
}

int main(void)
{
	test_round_trips();
	test_mutf7_rejects();
	test_mutf7_len();
	test_utf8_rejects();
	test_utf8_valid();
	UNIT_END();
}
