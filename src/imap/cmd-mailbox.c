/* Mailbox commands: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB and
 * STATUS. */
#include <stdlib.h>
#include <string.h>

#include "imap/cmd.h"
#include "imap/listmatch.h"
#include "imap/response.h"
#include "util/mutf7.h"

static void list_selected(struct session *s, const char *name);

static void select_mailbox(struct session *s, struct imap_command *c, bool readonly)
{
	if (c->nargs != 1 || !arg_is_astring(&c->args[0])) {
		sess_tagged(s, "BAD", "%s takes one mailbox name", c->name);
		return;
	}
	/* RFC 9051 6.3.2: a SELECT, even one that fails, first closes the
	 * mailbox that was selected (a BAD one was never run). */
	if (s->view) {
		sess_unselect(s);
		/* RFC 9051 6.3.2: "When deselecting a selected mailbox, the
		 * server MUST return an untagged OK response with the "[CLOSED]"
		 * response code" (an IMAP4rev1 client does not know it). */
		if (s->rev2)
			sess_untagged(s, "OK [CLOSED] Previous mailbox is now closed");
	}
	char *name = sess_mailbox_arg(s, &c->args[0]);
	if (!name)
		return;
	struct view *v;
	enum store_rc rc = view_open(s->store, name, readonly, &v);
	free(name);
	if (rc != STORE_OK) {
		sess_store_error(s, rc, c->name);
		return;
	}
	uint32_t recent = 0, first_unseen = 0;
	for (size_t i = 0; i < v->n; i++) {
		recent += view_recent(v, i);
		if (!first_unseen && !(v->msgs[i].flags & FLAG_SEEN))
			first_unseen = (uint32_t)i + 1;
	}
	s->view = v;
	s->state = STATE_SELECTED;
	sess_flags_list(s);
	sess_untagged(s, "%zu EXISTS", v->n);
	sess_untagged(s, "%u RECENT", recent);
	if (s->rev2) /* RFC 9051 6.3.2: "The server MUST return a LIST response" */
		list_selected(s, v->name);
	if (first_unseen)
		sess_untagged(s, "OK [UNSEEN %u] First unseen", first_unseen);
	sess_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", v->uidvalidity);
	sess_untagged(s, "OK [UIDNEXT %u] Predicted next UID", v->uidnext);
	sess_tagged(s, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE", c->name);
}

void cmd_select(struct session *s, struct imap_command *c)
{
	select_mailbox(s, c, false);
}

void cmd_examine(struct session *s, struct imap_command *c)
{
	select_mailbox(s, c, true);
}

/* A mailbox under (or at) the selected one cannot be deleted or renamed
 * from this session without pulling the mailbox out from under it. */
static bool touches_selected(const struct session *s, const char *name)
{
	if (!s->view)
		return false;
	size_t n = strlen(name);
	return strncmp(s->view->name, name, n) == 0 &&
	       (s->view->name[n] == '\0' || s->view->name[n] == '/');
}

static char *one_mailbox(struct session *s, struct imap_command *c)
{
	if (c->nargs != 1) {
		sess_tagged(s, "BAD", "%s takes one mailbox name", c->name);
		return NULL;
	}
	return sess_mailbox_arg(s, &c->args[0]);
}

void cmd_create(struct session *s, struct imap_command *c)
{
	char *name = one_mailbox(s, c);
	if (!name)
		return;
	sess_store_error(s, store_create(s->store, name), "CREATE");
	free(name);
}

void cmd_delete(struct session *s, struct imap_command *c)
{
	char *name = one_mailbox(s, c);
	if (!name)
		return;
	if (strcmp(name, "INBOX") == 0)
		sess_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
	else if (touches_selected(s, name) && strcmp(s->view->name, name) == 0)
		sess_tagged(s, "NO", "[INUSE] Cannot delete the selected mailbox");
	else
		sess_store_error(s, store_delete(s->store, name), "DELETE");
	free(name);
}

void cmd_rename(struct session *s, struct imap_command *c)
{
	if (c->nargs != 2) {
		sess_tagged(s, "BAD", "RENAME takes two mailbox names");
		return;
	}
	char *from = sess_mailbox_arg(s, &c->args[0]);
	char *to = from ? sess_mailbox_arg(s, &c->args[1]) : NULL;
	if (from && to) {
		/* INBOX is the exception: it stays, so a view of it stays valid. */
		if (strcmp(from, "INBOX") != 0 && touches_selected(s, from))
			sess_tagged(s, "NO", "[INUSE] Cannot rename the selected mailbox");
		else
			sess_store_error(s, store_rename(s->store, from, to), "RENAME");
	}
	free(from);
	free(to);
}

static void subscribe(struct session *s, struct imap_command *c, bool on)
{
	char *name = one_mailbox(s, c);
	if (!name)
		return;
	sess_store_error(s, store_subscribe(s->store, name, on), on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	free(name);
}

void cmd_subscribe(struct session *s, struct imap_command *c)
{
	subscribe(s, c, true);
}

void cmd_unsubscribe(struct session *s, struct imap_command *c)
{
	subscribe(s, c, false);
}

/* ---- STATUS ---- */

enum {
	ST_MESSAGES = 1 << 0,
	ST_UIDNEXT = 1 << 1,
	ST_UIDVALIDITY = 1 << 2,
	ST_UNSEEN = 1 << 3,
	ST_RECENT = 1 << 4,
	ST_SIZE = 1 << 5,
	ST_DELETED = 1 << 6,
};

static const char *status_names[] = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
                                     "RECENT",   "SIZE",    "DELETED"};

/* Items in the order asked, as bits; 0 if any is unknown. */
static unsigned status_items(const struct imap_arg *list, unsigned char order[16], size_t *n)
{
	unsigned mask = 0;
	*n = 0;
	if (list->type != ARG_LIST || list->nlist == 0 || list->nlist > 16)
		return 0;
	for (size_t i = 0; i < list->nlist; i++) {
		size_t k;
		for (k = 0; k < sizeof status_names / sizeof *status_names; k++)
			if (arg_is_word(&list->list[i], status_names[k]))
				break;
		if (k == sizeof status_names / sizeof *status_names)
			return 0;
		mask |= 1u << k;
		order[(*n)++] = (unsigned char)k;
	}
	return mask;
}

static enum store_rc status_response(struct session *s, const char *name,
                                     const unsigned char *order, size_t n)
{
	struct store_status st;
	enum store_rc rc = store_status(s->store, name, &st);
	if (rc != STORE_OK)
		return rc;
	unsigned long long values[] = {st.messages, st.uidnext, st.uidvalidity, st.unseen,
	                               st.recent,   st.size,    st.deleted};
	struct sbuf b = {0};
	sbuf_adds(&b, "* STATUS ");
	resp_mailbox(&b, name, s->utf8);
	sbuf_adds(&b, " (");
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&b, "%s%s %llu", i ? " " : "", status_names[order[i]],
		            values[order[i]]);
	sbuf_adds(&b, ")\r\n");
	sess_write(s, &b);
	sbuf_free(&b);
	return STORE_OK;
}

void cmd_status(struct session *s, struct imap_command *c)
{
	unsigned char order[16];
	size_t n;
	if (c->nargs != 2 || !status_items(&c->args[1], order, &n)) {
		sess_tagged(s, "BAD", "STATUS takes a mailbox name and a list of status items");
		return;
	}
	char *name = sess_mailbox_arg(s, &c->args[0]);
	if (!name)
		return;
	enum store_rc rc = status_response(s, name, order, n);
	free(name);
	sess_store_error(s, rc, "STATUS");
}

/* ---- LIST and LSUB ---- */

struct list_node {
	char *name;
	const char *special_use;
	bool exists, subscribed;
	bool has_children;      /* an existing mailbox below */
	bool has_subscribed;    /* a subscribed name below */
	bool has_unmatched;     /* an existing mailbox below that the pattern does not match */
	bool has_unmatched_sub; /* a subscribed name below that the pattern does not match */
};

struct list_req {
	bool extended; /* LIST-EXTENDED syntax was used */
	bool sel_subscribed, sel_special, recursive;
	bool ret_subscribed, ret_special, ret_children;
	unsigned char status_order[16];
	size_t nstatus;
	char **patterns;
	size_t npatterns;
	bool delimiter_only; /* the pattern was "" */
};

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_node *)a)->name, ((const struct list_node *)b)->name);
}

static struct list_node *node_find(struct list_node *nodes, size_t n, const char *name)
{
	struct list_node key = {.name = (char *)name};
	return bsearch(&key, nodes, n, sizeof *nodes, node_cmp);
}

static bool matches_any(const struct list_req *r, const char *name)
{
	for (size_t i = 0; i < r->npatterns; i++)
		if (list_match(r->patterns[i], name))
			return true;
	return false;
}

/* Every mailbox and subscription, plus the implied parents of each, with
 * what is below each one. */
static struct list_node *list_tree(struct session *s, const struct list_req *r, size_t *count)
{
	struct store_mailbox *m;
	size_t n;
	if (store_list(s->store, &m, &n) != STORE_OK)
		return NULL;
	size_t cap = n + 8, k = 0;
	struct list_node *nodes = xcalloc(cap, sizeof *nodes);
	for (size_t i = 0; i < n; i++) {
		nodes[k++] = (struct list_node){.name = m[i].name,
		                                .special_use = m[i].special_use,
		                                .exists = m[i].exists,
		                                .subscribed = m[i].subscribed};
		m[i].name = NULL;
	}
	store_list_free(m, n);
	/* implied parents */
	for (size_t i = 0; i < n; i++) {
		char *p = xstrdup(nodes[i].name);
		for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
			*slash = '\0';
			bool known = false;
			for (size_t j = 0; j < k && !known; j++)
				known = strcmp(nodes[j].name, p) == 0;
			if (known)
				continue;
			if (k == cap)
				nodes = xrealloc(nodes, (cap *= 2) * sizeof *nodes);
			nodes[k++] = (struct list_node){.name = xstrdup(p)};
		}
		free(p);
	}
	qsort(nodes, k, sizeof *nodes, node_cmp);
	for (size_t i = 0; i < k; i++) {
		char *p = xstrdup(nodes[i].name);
		bool matched = matches_any(r, nodes[i].name);
		bool unmatched = nodes[i].exists && !matched;
		bool unmatched_sub = nodes[i].subscribed && !matched;
		for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
			*slash = '\0';
			struct list_node *parent = node_find(nodes, k, p);
			parent->has_children |= nodes[i].exists;
			parent->has_subscribed |= nodes[i].subscribed;
			parent->has_unmatched |= unmatched;
			parent->has_unmatched_sub |= unmatched_sub;
		}
		free(p);
	}
	*count = k;
	return nodes;
}

static void list_nodes_free(struct list_node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(nodes[i].name);
	free(nodes);
}

static void add_attr(struct sbuf *b, size_t mark, const char *attr)
{
	if (b->len > mark)
		sbuf_addc(b, ' ');
	sbuf_adds(b, attr);
}

static void list_line(struct session *s, const struct list_req *r, const struct list_node *nd,
                      bool lsub, bool childinfo)
{
	struct sbuf b = {0};
	sbuf_adds(&b, lsub ? "* LSUB (" : "* LIST (");
	size_t mark = b.len;
	if (lsub) {
		if (!nd->exists || !nd->subscribed)
			add_attr(&b, mark, "\\Noselect");
	} else {
		if (!nd->exists)
			add_attr(&b, mark,
			         r->extended && (nd->subscribed || !nd->has_children)
			             ? "\\NonExistent"
			             : "\\Noselect");
		if (nd->exists || nd->has_children)
			add_attr(&b, mark, nd->has_children ? "\\HasChildren" : "\\HasNoChildren");
		if ((r->ret_subscribed || r->sel_subscribed) && nd->subscribed)
			add_attr(&b, mark, "\\Subscribed");
		if (nd->special_use && nd->exists)
			add_attr(&b, mark, nd->special_use);
	}
	sbuf_adds(&b, ") \"/\" ");
	resp_mailbox(&b, nd->name, s->utf8);
	if (childinfo)
		sbuf_adds(&b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	sbuf_adds(&b, "\r\n");
	sess_write(s, &b);
	sbuf_free(&b);
	if (!lsub && r->nstatus && nd->exists)
		status_response(s, nd->name, r->status_order, r->nstatus);
}

/* The selected mailbox's LIST line, with accurate attributes. */
static void list_selected(struct session *s, const char *name)
{
	struct list_req r = {0};
	size_t n;
	struct list_node *nodes = list_tree(s, &r, &n);
	struct list_node *nd = nodes ? node_find(nodes, n, name) : NULL;
	if (nd)
		list_line(s, &r, nd, false, false);
	if (nodes)
		list_nodes_free(nodes, n);
}

/* Which names a LIST or LSUB returns, per RFC 9051 6.3.9 and RFC 5258. */
static void list_run(struct session *s, const struct list_req *r, bool lsub)
{
	size_t n;
	struct list_node *nodes = list_tree(s, r, &n);
	if (!nodes) {
		sess_tagged(s, "NO", "[SERVERBUG] LIST failed; the error is logged");
		return;
	}
	bool by_subscription = lsub || r->sel_subscribed;
	for (size_t i = 0; i < n; i++) {
		struct list_node *nd = &nodes[i];
		if (!matches_any(r, nd->name))
			continue;
		bool childinfo = false;
		bool show;
		if (by_subscription) {
			/* a subscribed name, or (LSUB's "%", RECURSIVEMATCH) one
			 * whose subscribed children the pattern does not reach */
			show = nd->subscribed;
			if (!show &&
			    (lsub ? nd->has_unmatched_sub : r->recursive && nd->has_subscribed)) {
				show = true;
				childinfo = !lsub;
			}
		} else {
			/* existing mailboxes; an implied parent only where the
			 * pattern stops above some of its children ("%") */
			show = nd->exists || (nd->has_children && nd->has_unmatched);
		}
		if (show && r->sel_special && !nd->special_use)
			show = false;
		if (show)
			list_line(s, r, nd, lsub, childinfo);
	}
	list_nodes_free(nodes, n);
	sess_tagged(s, "OK", "%s completed", lsub ? "LSUB" : "LIST");
}

static char *pattern_arg(struct session *s, const struct imap_arg *a)
{
	if (!arg_is_astring(a))
		return NULL;
	if (s->utf8)
		return xstrdup(a->str);
	char *u = mutf7_to_utf8(a->str, strlen(a->str));
	return u ? u : xstrdup(a->str);
}

static bool parse_selection(struct list_req *r, const struct imap_arg *a)
{
	for (size_t i = 0; i < a->nlist; i++) {
		const struct imap_arg *o = &a->list[i];
		if (arg_is_word(o, "SUBSCRIBED"))
			r->sel_subscribed = true;
		else if (arg_is_word(o, "RECURSIVEMATCH"))
			r->recursive = true;
		else if (arg_is_word(o, "SPECIAL-USE"))
			r->sel_special = true;
		else if (!arg_is_word(o, "REMOTE"))
			return false;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH needs another selection option. */
	return !r->recursive || r->sel_subscribed || r->sel_special;
}

static bool parse_return(struct list_req *r, const struct imap_arg *a)
{
	if (a->type != ARG_LIST)
		return false;
	for (size_t i = 0; i < a->nlist; i++) {
		const struct imap_arg *o = &a->list[i];
		if (arg_is_word(o, "SUBSCRIBED"))
			r->ret_subscribed = true;
		else if (arg_is_word(o, "CHILDREN"))
			r->ret_children = true;
		else if (arg_is_word(o, "SPECIAL-USE"))
			r->ret_special = true;
		else if (arg_is_word(o, "STATUS") && i + 1 < a->nlist)
			; /* the item list follows */
		else if (i > 0 && arg_is_word(&a->list[i - 1], "STATUS") && o->type == ARG_LIST) {
			if (!status_items(o, r->status_order, &r->nstatus))
				return false;
		} else
			return false;
	}
	return true;
}

static void list_req_free(struct list_req *r)
{
	for (size_t i = 0; i < r->npatterns; i++)
		free(r->patterns[i]);
	free(r->patterns);
}

static bool parse_list(struct session *s, struct imap_command *c, struct list_req *r, bool lsub)
{
	size_t i = 0;
	if (!lsub && c->nargs > 0 && c->args[0].type == ARG_LIST) {
		r->extended = true;
		if (!parse_selection(r, &c->args[0]))
			return false;
		i++;
	}
	if (c->nargs < i + 2 || !arg_is_astring(&c->args[i]))
		return false;
	char *ref = pattern_arg(s, &c->args[i]);
	const struct imap_arg *pat = &c->args[i + 1];
	const struct imap_arg *pats = pat->type == ARG_LIST && !lsub ? pat->list : pat;
	size_t npats = pat->type == ARG_LIST && !lsub ? pat->nlist : 1;
	r->extended |= pat->type == ARG_LIST;
	r->delimiter_only = pat->type != ARG_LIST && arg_is_astring(pat) && pat->str[0] == '\0';
	r->patterns = xcalloc(npats ? npats : 1, sizeof *r->patterns);
	bool ok = npats > 0;
	for (size_t k = 0; k < npats && ok; k++) {
		char *p = pattern_arg(s, &pats[k]);
		ok = p && strlen(p) + strlen(ref) <= 1024;
		if (ok)
			r->patterns[r->npatterns++] = list_pattern_canon(ref, p);
		free(p);
	}
	free(ref);
	i += 2;
	if (ok && i < c->nargs) {
		r->extended = true;
		ok = !lsub && i + 2 == c->nargs && arg_is_word(&c->args[i], "RETURN") &&
		     parse_return(r, &c->args[i + 1]);
		i += 2;
	}
	return ok && i == c->nargs;
}

static void list_or_lsub(struct session *s, struct imap_command *c, bool lsub)
{
	struct list_req r = {0};
	if (!parse_list(s, c, &r, lsub)) {
		list_req_free(&r);
		sess_tagged(s, "BAD", "Invalid %s arguments", c->name);
		return;
	}
	/* RFC 9051 6.3.9: an empty pattern asks for the hierarchy delimiter. */
	if (r.delimiter_only) {
		sess_untagged(s, "%s (\\Noselect) \"/\" \"\"", lsub ? "LSUB" : "LIST");
		sess_tagged(s, "OK", "%s completed", c->name);
	} else {
		list_run(s, &r, lsub);
	}
	list_req_free(&r);
}

void cmd_list(struct session *s, struct imap_command *c)
{
	list_or_lsub(s, c, false);
}

void cmd_lsub(struct session *s, struct imap_command *c)
{
	list_or_lsub(s, c, true);
}
