/* Commands on messages that need no MIME: APPEND, CHECK, CLOSE, UNSELECT. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/cmd.h"
#include "mime/header.h"
#include "util/date.h"

#define MAX_KEYWORDS 64

struct append_args {
	const struct imap_arg *flags, *date, *data;
	bool utf8_form;
};

/* APPEND mailbox [flag-list] [date-time] (literal / "UTF8" "(" literal8 ")") */
static bool append_parse(struct session *s, struct imap_command *c, struct append_args *a)
{
	size_t i = 1;
	memset(a, 0, sizeof *a);
	if (i < c->nargs && c->args[i].type == ARG_LIST)
		a->flags = &c->args[i++];
	if (i < c->nargs && c->args[i].type == ARG_STRING && !c->args[i].literal)
		a->date = &c->args[i++];
	if (i + 2 == c->nargs && s->utf8 && arg_is_word(&c->args[i], "UTF8") &&
	    c->args[i + 1].type == ARG_LIST && c->args[i + 1].nlist == 1) {
		/* RFC 6855 section 4 */
		a->data = &c->args[i + 1].list[0];
		a->utf8_form = true;
		i += 2;
	} else if (i < c->nargs) {
		a->data = &c->args[i++];
	}
	if (!a->data || i != c->nargs || a->data->type != ARG_STRING || !a->data->literal)
		return false;
	/* literal8 only inside UTF8 (...): BINARY is not offered. */
	return a->data->literal8 == a->utf8_form;
}

static const struct {
	const char *name;
	uint32_t bit;
} flag_names[] = {{"\\Seen", FLAG_SEEN},
                  {"\\Answered", FLAG_ANSWERED},
                  {"\\Flagged", FLAG_FLAGGED},
                  {"\\Deleted", FLAG_DELETED},
                  {"\\Draft", FLAG_DRAFT}};

static bool keyword_valid(const char *k)
{
	if (!*k || strlen(k) > 128)
		return false;
	for (; *k; k++) {
		unsigned char c = (unsigned char)*k;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c))
			return false;
	}
	return true;
}

/* Splits a flag list into system flag bits and keywords; false if any is invalid. */
static bool parse_flags(const struct imap_arg *list, uint32_t *flags, const char **kw, size_t *nkw)
{
	*flags = 0;
	*nkw = 0;
	for (size_t i = 0; list && i < list->nlist; i++) {
		const struct imap_arg *f = &list->list[i];
		if (f->type != ARG_ATOM)
			return false;
		bool sys = false;
		for (size_t k = 0; k < sizeof flag_names / sizeof *flag_names; k++)
			if (str_ieq(f->str, flag_names[k].name)) {
				*flags |= flag_names[k].bit;
				sys = true;
			}
		if (sys)
			continue;
		if (f->str[0] == '\\' || !keyword_valid(f->str) || *nkw == MAX_KEYWORDS)
			return false; /* \Recent and unknown system flags cannot be set */
		kw[(*nkw)++] = f->str;
	}
	return true;
}

void cmd_append(struct session *s, struct imap_command *c)
{
	struct append_args a;
	const char *kw[MAX_KEYWORDS];
	struct store_append req = {.keywords = kw, .internaldate = time(NULL)};
	if (c->nargs < 2 || !append_parse(s, c, &a)) {
		sess_tagged(s, "BAD",
		            "APPEND takes a mailbox, optional flags and date, and a literal");
		return;
	}
	if (!parse_flags(a.flags, &req.flags, kw, &req.nkeywords)) {
		sess_tagged(s, "BAD", "Invalid flag in APPEND");
		return;
	}
	if (a.date && !imap_datetime_parse(a.date->str, &req.internaldate)) {
		sess_tagged(s, "BAD", "Invalid date-time in APPEND");
		return;
	}
	if (a.data->len == 0) {
		sess_tagged(s, "NO", "Cannot append an empty message");
		return;
	}
	if (a.data->has_nul && !a.data->literal8) {
		/* RFC 9051 4.3: a literal carries no NUL; that needs literal8. */
		sess_tagged(s, "NO", "Message contains NUL bytes");
		return;
	}
	/* RFC 6855 section 4: offering UTF8=ACCEPT, we refuse 8-bit header
	 * fields from a client that has not enabled it. */
	if (!s->utf8 && (a.data->file ? mime_file_header_has_8bit(a.data->file) != 0
	                              : mime_header_has_8bit(a.data->str, a.data->len))) {
		sess_tagged(s, "NO", "8-bit characters in the header need ENABLE UTF8=ACCEPT");
		return;
	}
	char *name = sess_mailbox_arg(s, &c->args[0]);
	if (!name)
		return;
	char *tmp = NULL;
	enum store_rc rc = STORE_OK;
	if (a.data->file)
		req.path = a.data->file;
	else if ((rc = store_tmpfile_write(s->store, a.data->str, a.data->len, &tmp)) == STORE_OK)
		req.path = tmp;
	uint32_t uidvalidity = 0, uid = 0;
	if (rc == STORE_OK)
		rc = store_append(s->store, name, &req, &uidvalidity, &uid);
	free(name);
	if (tmp)
		store_tmpfile_discard(tmp);
	if (rc == STORE_NONEXISTENT)
		sess_tagged(s, "NO", "[TRYCREATE] No such mailbox");
	else if (rc == STORE_OK)
		sess_tagged(s, "OK", "[APPENDUID %u %u] APPEND completed", uidvalidity, uid);
	else
		sess_store_error(s, rc, "APPEND");
}

void cmd_check(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "CHECK takes no arguments");
		return;
	}
	sess_tagged(s, "OK", "CHECK completed");
}

void cmd_close(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "CLOSE takes no arguments");
		return;
	}
	/* RFC 9051 6.4.1: \Deleted messages go, with no EXPUNGE responses. */
	if (!s->view->readonly) {
		uint32_t *gone;
		size_t n;
		if (view_expunge(s->view, NULL, 0, &gone, &n) == STORE_OK)
			free(gone);
	}
	sess_unselect(s);
	sess_tagged(s, "OK", "CLOSE completed");
}

void cmd_unselect(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "UNSELECT takes no arguments");
		return;
	}
	sess_unselect(s);
	sess_tagged(s, "OK", "UNSELECT completed");
}
