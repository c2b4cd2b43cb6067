/* What command handlers share: the session's inner state, the command
 * table, and helpers for arguments and responses. Handlers (cmd-*.c) never
 * check the session state themselves: the dispatcher already did, from the
 * table in commands.c. */
#ifndef GANNET_IMAP_CMD_H
#define GANNET_IMAP_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/parser.h"
#include "imap/session.h"
#include "store/store.h"
#include "util/jobs.h"
#include "util/str.h"

/* What the loop parsed for the session to run, in order (session.c). */
struct session_item;

/* Who touches what (doc/architecture.md): while in_flight, the session's
 * job owns every field but the ones marked "loop"; otherwise the loop
 * does. */
struct session {
	const struct session_config *cfg;
	struct evbuffer *out; /* answers, until the connection takes them */
	char *peer;
	void *ctx;     /* for cfg->admit_user */
	unsigned link; /* enum session_link */
	enum session_state state;
	struct imap_parser *parser;
	struct store *store;
	char *user;
	struct view *view;
	bool utf8;                /* UTF-8 names and quoted strings: after either of */
	bool utf8_accept;         /* ENABLE UTF8=ACCEPT (RFC 6855) */
	bool rev2;                /* ENABLE IMAP4rev2 (RFC 9051 Appendix A) */
	struct imap_command *cur; /* the command running */
	char *sasl_tag;           /* AUTHENTICATE waiting for the client's response line */
	unsigned pause_ms;        /* answer deferred (login: throttled, or failed) */
	struct sbuf deferred;
	bool closing;
	bool starttls;           /* STARTTLS answered: the handshake comes next */
	bool yield;              /* max_pipeline commands ran: let the others go first */
	struct fetch_job *job;   /* a FETCH still producing output */
	struct search_job *sjob; /* a SEARCH still running, in slices */
	bool uid_cmd;            /* the command came as UID ... */
	bool expunge_ok;         /* EXPUNGE responses may go with this command's answer */
	uint32_t *saved;         /* SEARCHRES "$": the saved UIDs, ascending (RFC 5182) */
	size_t nsaved;
	char *idle_tag;            /* in IDLE: its tag, until DONE */
	struct store_watch *watch; /* in IDLE with a mailbox selected */
	const char *end_reason;    /* why the session closes (sess_close), or NULL */
	/* Off the loop: */
	struct job work;                 /* the session's one job (util/jobs.h) */
	struct job_queue *q;             /* where it runs: the user's queue once logged in */
	struct session_item *items;      /* parsed, waiting to run */
	struct session_item *items_tail; /* (the loop appends only while no job runs) */
	char *login_user;                /* the password was right: the store opens next */
	char *login_tag;                 /* LOGIN's or AUTHENTICATE's tag, for its answer */
	const char *login_mech;
	bool wake;      /* report what changed in IDLE */
	bool releasing; /* the connection is gone: close the store, then free */
	/* The loop's own: */
	bool in_flight;           /* the job is queued or running */
	bool wake_pending;        /* the mailbox changed while idling */
	bool detached;            /* the connection is gone */
	void (*ready)(void *arg); /* the job is done: the connection goes on */
	void *ready_arg;
	struct evbuffer *conn_out; /* what the connection has yet to send */
	unsigned long commands;    /* command lines read, for the logout log line */
	const char *seen_user;     /* user, end_reason and state as of the last job */
	const char *seen_end_reason;
	enum session_state seen_state;
};

typedef void cmd_handler(struct session *s, struct imap_command *c);

struct command_def {
	const char *name;
	unsigned states; /* enum session_state bits */
	cmd_handler *run;
	bool has_uid_form; /* also valid as "UID name" */
	bool no_expunge;   /* the non-UID form holds EXPUNGE responses back */
	bool barrier;      /* changes how what follows is read: nothing after it is
	                    * parsed until it has run (LOGIN, IDLE, ENABLE, ...) */
};

const struct command_def *command_find(const char *name);
/* The CAPABILITY list for the session's current state, written into buf. */
struct caps {
	char s[512];
};
const char *capabilities(const struct session *s, struct caps *buf);

/* Responses. sess_tagged first reports changes to the selected mailbox. */
void sess_untagged(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sess_tagged(struct session *s, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sess_write(struct session *s, const struct sbuf *b);
/* A continuation request, "+ text". */
void sess_continue(struct session *s, const char *text);
/* Brings the selected mailbox's view up to date and reports what changed. */
void sess_sync(struct session *s);
void sess_unselect(struct session *s);
/* Moves to Authenticated as user and logs the login (once per session). */
void sess_login(struct session *s, const char *user, const char *mech);
/* The session ends once its output is sent; reason goes to the log's logout
 * line ("logout", "timeout", ...; the first one given counts). */
void sess_close(struct session *s, const char *reason);

/* Arguments. */
bool arg_is_astring(const struct imap_arg *a);
bool arg_is_word(const struct imap_arg *a, const char *word); /* atom, any case */
/* Decodes a mailbox argument into a checked UTF-8 name; on failure answers
 * NO or BAD itself and returns NULL. */
char *sess_mailbox_arg(struct session *s, const struct imap_arg *a);
/* Resolves a sequence set of message numbers (uid=false) or UIDs into view
 * positions, ascending and without repeats (RFC 9051 6.4.8 for UIDs). On a
 * bad set (syntax, or a message number past EXISTS) it answers BAD itself
 * and returns false. */
bool sess_msgset(struct session *s, const struct imap_arg *a, bool uid, size_t **idx, size_t *n);
/* The FLAGS list of the message at view position i, "(...)", into b. */
void sess_flags(struct session *s, struct sbuf *b, size_t i);
/* "* n FETCH (FLAGS (...))" for view position i, with UID n for UID commands. */
void sess_fetch_flags(struct session *s, size_t i);
/* The untagged FLAGS and PERMANENTFLAGS of the selected mailbox. */
void sess_flags_list(struct session *s);

#define MAX_KEYWORDS 64
/* Splits flags (the items of a flag list) into system flag bits and
 * keywords (pointing into args; up to MAX_KEYWORDS); false if any is
 * invalid, \Recent included: it cannot be set (RFC 9051 2.3.2). */
bool parse_flags(const struct imap_arg *args, size_t n, uint32_t *flags, const char **kw,
                 size_t *nkw);

/* Answers NO with the response code a store error calls for. */
void sess_store_error(struct session *s, enum store_rc rc, const char *what);

/* Handlers, by family. */
cmd_handler cmd_capability, cmd_noop, cmd_logout, cmd_starttls, cmd_login, cmd_authenticate,
    cmd_enable, cmd_id, cmd_namespace;
cmd_handler cmd_select, cmd_examine, cmd_create, cmd_delete, cmd_rename, cmd_subscribe,
    cmd_unsubscribe, cmd_list, cmd_lsub, cmd_status;
cmd_handler cmd_append, cmd_check, cmd_close, cmd_unselect, cmd_expunge, cmd_copy, cmd_move;
cmd_handler cmd_fetch, cmd_store, cmd_search, cmd_idle;

/* A FETCH in progress goes on (after its output drained); false when done. */
bool fetch_resume(struct session *s);
void fetch_job_free(struct fetch_job *job);
/* A SEARCH in progress runs its next slice; false when it has answered. */
bool search_resume(struct session *s);
void search_job_free(struct search_job *job);

/* Job: the password was right (login_user): admits the user, opens the
 * store and answers the LOGIN, AUTHENTICATE or PREAUTH. */
void login_finish(struct session *s);
/* The selected mailbox may have changed (a watch fired): it is looked at
 * once the session is idle and the client reads. Loop only. */
void session_wake(struct session *s);

/* AUTHENTICATE's continuation line arrived. */
void auth_sasl_response(struct session *s, const char *line);
/* A line arrived while idling: DONE, or a mistake that ends IDLE too. */
void idle_line(struct session *s, const char *line);
/* Job: reports what changed while idling. */
void idle_sync(struct session *s);

#endif
