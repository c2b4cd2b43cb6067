#include "unit.h"
#include "util/date.h"

#include <stdint.h>

static void parses(const char *s, time_t want)
{
	time_t t = 12345;

	if (!imap_datetime_parse(s, &t)) {
		fprintf(stderr, "rejected \"%s\"\n", s);
		CHECK(0);
		return;
	}
	if (t != want)
		fprintf(stderr, "\"%s\": got %lld, want %lld\n", s, (long long)t, (long long)want);
	CHECK(t == want);
}

static void rejects(const char *s)
{
	time_t t = 12345;

	if (imap_datetime_parse(s, &t)) {
		fprintf(stderr, "accepted \"%s\" as %lld\n", s, (long long)t);
		CHECK(0);
		return;
	}
	CHECK(t == 12345); /* *out untouched */
}

static void formats(time_t t, const char *want)
{
	char out[32];

	memset(out, 'X', sizeof out);
	imap_datetime_format(t, out);
	CHECK_STR(out, want);
}

static void test_valid(void)
{
	parses("17-Jul-1996 02:44:25 -0700", 837596665);
	parses("17-Jul-1996 09:44:25 +0000", 837596665);
	parses("17-Jul-1996 09:44:25 -0000", 837596665);
	parses("17-Jul-1996 11:44:25 +0200", 837596665);
	parses(" 1-Jan-2000 00:00:00 +0000", 946684800);
	parses("01-Jan-2000 00:00:00 +0000", 946684800);
	parses("01-Jan-2000 01:30:00 +0130", 946684800);
	parses("31-Dec-1999 22:30:00 -0130", 946684800);
	parses("01-Jan-2000 05:45:00 +0545", 946684800);
	parses("31-Dec-1999 14:00:00 -1000", 946684800);
	parses("01-Jan-1970 00:00:00 +0000", 0);
	parses("31-Dec-1969 23:59:59 +0000", -1);
	parses("01-Jan-1970 00:00:00 +0001", -60);
	parses("01-Jan-1970 00:00:00 -0059", 3540);
	/* month names in any case (ABNF strings are case-insensitive) */
	parses("17-jul-1996 02:44:25 -0700", 837596665);
	parses("17-JUL-1996 02:44:25 -0700", 837596665);
	/* leap years */
	parses("29-Feb-2024 00:00:00 +0000", 1709164800);
	parses("29-Feb-2000 12:00:00 +0000", 951825600);
	parses("28-Feb-2023 23:59:59 +0000", 1677628799);
	parses("01-Mar-2023 00:00:00 +0000", 1677628800);
	parses("31-Dec-2023 23:59:59 +0000", 1704067199);
	/* every month's last day */
	parses("31-Jan-2021 00:00:00 +0000", 1612051200);
	parses("30-Apr-2021 00:00:00 +0000", 1619740800);
	parses("30-Jun-2021 00:00:00 +0000", 1625011200);
	parses("31-Aug-2021 00:00:00 +0000", 1630368000);
	parses("30-Sep-2021 00:00:00 +0000", 1632960000);
	parses("30-Nov-2021 00:00:00 +0000", 1638230400);
	parses("31-Dec-2021 00:00:00 +0000", 1640908800);
	/* past 2038 */
	parses("01-Jan-2100 00:00:00 +0000", 4102444800LL);
}

static void test_invalid(void)
{
	rejects("");
	rejects("17-Jul-1996 02:44:25");
	rejects("17-Jul-1996 02:44:25 -070");
	rejects("17-Jul-1996 02:44:25 -07000");
	rejects("17-Jul-1996 02:44:25 -0700 ");
	rejects(" 17-Jul-1996 02:44:25 -0700");
	rejects("1-Jan-2000 00:00:00 +0000");
	rejects("1 -Jan-2000 00:00:00 +0000");
	rejects("  -Jan-2000 00:00:00 +0000");
	rejects("\"17-Jul-1996 02:44:25 -0700\"");
	/* month */
	rejects("17-Jux-1996 02:44:25 -0700");
	rejects("17-July-996 02:44:25 -0700");
	rejects("17-07-01996 02:44:25 -0700");
	rejects("17-   -1996 02:44:25 -0700");
	/* day */
	rejects("00-Jan-2000 00:00:00 +0000");
	rejects(" 0-Jan-2000 00:00:00 +0000");
	rejects("32-Jan-2000 00:00:00 +0000");
	rejects("30-Feb-2000 00:00:00 +0000");
	rejects("31-Apr-2000 00:00:00 +0000");
	rejects("31-Jun-2000 00:00:00 +0000");
	rejects("31-Sep-2000 00:00:00 +0000");
	rejects("31-Nov-2000 00:00:00 +0000");
	rejects("29-Feb-2023 00:00:00 +0000");
	rejects("29-Feb-2100 00:00:00 +0000");
	rejects("-1-Jan-2000 00:00:00 +0000");
	rejects("+1-Jan-2000 00:00:00 +0000");
	rejects("1a-Jan-2000 00:00:00 +0000");
	/* year */
	rejects("01-Jan-20a0 00:00:00 +0000");
	rejects("01-Jan- 200 00:00:00 +0000");
	/* time */
	rejects("01-Jan-2000 24:00:00 +0000");
	rejects("01-Jan-2000 23:60:00 +0000");
	rejects("01-Jan-2000 23:59:61 +0000");
	rejects("01-Jan-2000 0a:00:00 +0000");
	rejects("01-Jan-2000  1:00:00 +0000");
	rejects("01-Jan-2000 -1:00:00 +0000");
	rejects("01-Jan-2000 00-00-00 +0000");
	rejects("01-Jan-2000T00:00:00 +0000");
	/* zone */
	rejects("01-Jan-2000 00:00:00 +0160");
	rejects("01-Jan-2000 00:00:00 +0099");
	rejects("01-Jan-2000 00:00:00 00000");
	rejects("01-Jan-2000 00:00:00  0000");
	rejects("01-Jan-2000 00:00:00 x0000");
	rejects("01-Jan-2000 00:00:00 +00a0");
	rejects("01-Jan-2000 00:00:00 +-100");
	rejects("01-Jan-2000 00:00:00 + 100");
	rejects("01-Jan-2000 00:00:00 +0000\n");
	rejects("01/Jan/2000 00:00:00 +0000");
}

static void test_format(void)
{
	formats(0, "01-Jan-1970 00:00:00 +0000");
	formats(837596665, "17-Jul-1996 09:44:25 +0000");
	formats(946684800, "01-Jan-2000 00:00:00 +0000");
	formats(951782400, "29-Feb-2000 00:00:00 +0000");
	formats(1709251199, "29-Feb-2024 23:59:59 +0000");
	formats(-1, "31-Dec-1969 23:59:59 +0000");
	formats(4102444800LL, "01-Jan-2100 00:00:00 +0000");

	/* round trips, every few hours over 1900..2200 */
	const time_t from = -2208988800LL, to = 7258118400LL;
	int bad = 0;
	for (time_t t = from; t < to && bad < 5; t += 7 * 3600 + 13 * 60 + 17) {
		char out[32];
		time_t back = 0;
		imap_datetime_format(t, out);
		if (strlen(out) != 26 || !imap_datetime_parse(out, &back) || back != t) {
			fprintf(stderr, "%lld -> \"%s\" -> %lld\n", (long long)t, out,
			        (long long)back);
			bad++;
		}
	}
	CHECK(bad == 0);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_format();
	UNIT_END();
}
