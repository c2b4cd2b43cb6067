#include "imap/seqset.h"
#include "unit.h"

#include <stdlib.h>

/* Renders a set as "lo:hi,lo:hi" into buf, for comparison. */
static const char *show(const struct seqset *set, char *buf, size_t size)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < set->n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%u:%u", i ? "," : "",
		                      (unsigned)set->r[i].lo, (unsigned)set->r[i].hi);
	return buf;
}

/* Parses s, resolves with star and compares the result. */
static void check_resolved(const char *s, uint32_t star, const char *want)
{
	struct seqset set;
	char buf[256];

	CHECK(seqset_parse(s, strlen(s), 100, &set) == 0);
	seqset_resolve(&set, star);
	CHECK_STR(show(&set, buf, sizeof buf), want);
	seqset_free(&set);
}

static void check_bad(const char *s)
{
	struct seqset set = {(struct seqrange *)&set, 99};

	if (seqset_parse(s, strlen(s), 100, &set) != -1) {
		fprintf(stderr, "accepted \"%s\"\n", s);
		CHECK(0);
		seqset_free(&set);
		return;
	}
	CHECK(set.r == NULL && set.n == 0);
}

static void test_parse_raw(void)
{
	struct seqset set;
	char buf[256];

	CHECK(seqset_parse("1:*", 3, 10, &set) == 0);
	CHECK(set.n == 1 && set.r[0].lo == 1 && set.r[0].hi == SEQ_STAR);
	seqset_free(&set);
	CHECK(set.r == NULL && set.n == 0);
	seqset_free(&set);

	CHECK(seqset_parse("7:5,2,*:3", 9, 10, &set) == 0);
	CHECK_STR(show(&set, buf, sizeof buf), "7:5,2:2,4294967295:3");
	seqset_free(&set);

	/* len bounds the input: the rest is not looked at. */
	CHECK(seqset_parse("12,x", 2, 10, &set) == 0);
	CHECK_STR(show(&set, buf, sizeof buf), "12:12");
	seqset_free(&set);
}

static void test_resolve(void)
{
	check_resolved("1:*", 10, "1:10");
	check_resolved("3,5:7", 10, "3:3,5:7");
	check_resolved("*", 10, "10:10");
	check_resolved("*:4", 10, "4:10");
	check_resolved("5:2", 10, "2:5");
	check_resolved("20:*", 10, "10:20"); /* UID 3291:* holds the last UID */
	check_resolved("*:*", 7, "7:7");
	/* RFC 9051 section 9 examples. */
	check_resolved("2,4:7,9,12:*", 15, "2:2,4:7,9:9,12:15");
	check_resolved("*:4,5:7", 10, "4:10");
	/* Sorting and merging overlapping and adjacent ranges. */
	check_resolved("9,1,5", 10, "1:1,5:5,9:9");
	check_resolved("1,2,3", 10, "1:3");
	check_resolved("3,2,1,5,4", 10, "1:5");
	check_resolved("1:3,4:6", 10, "1:6");
	check_resolved("1:5,3:4", 10, "1:5");
	check_resolved("10:20,1:3,15:25,4,30", 100, "1:4,10:25,30:30");
	check_resolved("1:10,2:3,11", 100, "1:11");
	check_resolved("1,3", 10, "1:1,3:3");
	check_resolved("4294967294,1", 10, "1:1,4294967294:4294967294");
	check_resolved("4294967294,4294967293:4294967294", 10, "4294967293:4294967294");
	check_resolved("1:*,4294967294", 4294967295u, "1:4294967295");
	check_resolved("1:*", 0, "0:1"); /* the caller must not resolve with 0 */
}

static void test_contains(void)
{
	struct seqset set;

	CHECK(seqset_parse("2,4:7,9,12:*", 12, 10, &set) == 0);
	seqset_resolve(&set, 15);
	CHECK(!seqset_contains(&set, 0));
	CHECK(!seqset_contains(&set, 1));
	CHECK(seqset_contains(&set, 2));
	CHECK(!seqset_contains(&set, 3));
	CHECK(seqset_contains(&set, 4));
	CHECK(seqset_contains(&set, 7));
	CHECK(!seqset_contains(&set, 8));
	CHECK(seqset_contains(&set, 9));
	CHECK(!seqset_contains(&set, 11));
	CHECK(seqset_contains(&set, 12));
	CHECK(seqset_contains(&set, 15));
	CHECK(!seqset_contains(&set, 16));
	CHECK(!seqset_contains(&set, UINT32_MAX));
	CHECK(seqset_max(&set) == 15);
	seqset_free(&set);
	CHECK(!seqset_contains(&set, 1));
	CHECK(seqset_max(&set) == 0);

	CHECK(seqset_parse("4294967295", 10, 10, &set) == 0);
	seqset_resolve(&set, 4294967295u);
	CHECK(seqset_contains(&set, 4294967295u));
	CHECK(!seqset_contains(&set, 4294967294u));
	CHECK(seqset_max(&set) == 4294967295u);
	seqset_free(&set);
}

static void test_malformed(void)
{
	check_bad("");
	check_bad("0");
	check_bad("0:5");
	check_bad("5:0");
	check_bad("01");
	check_bad("1:007");
	check_bad("4294967296");
	check_bad("99999999999999999999");
	check_bad("1:4294967296");
	check_bad("1,");
	check_bad(",1");
	check_bad("1,,2");
	check_bad("1:");
	check_bad(":");
	check_bad(":5");
	check_bad("1:2:3");
	check_bad("1::2");
	check_bad("**");
	check_bad("*1");
	check_bad("1*");
	check_bad("-1");
	check_bad("+1");
	check_bad("1 ");
	check_bad(" 1");
	check_bad("1, 2");
	check_bad("$");
	check_bad("a");
	check_bad("1.5");
}

static void test_max_ranges(void)
{
	struct seqset set;

	CHECK(seqset_parse("1,2,3", 5, 3, &set) == 0);
	CHECK(set.n == 3);
	seqset_free(&set);
	CHECK(seqset_parse("1,2,3,4", 7, 3, &set) == SEQSET_TOO_MANY);
	CHECK(set.r == NULL && set.n == 0);
	CHECK(seqset_parse("1:*", 3, 1, &set) == 0);
	seqset_free(&set);
	CHECK(seqset_parse("1", 1, 0, &set) == SEQSET_TOO_MANY);
}

int main(void)
{
	test_parse_raw();
	test_resolve();
	test_contains();
	test_malformed();
	test_max_ranges();
	UNIT_END();
}
