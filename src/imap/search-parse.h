/* SEARCH program parsing (RFC 9051 6.4.4 and section 9 "search-key", RFC
 * 3501 6.4.4, RFC 5182 "$"): IMAP arguments to a search/search.h tree.
 *
 * The result is always an SK_AND node whose kids are the top-level keys.
 * Keys are case-insensitive; strings are astrings (atom, quoted or literal)
 * and must be UTF-8 (US-ASCII after CHARSET US-ASCII); sequence sets are
 * resolved here, so the tree holds only sorted, disjoint ranges. Mapping:
 * FROM/TO/CC/BCC/SUBJECT become SK_HEADER with that field; OLD is NOT
 * RECENT; UNKEYWORD k is NOT KEYWORD k; UN-flags are SK_FLAG with negate;
 * "$" (the saved result) is SK_UID with the saved UIDs, wherever it stands,
 * in SEARCH and UID SEARCH alike; dates are day numbers (search_date_day).
 * Ownership: the caller frees the tree with search_free. */
#ifndef GANNET_IMAP_SEARCH_PARSE_H
#define GANNET_IMAP_SEARCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/parser.h"
#include "search/search.h"

struct search_parse_ctx {
	uint32_t nmsgs;   /* messages in the view: "*" as a sequence number */
	uint32_t max_uid; /* largest UID in the view: "*" as a UID (0 if empty) */
	const uint32_t *saved;
	size_t nsaved; /* "$" (RFC 5182): the saved UIDs, sorted */
	bool utf8;     /* UTF8=ACCEPT enabled: CHARSET is not allowed (RFC 6855 3) */
	/* Limits: max_depth counts nested groups, NOT and OR (each one level);
	 * max_keys counts every key, operators included. 0 means no limit. */
	size_t max_depth, max_keys;
	size_t max_ranges; /* in one sequence set; 0 means no limit */
};

/* Parses a search program from args[0..n) (everything after SEARCH and any
 * RETURN (...) options, including an optional leading CHARSET x). On error
 * returns NULL with *status "BAD" or "NO" and text in err (for an unknown
 * charset: "NO" and "[BADCHARSET (UTF-8 US-ASCII)] ..."). */
struct search_node *search_parse(const struct imap_arg *args, size_t n,
                                 const struct search_parse_ctx *ctx, const char **status, char *err,
                                 size_t errlen);

#endif
