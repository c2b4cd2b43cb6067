#include "imap/session.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/cmd.h"
#include "imap/response.h"
#include "imap/seqset.h"
#include "store/pool.h"
#include "util/log.h"
#include "util/mutf7.h"

static enum literal_sink literal_sink(void *ctx, const char *name, uint64_t size, int *fd,
                                      char **path)
{
	struct session *s = ctx;
	bool append = name && str_ieq(name, "APPEND");
	if (!append || !s->store)
		return SINK_MEMORY;
	if (size > s->cfg->append_limit)
		return SINK_TOOBIG;
	if (size < 1024)
		return SINK_MEMORY; /* mailbox names, small messages */
	/* APPEND data goes straight to a file in the Maildir's tmp/. If none
	 * can be made, a message that fits in memory still reaches APPEND,
	 * whose answer then says what is wrong; a bigger one is refused. */
	if (store_tmpfile(s->store, fd, path) == STORE_OK)
		return SINK_FILE;
	log_warn("session %s: no temporary file for a %llu-byte APPEND", s->user,
	         (unsigned long long)size);
	return size <= s->cfg->parser.max_literal ? SINK_MEMORY : SINK_TOOBIG;
}

struct session *session_new(const struct session_config *cfg, struct evbuffer *out,
                            const char *peer, unsigned link, void *ctx)
{
	struct session *s = xcalloc(1, sizeof *s);
	s->cfg = cfg;
	s->link = link;
	s->ctx = ctx;
	s->out = out;
	s->peer = xstrdup(peer);
	s->state = STATE_NOT_AUTH;
	s->parser = parser_new(&cfg->parser, literal_sink, s);
	return s;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	/* The parser may hold a literal file in the store's tmp/: free it first. */
	parser_free(s->parser);
	fetch_job_free(s->job);
	search_job_free(s->sjob);
	store_unwatch(s->watch);
	free(s->idle_tag);
	view_close(s->view);
	store_close(s->store);
	free(s->user);
	free(s->peer);
	free(s->sasl_tag);
	free(s->saved);
	sbuf_free(&s->deferred);
	free(s);
}

static void write_line(struct session *s, const char *prefix, const char *fmt, va_list ap)
{
	struct sbuf b = {0};
	sbuf_adds(&b, prefix);
	sbuf_vprintf(&b, fmt, ap);
	sbuf_adds(&b, "\r\n");
	if (s->pause_ms)
		sbuf_add(&s->deferred, b.s, b.len);
	else
		evbuffer_add(s->out, b.s, b.len);
	sbuf_free(&b);
}

void sess_untagged(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_line(s, "* ", fmt, ap);
	va_end(ap);
}

void sess_write(struct session *s, const struct sbuf *b)
{
	evbuffer_add(s->out, b->s, b->len);
}

void sess_continue(struct session *s, const char *text)
{
	evbuffer_add_printf(s->out, "+ %s\r\n", text);
}

void sess_tagged(struct session *s, const char *status, const char *fmt, ...)
{
	if (s->view && strcmp(status, "BAD") != 0)
		sess_sync(s);
	char prefix[96];
	snprintf(prefix, sizeof prefix, "%s %s ", s->cur ? s->cur->tag : "*", status);
	va_list ap;
	va_start(ap, fmt);
	write_line(s, prefix, fmt, ap);
	va_end(ap);
}

/* The user's index was rebuilt (store_repair): what this session was told
 * of UIDs may no longer hold, so it ends, and the client logs in again. */
static void index_rebuilt(struct session *s)
{
	if (s->closing)
		return;
	/* Closing first: the tagged answer syncs the view, whose failure
	 * would bring it back here. */
	sess_close(s, "index-rebuilt");
	if (s->cur)
		sess_tagged(s, "NO",
		            "[UNAVAILABLE] The mail index was rebuilt; please log in again");
	sess_untagged(s, "BYE [UNAVAILABLE] The mail index was rebuilt; please log in again");
}

void sess_sync(struct session *s)
{
	struct view_changes ch;
	/* A command looked at dispatch; in IDLE, a wake-up (which a rebuild
	 * sends) is the only moment to. */
	if (s->idle_tag && !store_usable(s->store)) {
		index_rebuilt(s);
		return;
	}
	enum store_rc rc = view_sync(s->view, s->expunge_ok, &ch);
	if (rc == STORE_NONEXISTENT && !s->closing) {
		/* Another session deleted or renamed it: its sequence numbers
		 * mean nothing any more (Dovecot says BYE here too). */
		sess_untagged(s, "BYE The selected mailbox was deleted or renamed");
		sess_close(s, "mailbox-gone");
		return;
	}
	if (rc != STORE_OK && store_repair(s->store)) {
		index_rebuilt(s);
		return;
	}
	if (rc != STORE_OK) {
		log_warn("session %s: cannot sync %s", s->user, s->view->name);
		return;
	}
	for (size_t i = 0; i < ch.nexpunged; i++)
		sess_untagged(s, "%u EXPUNGE", ch.expunged[i]);
	if (ch.keywords_changed)
		sess_flags_list(s);
	if (ch.exists_changed) { /* the view grows only by new messages */
		sess_untagged(s, "%zu EXISTS", s->view->n);
		sess_untagged(s, "%u RECENT", ch.recent);
	}
	for (size_t i = 0; i < ch.nflags_changed; i++)
		sess_fetch_flags(s, ch.flags_changed[i] - 1);
	view_changes_free(&ch);
}

void sess_unselect(struct session *s)
{
	free(s->saved); /* RFC 5182 2.1: "$" is reset when the mailbox is closed */
	s->saved = NULL;
	s->nsaved = 0;
	view_close(s->view);
	s->view = NULL;
	s->state = STATE_AUTH;
}

void sess_login(struct session *s, const char *user, const char *mech)
{
	s->user = xstrdup(user);
	s->state = STATE_AUTH;
	log_info("login: user=%s mech=%s from=%s", user, mech, s->peer);
}

void sess_close(struct session *s, const char *reason)
{
	s->closing = true;
	if (!s->end_reason)
		s->end_reason = reason;
}

static const char *state_names(unsigned states)
{
	if (states == STATE_NOT_AUTH)
		return "the Not Authenticated state (before login)";
	if (states == STATE_SELECTED)
		return "the Selected state (after SELECT or EXAMINE)";
	if (states == (STATE_AUTH | STATE_SELECTED))
		return "the Authenticated or Selected state (after login)";
	return "another state";
}

/* "UID FETCH ..." runs FETCH with the UID flag set, its arguments shifted. */
static const struct command_def *uid_form(struct session *s, struct imap_command *c)
{
	if (c->nargs == 0 || c->args[0].type != ARG_ATOM)
		return NULL;
	char *sub = c->args[0].str;
	str_upper(sub);
	const struct command_def *def = command_find(sub);
	if (!def || !def->has_uid_form)
		return NULL;
	free(c->name);
	c->name = sub;
	c->args[0].str = NULL;
	memmove(c->args, c->args + 1, (c->nargs - 1) * sizeof *c->args);
	c->nargs--;
	s->uid_cmd = true;
	return def;
}

static void dispatch(struct session *s, struct imap_command *c)
{
	s->cur = c;
	s->uid_cmd = false;
	s->expunge_ok = true;
	const struct command_def *def =
	    strcmp(c->name, "UID") == 0 ? uid_form(s, c) : command_find(c->name);
	/* The name from the table only: what the client sent may be anything. */
	log_debug("command: user=%s from=%s name=%s%s", s->user ? s->user : "-", s->peer,
	          s->uid_cmd ? "UID " : "", def ? def->name : "(unknown)");
	if (!def)
		sess_tagged(s, "BAD", "Unknown command %.40s", c->name);
	else if (!(def->states & s->state))
		sess_tagged(s, "BAD", "%s is only valid in %s", def->name,
		            state_names(def->states));
	else if (s->store && !store_usable(s->store))
		index_rebuilt(s);
	else {
		s->expunge_ok = !def->no_expunge || s->uid_cmd;
		def->run(s, c);
	}
	s->cur = NULL;
}

static enum session_status status_now(struct session *s)
{
	if (s->closing)
		return SESSION_CLOSE;
	if (s->starttls)
		return SESSION_STARTTLS;
	if (s->sjob || s->yield) {
		s->yield = false;
		return SESSION_PAUSE; /* with no delay: the next slice after the others */
	}
	return s->pause_ms ? SESSION_PAUSE : SESSION_CONTINUE;
}

static void parse_error(struct session *s)
{
	const char *tag = parser_error_tag(s->parser);
	evbuffer_add_printf(s->out, "%s %s %s\r\n", tag, parser_error_status(s->parser),
	                    parser_error_text(s->parser));
}

enum session_status session_feed(struct session *s, struct evbuffer *in)
{
	size_t len;
	if (s->job && fetch_resume(s))
		return status_now(s); /* still producing: no new command until it ends */
	if (s->sjob && search_resume(s))
		return status_now(s);
	if (s->idle_tag)
		idle_catch_up(s);
	/* A client that sends commands faster than it reads the answers gets
	 * max_pipeline of them run per turn; the rest wait in its socket until
	 * these answers are sent and the other connections had their turn. */
	unsigned ran = 0;
	while (!s->closing && !s->pause_ms && !s->job && !s->sjob && !s->starttls &&
	       (len = evbuffer_get_contiguous_space(in)) > 0) {
		if (ran == s->cfg->max_pipeline) {
			s->yield = true;
			break;
		}
		const char *data = (const char *)evbuffer_pullup(in, (ssize_t)len);
		struct imap_command *cmd = NULL;
		const char *line = NULL;
		size_t used = 0;
		enum parse_event ev = parser_feed(s->parser, data, len, &used, &cmd, &line);
		evbuffer_drain(in, used);
		switch (ev) {
		case PARSE_MORE:
			break;
		case PARSE_CONTINUE:
			sess_continue(s, "Ready for literal data");
			break;
		case PARSE_COMMAND:
			s->commands++;
			dispatch(s, cmd);
			imap_command_free(cmd);
			ran++;
			break;
		case PARSE_LINE:
			if (s->idle_tag)
				idle_line(s, line);
			else
				auth_sasl_response(s, line);
			break;
		case PARSE_ERROR:
			s->commands++;
			parse_error(s);
			break;
		case PARSE_FATAL:
			evbuffer_add_printf(s->out, "* BYE %s\r\n", parser_error_text(s->parser));
			s->commands++;
			sess_close(s, "protocol-error");
			break;
		}
	}
	return status_now(s);
}

unsigned session_pause_ms(const struct session *s)
{
	return s->pause_ms;
}

void session_resume(struct session *s)
{
	s->pause_ms = 0;
	evbuffer_add(s->out, s->deferred.s ? s->deferred.s : "", s->deferred.len);
	sbuf_reset(&s->deferred);
}

unsigned session_timeout(const struct session *s)
{
	return s->state == STATE_NOT_AUTH ? s->cfg->login_timeout : s->cfg->idle_timeout;
}

void session_timed_out(struct session *s)
{
	/* RFC 2177 advises clients to renew IDLE within 29 minutes, because
	 * the inactivity timer (at least 30, RFC 9051 5.4) runs during IDLE too. */
	if (s->idle_tag)
		evbuffer_add_printf(s->out,
		                    "* BYE IDLE ran for %u minutes without DONE; "
		                    "reissue IDLE at least every 29 minutes\r\n",
		                    (s->cfg->idle_timeout + 59) / 60);
	else
		evbuffer_add_printf(s->out, "* BYE Autologout; idle for too long\r\n");
	sess_close(s, "timeout");
	s->state = STATE_LOGOUT;
}

bool session_busy(const struct session *s)
{
	return s->job || s->sjob;
}

void session_shutdown(struct session *s)
{
	evbuffer_add_printf(s->out, "* BYE Server shutting down; please reconnect\r\n");
	sess_close(s, "shutdown");
	s->state = STATE_LOGOUT;
}

const char *session_user(const struct session *s)
{
	return s->user;
}

unsigned long session_commands(const struct session *s)
{
	return s->commands;
}

const char *session_end_reason(const struct session *s)
{
	return s->end_reason;
}

void session_tls_started(struct session *s, struct evbuffer *out)
{
	s->out = out;
	s->starttls = false;
	s->link = (s->link | LINK_TLS) & ~(unsigned)LINK_STARTTLS;
}

enum session_status session_start(struct session *s, const char *preauth_user)
{
	if (!preauth_user) {
		sess_untagged(s, "OK [CAPABILITY %s] Gannet ready", capabilities(s));
		return SESSION_CONTINUE;
	}
	enum store_rc rc = store_pool_open(s->cfg->pool, preauth_user, &s->store);
	if (rc != STORE_OK) {
		sess_untagged(s, "BYE [UNAVAILABLE] Cannot open the mailboxes of %s", preauth_user);
		sess_close(s, "unavailable");
		return SESSION_CLOSE;
	}
	sess_login(s, preauth_user, "PREAUTH");
	sess_untagged(s, "PREAUTH [CAPABILITY %s] Logged in as %s", capabilities(s), preauth_user);
	return SESSION_CONTINUE;
}

/* ---- arguments ---- */

bool arg_is_astring(const struct imap_arg *a)
{
	return a->type == ARG_ATOM ||
	       (a->type == ARG_STRING && !a->file && !a->has_nul && !a->literal8);
}

bool arg_is_word(const struct imap_arg *a, const char *word)
{
	return a->type == ARG_ATOM && str_ieq(a->str, word);
}

char *sess_mailbox_arg(struct session *s, const struct imap_arg *a)
{
	if (!arg_is_astring(a)) {
		sess_tagged(s, "BAD", "Mailbox name expected");
		return NULL;
	}
	/* RFC 6855 section 3: after ENABLE UTF8=ACCEPT names are UTF-8 as they
	 * stand (and must be valid UTF-8); before it they are modified UTF-7. */
	if (s->utf8 && !utf8_valid(a->str, strlen(a->str))) {
		sess_tagged(s, "BAD", "Invalid UTF-8 in mailbox name");
		return NULL;
	}
	char *utf8 = s->utf8 ? xstrdup(a->str) : mutf7_to_utf8(a->str, strlen(a->str));
	const char *why = "is not valid modified UTF-7";
	char *name = utf8 ? store_name_check(s->store, utf8, &why) : NULL;
	free(utf8);
	if (!name)
		sess_tagged(s, "NO", "[CANNOT] Mailbox name %s", why);
	return name;
}

static const struct {
	uint32_t bit;
	const char *name;
} system_flags[] = {{FLAG_ANSWERED, "\\Answered"},
                    {FLAG_FLAGGED, "\\Flagged"},
                    {FLAG_DELETED, "\\Deleted"},
                    {FLAG_SEEN, "\\Seen"},
                    {FLAG_DRAFT, "\\Draft"}};

void sess_flags(struct session *s, struct sbuf *b, size_t i)
{
	const struct view_msg *m = &s->view->msgs[i];
	size_t mark = b->len;
	sbuf_addc(b, '(');
	for (size_t k = 0; k < sizeof system_flags / sizeof *system_flags; k++)
		if (m->flags & system_flags[k].bit)
			sbuf_printf(b, "%s%s", b->len > mark + 1 ? " " : "", system_flags[k].name);
	if (m->keywords[0])
		sbuf_printf(b, "%s%s", b->len > mark + 1 ? " " : "", m->keywords);
	/* \Recent is gone from IMAP4rev2 (RFC 9051 Appendix E, item 12). */
	if (!s->rev2 && view_recent(s->view, i))
		sbuf_printf(b, "%s\\Recent", b->len > mark + 1 ? " " : "");
	sbuf_addc(b, ')');
}

void sess_fetch_flags(struct session *s, size_t i)
{
	struct sbuf b = {0};
	sbuf_printf(&b, "* %zu FETCH (FLAGS ", i + 1);
	sess_flags(s, &b, i);
	/* A UID command's FETCH responses carry the UID (RFC 9051 6.4.9), and
	 * in IMAP4rev2 every unsolicited one does (Appendix E, item 21). */
	if (s->uid_cmd || s->rev2)
		sbuf_printf(&b, " UID %u", s->view->msgs[i].uid);
	sbuf_adds(&b, ")\r\n");
	sess_write(s, &b);
	sbuf_free(&b);
}

void sess_flags_list(struct session *s)
{
	const char *kw = s->view->keywords && s->view->keywords[0] ? s->view->keywords : NULL;
	const char *all = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
	sess_untagged(s, "FLAGS (%s%s%s)", all, kw ? " " : "", kw ? kw : "");
	if (s->view->readonly)
		sess_untagged(s, "OK [PERMANENTFLAGS ()] No permanent flags in read-only mode");
	else
		sess_untagged(s, "OK [PERMANENTFLAGS (%s%s%s \\*)] Flags permitted", all,
		              kw ? " " : "", kw ? kw : "");
}

/* Positions of the UIDs in set: the view is in UID order, so one pass. */
static size_t *uids_to_idx(const struct view *v, const struct seqset *set, size_t *n)
{
	size_t *idx = xmalloc((v->n ? v->n : 1) * sizeof *idx);
	*n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (seqset_contains(set, v->msgs[i].uid))
			idx[(*n)++] = i;
	return idx;
}

/* "$": the saved search result, as UIDs (RFC 5182 2.1); those expunged
 * since are simply no longer in the view. */
static size_t *saved_to_idx(const struct session *s, size_t *n)
{
	const struct view *v = s->view;
	size_t *idx = xmalloc((v->n ? v->n : 1) * sizeof *idx);
	*n = 0;
	for (size_t i = 0, k = 0; i < v->n && k < s->nsaved; i++) {
		while (k < s->nsaved && s->saved[k] < v->msgs[i].uid)
			k++;
		if (k < s->nsaved && s->saved[k] == v->msgs[i].uid)
			idx[(*n)++] = i;
	}
	return idx;
}

bool sess_msgset(struct session *s, const struct imap_arg *a, bool uid, size_t **idx, size_t *n)
{
	struct seqset set;
	const struct view *v = s->view;
	if (a->type == ARG_ATOM && strcmp(a->str, "$") == 0) {
		*idx = saved_to_idx(s, n);
		return true;
	}
	int rc =
	    a->type == ARG_ATOM ? seqset_parse(a->str, a->len, s->cfg->max_seq_ranges, &set) : -1;
	if (rc == SEQSET_TOO_MANY) {
		sess_tagged(s, "BAD", "Too many ranges in the sequence set (at most %zu)",
		            s->cfg->max_seq_ranges);
		return false;
	}
	if (rc < 0) {
		sess_tagged(s, "BAD", "Invalid sequence set");
		return false;
	}
	if (uid) {
		/* RFC 9051 6.4.8: "*" is the largest UID in use; UIDs that
		 * name no message are simply not there. */
		seqset_resolve(&set, v->n ? v->msgs[v->n - 1].uid : 0);
		*idx = uids_to_idx(v, &set, n);
		seqset_free(&set);
		return true;
	}
	seqset_resolve(&set, (uint32_t)v->n);
	if (v->n == 0 || seqset_max(&set) > v->n) {
		seqset_free(&set);
		sess_tagged(s, "BAD", "Message sequence number out of range (%zu messages)", v->n);
		return false;
	}
	size_t total = 0;
	for (size_t i = 0; i < set.n; i++)
		total += set.r[i].hi - set.r[i].lo + 1;
	*idx = xmalloc(total * sizeof **idx);
	*n = 0;
	for (size_t i = 0; i < set.n; i++)
		for (uint32_t q = set.r[i].lo; q <= set.r[i].hi; q++)
			(*idx)[(*n)++] = q - 1;
	seqset_free(&set);
	return true;
}

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

bool parse_flags(const struct imap_arg *args, size_t n, uint32_t *flags, const char **kw,
                 size_t *nkw)
{
	*flags = 0;
	*nkw = 0;
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *f = &args[i];
		if (f->type != ARG_ATOM)
			return false;
		bool sys = false;
		for (size_t k = 0; k < sizeof system_flags / sizeof *system_flags; k++)
			if (str_ieq(f->str, system_flags[k].name)) {
				*flags |= system_flags[k].bit;
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

void sess_store_error(struct session *s, enum store_rc rc, const char *what)
{
	switch (rc) {
	case STORE_OK:
		sess_tagged(s, "OK", "%s completed", what);
		break;
	case STORE_NONEXISTENT:
		sess_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
		break;
	case STORE_EXISTS:
		sess_tagged(s, "NO", "[ALREADYEXISTS] Mailbox already exists");
		break;
	case STORE_BADNAME:
		sess_tagged(s, "NO", "[CANNOT] Invalid mailbox name");
		break;
	case STORE_NOTALLOWED:
		sess_tagged(s, "NO", "[CANNOT] %s is not allowed on that mailbox", what);
		break;
	case STORE_LIMIT:
		sess_tagged(s, "NO", "[LIMIT] Too many mailboxes");
		break;
	case STORE_ERROR:
		if (s->store && store_repair(s->store))
			index_rebuilt(s);
		else
			sess_tagged(s, "NO", "[SERVERBUG] %s failed; the error is logged", what);
		break;
	case STORE_EXPUNGED: /* RFC 2180 4.4.1 */
		sess_tagged(s, "NO",
		            "[EXPUNGEISSUED] Some of the messages were expunged meanwhile");
		break;
	}
}
