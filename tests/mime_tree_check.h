/* What the MIME code promises about its output, checked the same way by the
 * random-message unit test (tests/unit/test_mime_fuzz.c) and the libFuzzer
 * target (tests/fuzz/fuzz_mime.c): a tree whose offsets nest inside the
 * message and whose kept header bytes are the message's; a dump of the tree
 * to compare trees parsed from differently split input; a well-formed IMAP
 * parenthesised list for ENVELOPE and BODYSTRUCTURE. Static functions in a
 * header, for test programs only. */
#ifndef GANNET_TESTS_MIME_TREE_CHECK_H
#define GANNET_TESTS_MIME_TREE_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime-int.h"
#include "util/str.h"

static bool mime_tree_ok(const struct mime_part *p, const char *data, size_t len, int depth)
{
	unsigned kinds = p->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE | MIME_PART_OPAQUE);

	if (!(p->header_start <= p->body_start && p->body_start <= p->body_end &&
	      p->body_end <= len))
		return false;
	if (p->header_len > p->body_start - p->header_start ||
	    (p->header_len && memcmp(p->header, data + p->header_start, p->header_len) != 0))
		return false;
	if (p->body_vsize < p->body_end - p->body_start || p->body_lines > p->body_vsize ||
	    p->header_vsize < p->body_start - p->header_start)
		return false;
	if (kinds != 0 && kinds != MIME_PART_MULTIPART && kinds != MIME_PART_MESSAGE &&
	    kinds != MIME_PART_OPAQUE)
		return false;
	if ((p->flags & MIME_PART_MESSAGE) && p->nchildren != 1)
		return false;
	if (!(p->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)) && p->nchildren != 0)
		return false;
	if (depth > MIME_MAX_DEPTH || !p->type || !p->subtype)
		return false;
	uint64_t prev_end = p->body_start;
	for (size_t i = 0; i < p->nchildren; i++) {
		const struct mime_part *c = &p->children[i];
		if (c->header_start < prev_end || c->body_end > p->body_end ||
		    !mime_tree_ok(c, data, len, depth + 1))
			return false;
		prev_end = c->body_end;
	}
	return true;
}

static void mime_tree_dump(struct sbuf *b, const struct mime_part *p)
{
	sbuf_printf(b,
	            "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
	            ",%zu,%u,%s/%s[",
	            p->header_start, p->body_start, p->body_end, p->header_vsize, p->body_vsize,
	            p->body_lines, p->header_len, p->flags, p->type, p->subtype);
	for (size_t i = 0; i < p->nchildren; i++)
		mime_tree_dump(b, &p->children[i]);
	sbuf_addc(b, ']');
}

static bool mime_trees_same(const struct mime_part *a, const struct mime_part *b)
{
	struct sbuf x = {0}, y = {0};
	mime_tree_dump(&x, a);
	mime_tree_dump(&y, b);
	bool same = strcmp(x.s, y.s) == 0;
	sbuf_free(&x);
	sbuf_free(&y);
	return same;
}

/* A well-formed IMAP parenthesised list: atoms NIL and numbers, quoted
 * strings without CR, LF or 8-bit bytes, literals of the stated length. */
static bool imap_list_ok(const char *s)
{
	size_t n = strlen(s), i = 0;
	int depth = 0;

	if (n < 2 || s[0] != '(' || s[n - 1] != ')')
		return false;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c == '(' || c == ')' || c == ' ') {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
			if (depth < 0 || (depth == 0 && i + 1 < n))
				return false;
			i++;
		} else if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				unsigned char q = (unsigned char)s[i];
				if (q == '\r' || q == '\n' || q >= 0x80)
					return false;
				if (q == '\\' &&
				    (i + 1 >= n || (s[i + 1] != '"' && s[i + 1] != '\\')))
					return false;
				i += q == '\\';
			}
			if (i++ >= n)
				return false;
		} else if (c == '{') {
			char *end;
			unsigned long long l = strtoull(s + i + 1, &end, 10);
			if (strncmp(end, "}\r\n", 3) != 0 || (size_t)(end + 3 - s) + l > n)
				return false;
			i = (size_t)(end + 3 - s) + (size_t)l;
		} else if (strncmp(s + i, "NIL", 3) == 0) {
			i += 3;
		} else if (c >= '0' && c <= '9') {
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
		} else {
			return false;
		}
	}
	return depth == 0;
}

#endif
