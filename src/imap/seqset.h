/* IMAP sequence sets (RFC 9051 section 9, sequence-set), for message
 * sequence numbers and UIDs alike.
 *
 * seqset_parse keeps '*' as SEQ_STAR and the ranges as written; once the
 * caller knows what '*' stands for (the number of messages, or the highest
 * UID), seqset_resolve turns the set into sorted, disjoint, non-adjacent
 * ranges that seqset_contains and seqset_max work on. "$" (RFC 5182
 * SEARCHRES) is the parser's business, not this module's.
 *
 * What '*' stands for is the caller's choice (RFC 9051 section 9,
 * seq-number): the number of messages, or the highest UID (UIDNEXT when the
 * mailbox is empty). A sequence number above the message count, "*" in an
 * empty mailbox included, deserves BAD (same place), so check that before
 * resolving; star 0 would yield ranges containing 0.
 *
 * Known limit: a literal 4294967295 is a valid nz-number but equals
 * SEQ_STAR, so it resolves as '*' ("UID FETCH 4294967295" acts as
 * "UID FETCH *"). Reaching that UID takes 2^32 deliveries, so the fixed
 * two-field seqrange was preferred to a separate '*' flag. */
#ifndef GANNET_IMAP_SEQSET_H
#define GANNET_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;

#define SEQ_STAR UINT32_MAX /* '*' before resolution */

struct seqrange {
	uint32_t lo, hi;
};

/* Owns r (malloc'd); release with seqset_free. */
struct seqset {
	struct seqrange *r;
	size_t n;
};

/* Parses s[0..len) (need not be NUL-terminated) into *out. Returns 0; -1 on
 * a syntax error (empty, "0", leading zero, number above 4294967295, stray
 * or trailing ',' or ':', anything but digits, '*', ':' and ','); -2 if out
 * of memory; SEQSET_TOO_MANY for more than max_ranges comma-separated items
 * (so max_ranges 0 refuses everything). On failure *out is empty and needs
 * no freeing. */
#define SEQSET_TOO_MANY (-3)
int seqset_parse(const char *s, size_t len, size_t max_ranges, struct seqset *out);

/* Replaces SEQ_STAR with star, orders each range so lo <= hi (RFC 9051
 * section 9, seq-range: "all values between these two regardless of
 * order"), sorts the ranges and merges overlapping or adjacent ones. */
void seqset_resolve(struct seqset *set, uint32_t star);

/* After seqset_resolve: whether n is in the set (binary search). */
bool seqset_contains(const struct seqset *set, uint32_t n);

/* After seqset_resolve: the largest member, or 0 for an empty set. */
uint32_t seqset_max(const struct seqset *set);

/* Appends ascending values v[0..n) as a compact set, runs as ranges
 * ("2:4,9"): COPYUID's uid-sets (RFC 4315 3), ESEARCH's ALL (RFC 4731). */
void seqset_format(struct sbuf *b, const uint32_t *v, size_t n);

/* Frees set->r and leaves the set empty; safe on an empty set. */
void seqset_free(struct seqset *set);

#endif
