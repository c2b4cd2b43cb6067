#include "imap/session.h"

#include <assert.h>
#include <event2/buffer.h>
#include <stdarg.h>
#include <stddef.h>
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

/* One thing the loop parsed, to be run in order with the rest. */
enum item_kind {
	ITEM_COMMAND,  /* a command */
	ITEM_LINE,     /* a raw line: DONE, or a SASL response */
	ITEM_TEXT,     /* a line to send as it is: a syntax error's answer */
	ITEM_CONTINUE, /* "+ Ready for literal data" */
	ITEM_FATAL,    /* BYE with text, then close */
};

struct session_item {
	enum item_kind kind;
	struct imap_command *cmd;
	char *text;
	struct session_item *next;
};

static void item_free(struct session_item *it)
{
	imap_command_free(it->cmd);
	free(it->text);
	free(it);
}

static void item_add(struct session *s, enum item_kind kind, struct imap_command *cmd, char *text)
{
	struct session_item *it = xcalloc(1, sizeof *it);
	it->kind = kind;
	it->cmd = cmd;
	it->text = text;
	if (s->items_tail)
		s->items_tail->next = it;
	else
		s->items = it;
	s->items_tail = it;
}

static void session_run_job_done(struct job *j);
static enum job_next session_run_job(struct job *j);

struct session *session_new(const struct session_config *cfg, struct evbuffer *conn_out,
                            const char *peer, unsigned link, void *ctx, void (*ready)(void *arg),
                            void *ready_arg)
{
	struct session *s = xcalloc(1, sizeof *s);
	s->cfg = cfg;
	s->link = link;
	s->ctx = ctx;
	s->out = evbuffer_new();
	s->conn_out = conn_out;
	s->ready = ready;
	s->ready_arg = ready_arg;
	s->peer = xstrdup(peer);
	s->state = s->seen_state = STATE_NOT_AUTH;
	s->parser = parser_new(&cfg->parser, literal_sink, s);
	s->work.run = session_run_job;
	s->work.done = session_run_job_done;
	return s;
}

/* Job: what belongs to the user's store goes, on the user's queue. */
static void session_release(struct session *s)
{
	/* The parser may hold a literal file in the store's tmp/: free it first. */
	parser_free(s->parser);
	s->parser = NULL;
	fetch_job_free(s->job);
	s->job = NULL;
	search_job_free(s->sjob);
	s->sjob = NULL;
	store_unwatch(s->watch);
	s->watch = NULL;
	view_close(s->view);
	s->view = NULL;
	store_close(s->store);
	s->store = NULL;
}

static void session_destroy(struct session *s)
{
	assert(!s->in_flight && !s->store);
	parser_free(s->parser);
	while (s->items) {
		struct session_item *it = s->items;
		s->items = it->next;
		item_free(it);
	}
	job_queue_release(s->q);
	free(s->idle_tag);
	free(s->user);
	free(s->peer);
	free(s->sasl_tag);
	free(s->saved);
	free(s->login_user);
	free(s->login_tag);
	sbuf_free(&s->deferred);
	evbuffer_free(s->out);
	free(s);
}

/* Queues the session's job on its queue: the user's once logged in, else
 * a queue of its own on the password lane. */
static void submit(struct session *s)
{
	/* The connection took everything written before (pump, conn.c). */
	assert(!s->in_flight && evbuffer_get_length(s->out) == 0);
	if (!s->q)
		s->q = jobs_queue(s->cfg->jobs, NULL, LANE_AUTH);
	s->in_flight = true;
	jobs_submit(s->q, &s->work);
}

void session_free(struct session *s)
{
	if (!s)
		return;
	s->detached = true;
	s->ready = NULL;
	s->conn_out = NULL;
	if (s->in_flight)
		return; /* the job's end frees it */
	if (s->store) {
		s->releasing = true;
		submit(s);
		return;
	}
	session_destroy(s);
}

struct evbuffer *session_output(struct session *s)
{
	return s->out;
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
	if (s->yield) {
		s->yield = false;
		return SESSION_PAUSE; /* with no delay: the next ones after the others */
	}
	return s->pause_ms ? SESSION_PAUSE : SESSION_CONTINUE;
}

static void run_item(struct session *s, struct session_item *it)
{
	switch (it->kind) {
	case ITEM_COMMAND:
		dispatch(s, it->cmd);
		break;
	case ITEM_LINE:
		if (s->idle_tag)
			idle_line(s, it->text);
		else
			auth_sasl_response(s, it->text);
		break;
	case ITEM_TEXT:
		evbuffer_add(s->out, it->text, strlen(it->text));
		break;
	case ITEM_CONTINUE:
		sess_continue(s, "Ready for literal data");
		break;
	case ITEM_FATAL:
		evbuffer_add_printf(s->out, "* BYE %s\r\n", it->text);
		sess_close(s, "protocol-error");
		break;
	}
}

/* Runs what the session has to run, in order: a FETCH that was waiting for
 * the client to read, a SEARCH's next slice, what changed in IDLE, then
 * the parsed items, until one makes the session wait (for the client, for
 * a pause, for TLS) or close. JOB_AGAIN: a SEARCH goes on after the user's
 * other jobs. */
static enum job_next run_items(struct session *s)
{
	for (;;) {
		if (s->job) {
			if (fetch_resume(s))
				return JOB_DONE; /* on once the output drained */
			continue;
		}
		if (s->sjob) {
			if (search_resume(s))
				return JOB_AGAIN;
			continue;
		}
		if (s->wake) {
			s->wake = false;
			idle_sync(s);
		}
		if (!s->items || s->closing || s->pause_ms || s->starttls || s->login_user)
			return JOB_DONE;
		struct session_item *it = s->items;
		s->items = it->next;
		if (!s->items)
			s->items_tail = NULL;
		run_item(s, it);
		item_free(it);
	}
}

static enum job_next session_run_job(struct job *j)
{
	struct session *s = (struct session *)((char *)j - offsetof(struct session, work));
	if (s->releasing) {
		session_release(s);
		return JOB_DONE;
	}
	/* Set by a password check on the password lane, this runs on the
	 * user's queue (session_run_job_done moved it there). */
	if (s->login_user)
		login_finish(s);
	return run_items(s);
}

/* What the connection may read of the job's results (session_user, ...). */
static void publish(struct session *s)
{
	s->seen_user = s->user;
	s->seen_end_reason = s->end_reason;
	s->seen_state = s->state;
}

/* On the loop: the job ran. A password found right moves the session to
 * its user's queue, where the store opens; a session whose connection is
 * gone is freed; else the connection goes on. */
static void session_run_job_done(struct job *j)
{
	struct session *s = (struct session *)((char *)j - offsetof(struct session, work));
	s->in_flight = false;
	publish(s);
	if (s->releasing) {
		session_destroy(s);
		return;
	}
	if (s->detached) {
		session_free(s);
		return;
	}
	if (s->login_user && !s->store) {
		job_queue_release(s->q);
		s->q = jobs_queue(s->cfg->jobs, s->login_user, LANE_STORE);
		submit(s);
		return;
	}
	s->ready(s->ready_arg);
}

/* Whether what waits may run on the loop: nothing touches a store or
 * checks a password. */
static bool runs_inline(const struct session *s)
{
	if (s->store || s->job || s->sjob || s->wake)
		return false;
	for (const struct session_item *it = s->items; it; it = it->next) {
		if (it->kind == ITEM_LINE)
			return false;
		if (it->kind == ITEM_COMMAND &&
		    (str_ieq(it->cmd->name, "LOGIN") || str_ieq(it->cmd->name, "AUTHENTICATE")))
			return false;
	}
	return true;
}

static char *error_line(const struct imap_parser *p)
{
	return xasprintf("%s %s %s\r\n", parser_error_tag(p), parser_error_status(p),
	                 parser_error_text(p));
}

/* Parses what it can, up to max_pipeline commands, and stops after a
 * command that changes how what follows is read (a barrier). */
static void parse_input(struct session *s, struct evbuffer *in)
{
	size_t len;
	unsigned parsed = 0;
	bool stop = false;
	while (!stop && (len = evbuffer_get_contiguous_space(in)) > 0) {
		if (parsed == s->cfg->max_pipeline) {
			s->yield = true; /* the rest after the other connections */
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
			item_add(s, ITEM_CONTINUE, NULL, NULL);
			break;
		case PARSE_COMMAND: {
			s->commands++;
			parsed++;
			/* "UID ..." is not in the table, and no UID form is a barrier. */
			const struct command_def *def = command_find(cmd->name);
			stop = def && def->barrier;
			item_add(s, ITEM_COMMAND, cmd, NULL);
			break;
		}
		case PARSE_LINE:
			parsed++;
			stop = true; /* what follows a DONE or a SASL response is
			              * read as the session will be then */
			item_add(s, ITEM_LINE, NULL, xstrdup(line));
			break;
		case PARSE_ERROR:
			s->commands++;
			parsed++;
			item_add(s, ITEM_TEXT, NULL, error_line(s->parser));
			break;
		case PARSE_FATAL:
			s->commands++;
			stop = true;
			item_add(s, ITEM_FATAL, NULL, xstrdup(parser_error_text(s->parser)));
			break;
		}
	}
}

/* While a client that does not read has this much waiting, what changed
 * in IDLE waits in the view; it goes out once the client has read. */
#define IDLE_OUT_MAX (256 * 1024)

enum session_status session_feed(struct session *s, struct evbuffer *in)
{
	if (s->in_flight)
		return SESSION_BUSY;
	if (s->wake_pending && (!s->idle_tag || evbuffer_get_length(s->conn_out) < IDLE_OUT_MAX)) {
		s->wake_pending = false;
		s->wake = s->idle_tag != NULL;
	}
	if (!s->closing && !s->pause_ms && !s->starttls && !s->job && !s->sjob)
		parse_input(s, in);
	if (!s->items && !s->job && !s->sjob && !s->wake)
		return status_now(s);
	if (!runs_inline(s)) {
		submit(s);
		return SESSION_BUSY;
	}
	run_items(s);
	publish(s);
	return status_now(s);
}

void session_wake(struct session *s)
{
	s->wake_pending = true;
	if (!s->in_flight && s->ready)
		s->ready(s->ready_arg);
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
	return s->seen_state == STATE_NOT_AUTH ? s->cfg->login_timeout : s->cfg->idle_timeout;
}

void session_timed_out(struct session *s)
{
	assert(!s->in_flight);
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
	publish(s);
}

bool session_running(const struct session *s)
{
	return s->in_flight;
}

bool session_busy(const struct session *s)
{
	return s->in_flight || s->job || s->sjob;
}

void session_shutdown(struct session *s)
{
	assert(!s->in_flight);
	evbuffer_add_printf(s->out, "* BYE Server shutting down; please reconnect\r\n");
	sess_close(s, "shutdown");
	s->state = STATE_LOGOUT;
	publish(s);
}

const char *session_user(const struct session *s)
{
	return s->seen_user;
}

unsigned long session_commands(const struct session *s)
{
	return s->commands;
}

const char *session_end_reason(const struct session *s)
{
	return s->seen_end_reason;
}

void session_tls_started(struct session *s, struct evbuffer *out)
{
	s->conn_out = out;
	s->starttls = false;
	s->link = (s->link | LINK_TLS) & ~(unsigned)LINK_STARTTLS;
}

/* PREAUTH: the store opens on the user's queue, which then greets. */
enum session_status session_start(struct session *s, const char *preauth_user)
{
	if (!preauth_user) {
		struct caps caps;
		sess_untagged(s, "OK [CAPABILITY %s] Gannet ready", capabilities(s, &caps));
		return SESSION_CONTINUE;
	}
	s->login_user = xstrdup(preauth_user);
	s->login_mech = "PREAUTH";
	s->q = jobs_queue(s->cfg->jobs, preauth_user, LANE_STORE);
	submit(s);
	return SESSION_BUSY;
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
		else if (s->store && store_busy(s->store))
			/* RFC 5530 3: INUSE, "a lock held by another process". */
			sess_tagged(s, "NO",
			            "[INUSE] %s failed: the mailbox is locked by another "
			            "process; try again",
			            what);
		else
			sess_tagged(s, "NO", "[SERVERBUG] %s failed; the error is logged", what);
		break;
	case STORE_EXPUNGED: /* RFC 2180 4.4.1 */
		sess_tagged(s, "NO",
		            "[EXPUNGEISSUED] Some of the messages were expunged meanwhile");
		break;
	}
}
