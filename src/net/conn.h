/* A client connection: the socket (or a stdin/stdout pair for `gannet imap`),
 * its buffers and timers, and the session it feeds. It knows nothing of
 * IMAP beyond handing bytes to the session and sending back what it wrote.
 * Back-pressure: while more than CONN_OUT_HIGH bytes wait to be sent, the
 * connection stops reading, so a client that does not read cannot make the
 * server buffer without bound. */
#ifndef GANNET_NET_CONN_H
#define GANNET_NET_CONN_H

#include "imap/session.h"

#define CONN_OUT_HIGH (1024 * 1024)

struct event_base;
struct conn;

typedef void conn_closed_fn(struct conn *c, void *arg);

/* Takes ownership of the descriptors. preauth_user: start authenticated.
 * arg goes to on_closed and is the session's ctx (session_new). */
struct conn *conn_new(struct event_base *base, int in_fd, int out_fd, const char *peer,
                      const struct session_config *cfg, const char *preauth_user,
                      conn_closed_fn *on_closed, void *arg);
/* The server is stopping: BYE and close when no command is running, or as
 * soon as the running one is done. May free c before it returns. */
void conn_drain(struct conn *c);
/* Closes at once (server shutdown), after a last BYE if the socket takes it. */
void conn_shutdown(struct conn *c);

#endif
