/* Small string and memory helpers shared by every layer.
 * xmalloc/xstrdup abort on out-of-memory: a mail server that cannot allocate
 * a few bytes cannot answer usefully, and a clean exit lets the master
 * restart the worker. sbuf is a growable NUL-terminated byte buffer; the
 * caller owns it and frees it with sbuf_free. */
#ifndef GANNET_UTIL_STR_H
#define GANNET_UTIL_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct sbuf {
	char *s; /* always NUL-terminated once anything was added */
	size_t len, cap;
};

void sbuf_add(struct sbuf *b, const void *data, size_t len);
void sbuf_adds(struct sbuf *b, const char *s);
/* Inline: parsers append byte by byte, and a call per byte shows in profiles. */
static inline void sbuf_addc(struct sbuf *b, char c)
{
	if (b->len + 2 <= b->cap) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
	} else {
		sbuf_add(b, &c, 1);
	}
}
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap);
void sbuf_reset(struct sbuf *b);
/* Hands the string over to the caller (never NULL) and empties the buffer. */
char *sbuf_take(struct sbuf *b);
void sbuf_free(struct sbuf *b);

bool str_ieq(const char *a, const char *b);
bool str_has_prefix_i(const char *s, const char *prefix);
void str_upper(char *s);
/* Whether the space-separated list words holds w, ignoring ASCII case (IMAP
 * keywords compare that way, RFC 9051 2.3.2). */
bool str_has_word_i(const char *words, const char *w);
/* Parses a decimal number without sign or leading '+'; false on overflow of max. */
bool str_to_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

#endif
