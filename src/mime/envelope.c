/* ENVELOPE (RFC 9051 section 7.5.2):
 *   ("date" "subject" (from) (sender) (reply-to) (to) (cc) (bcc)
 *    "in-reply-to" "message-id")
 * from the header of a message: the root, or a message/rfc822 part's child.
 * NIL for a field that is absent; sender and reply-to default to from
 * (RFC 9051 7.5.2 asks the server to fill them in). Encoded words (RFC
 * 2047) stay encoded: IMAP returns them raw and the client decodes.
 *
 * Choices where the RFC is silent, made as Dovecot makes them: the last of
 * a repeated field counts; subjects and display names are sent with folds
 * removed and runs of blanks collapsed (a literal when that changes them),
 * other strings with only the folds removed; NUL becomes U+FFFD. */
#include "mime/mime-int.h"

#include <stdlib.h>
#include <string.h>

enum {
	F_DATE,
	F_SUBJECT,
	F_FROM,
	F_SENDER,
	F_REPLY_TO,
	F_TO,
	F_CC,
	F_BCC,
	F_IN_REPLY_TO,
	F_MESSAGE_ID,
	NFIELDS
};

static const char *const field_names[NFIELDS] = {
    "Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "In-Reply-To", "Message-ID",
};

struct addr_list {
	struct mime_addr *a;
	size_t n;
};

static void add_string(struct sbuf *b, const struct mime_field *f)
{
	size_t len;
	char *v, *s;

	if (!f) {
		sbuf_adds(b, "NIL");
		return;
	}
	v = mime_field_value(f, &len);
	s = mime_unfold(v, len);
	imap_add_nstring(b, s);
	free(s);
	free(v);
}

static void add_subject(struct sbuf *b, const struct mime_field *f)
{
	struct sbuf s = {0};
	size_t len;
	char *v;

	if (!f) {
		sbuf_adds(b, "NIL");
		return;
	}
	v = mime_field_value(f, &len);
	sbuf_add(&s, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (v[i])
			sbuf_addc(&s, v[i]);
		else
			sbuf_adds(&s, MIME_NUL_REPLACEMENT);
	}
	imap_add_human(b, s.s, s.len);
	sbuf_free(&s);
	free(v);
}

static struct addr_list parse_addresses(const struct mime_field *f)
{
	struct addr_list l = {NULL, 0};
	size_t len;
	char *v;

	if (f) {
		v = mime_field_value(f, &len);
		l.a = mime_addr_parse(v, len, &l.n);
		free(v);
	}
	return l;
}

/* (name route mailbox domain) for each address, RFC 9051 7.5.2. */
static void add_addresses(struct sbuf *b, const struct addr_list *l)
{
	if (l->n == 0) {
		sbuf_adds(b, "NIL");
		return;
	}
	sbuf_addc(b, '(');
	for (size_t i = 0; i < l->n; i++) {
		const struct mime_addr *a = &l->a[i];
		sbuf_addc(b, '(');
		if (a->name)
			imap_add_human(b, a->name, strlen(a->name));
		else
			sbuf_adds(b, "NIL");
		sbuf_addc(b, ' ');
		imap_add_nstring(b, a->route);
		sbuf_addc(b, ' ');
		imap_add_nstring(b, a->mailbox);
		sbuf_addc(b, ' ');
		imap_add_nstring(b, a->domain);
		sbuf_addc(b, ')');
	}
	sbuf_addc(b, ')');
}

static void add_address_fields(struct sbuf *b, struct mime_field *const *last)
{
	struct addr_list l[NFIELDS];

	for (int i = F_FROM; i <= F_BCC; i++)
		l[i] = parse_addresses(last[i]);
	for (int i = F_FROM; i <= F_BCC; i++) {
		const struct addr_list *use = &l[i];
		if ((i == F_SENDER || i == F_REPLY_TO) && use->n == 0)
			use = &l[F_FROM];
		sbuf_addc(b, ' ');
		add_addresses(b, use);
	}
	for (int i = F_FROM; i <= F_BCC; i++)
		mime_addr_free(l[i].a, l[i].n);
}

char *mime_envelope(const struct mime_part *part)
{
	struct mime_field fields[NFIELDS], *last[NFIELDS] = {0};
	struct mime_field_iter it;
	struct mime_field f;
	struct sbuf b = {0};

	mime_field_iter_init(&it, part->header ? part->header : "", part->header_len);
	while (mime_field_next(&it, &f)) {
		for (int i = 0; i < NFIELDS; i++) {
			if (mime_field_is(&f, field_names[i])) {
				fields[i] = f;
				last[i] = &fields[i];
			}
		}
	}
	sbuf_addc(&b, '(');
	add_string(&b, last[F_DATE]);
	sbuf_addc(&b, ' ');
	add_subject(&b, last[F_SUBJECT]);
	add_address_fields(&b, last);
	sbuf_addc(&b, ' ');
	add_string(&b, last[F_IN_REPLY_TO]);
	sbuf_addc(&b, ' ');
	add_string(&b, last[F_MESSAGE_ID]);
	sbuf_addc(&b, ')');
	return sbuf_take(&b);
}
