/* Search programs (RFC 9051 6.4.4, RFC 3501 6.4.4): a tree of search keys,
 * built by the IMAP layer from a SEARCH command (imap/search-parse.c) and
 * evaluated here one message at a time.
 *
 * Flag, size, date, UID and sequence keys need only what the view holds;
 * header keys read the message's header; BODY and TEXT read and decode the
 * body (RFC 2047 words in headers, base64 and quoted-printable bodies,
 * charsets converted to UTF-8 with iconv). Matching is case-insensitive
 * substring matching on the decoded UTF-8 text. Every string in a program is
 * UTF-8. Ownership: search_free frees a tree and everything in it. */
#ifndef GANNET_SEARCH_SEARCH_H
#define GANNET_SEARCH_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum search_key {
	SK_ALL,
	SK_AND,     /* kids: all must match (a parenthesised group, or the top level) */
	SK_OR,      /* kids[0] or kids[1] */
	SK_NOT,     /* kids[0] */
	SK_FLAG,    /* flag bit set (FLAG_* from store/maildir.h); negate for UN-forms */
	SK_KEYWORD, /* str: keyword set on the message (compared without case) */
	SK_RECENT,
	SK_NEW, /* RECENT and not SEEN */
	SK_SEQ, /* ranges over sequence numbers, already resolved ("*") */
	SK_UID, /* ranges over UIDs, already resolved ("*"; "$" becomes SK_UID too) */
	SK_LARGER,
	SK_SMALLER, /* num: RFC822.SIZE */
	SK_BEFORE,
	SK_ON,
	/* num: a day (days since 1970-01-01, an int64_t stored in num, so
	 * negative before 1970) compared with INTERNALDATE's day in UTC */
	SK_SINCE,
	SK_SENTBEFORE,
	SK_SENTON,
	/* the same with the Date: header's day as written, in its own zone;
	 * a missing or unparseable Date: matches none of the three */
	SK_SENTSINCE,
	SK_HEADER, /* field and str; an empty str means the field exists */
	SK_BODY,   /* str in the decoded body text */
	SK_TEXT,   /* str in the header or the body */
};

struct search_range {
	uint32_t lo, hi;
};

struct search_node {
	enum search_key key;
	bool negate; /* SK_FLAG only: UN-forms (UNKEYWORD is SK_NOT of SK_KEYWORD) */
	uint32_t flag;
	uint64_t num;
	char *field; /* HEADER: the field name; FROM/TO/CC/BCC/SUBJECT become HEADER */
	char *str;
	struct search_range *ranges;
	size_t nranges;
	struct search_node *kids;
	size_t nkids;
};

/* What the evaluator knows of one message; the file is opened only when a
 * header or body key needs it, through open_file. */
struct search_msg {
	uint32_t seq, uid, flags;
	const char *keywords; /* space-separated */
	bool recent;
	uint64_t size;
	int64_t internaldate;
	/* opens the message file: 0 and *fd (the caller closes it) and *size, or -1 */
	int (*open_file)(void *arg, int *fd, uint64_t *size);
	/* the raw header as the store cached it (malloc'd, the evaluator frees
	 * it): 0, or -1 when there is none and the file must be read; may be NULL */
	int (*load_header)(void *arg, char **raw, size_t *len);
	void *arg;
};

/* Per-message state the evaluator fills lazily (the header and decoded body
 * text of one message); clear it with search_cache_clear between messages (which
 * also closes the message file the evaluator opened). */
struct search_cache;
struct search_cache *search_cache_new(void);
void search_cache_clear(struct search_cache *c);
void search_cache_free(struct search_cache *c);

/* Whether the message matches the program. */
bool search_match(const struct search_node *prog, const struct search_msg *m,
                  struct search_cache *c);
/* Whether the program needs more than the view has (header or body keys, size, dates). */
bool search_needs_message(const struct search_node *prog);

/* Day number of a date "d-Mon-yyyy" (RFC 9051 "date"), or -1. Note that
 * 31-Dec-1969 is day -1 too: search_date_day tells the two apart. */
int64_t search_parse_date(const char *s);
/* The same: true and *day (days since 1970-01-01, negative before) if s is
 * an RFC 9051 date-text naming a day that exists, else false. */
bool search_date_day(const char *s, int64_t *day);

void search_free(struct search_node *n); /* frees n's contents and n itself */

#endif
