/* Dates for search keys: the IMAP "date" of BEFORE/ON/SINCE and friends
 * (RFC 9051 section 9), and the day of an RFC 5322 Date: header for
 * SENTBEFORE/SENTON/SENTSINCE.
 *
 * Every comparison is by day: RFC 9051 6.4.4 says the keys compare dates
 * "disregarding time and timezone". For the Date: header that means the day
 * as written, in the sender's own zone: "Mon, 1 Jan 2024 23:30:00 -0800" is
 * 1-Jan-2024 although it is 2-Jan in UTC (Dovecot does the same by adding
 * the zone offset back). Only the date part is needed, so the time and zone
 * are not validated beyond what finding the date takes. */
#include "search/search-int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar, no time_t or time zone involved. */
int64_t search_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Month 1-12 from its three-letter English name (any case), or 0. */
static unsigned month_of(const char *s)
{
	for (unsigned i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

/* Reads 1 to max digits at *p; -1 if there are none or more than max. */
static int64_t digits(const char **p, int max)
{
	int64_t v = 0;
	int n = 0;

	while (isdigit((unsigned char)**p)) {
		if (++n > max)
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return n ? v : -1;
}

static bool valid_day(int64_t y, unsigned m, int64_t d)
{
	return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* RFC 9051 section 9: date-text = date-day "-" date-month "-" date-year,
 * date-day = 1*2DIGIT, date-year = 4DIGIT. Month names are case-insensitive
 * like every IMAP keyword. The day must exist ("30-Feb-2024" is refused). */
bool search_date_day(const char *s, int64_t *day)
{
	const char *p = s;
	int64_t d, y;
	unsigned m;

	d = digits(&p, 2);
	if (d < 0 || *p++ != '-' || strlen(p) < 4)
		return false;
	m = month_of(p);
	p += 3;
	if (!m || *p++ != '-')
		return false;
	if (strlen(p) != 4 || (y = digits(&p, 4)) < 0 || *p)
		return false;
	if (!valid_day(y, m, d))
		return false;
	*day = search_days_from_civil(y, m, (unsigned)d);
	return true;
}

int64_t search_parse_date(const char *s)
{
	int64_t day;

	return search_date_day(s, &day) ? day : -1;
}

/* Skips blanks and RFC 5322 comments (nested, with quoted-pairs). */
static void skip_cfws(const char **p)
{
	for (;;) {
		while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n')
			(*p)++;
		if (**p != '(')
			return;
		for (int depth = 0; **p; (*p)++) {
			if (**p == '\\' && (*p)[1])
				(*p)++;
			else if (**p == '(')
				depth++;
			else if (**p == ')' && --depth == 0) {
				(*p)++;
				break;
			}
		}
	}
}

/* RFC 5322 3.3 and 4.3 (obs-date): [day-of-week ","] day month year, the
 * day-of-week optional and not checked against the date, CFWS anywhere,
 * two-digit years meaning 2000-2049 / 1950-1999 and three-digit years
 * 1900 + n (4.3). A missing comma after the day name is tolerated too. */
bool search_rfc5322_day(const char *s, int64_t *day)
{
	const char *p = s, *start;
	int64_t d, y;
	unsigned m;

	skip_cfws(&p);
	if (isalpha((unsigned char)*p)) {
		while (isalpha((unsigned char)*p))
			p++;
		skip_cfws(&p);
		if (*p == ',')
			p++;
		skip_cfws(&p);
	}
	if ((d = digits(&p, 2)) < 0)
		return false;
	skip_cfws(&p);
	if (*p == '-') /* "1-Jan-2024", seen from some old mailers */
		p++;
	if (strlen(p) < 3 || !(m = month_of(p)) || isalpha((unsigned char)p[3]))
		return false;
	p += 3;
	skip_cfws(&p);
	if (*p == '-')
		p++;
	start = p;
	if ((y = digits(&p, 4)) < 0)
		return false;
	if (p - start == 2)
		y += y < 50 ? 2000 : 1900;
	else if (p - start == 3)
		y += 1900;
	if (!valid_day(y, m, d))
		return false;
	*day = search_days_from_civil(y, m, (unsigned)d);
	return true;
}
