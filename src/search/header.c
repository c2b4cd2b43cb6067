/* Header fields for HEADER, FROM/TO/CC/BCC/SUBJECT and TEXT searches.
 *
 * RFC 5322 2.2: a field is a name, ":" and a body that continues on lines
 * starting with SP or HTAB; unfolding (2.2.3) removes the CRLFs. Lines
 * without ":" are skipped; the first empty line ends the header. Each
 * field's value is unfolded, its RFC 2047 words decoded, and case-folded
 * for matching. Every occurrence of a field is kept, so "HEADER Received x"
 * looks at all Received fields. Addresses need nothing special: the decoded
 * text "Jose <jose@example.com>" holds both the display name and the
 * address, which is what RFC 9051's FROM/TO/CC/BCC search. */
#include "search/search-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rawfield {
	const char *name;
	size_t name_len;
	const char *value, *end; /* the body, continuation lines included */
};

/* The end of the line at p (past its LF), or end. */
static const char *line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	return lf ? lf + 1 : end;
}

static bool blank_line(const char *p, const char *end)
{
	return p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'));
}

/* The next field at *p; false at the end of the header. */
static bool next_field(const char **p, const char *end, struct rawfield *f)
{
	while (*p < end && !blank_line(*p, end)) {
		const char *start = *p, *eol = line_end(start, end), *colon;

		*p = eol;
		while (*p < end && (**p == ' ' || **p == '\t'))
			*p = line_end(*p, end);
		colon = memchr(start, ':', (size_t)(eol - start));
		if (!colon)
			continue;
		f->name = start;
		f->name_len = (size_t)(colon - start);
		while (f->name_len &&
		       (start[f->name_len - 1] == ' ' || start[f->name_len - 1] == '\t'))
			f->name_len--;
		f->value = colon + 1;
		f->end = *p;
		return true;
	}
	return false;
}

/* The body without CR and LF, and without the blanks that lead it. */
static void unfold(const struct rawfield *f, struct sbuf *out)
{
	const char *p = f->value;

	while (p < f->end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < f->end; p++)
		if (*p != '\r' && *p != '\n')
			sbuf_addc(out, *p);
	sbuf_add(out, "", 0);
}

static void add_field(struct search_header *hdr, const struct rawfield *f, struct sbuf *tmp)
{
	struct sbuf decoded = {0};
	struct search_field *sf;

	sbuf_reset(tmp);
	unfold(f, tmp);
	search_rfc2047_decode(tmp->s, tmp->len, &decoded);
	if (hdr->nfields == hdr->cap) {
		hdr->cap = hdr->cap ? hdr->cap * 2 : 16;
		hdr->fields = xrealloc(hdr->fields, hdr->cap * sizeof *hdr->fields);
	}
	sf = &hdr->fields[hdr->nfields++];
	sf->name = hdr->text.len;
	search_fold(&hdr->text, f->name, f->name_len);
	sf->name_len = hdr->text.len - sf->name;
	sbuf_add(&hdr->text, ": ", 2);
	sf->value = hdr->text.len;
	search_fold(&hdr->text, decoded.s ? decoded.s : "", decoded.len);
	sf->value_len = hdr->text.len - sf->value;
	sbuf_addc(&hdr->text, '\n');
	sbuf_free(&decoded);
}

void search_header_add(struct search_header *hdr, const char *h, size_t len)
{
	const char *p = h, *end = h + len;
	struct rawfield f;
	struct sbuf tmp = {0};

	sbuf_add(&hdr->text, "", 0);
	while (next_field(&p, end, &f))
		add_field(hdr, &f, &tmp);
	sbuf_free(&tmp);
}

char *search_header_raw(const char *h, size_t len, const char *name)
{
	const char *p = h, *end = h + len;
	struct rawfield f;
	size_t nlen = strlen(name);

	while (next_field(&p, end, &f)) {
		struct sbuf b = {0};

		if (f.name_len != nlen || strncasecmp(f.name, name, nlen) != 0)
			continue;
		unfold(&f, &b);
		return sbuf_take(&b);
	}
	return NULL;
}

void search_header_free(struct search_header *hdr)
{
	sbuf_free(&hdr->text);
	free(hdr->fields);
	memset(hdr, 0, sizeof *hdr);
}

bool search_header_field_match(const char *h, size_t len, const char *name, const char *needle,
                               bool (*match)(const char *hay, size_t hay_len, const char *needle))
{
	const char *p = h, *end = h + len;
	size_t nlen = strlen(name);
	struct rawfield f;
	struct sbuf tmp = {0}, decoded = {0}, folded = {0};
	bool found = false;

	while (!found && next_field(&p, end, &f)) {
		if (f.name_len != nlen || strncasecmp(f.name, name, nlen) != 0)
			continue;
		if (!needle[0]) {
			found = true;
			break;
		}
		sbuf_reset(&tmp);
		sbuf_reset(&decoded);
		sbuf_reset(&folded);
		unfold(&f, &tmp);
		search_rfc2047_decode(tmp.s, tmp.len, &decoded);
		search_fold(&folded, decoded.s ? decoded.s : "", decoded.len);
		found = match(folded.s ? folded.s : "", folded.len, needle);
	}
	sbuf_free(&tmp);
	sbuf_free(&decoded);
	sbuf_free(&folded);
	return found;
}
