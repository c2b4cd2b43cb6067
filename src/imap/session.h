/* The IMAP session: the protocol's state machine (RFC 9051 section 3).
 *
 * Not Authenticated -> Authenticated -> Selected <-> Authenticated -> Logout,
 * Logout from any state, PREAUTH starting in Authenticated. The network layer
 * feeds bytes in with session_feed and sends what the session wrote to its
 * output buffer (session_output); it knows nothing else of IMAP. Which
 * commands are allowed in which state is decided in one place, the command
 * table (commands.c).
 *
 * The loop only parses (design.md section 4): the commands run as the
 * session's job on its user's queue (util/jobs.h), or before login on a
 * password-checking lane, and session_feed answers SESSION_BUSY meanwhile.
 * When the job is done the session calls its ready function, and the
 * connection takes the output and feeds again. Every function here is for
 * the loop's thread. */
#ifndef GANNET_IMAP_SESSION_H
#define GANNET_IMAP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/parser.h"
#include "store/store.h"
#include "util/jobs.h"

struct evbuffer;

struct store_pool;
struct throttle;

/* Who may send a password in the clear (RFC 9051 section 11.1, RFC 8314):
 * on a connection without TLS, LOGIN and AUTHENTICATE PLAIN are refused with
 * NO [PRIVACYREQUIRED] and LOGINDISABLED is advertised, unless allowed here. */
enum plaintext_auth {
	PLAINTEXT_LOCAL, /* allowed from loopback addresses only (the default) */
	PLAINTEXT_NEVER, /* never, loopback included */
	PLAINTEXT_ALWAYS,
};

struct session_config {
	const char *data_dir;
	struct store_pool *pool;  /* the process's shared stores and watcher */
	struct jobs *jobs;        /* the worker's threads and queues */
	unsigned threads[NLANES]; /* how many run each lane (util/jobs.h) */
	/* Called at login with the session's ctx; false: over the per-user
	 * connection cap, and the session ends with BYE. NULL: no cap. */
	bool (*admit_user)(void *ctx, const char *user);
	char *passwd_path;
	struct parser_limits parser;
	struct store_limits store;
	unsigned login_timeout;      /* seconds before login */
	unsigned idle_timeout;       /* seconds after login (RFC 9051 5.4: at least 30 minutes) */
	unsigned auth_fail_delay_ms; /* the first failed login's delay; it doubles */
	unsigned auth_fail_delay_max_ms; /* ... up to this */
	struct throttle *throttle;       /* failed logins, shared by all workers; NULL: none */
	unsigned long long append_limit;
	size_t max_seq_ranges;   /* ranges in one sequence set */
	size_t search_max_keys;  /* keys in one search program, operators included */
	size_t search_max_depth; /* nested NOT, OR and groups in one search program */
	unsigned max_pipeline;   /* commands run from one read before their answers go out */
	size_t max_output;       /* bytes waiting to be sent before the connection stops reading */
	enum plaintext_auth plaintext_auth;
};

/* What the network layer knows about a connection (session_new's link). */
enum session_link {
	LINK_TLS = 1 << 0,      /* the connection is encrypted now */
	LINK_STARTTLS = 1 << 1, /* it can become so: STARTTLS is offered */
	LINK_LOCAL = 1 << 2,    /* the peer is on this machine (loopback, stdin) */
};

enum session_state {
	STATE_NOT_AUTH = 1 << 0,
	STATE_AUTH = 1 << 1,
	STATE_SELECTED = 1 << 2,
	STATE_LOGOUT = 1 << 3,
};

enum session_status {
	SESSION_CONTINUE, /* send the output, read on */
	SESSION_PAUSE,    /* send the output, stop reading for session_pause_ms() (0: let
	                   * the other connections go first, then feed again) */
	SESSION_CLOSE,    /* send the output, then close */
	SESSION_STARTTLS, /* send the output, discard unread input, then begin the TLS
	                   * handshake and call session_tls_started */
	SESSION_BUSY,     /* send the output, stop reading: a job runs, and the
	                   * session calls its ready function when it is done */
};

struct session;

/* ctx is passed to cfg->admit_user; link is a set of enum session_link;
 * conn_out is what the connection has yet to send (IDLE holds its updates
 * back while it is long). ready(ready_arg) is called when a job is done. */
struct session *session_new(const struct session_config *cfg, struct evbuffer *conn_out,
                            const char *peer, unsigned link, void *ctx, void (*ready)(void *arg),
                            void *ready_arg);
/* The connection is gone. The session frees itself once nothing of it
 * runs: at once, or when its job is done and its store closed on its
 * user's queue. */
void session_free(struct session *s);
/* What the session wrote: the connection moves it to its own buffer. */
struct evbuffer *session_output(struct session *s);

/* Writes the greeting; with user set the session starts authenticated (PREAUTH). */
enum session_status session_start(struct session *s, const char *preauth_user);
/* Parses and runs what it can of the input, draining what it used. */
enum session_status session_feed(struct session *s, struct evbuffer *in);
unsigned session_pause_ms(const struct session *s);
/* The pause is over: the deferred response goes out. */
void session_resume(struct session *s);
/* Seconds of silence allowed in the current state. */
unsigned session_timeout(const struct session *s);
/* The inactivity timer fired: says BYE. The caller closes. */
void session_timed_out(struct session *s);
/* Its job is queued or running: the session is not the loop's to touch. */
bool session_running(const struct session *s);
/* A job runs, or a command is still producing output (a long FETCH). */
bool session_busy(const struct session *s);
/* The server is stopping: says BYE. The caller closes. */
void session_shutdown(struct session *s);
/* For the log line at the session's end: the user logged in (NULL: none),
 * the command lines answered (syntax errors included), and why the session
 * chose to close (NULL: it did not; the client left, or the connection
 * failed). */
const char *session_user(const struct session *s);
unsigned long session_commands(const struct session *s);
const char *session_end_reason(const struct session *s);
/* TLS runs now (after STARTTLS), and out is the new output buffer: the
 * session counts as encrypted and STARTTLS is no longer offered. */
void session_tls_started(struct session *s, struct evbuffer *out);

#endif
