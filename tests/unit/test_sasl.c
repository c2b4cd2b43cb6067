#include "auth/sasl.h"
#include "unit.h"
#include "util/base64.h"

#include <stdlib.h>

/* Encodes msg[0..len) and decodes it as a PLAIN message. */
static int decode_raw(const char *msg, size_t len, char **zid, char **cid, char **pw)
{
	char *b64 = base64_encode(msg, len);
	int rc = sasl_plain_decode(b64, strlen(b64), zid, cid, pw);

	free(b64);
	return rc;
}

static void check_ok(const char *msg, size_t len, const char *zid, const char *cid, const char *pw)
{
	char *z, *c, *p;

	CHECK(decode_raw(msg, len, &z, &c, &p) == 0);
	CHECK_STR(z, zid);
	CHECK_STR(c, cid);
	CHECK_STR(p, pw);
	free(z);
	free(c);
	free(p);
}

static void check_bad(const char *msg, size_t len)
{
	char *z = "x", *c = "x", *p = "x";

	CHECK(decode_raw(msg, len, &z, &c, &p) == -1);
	CHECK(z == NULL && c == NULL && p == NULL);
}

#define MSG(s) s, sizeof(s) - 1

static void test_valid(void)
{
	/* RFC 4616 section 4 examples. */
	check_ok(MSG("\0tim\0tanstaaftanstaaf"), "", "tim", "tanstaaftanstaaf");
	check_ok(MSG("Ursel\0Kurt\0xipj3plmq"), "Ursel", "Kurt", "xipj3plmq");
	check_ok(MSG("\0jürgen\0пароль 🔑"), "", "jürgen", "пароль 🔑");
	check_ok(MSG("\0a\0 "), "", "a", " ");
}

static void test_invalid(void)
{
	char *z, *c, *p;

	check_bad(MSG(""));
	check_bad(MSG("timpass"));
	check_bad(MSG("tim\0pass"));
	check_bad(MSG("a\0b\0c\0d"));
	check_bad(MSG("\0\0pass")); /* empty authcid */
	check_bad(MSG("\0tim\0"));  /* empty password */
	check_bad(MSG("\0tim\0pa\xffss"));
	check_bad(MSG("\0t\xc0\xafm\0pass"));
	check_bad(MSG("\xed\xa0\x80\0tim\0pass"));
	check_bad(MSG("\0tim\0pass\0"));
	CHECK(sasl_plain_decode("AHRpbQBwYXNz=", 13, &z, &c, &p) == -1);
	CHECK(sasl_plain_decode("AHRpbQBwYXN", 11, &z, &c, &p) == -1);
	CHECK(sasl_plain_decode("AHRpbQBw YXNz", 13, &z, &c, &p) == -1);
	CHECK(sasl_plain_decode("=", 1, &z, &c, &p) == -1);
	CHECK(z == NULL && c == NULL && p == NULL);
}

static void test_limit(void)
{
	char msg[SASL_PLAIN_MAX + 2], *z, *c, *p;

	memset(msg, 'p', sizeof msg);
	memcpy(msg, "\0tim\0", 5);
	CHECK(decode_raw(msg, SASL_PLAIN_MAX, &z, &c, &p) == 0);
	CHECK(p && strlen(p) == SASL_PLAIN_MAX - 5);
	free(z);
	free(c);
	free(p);
	check_bad(msg, SASL_PLAIN_MAX + 1);
	check_bad(msg, SASL_PLAIN_MAX + 2);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_limit();
	UNIT_END();
}
