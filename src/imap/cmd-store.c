/* STORE and UID STORE (RFC 9051 6.4.6). */
#include <stdlib.h>
#include <string.h>

#include "imap/cmd.h"

/* "FLAGS", "+FLAGS", "-FLAGS", each maybe with ".SILENT". */
static bool store_op(const char *s, enum flag_op *op, bool *silent)
{
	*op = s[0] == '+' ? FLAG_OP_ADD : s[0] == '-' ? FLAG_OP_REMOVE : FLAG_OP_SET;
	if (*op != FLAG_OP_SET)
		s++;
	if (str_ieq(s, "FLAGS"))
		*silent = false;
	else if (str_ieq(s, "FLAGS.SILENT"))
		*silent = true;
	else
		return false;
	return true;
}

void cmd_store(struct session *s, struct imap_command *c)
{
	enum flag_op op;
	bool silent;
	uint32_t flags;
	const char *kw[MAX_KEYWORDS];
	size_t nkw;
	if (c->nargs < 3 || c->args[1].type != ARG_ATOM ||
	    !store_op(c->args[1].str, &op, &silent)) {
		sess_tagged(s, "BAD",
		            "STORE takes a message set, FLAGS, +FLAGS or -FLAGS, and flags");
		return;
	}
	/* flags as a list, or as bare atoms (RFC 9051: flag-list / (flag *(SP flag))) */
	const struct imap_arg *fl =
	    c->nargs == 3 && c->args[2].type == ARG_LIST ? c->args[2].list : &c->args[2];
	size_t nfl = c->nargs == 3 && c->args[2].type == ARG_LIST ? c->args[2].nlist : c->nargs - 2;
	if (!parse_flags(fl, nfl, &flags, kw, &nkw)) {
		sess_tagged(s, "BAD", "Invalid flag in STORE");
		return;
	}
	size_t *idx, n;
	if (!sess_msgset(s, &c->args[0], s->uid_cmd, &idx, &n))
		return;
	if (s->view->readonly) {
		free(idx);
		sess_tagged(s, "NO", "[READ-ONLY] The mailbox is read-only");
		return;
	}
	bool *changed = xcalloc(n ? n : 1, sizeof *changed);
	enum store_rc rc = view_store(s->view, idx, n, op, flags, kw, nkw, changed);
	for (size_t i = 0; rc == STORE_OK && !silent && i < n; i++)
		sess_fetch_flags(s, idx[i]);
	free(changed);
	free(idx);
	sess_store_error(s, rc, "STORE");
}
