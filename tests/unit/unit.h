/* Minimal unit-test support: CHECK records a failure and carries on; each
 * test binary ends with UNIT_END(), which prints "N passed, M failed" and
 * exits non-zero on any failure. tests/run.sh adds the counts up. */
#ifndef GANNET_UNIT_H
#define GANNET_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                           \
		if (cond) {                                                                                \
			unit_passed++;                                                                         \
		} else {                                                                                   \
			unit_failed++;                                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
		}                                                                                          \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                           \
		const char *g_ = (got), *w_ = (want);                                                      \
		if (g_ && w_ && strcmp(g_, w_) == 0) {                                                     \
			unit_passed++;                                                                         \
		} else {                                                                                   \
			unit_failed++;                                                                         \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,               \
			        g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                       \
		}                                                                                          \
	} while (0)

#define UNIT_END()                                                                                 \
	do {                                                                                           \
		printf("%d passed, %d failed\n", unit_passed, unit_failed);                                \
		return unit_failed ? 1 : 0;                                                                \
	} while (0)

#endif
