/* Commands on messages that need no MIME: APPEND, CHECK, CLOSE, UNSELECT. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/cmd.h"
#include "imap/seqset.h"
#include "mime/header.h"
#include "util/date.h"

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
	if (a.flags &&
	    !parse_flags(a.flags->list, a.flags->nlist, &req.flags, kw, &req.nkeywords)) {
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
	if (!s->view->readonly)
		(void)view_expunge(s->view, NULL, 0); /* CLOSE succeeds regardless */
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

void cmd_expunge(struct session *s, struct imap_command *c)
{
	size_t *idx = NULL, n = 0;
	uint32_t *uids = NULL;
	if (c->nargs != (s->uid_cmd ? 1u : 0u)) {
		sess_tagged(s, "BAD",
		            s->uid_cmd ? "UID EXPUNGE takes a UID set"
		                       : "EXPUNGE takes no arguments");
		return;
	}
	if (s->view->readonly) {
		sess_tagged(s, "NO", "[READ-ONLY] The mailbox is read-only");
		return;
	}
	if (s->uid_cmd) { /* RFC 4315 2.1: only those of the UIDs that are \Deleted */
		if (!sess_msgset(s, &c->args[0], true, &idx, &n))
			return;
		uids = xmalloc((n ? n : 1) * sizeof *uids);
		for (size_t i = 0; i < n; i++)
			uids[i] = s->view->msgs[idx[i]].uid;
	}
	enum store_rc rc = view_expunge(s->view, uids, s->uid_cmd ? n : 0);
	free(uids);
	free(idx);
	/* The EXPUNGE responses, with whatever else changed meanwhile, go out
	 * with the tagged answer (sess_sync). */
	sess_store_error(s, rc, "EXPUNGE");
}

static void copy_or_move(struct session *s, struct imap_command *c, bool move)
{
	if (c->nargs != 2) {
		sess_tagged(s, "BAD", "%s takes a message set and a mailbox", c->name);
		return;
	}
	size_t *idx, n;
	if (!sess_msgset(s, &c->args[0], s->uid_cmd, &idx, &n))
		return;
	char *dest = sess_mailbox_arg(s, &c->args[1]);
	if (!dest) {
		free(idx);
		return;
	}
	if (move && s->view->readonly) {
		sess_tagged(s, "NO", "[READ-ONLY] The mailbox is read-only");
	} else if (n == 0) {
		sess_tagged(s, "OK", "%s completed; no messages", c->name);
	} else {
		uint32_t uidvalidity = 0, *dst = xmalloc(n * sizeof *dst),
		         *src = xmalloc(n * sizeof *src);
		for (size_t i = 0; i < n; i++)
			src[i] = s->view->msgs[idx[i]].uid;
		enum store_rc rc = view_copy(s->view, idx, n, dest, move, &uidvalidity, dst);
		struct sbuf code = {0};
		sbuf_printf(&code, "COPYUID %u ", uidvalidity);
		seqset_format(&code, src, n);
		sbuf_addc(&code, ' ');
		seqset_format(&code, dst, n);
		if (rc == STORE_NONEXISTENT)
			sess_tagged(s, "NO", "[TRYCREATE] No such mailbox");
		else if (rc != STORE_OK)
			sess_store_error(s, rc, c->name);
		else if (!move)
			sess_tagged(s, "OK", "[%s] COPY completed", code.s);
		else {
			/* RFC 6851 4.3: COPYUID comes first, then the EXPUNGEs */
			sess_untagged(s, "OK [%s] Moved", code.s);
			sess_tagged(s, "OK", "MOVE completed");
		}
		sbuf_free(&code);
		free(dst);
		free(src);
	}
	free(dest);
	free(idx);
}

void cmd_copy(struct session *s, struct imap_command *c)
{
	copy_or_move(s, c, false);
}

void cmd_move(struct session *s, struct imap_command *c)
{
	copy_or_move(s, c, true);
}
