/* A part's Content-* fields (RFC 2045, 2183, 3066, 2557) from its header,
 * and the flags that decide how its body is parsed.
 *
 * RFC 2045 4 makes Content-* fields meaningful only with MIME-Version;
 * like Dovecot, a Content-Type alone is taken as enough, parts of a
 * multipart are MIME by definition, and elsewhere the fields are ignored
 * without either. The first Content-Type counts; of the others the first
 * usable one counts (a Content-Transfer-Encoding that is not one token is
 * skipped, a Content-Disposition without parameters may be replaced by a
 * later one), again as Dovecot does. */
#include "mime/mime-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_string(char **field, const struct mime_field *f)
{
	size_t len;
	char *v = mime_field_value(f, &len);

	*field = mime_unfold(v, len);
	free(v);
}

/* Content-Type: type "/" subtype *(";" parameter) (RFC 2045 5.1). Returns
 * "type/subtype" as parsed, which sets the flags. */
static char *parse_type(struct mime_part *part, const char *v, size_t len)
{
	struct rfc822 r;
	struct sbuf s = {0};
	char *slash;
	int ret;

	sbuf_add(&s, "", 0);
	rfc822_init(&r, v, len);
	rfc822_skip_cfws(&r);
	ret = rfc822_content_type(&r, &s);
	slash = strchr(s.s, '/');
	part->type = xstrndup(s.s, slash ? (size_t)(slash - s.s) : s.len);
	part->subtype = xstrdup(slash ? slash + 1 : "");
	if (ret >= 0)
		rfc822_params(&r, &part->params, &part->nparams);
	return sbuf_take(&s);
}

/* RFC 2045 6.1: one token; anything after it makes the field unusable. */
static char *parse_encoding(const char *v, size_t len)
{
	struct rfc822 r;
	struct sbuf s = {0};

	rfc822_init(&r, v, len);
	rfc822_skip_cfws(&r);
	if (rfc822_token(&r, &s) >= 0 && rfc822_skip_cfws(&r) == 0 && s.len > 0)
		return sbuf_take(&s);
	sbuf_free(&s);
	return NULL;
}

/* RFC 2183 2: disposition-type *(";" parameter). Replaces an earlier one. */
static void parse_disposition(struct mime_part *part, const char *v, size_t len)
{
	struct rfc822 r;
	struct sbuf s = {0};

	sbuf_add(&s, "", 0);
	rfc822_init(&r, v, len);
	rfc822_skip_cfws(&r);
	if (rfc822_token(&r, &s) < 0) {
		sbuf_free(&s);
		return;
	}
	free(part->disposition);
	part->disposition = sbuf_take(&s);
	mime_params_free(part->disp_params, part->ndisp_params);
	rfc822_params(&r, &part->disp_params, &part->ndisp_params);
}

size_t mime_language_list(const char *v, size_t len, char ***langs)
{
	struct rfc822 r;
	struct sbuf s = {0};
	size_t n = 0;

	*langs = NULL;
	rfc822_init(&r, v, len);
	rfc822_skip_cfws(&r);
	while (rfc822_atom(&r, &s) >= 0) {
		*langs = xrealloc(*langs, (n + 1) * sizeof **langs);
		(*langs)[n++] = sbuf_take(&s);
		if (rfc822_peek(&r) != ',' || r.p >= r.end)
			break;
		r.p++;
		rfc822_skip_cfws(&r);
	}
	sbuf_free(&s);
	return n;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* RFC 3282 2: a list of language tags, kept as "a, b" (which reads back
 * the same) and only if it has one. */
static void parse_language(struct mime_part *part, const struct mime_field *f)
{
	struct sbuf b = {0};
	size_t len, n;
	char *v = mime_field_value(f, &len), **langs;

	n = mime_language_list(v, len, &langs);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_adds(&b, ", ");
		sbuf_adds(&b, langs[i]);
	}
	free_list(langs, n);
	if (n > 0)
		part->language = sbuf_take(&b);
	free(v);
}

struct fill {
	struct mime_part *part;
	bool is_mime;
	char *ct; /* the first Content-Type, parsed; NULL if none */
};

static void content_field(struct fill *st, const struct mime_field *f)
{
	struct mime_part *part = st->part;
	size_t len;
	char *v;

	if (mime_field_is(f, "Content-Type")) {
		st->is_mime = true;
		if (st->ct)
			return;
		v = mime_field_value(f, &len);
		st->ct = parse_type(part, v, len);
		free(v);
	} else if (mime_field_is(f, "Content-Transfer-Encoding") && !part->encoding) {
		v = mime_field_value(f, &len);
		part->encoding = parse_encoding(v, len);
		free(v);
	} else if (mime_field_is(f, "Content-Disposition") && part->ndisp_params == 0) {
		v = mime_field_value(f, &len);
		parse_disposition(part, v, len);
		free(v);
	} else if (mime_field_is(f, "Content-ID") && !part->id) {
		set_string(&part->id, f);
	} else if (mime_field_is(f, "Content-Description") && !part->description) {
		set_string(&part->description, f);
	} else if (mime_field_is(f, "Content-MD5") && !part->md5) {
		set_string(&part->md5, f);
	} else if (mime_field_is(f, "Content-Location") && !part->location) {
		set_string(&part->location, f);
	} else if (mime_field_is(f, "Content-Language") && !part->language) {
		parse_language(part, f);
	}
}

/* Flags from the parsed Content-Type, as Dovecot's parser sets them. */
static unsigned type_flags(const char *ct)
{
	if (strcasecmp(ct, "message/rfc822") == 0)
		return MIME_PART_MESSAGE;
	if (strncasecmp(ct, "text", 4) == 0 && (ct[4] == '\0' || ct[4] == '/'))
		return MIME_PART_TEXT;
	if (strncasecmp(ct, "multipart/", 10) == 0)
		return MIME_PART_MULTIPART;
	return 0;
}

void mime_part_clear_fields(struct mime_part *part)
{
	free(part->type);
	free(part->subtype);
	mime_params_free(part->params, part->nparams);
	free(part->id);
	free(part->description);
	free(part->encoding);
	free(part->md5);
	free(part->disposition);
	mime_params_free(part->disp_params, part->ndisp_params);
	free(part->language);
	free(part->location);
	part->type = part->subtype = part->id = part->description = NULL;
	part->encoding = part->md5 = part->disposition = NULL;
	part->language = part->location = NULL;
	part->params = part->disp_params = NULL;
	part->nparams = part->ndisp_params = 0;
}

void mime_part_fill(struct mime_part *part, bool in_multipart, bool in_digest)
{
	struct fill st = {part, in_multipart, NULL};
	struct mime_field_iter it;
	struct mime_field f;

	mime_field_iter_init(&it, part->header ? part->header : "", part->header_len);
	while (mime_field_next(&it, &f)) {
		if (mime_field_is(&f, "MIME-Version"))
			st.is_mime = true;
		else if (f.name_len >= 8 && strncasecmp(f.name, "Content-", 8) == 0)
			content_field(&st, &f);
	}
	if (!st.is_mime)
		mime_part_clear_fields(part); /* RFC 2045 4: not MIME, no Content-* */
	part->flags &= ~(unsigned)(MIME_PART_MESSAGE | MIME_PART_TEXT | MIME_PART_MULTIPART);
	if (st.ct) {
		part->flags |= type_flags(st.ct);
	} else {
		/* RFC 2045 5.2 default, RFC 2046 5.1.5 inside a digest */
		part->flags |= in_digest ? MIME_PART_MESSAGE : MIME_PART_TEXT;
		part->type = xstrdup(in_digest ? "message" : "text");
		part->subtype = xstrdup(in_digest ? "rfc822" : "plain");
	}
	free(st.ct);
}

bool mime_part_is_digest(const struct mime_part *part)
{
	return (part->flags & MIME_PART_MULTIPART) && strcasecmp(part->subtype, "digest") == 0;
}

char *mime_part_boundary(const struct mime_part *part)
{
	size_t n;
	struct mime_param *p;
	const char *b;
	char *ret = NULL;

	if (!(part->flags & MIME_PART_MULTIPART))
		return NULL;
	p = mime_params_merge(part->params, part->nparams, &n);
	if ((b = mime_param_get(p, n, "boundary")) != NULL)
		ret = xstrndup(b, strnlen(b, MIME_BOUNDARY_MAX));
	mime_params_free(p, n);
	return ret;
}
