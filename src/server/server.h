/* The server process model (design.md section 4): the master binds the
 * listening socket, then runs N worker processes, each with one event loop
 * over many connections. A worker that dies is restarted. SIGTERM or SIGINT
 * stops the workers and the master: workers stop accepting, sessions between
 * commands get "* BYE" at once and busy ones after their command (within 10
 * s). SIGHUP starts new workers for new connections while the old ones drain
 * the same way. `gannet imap` runs one connection on
 * stdin/stdout with the same loop. */
#ifndef GANNET_SERVER_SERVER_H
#define GANNET_SERVER_SERVER_H

#include <stdbool.h>

#include "imap/session.h"

struct server_config {
	const char
	    *listen; /* HOST:PORT, [V6ADDR]:PORT; plain IMAP, with STARTTLS if a cert is set */
	const char *tls_listen; /* the same, implicit TLS (RFC 8314: port 993) */
	const char *cert, *key; /* PEM files, read again on SIGHUP */
	const char *run_as;     /* started as root: the user to become after binding */
	unsigned workers;
	bool foreground;
	/* Caps over all workers; a connection over one gets "* BYE" and is closed. */
	unsigned max_connections;
	unsigned max_ip_connections;   /* from one client address */
	unsigned max_user_connections; /* logged in as one user */
	struct session_config session;
};

int server_run(const struct server_config *cfg);
/* One session over stdin/stdout, authenticated as user (PREAUTH). */
int server_run_stdio(const struct session_config *cfg, const char *user);

#endif
