/* Address lists (RFC 5322 3.4) for ENVELOPE, read with Dovecot's leniency so
 * the output matches it for broken headers too:
 *   - a group "name: a, b;" gives (NIL NIL "name" NIL) a b (NIL NIL NIL NIL)
 *     (RFC 9051 7.5.2), also when the ';' is missing;
 *   - a missing local part or domain becomes MISSING_MAILBOX or
 *     MISSING_DOMAIN, a broken angle-addr SYNTAX_ERROR, an unreadable route
 *     INVALID_ROUTE;
 *   - without a display name, the last comment names the mailbox, so
 *     "jdoe@example.org (John Doe)" reads as it was meant;
 *   - "a.b.@example.com" (dots where RFC 5322 forbids them) is kept as
 *     written, as mail from some systems has it.
 * Whatever cannot be read ends the list; nothing is dropped silently
 * before that. */
#include "mime/mime-int.h"

#include <stdlib.h>
#include <string.h>

struct addr_parser {
	struct rfc822 r;
	struct sbuf str, comment;
	struct mime_addr cur;
	bool invalid;
	struct mime_addr *list;
	size_t n, cap;
};

static void set(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

static const char *str(struct addr_parser *ap)
{
	return ap->str.s ? ap->str.s : "";
}

static void add_address(struct addr_parser *ap)
{
	if (ap->n == ap->cap) {
		ap->cap = ap->cap ? ap->cap * 2 : 4;
		ap->list = xrealloc(ap->list, ap->cap * sizeof *ap->list);
	}
	ap->list[ap->n++] = ap->cur;
	memset(&ap->cur, 0, sizeof ap->cur);
	ap->invalid = false;
}

/* RFC 9051 7.5.2 wants both parts of a mailbox; say which one is missing. */
static void add_fixed_address(struct addr_parser *ap)
{
	if (!ap->cur.mailbox) {
		set(&ap->cur.mailbox, "MISSING_MAILBOX");
		ap->invalid = true;
	}
	if (!ap->cur.domain || !*ap->cur.domain) {
		set(&ap->cur.domain, "MISSING_DOMAIN");
		ap->invalid = true;
	}
	add_address(ap);
}

/* A dot-atom that tolerates leading, trailing and doubled dots. */
static int lenient_dot_atom(struct addr_parser *ap)
{
	struct rfc822 *r = &ap->r;
	int ret = -1;

	do {
		while (rfc822_peek(r) == '.' && r->p < r->end) {
			sbuf_addc(&ap->str, '.');
			if (++r->p == r->end)
				return 0;
			ret = 1;
		}
		if (rfc822_peek(r) == '@')
			break;
		ret = rfc822_atom(r, &ap->str);
	} while (ret > 0 && rfc822_peek(r) == '.');
	return ret;
}

static int local_part(struct addr_parser *ap)
{
	int ret;

	sbuf_reset(&ap->str);
	if (rfc822_peek(&ap->r) == '"')
		ret = rfc822_quoted(&ap->r, &ap->str);
	else
		ret = lenient_dot_atom(ap);
	if (ret < 0)
		return -1;
	set(&ap->cur.mailbox, str(ap));
	return ret;
}

static int domain(struct addr_parser *ap)
{
	int ret;

	sbuf_reset(&ap->str);
	if ((ret = rfc822_domain(&ap->r, &ap->str)) < 0)
		return -1;
	set(&ap->cur.domain, str(ap));
	return ret;
}

/* RFC 5322 4.4 obs-route: "@a,@b:" before the mailbox. */
static int domain_list(struct addr_parser *ap)
{
	struct rfc822 *r = &ap->r;
	int ret;

	sbuf_reset(&ap->str);
	for (;;) {
		if (r->p >= r->end)
			return 0;
		if (*r->p != '@')
			break;
		if (ap->str.len > 0)
			sbuf_addc(&ap->str, ',');
		sbuf_addc(&ap->str, '@');
		if ((ret = rfc822_domain(r, &ap->str)) <= 0)
			return ret;
		while (rfc822_skip_cfws(r) > 0 && *r->p == ',')
			r->p++;
	}
	set(&ap->cur.route, str(ap));
	return 1;
}

/* "<" [route ":"] local-part ["@" domain] ">" */
static int angle_addr(struct addr_parser *ap)
{
	struct rfc822 *r = &ap->r;

	r->p++;
	if (rfc822_skip_cfws(r) <= 0)
		return -1;
	if (*r->p == '@') {
		if (domain_list(ap) > 0 && rfc822_peek(r) == ':') {
			r->p++;
		} else {
			set(&ap->cur.route, "INVALID_ROUTE");
			if (r->p >= r->end)
				return -1;
		}
		if (rfc822_skip_cfws(r) <= 0)
			return -1;
	}
	if (*r->p != '>') { /* "<>" has neither part */
		if (local_part(ap) <= 0)
			return -1;
		if (rfc822_peek(r) == '@' && domain(ap) <= 0)
			return -1;
	}
	if (rfc822_peek(r) != '>')
		return -1;
	r->p++;
	return rfc822_skip_cfws(r);
}

/* [display-name] angle-addr; -1 when it is not one (nothing set then). */
static int name_addr(struct addr_parser *ap)
{
	sbuf_reset(&ap->str);
	if (rfc822_phrase(&ap->r, &ap->str) <= 0 || rfc822_peek(&ap->r) != '<')
		return -1;
	set(&ap->cur.name, *str(ap) ? str(ap) : NULL);
	if (angle_addr(ap) < 0) {
		set(&ap->cur.domain, "SYNTAX_ERROR");
		ap->invalid = true;
	}
	return ap->r.p < ap->r.end;
}

/* addr-spec, or what is left of one: "user" alone stays a mailbox, but
 * "some words" become a display name. */
static int addr_spec(struct addr_parser *ap)
{
	struct rfc822 *r = &ap->r;
	bool quoted = rfc822_peek(r) == '"';
	int ret, ret2 = -2;

	sbuf_reset(&ap->comment);
	ret = local_part(ap);
	if (ret <= 0)
		ap->invalid = true;
	if (ret != 0 && r->p < r->end && *r->p == '@') {
		ret2 = domain(ap);
		if (ret2 <= 0)
			ret = ret2;
	}
	if (ap->comment.len > 0) {
		set(&ap->cur.name, ap->comment.s);
	} else if (ret2 == -2) {
		size_t before;
		sbuf_addc(&ap->str, ' ');
		before = ap->str.len;
		(void)rfc822_phrase(r, &ap->str);
		if (ap->str.len != before) {
			set(&ap->cur.mailbox, NULL);
			set(&ap->cur.name, str(ap));
		} else if (!quoted) {
			set(&ap->cur.domain, "");
		}
		ap->invalid = true;
		ret = -1;
	}
	return ret;
}

static int mailbox(struct addr_parser *ap)
{
	const unsigned char *start = ap->r.p;
	int ret;

	if ((ret = name_addr(ap)) < 0) {
		ap->r.p = start;
		ret = addr_spec(ap);
		if (ap->invalid && !ap->cur.name && ap->cur.mailbox && !ap->cur.domain) {
			ap->cur.name = ap->cur.mailbox; /* a quoted word alone: a name */
			ap->cur.mailbox = NULL;
		}
	}
	add_fixed_address(ap);
	return ret;
}

/* display-name ":" [mailbox-list] ";" — 1 if it was a group, even a broken
 * one, 0 at the end of input, -1 if it was not a group at all. */
static int group(struct addr_parser *ap)
{
	struct rfc822 *r = &ap->r;
	int ret;

	sbuf_reset(&ap->str);
	if (rfc822_phrase(r, &ap->str) <= 0 || rfc822_peek(r) != ':')
		return -1;
	r->p++;
	ret = rfc822_skip_cfws(r);
	set(&ap->cur.mailbox, str(ap));
	add_address(ap);
	if (ret > 0 && *r->p != ';') {
		for (;;) {
			(void)mailbox(ap);
			if (r->p >= r->end || *r->p != ',')
				break;
			r->p++;
			if (rfc822_skip_cfws(r) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (r->p >= r->end || *r->p != ';') {
			ret = -1;
		} else {
			r->p++;
			ret = rfc822_skip_cfws(r);
		}
	}
	add_address(ap); /* the end of the group */
	return ret == 0 ? 0 : 1;
}

static int address(struct addr_parser *ap)
{
	const unsigned char *start = ap->r.p;
	int ret;

	if ((ret = group(ap)) < 0) {
		ap->r.p = start;
		ret = mailbox(ap);
	}
	return ret;
}

static void address_list(struct addr_parser *ap)
{
	struct rfc822 *r = &ap->r;
	int ret;

	for (;;) {
		if (address(ap) == 0)
			break;
		if (r->p >= r->end || *r->p != ',')
			break;
		r->p++;
		if ((ret = rfc822_skip_cfws(r)) <= 0) {
			if (ret < 0)
				add_fixed_address(ap); /* ends in an open comment */
			break;
		}
	}
}

struct mime_addr *mime_addr_parse(const char *s, size_t len, size_t *n)
{
	struct addr_parser ap;

	memset(&ap, 0, sizeof ap);
	rfc822_init(&ap.r, s, len);
	ap.r.comment = &ap.comment;
	ap.r.nul_repl = MIME_NUL_REPLACEMENT;
	if (rfc822_skip_cfws(&ap.r) > 0)
		address_list(&ap);
	free(ap.cur.name);
	free(ap.cur.route);
	free(ap.cur.mailbox);
	free(ap.cur.domain);
	sbuf_free(&ap.str);
	sbuf_free(&ap.comment);
	*n = ap.n;
	return ap.list;
}

void mime_addr_free(struct mime_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].route);
		free(a[i].mailbox);
		free(a[i].domain);
	}
	free(a);
}
