#include "unit.h"
#include "util/base64.h"

#include <stdlib.h>

static void check_vector(const char *plain, const char *enc)
{
	unsigned char *dec = NULL;
	size_t declen = 99;
	char *e = base64_encode(plain, strlen(plain));

	CHECK_STR(e, enc);
	free(e);
	CHECK(base64_decode(enc, strlen(enc), &dec, &declen) == 0);
	CHECK(declen == strlen(plain));
	CHECK(dec && memcmp(dec, plain, declen) == 0 && dec[declen] == '\0');
	free(dec);
}

static void check_reject(const char *enc)
{
	unsigned char *dec = (unsigned char *)"sentinel";
	size_t declen = 99;

	if (base64_decode(enc, strlen(enc), &dec, &declen) == 0) {
		fprintf(stderr, "accepted \"%s\"\n", enc);
		CHECK(0);
		free(dec);
		return;
	}
	CHECK(dec == NULL && declen == 0);
}

/* RFC 4648 section 10. */
static void test_vectors(void)
{
	check_vector("", "");
	check_vector("f", "Zg==");
	check_vector("fo", "Zm8=");
	check_vector("foo", "Zm9v");
	check_vector("foob", "Zm9vYg==");
	check_vector("fooba", "Zm9vYmE=");
	check_vector("foobar", "Zm9vYmFy");
	check_vector("\xfb\xff", "+/8=");
}

static void test_binary_round_trip(void)
{
	unsigned char data[300], *dec;
	size_t len, declen, i;
	char *enc;
	int ok = 1;

	for (i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 37 + 11);
	data[5] = 0;
	for (len = 0; len <= sizeof data; len++) {
		enc = base64_encode(data, len);
		if (!enc || strlen(enc) != (len + 2) / 3 * 4 ||
		    base64_decode(enc, strlen(enc), &dec, &declen) != 0) {
			ok = 0;
			free(enc);
			continue;
		}
		if (declen != len || memcmp(dec, data, len) != 0)
			ok = 0;
		free(dec);
		free(enc);
	}
	CHECK(ok);
}

static void test_rejects(void)
{
	check_reject("Z");
	check_reject("Zg");
	check_reject("Zg=");
	check_reject("Zm9vY");
	check_reject("Zg==Zg=="); /* padding in the middle */
	check_reject("Zh==");     /* non-zero bits under the padding */
	check_reject("Zm9=");     /* likewise for one '=' */
	check_reject("Zm9v====");
	check_reject("====");
	check_reject("A===");
	check_reject("Z=g=");
	check_reject("Zm9v\n");
	check_reject("Zm9v\r\nYmFy");
	check_reject(" Zm9v");
	check_reject("Zm 9v");
	check_reject("Zm-v"); /* base64url alphabet */
	check_reject("Zm_v");
	check_reject("Zm9v\x80\x80\x80\x80");
}

static void test_len_not_nul(void)
{
	unsigned char *dec;
	size_t declen;

	/* Only len bytes are read; the rest of the buffer is ignored. */
	CHECK(base64_decode("Zm9vYmFy!!!!", 8, &dec, &declen) == 0);
	CHECK(declen == 6 && memcmp(dec, "foobar", 6) == 0);
	free(dec);
	CHECK(base64_decode("Zm9v\0\0\0\0", 8, &dec, &declen) == -1);
}

int main(void)
{
	test_vectors();
	test_binary_round_trip();
	test_rejects();
	test_len_not_nul();
	UNIT_END();
}
