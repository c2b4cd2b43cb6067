/* A client connection: the socket (or a stdin/stdout pair for `gannet imap`),
 * its buffers and timers, and the session it feeds. It knows nothing of
 * IMAP beyond handing bytes to the session and sending back what it wrote.
 * Back-pressure: while more than cfg->max_output bytes wait to be sent, the
 * connection stops reading, so a client that does not read cannot make the
 * server buffer without bound. TLS: implicit (from the first byte) or
 * STARTTLS, when the session asks for it; either way the session is told. */
#ifndef GANNET_NET_CONN_H
#define GANNET_NET_CONN_H

#include "imap/session.h"

#include "net/tls.h"

struct event_base;
struct conn;

/* What the listener knows of a new connection. */
struct conn_link {
	const char *peer;  /* "ADDR:PORT" for the logs, or "stdio" */
	const char *port;  /* the port it came in on, for the logs; NULL: none (stdio) */
	bool local;        /* from this machine: loopback, or stdin/stdout */
	SSL_CTX *tls;      /* NULL: no TLS on this connection */
	bool implicit_tls; /* TLS from the first byte (RFC 8314), else offered by STARTTLS */
};

typedef void conn_closed_fn(struct conn *c, void *arg);

/* Takes ownership of the descriptors (TLS needs in_fd == out_fd).
 * preauth_user: start authenticated. arg goes to on_closed and is the
 * session's ctx (session_new). */
struct conn *conn_new(struct event_base *base, int in_fd, int out_fd, const struct conn_link *link,
                      const struct session_config *cfg, const char *preauth_user,
                      conn_closed_fn *on_closed, void *arg);
/* The server is stopping: BYE and close when no command is running, or as
 * soon as the running one is done. May free c before it returns. */
void conn_drain(struct conn *c);
/* Closes at once (server shutdown), after a last BYE if the socket takes it. */
void conn_shutdown(struct conn *c);

#endif
