#include "unit.h"
#include "util/log.h"

static void check_escape(const char *in, const char *want)
{
	char out[256];
	log_escape(in, out, sizeof out);
	CHECK_STR(out, want);
}

static void check_escape_escape(void)
{
	check_escape("login: user=alice mech=LOGIN", "login: user=alice mech=LOGIN");
	/* a forged second line, a terminal escape, a backslash */
	check_escape("a\r\nb", "a\\x0d\\x0ab");
	check_escape("\x1b[2Jx", "\\x1b[2Jx");
	check_escape("a\\x0d", "a\\\\x0d");
	check_escape("del\x7f", "del\\x7f");
	/* UTF-8 stays; broken UTF-8, C1 controls, separators and bidi do not */
	check_escape("Entw\xc3\xbcrfe", "Entw\xc3\xbcrfe");
	check_escape("\xff\xc3", "\\xff\\xc3");
	check_escape("\xc2\x9b"
	             "1m",
	             "\\xc2\\x9b"
	             "1m");
	check_escape("a\xe2\x80\xa8"
	             "b",
	             "a\\xe2\\x80\\xa8"
	             "b");
	check_escape("\xe2\x80\xae"
	             "txt",
	             "\\xe2\\x80\\xae"
	             "txt");
}

static void check_truncation(void)
{
	char out[8];
	log_escape("abcdefghij", out, sizeof out);
	CHECK_STR(out, "abcdefg");
	log_escape("abcde\n", out, sizeof out); /* the escape does not fit: left out whole */
	CHECK_STR(out, "abcde");
	log_escape("abcd\xc3\xbc"
	           "x",
	           out, sizeof out);
	CHECK_STR(out, "abcd\xc3\xbc"
	               "x");
	log_escape("abcdef\xc3\xbc", out, sizeof out);
	CHECK_STR(out, "abcdef");
}

static void check_levels(void)
{
	enum log_level l = LOG_LVL_INFO;
	CHECK(log_level_parse("warn", &l) && l == LOG_LVL_WARN);
	CHECK(log_level_parse("debug", &l) && l == LOG_LVL_DEBUG);
	CHECK(log_level_parse("error", &l) && l == LOG_LVL_ERROR);
	CHECK(log_level_parse("info", &l) && l == LOG_LVL_INFO);
	CHECK(!log_level_parse("INFO", &l) && !log_level_parse("verbose", &l) &&
	      !log_level_parse("", &l));
	CHECK_STR(log_level_name(LOG_LVL_WARN), "warn");
}

int main(void)
{
	check_escape_escape();
	check_truncation();
	check_levels();
	UNIT_END();
}
