/* BODY and BODYSTRUCTURE (RFC 9051 section 7.5.2, RFC 3501 7.4.2):
 *   body-type-basic: (type subtype (params) id description encoding size
 *                     [md5 disposition language location])
 *   body-type-text:  the same with the line count after size
 *   body-type-msg:   the same with envelope, body and line count after size
 *   body-type-mpart: ((part)(part)... subtype [(params) disposition
 *                     language location])
 * BODY is BODYSTRUCTURE without the bracketed extension data.
 *
 * Where the RFCs leave room this writes what Dovecot 2.3 writes: type,
 * subtype, parameter names and encoding as they appear in the message (but
 * "message" "rfc822" for an encapsulated message); "charset" "us-ascii"
 * appended to a text part's parameters that lack a charset (RFC 2045 5.2);
 * "7bit" for a missing encoding; RFC 2231 continuations joined but left
 * encoded; sizes counting each bare LF as CRLF, as the message is sent; a
 * multipart with no parts (no boundary, or none found) given one empty
 * text/plain part, since the grammar needs one; a multipart or message too
 * deep to parse as application/octet-stream. */
#include "mime/mime-int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

static void write_part(struct sbuf *b, const struct mime_part *part, bool ext);

/* ("name" "value" ...) or NIL, with the default charset for text. */
static void add_params(struct sbuf *b, const struct mime_param *raw, size_t nraw, bool text)
{
	size_t n;
	struct mime_param *p = mime_params_merge(raw, nraw, &n);

	if (n == 0 && !text) {
		sbuf_adds(b, "NIL");
		mime_params_free(p, n);
		return;
	}
	sbuf_addc(b, '(');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_addc(b, ' ');
		imap_add_nstring(b, p[i].name);
		sbuf_addc(b, ' ');
		imap_add_nstring(b, p[i].value);
	}
	if (text && !mime_param_get(p, n, "charset"))
		sbuf_adds(b, n > 0 ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
	sbuf_addc(b, ')');
	mime_params_free(p, n);
}

/* body-fld-dsp: ("type" (params)) or NIL (RFC 2183). */
static void add_disposition(struct sbuf *b, const struct mime_part *part)
{
	if (!part->disposition) {
		sbuf_adds(b, "NIL");
		return;
	}
	sbuf_addc(b, '(');
	imap_add_nstring(b, part->disposition);
	sbuf_addc(b, ' ');
	add_params(b, part->disp_params, part->ndisp_params, false);
	sbuf_addc(b, ')');
}

/* body-fld-lang: the tags as a list (RFC 3282), or NIL. */
static void add_language(struct sbuf *b, const struct mime_part *part)
{
	char **langs;
	size_t n =
	    part->language ? mime_language_list(part->language, strlen(part->language), &langs) : 0;

	if (n == 0) {
		sbuf_adds(b, "NIL");
		return;
	}
	sbuf_addc(b, '(');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_addc(b, ' ');
		imap_add_nstring(b, langs[i]);
		free(langs[i]);
	}
	free(langs);
	sbuf_addc(b, ')');
}

/* disposition, language, location: the extension data both kinds share. */
static void add_ext_tail(struct sbuf *b, const struct mime_part *part)
{
	sbuf_addc(b, ' ');
	add_disposition(b, part);
	sbuf_addc(b, ' ');
	add_language(b, part);
	sbuf_addc(b, ' ');
	imap_add_nstring(b, part->location);
}

static void write_multipart(struct sbuf *b, const struct mime_part *part, bool ext)
{
	if (part->nchildren == 0)
		sbuf_adds(b, ext ? EMPTY_BODY " NIL NIL NIL NIL)" : EMPTY_BODY ")");
	for (size_t i = 0; i < part->nchildren; i++)
		write_part(b, &part->children[i], ext);
	sbuf_addc(b, ' ');
	imap_add_nstring(b, part->subtype);
	if (!ext)
		return;
	sbuf_addc(b, ' ');
	add_params(b, part->params, part->nparams, false);
	add_ext_tail(b, part);
}

static void write_type(struct sbuf *b, const struct mime_part *part)
{
	if (part->flags & MIME_PART_MESSAGE) {
		sbuf_adds(b, "\"message\" \"rfc822\"");
	} else if (part->flags & MIME_PART_OPAQUE) {
		sbuf_adds(b, "\"application\" \"octet-stream\"");
	} else {
		imap_add_nstring(b, part->type);
		sbuf_addc(b, ' ');
		imap_add_nstring(b, part->subtype);
	}
}

static void write_basic(struct sbuf *b, const struct mime_part *part, bool ext)
{
	bool text = (part->flags & MIME_PART_TEXT) != 0;
	bool message = (part->flags & MIME_PART_MESSAGE) && part->nchildren == 1;

	write_type(b, part);
	sbuf_addc(b, ' ');
	add_params(b, part->params, part->nparams, text);
	sbuf_addc(b, ' ');
	imap_add_nstring(b, part->id);
	sbuf_addc(b, ' ');
	imap_add_nstring(b, part->description);
	sbuf_addc(b, ' ');
	imap_add_nstring(b, part->encoding ? part->encoding : "7bit");
	sbuf_printf(b, " %" PRIu64, part->body_vsize);
	if (message) {
		char *env = mime_envelope(&part->children[0]);
		sbuf_printf(b, " %s ", env);
		free(env);
		write_part(b, &part->children[0], ext);
	}
	if (text || message)
		sbuf_printf(b, " %" PRIu64, part->body_lines);
	if (!ext)
		return;
	sbuf_addc(b, ' ');
	imap_add_nstring(b, part->md5);
	add_ext_tail(b, part);
}

static void write_part(struct sbuf *b, const struct mime_part *part, bool ext)
{
	sbuf_addc(b, '(');
	if (part->flags & MIME_PART_MULTIPART)
		write_multipart(b, part, ext);
	else
		write_basic(b, part, ext);
	sbuf_addc(b, ')');
}

char *mime_bodystructure(const struct mime_part *part, bool extended)
{
	struct sbuf b = {0};

	write_part(&b, part, extended);
	return sbuf_take(&b);
}
