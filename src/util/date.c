#include "util/date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool imap_datetime_parse(const char *s, time_t *out)
{
	/* "dd-Mon-yyyy hh:mm:ss +zzzz": 26 bytes */
	if (strlen(s) != 26 || s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' ||
	    s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
		return false;
	int day, year, hh, mm, ss, zone, mon = -1;
	char d[2] = {s[0] == ' ' ? '0' : s[0], s[1]};
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s + 3, months[i], 3) == 0)
			mon = i;
	if (mon < 0 || !digits(d, 2, &day) || !digits(s + 7, 4, &year) || !digits(s + 12, 2, &hh) ||
	    !digits(s + 15, 2, &mm) || !digits(s + 18, 2, &ss) || !digits(s + 22, 4, &zone))
		return false;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > mdays[mon] || (mon == 1 && day == 29 && !leap) || year < 1900 ||
	    hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59)
		return false;
	struct tm tm = {.tm_year = year - 1900,
	                .tm_mon = mon,
	                .tm_mday = day,
	                .tm_hour = hh,
	                .tm_min = mm,
	                .tm_sec = ss};
	time_t t = timegm(&tm);
	int offset = (zone / 100) * 3600 + (zone % 100) * 60;
	*out = s[21] == '+' ? t - offset : t + offset;
	return true;
}

void imap_datetime_format(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 32, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday, months[tm.tm_mon],
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
