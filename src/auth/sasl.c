#include "auth/sasl.h"

#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/mutf7.h"

/* Splits msg[0..len) at its NULs into exactly three fields. */
static int split3(const char *msg, size_t len, const char *f[3], size_t flen[3])
{
	const char *p = msg, *end = msg + len, *nul;
	int i;

	for (i = 0; i < 2; i++) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			return -1;
		f[i] = p;
		flen[i] = (size_t)(nul - p);
		p = nul + 1;
	}
	if (memchr(p, '\0', (size_t)(end - p)))
		return -1;
	f[2] = p;
	flen[2] = (size_t)(end - p);
	return 0;
}

/* RFC 4616 section 2: authcid = 1*SAFE, passwd = 1*SAFE, SAFE being any
 * UTF-8 encoded character except NUL; authzid may be absent. */
static int check_fields(const char *f[3], const size_t flen[3])
{
	int i;

	if (flen[1] == 0 || flen[2] == 0)
		return -1;
	for (i = 0; i < 3; i++)
		if (!utf8_valid(f[i], flen[i]))
			return -1;
	return 0;
}

int sasl_plain_decode(const char *b64, size_t len, char **authzid, char **authcid, char **password)
{
	const char *f[3];
	size_t flen[3], msglen;
	unsigned char *msg;
	int rc = -1;

	*authzid = *authcid = *password = NULL;
	/* Refuse before decoding so a huge response costs no allocation. */
	if (len > (SASL_PLAIN_MAX + 2) / 3 * 4)
		return -1;
	if (base64_decode(b64, len, &msg, &msglen) != 0)
		return -1;
	if (msglen > SASL_PLAIN_MAX || split3((char *)msg, msglen, f, flen) != 0 ||
	    check_fields(f, flen) != 0)
		goto out;
	*authzid = strndup(f[0], flen[0]);
	*authcid = strndup(f[1], flen[1]);
	*password = strndup(f[2], flen[2]);
	if (*authzid && *authcid && *password) {
		rc = 0;
		goto out;
	}
	free(*authzid);
	free(*authcid);
	if (*password)
		explicit_bzero(*password, flen[2]);
	free(*password);
	*authzid = *authcid = *password = NULL;
out:
	explicit_bzero(msg, msglen);
	free(msg);
	return rc;
}
