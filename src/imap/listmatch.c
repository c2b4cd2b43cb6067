#include "imap/listmatch.h"

#include <stdlib.h>
#include <string.h>

#include "util/str.h"

bool list_match(const char *p, const char *n)
{
	/* The set of name positions reachable after each pattern character:
	 * O(pattern x name) whatever the wildcards, so no pattern can make a
	 * LIST take exponential time. */
	size_t len = strlen(n);
	bool *reach = xcalloc(len + 1, sizeof *reach);
	reach[0] = true;
	for (; *p; p++) {
		if (*p == '*') {
			size_t j = 0;
			while (j <= len && !reach[j])
				j++;
			for (; j <= len; j++)
				reach[j] = true;
		} else if (*p == '%') {
			for (size_t j = 0; j < len; j++)
				if (reach[j] && n[j] != '/')
					reach[j + 1] = true;
		} else {
			for (size_t j = len; j > 0; j--)
				reach[j] = reach[j - 1] && n[j - 1] == *p;
			reach[0] = false;
		}
	}
	bool match = reach[len];
	free(reach);
	return match;
}

char *list_pattern_canon(const char *reference, const char *pattern)
{
	char *full = xasprintf("%s%s", reference, pattern);
	if (str_has_prefix_i(full, "INBOX") && (full[5] == '\0' || full[5] == '/'))
		memcpy(full, "INBOX", 5);
	return full;
}
