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
#include "util/str.h"

struct session {
	const struct session_config *cfg;
	struct evbuffer *out;
	char *peer;
	enum session_state state;
	struct imap_parser *parser;
	struct store *store;
	char *user;
	struct view *view;
	bool utf8;                /* ENABLE UTF8=ACCEPT (RFC 6855) */
	struct imap_command *cur; /* the command running */
	char *sasl_tag;           /* AUTHENTICATE waiting for the client's response line */
	unsigned pause_ms;        /* answer deferred (failed login) */
	struct sbuf deferred;
	bool closing;
};

typedef void cmd_handler(struct session *s, struct imap_command *c);

struct command_def {
	const char *name;
	unsigned states; /* enum session_state bits */
	cmd_handler *run;
};

const struct command_def *command_find(const char *name);
/* The CAPABILITY list for the session's current state. */
const char *capabilities(const struct session *s);

/* Responses. sess_tagged first reports changes to the selected mailbox. */
void sess_untagged(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sess_tagged(struct session *s, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sess_write(struct session *s, const struct sbuf *b);
/* Brings the selected mailbox's view up to date and reports what changed. */
void sess_sync(struct session *s);
void sess_unselect(struct session *s);
void sess_login(struct session *s, const char *user);

/* Arguments. */
bool arg_is_astring(const struct imap_arg *a);
bool arg_is_word(const struct imap_arg *a, const char *word); /* atom, any case */
/* Decodes a mailbox argument into a checked UTF-8 name; on failure answers
 * NO or BAD itself and returns NULL. */
char *sess_mailbox_arg(struct session *s, const struct imap_arg *a);
/* Answers NO with the response code a store error calls for. */
void sess_store_error(struct session *s, enum store_rc rc, const char *what);

/* Handlers, by family. */
cmd_handler cmd_capability, cmd_noop, cmd_logout, cmd_login, cmd_authenticate, cmd_enable, cmd_id,
    cmd_namespace;
cmd_handler cmd_select, cmd_examine, cmd_create, cmd_delete, cmd_rename, cmd_subscribe,
    cmd_unsubscribe, cmd_list, cmd_lsub, cmd_status;
cmd_handler cmd_append, cmd_check, cmd_close, cmd_unselect;

/* AUTHENTICATE's continuation line arrived. */
void auth_sasl_response(struct session *s, const char *line);

#endif
