/* Header blocks as fields (RFC 5322 2.2), and BODY[HEADER.FIELDS (...)] and
 * HEADER.FIELDS.NOT (RFC 9051 6.4.5).
 *
 * Lines end at LF; a CR before it is part of the line end. A field is a
 * line plus the continuation lines after it (RFC 5322 2.2.3: a folded line
 * starts with WSP). A line with no ':' still makes a field, named by the
 * whole line, as Dovecot treats it. The header ends at its first empty line
 * or at the end of the bytes given. */
#include "mime/mime-int.h"

#include <string.h>
#include <strings.h>

void mime_field_iter_init(struct mime_field_iter *it, const char *header, size_t len)
{
	it->p = header;
	it->end = header + len;
}

/* End of the line at p: just past its LF, or end. */
static const char *line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	return lf ? lf + 1 : end;
}

/* Length of the line [p, next) without its LF or CRLF. */
static size_t content_len(const char *p, const char *next)
{
	size_t n = (size_t)(next - p);
	if (n > 0 && p[n - 1] == '\n') {
		n--;
		if (n > 0 && p[n - 1] == '\r')
			n--;
	}
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void field_name(struct mime_field *f, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);

	f->name = p;
	if (!colon) {
		f->name_len = len;
		f->value = NULL;
		return;
	}
	f->value = colon + 1;
	while (colon > p && is_blank(colon[-1]))
		colon--;
	f->name_len = (size_t)(colon - p);
}

bool mime_field_next(struct mime_field_iter *it, struct mime_field *f)
{
	const char *next;
	size_t len;

	if (it->p >= it->end)
		return false;
	next = line_end(it->p, it->end);
	len = content_len(it->p, next);
	if (len == 0 && next > it->p && next[-1] == '\n')
		return false; /* the empty line that ends the header */
	f->start = it->p;
	field_name(f, it->p, len);
	while (next < it->end && is_blank(*next))
		next = line_end(next, it->end);
	f->end = next;
	it->p = next;
	return true;
}

bool mime_field_is(const struct mime_field *f, const char *name)
{
	size_t n = strlen(name);
	return f->name_len == n && strncasecmp(f->name, name, n) == 0;
}

/* Appends the line [p, next) without its newline. */
static void add_line(struct sbuf *b, const char *p, const char *next)
{
	sbuf_add(b, p, content_len(p, next));
}

char *mime_field_value(const struct mime_field *f, size_t *len)
{
	struct sbuf b = {0};
	const char *p = f->value, *next, *v;

	sbuf_add(&b, "", 0);
	if (!p) {
		*len = 0;
		return sbuf_take(&b);
	}
	next = line_end(p, f->end);
	/* RFC 5322 2.2 puts no blank after ':'; skip them, but keep one when
	 * the line is nothing else, as Dovecot does */
	v = p;
	while (v < p + content_len(p, next) && is_blank(*v))
		v++;
	if (v == p + content_len(p, next) && v > p)
		v = p + 1;
	add_line(&b, v, next);
	for (p = next; p < f->end; p = next) {
		next = line_end(p, f->end);
		sbuf_addc(&b, '\n');
		add_line(&b, p, next);
	}
	*len = b.len;
	return sbuf_take(&b);
}

static bool name_listed(const struct mime_field *f, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mime_field_is(f, names[i]))
			return true;
	return false;
}

/* The field's lines, each ended with CRLF whatever the file had. */
static void add_field_crlf(struct sbuf *b, const struct mime_field *f)
{
	for (const char *p = f->start, *next; p < f->end; p = next) {
		next = line_end(p, f->end);
		add_line(b, p, next);
		sbuf_add(b, "\r\n", 2);
	}
}

void mime_header_fields(const char *header, size_t len, const char *const *names, size_t n,
                        bool exclude, char **out, size_t *out_len)
{
	struct mime_field_iter it;
	struct mime_field f;
	struct sbuf b = {0};

	mime_field_iter_init(&it, header, len);
	while (mime_field_next(&it, &f))
		if (name_listed(&f, names, n) != exclude)
			add_field_crlf(&b, &f);
	sbuf_add(&b, "\r\n", 2); /* RFC 9051 6.4.5: the blank line is included */
	*out_len = b.len;
	*out = sbuf_take(&b);
}
