#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/tls.h"
#include "server/conntable.h"
#include "server/privs.h"
#include "store/pool.h"
#include "util/jobs.h"
#include "util/log.h"
#include "util/str.h"

/* How long a stopping worker lets running commands finish. */
#define DRAIN_SECONDS 10

/* The sockets the master binds: plain IMAP (with STARTTLS when there is a
 * certificate) and implicit TLS. */
enum { PORT_PLAIN, PORT_TLS, NPORTS };

struct worker;

/* One listening socket as a worker accepts on it. */
struct port {
	struct worker *w;
	struct evconnlistener *listener; /* NULL: not configured */
	bool implicit_tls;
	char number[8]; /* the port number, for the connect log line */
};

/* What the master hands each worker it starts. */
struct worker_start {
	const struct server_config *cfg;
	int lfd[NPORTS]; /* -1: not configured */
	SSL_CTX *tls;    /* the certificate of this generation; NULL: none */
	struct conn_table *table;
	unsigned row;
	struct privs privs; /* whom the worker becomes */
};

/* One worker's context: its loop, its shared stores and change watcher, its
 * row of the connection table, and its live connections. */
struct worker {
	struct event_base *base;
	const struct server_config *scfg;
	struct session_config cfg; /* the master's, with this worker's pool */
	struct conn_table *table;
	unsigned row;
	struct event *changes; /* the pool's watcher is readable */
	struct event *done;    /* jobs are done (util/jobs.h) */
	struct event *drain_timer;
	struct event *resume_timer; /* accepting again after giving way */
	struct port ports[NPORTS];
	SSL_CTX *tls;
	bool draining;
	struct client **clients;
	size_t n, cap;
};

/* One connection as the worker counts it. */
struct client {
	struct worker *w;
	struct conn *conn;
	int slot; /* in the worker's row of the connection table */
};

static void client_closed(struct conn *c, void *arg)
{
	struct client *cl = arg;
	struct worker *w = cl->w;
	conn_table_remove(w->table, w->row, cl->slot);
	for (size_t i = 0; i < w->n; i++)
		if (w->clients[i] == cl) {
			w->clients[i] = w->clients[--w->n];
			break;
		}
	free(cl);
	if (w->draining && w->n == 0)
		event_base_loopbreak(w->base);
}

/* The session's login hook: the per-user cap (session.h). */
static bool client_admit_user(void *arg, const char *user)
{
	struct client *cl = arg;
	struct worker *w = cl->w;
	struct conn_counts n = conn_table_count(w->table, NULL, user);
	if (n.user >= w->scfg->max_user_connections) {
		log_info("refused: user=%s has %u connections (max_user_connections)", user,
		         n.user);
		return false;
	}
	conn_table_set_user(w->table, w->row, cl->slot, user);
	return true;
}

static void peer_name(const struct sockaddr *sa, char *addr, size_t alen, char *out, size_t len)
{
	int port = 0;
	snprintf(addr, alen, "?");
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)alen);
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)alen);
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, len, "%s:%d", addr, port);
}

/* Over a cap: one BYE (RFC 9051 7.1.5: BYE may refuse a connection), best
 * effort on the fresh socket, and close. */
static void refuse(int fd, const char *peer, const char *why)
{
	char line[160];
	int len = snprintf(line, sizeof line, "* BYE [UNAVAILABLE] %s; try again later\r\n", why);
	if (send(fd, line, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("refusing %s: %s", peer, strerror(errno));
	close(fd);
	log_info("refused: %s from=%s", why, peer);
}

static const char *over_cap(struct worker *w, const char *addr)
{
	struct conn_counts n = conn_table_count(w->table, addr, NULL);
	if (n.total >= w->scfg->max_connections)
		return "Too many connections to this server";
	if (n.addr >= w->scfg->max_ip_connections)
		return "Too many connections from your address";
	return NULL;
}

/* Workers share one listening socket, and the kernel wakes them all; the
 * one that is idle most wins most, so long-lived IMAP connections would pile
 * up on one worker. A worker with clearly more than its share stops
 * accepting for a moment and lets the others take the next ones. */
#define GIVE_WAY_MS 20
#define GIVE_WAY_SLACK 4

static void set_accepting(struct worker *w, bool on)
{
	for (int i = 0; i < NPORTS; i++) {
		if (!w->ports[i].listener)
			continue;
		if (on)
			evconnlistener_enable(w->ports[i].listener);
		else
			evconnlistener_disable(w->ports[i].listener);
	}
}

static void on_resume_accepting(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	if (!w->draining)
		set_accepting(w, true);
}

static void balance(struct worker *w)
{
	struct conn_counts n = conn_table_count(w->table, NULL, NULL);
	if (w->scfg->workers < 2 || w->n <= n.total / w->scfg->workers + GIVE_WAY_SLACK)
		return;
	set_accepting(w, false);
	struct timeval tv = {0, GIVE_WAY_MS * 1000};
	event_add(w->resume_timer, &tv);
}

/* Loopback: 127.0.0.0/8, ::1, and 127.x mapped into IPv6. */
static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct port *port = arg;
	struct worker *w = port->w;
	char addr[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN + 16];
	peer_name(sa, addr, sizeof addr, peer, sizeof peer);
	const char *why = over_cap(w, addr);
	int slot = why ? -1 : conn_table_add(w->table, w->row, addr);
	if (slot < 0) {
		refuse(fd, peer, why ? why : "Too many connections to this server");
		return;
	}
	int one = 1, idle = 300, intvl = 60, cnt = 5;
	/* Responses are written as they are ready; Nagle's algorithm would hold
	 * the tagged line back until the client's delayed ACK (40 ms). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* A phone that left without closing would hold its session for the
	 * whole inactivity timer; keepalive probes find it within 10 minutes,
	 * and keep NAT mappings of idling clients alive. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	if (w->n == w->cap)
		w->clients =
		    xrealloc(w->clients, (w->cap = w->cap ? w->cap * 2 : 64) * sizeof *w->clients);
	struct client *cl = xcalloc(1, sizeof *cl);
	cl->w = w;
	cl->slot = slot;
	w->clients[w->n++] = cl;
	struct conn_link link = {.peer = peer,
	                         .port = port->number,
	                         .local = is_loopback(sa),
	                         .tls = w->tls,
	                         .implicit_tls = port->implicit_tls};
	cl->conn = conn_new(w->base, fd, fd, &link, &w->cfg, NULL, client_closed, cl);
	if (!cl->conn) {
		client_closed(NULL, cl);
		return;
	}
	balance(w);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	log_warn("stopping with %zu connection%s still busy after %d s", w->n, w->n == 1 ? "" : "s",
	         DRAIN_SECONDS);
	event_base_loopbreak(w->base);
}

/* SIGTERM: accept no more; sessions between commands get BYE now, the
 * others when their command is done, and after DRAIN_SECONDS everyone. */
static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	if (w->draining)
		return;
	w->draining = true;
	set_accepting(w, false);
	if (w->n == 0) {
		event_base_loopbreak(w->base);
		return;
	}
	struct timeval tv = {DRAIN_SECONDS, 0};
	w->drain_timer = evtimer_new(w->base, on_drain_timeout, w);
	event_add(w->drain_timer, &tv);
	/* conn_drain may close (and unlist) a connection at once: walk a copy. */
	size_t n = w->n;
	struct conn **conns = xmalloc((n ? n : 1) * sizeof *conns);
	for (size_t i = 0; i < n; i++)
		conns[i] = w->clients[i]->conn;
	for (size_t i = 0; i < n; i++)
		conn_drain(conns[i]);
	free(conns);
}

static void on_changes(evutil_socket_t fd, short what, void *arg)
{
	struct store_pool *pool = arg;
	if (what & EV_READ)
		store_pool_dispatch(pool);
	else if (store_pool_poll_ms(pool))
		store_pool_poll(pool); /* no inotify, or past its limit of watches */
}

/* Each process watches with its own descriptor: an inotify event is read
 * by one reader only. The same event's timeout is the fallback look. */
static struct event *watch_changes(struct event_base *base, struct store_pool *pool)
{
	int fd = store_pool_fd(pool);
	struct event *ev =
	    event_new(base, fd, (fd >= 0 ? EV_READ : 0) | EV_PERSIST, on_changes, pool);
	struct timeval tv = {STORE_POOL_POLL_MS / 1000, (STORE_POOL_POLL_MS % 1000) * 1000};
	event_add(ev, &tv);
	return ev;
}

static void on_jobs_done(evutil_socket_t fd, short what, void *arg)
{
	jobs_dispatch(arg);
}

/* The loop hears of finished jobs through one eventfd. */
static struct event *watch_jobs(struct event_base *base, struct jobs *js)
{
	struct event *ev = event_new(base, jobs_fd(js), EV_READ | EV_PERSIST, on_jobs_done, js);
	event_add(ev, NULL);
	return ev;
}

/* The number of the port a listening socket is bound to. */
static void port_number(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
		                                : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	snprintf(out, len, "%d", port);
}

static int worker_main(const struct worker_start *ws)
{
	const struct server_config *scfg = ws->cfg;
	struct worker w = {
	    .scfg = scfg, .cfg = scfg->session, .table = ws->table, .row = ws->row, .tls = ws->tls};
	w.base = event_base_new();
	if (!w.base)
		return 1;
	w.cfg.jobs = jobs_new(scfg->session.threads);
	if (!w.cfg.jobs) {
		event_base_free(w.base);
		return 1;
	}
	w.cfg.pool = store_pool_new(scfg->session.data_dir, &scfg->session.store);
	w.cfg.admit_user = client_admit_user;
	w.changes = watch_changes(w.base, w.cfg.pool);
	w.done = watch_jobs(w.base, w.cfg.jobs);
	for (int i = 0; i < NPORTS; i++) {
		w.ports[i] = (struct port){.w = &w, .implicit_tls = i == PORT_TLS};
		if (ws->lfd[i] < 0)
			continue;
		/* Backlog 0: the socket listens already; -1 would listen() again with 128. */
		w.ports[i].listener = evconnlistener_new(w.base, on_accept, &w.ports[i],
		                                         LEV_OPT_CLOSE_ON_EXEC, 0, ws->lfd[i]);
		port_number(ws->lfd[i], w.ports[i].number, sizeof w.ports[i].number);
	}
	w.resume_timer = evtimer_new(w.base, on_resume_accepting, &w);
	struct event *term = evsignal_new(w.base, SIGTERM, on_stop, &w);
	struct event *intr = evsignal_new(w.base, SIGINT, on_stop, &w);
	event_add(term, NULL);
	event_add(intr, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN); /* the master's to act on */
	event_base_dispatch(w.base);
	for (int i = 0; i < NPORTS; i++)
		if (w.ports[i].listener)
			evconnlistener_free(w.ports[i].listener);
	while (w.n > 0)
		conn_shutdown(w.clients[w.n - 1]->conn); /* removes itself from the list */
	free(w.clients);
	/* Sessions whose job still runs are freed as it ends, and their
	 * stores closed on their queues: all before the pool goes. */
	jobs_free(w.cfg.jobs);
	event_free(w.done);
	event_free(w.changes);
	if (w.drain_timer)
		event_free(w.drain_timer);
	event_free(w.resume_timer);
	store_pool_free(w.cfg.pool);
	event_free(term);
	event_free(intr);
	event_base_free(w.base);
	return 0;
}

/* Connections the kernel completes before a worker accepts them: a burst of
 * reconnecting clients (a worker restarted, a network came back) must not
 * overflow it, or their handshakes stall. net.core.somaxconn caps it. */
#define LISTEN_BACKLOG 4096

static int listen_on(const char *spec)
{
	char *host = xstrdup(spec);
	char *colon = strrchr(host, ':');
	int fd = -1;
	if (!colon) {
		log_error("listen %s: expected HOST:PORT", spec);
		free(host);
		return -1;
	}
	*colon = '\0';
	const char *port = colon + 1, *h = host;
	if (h[0] == '[' && colon > host && colon[-1] == ']') {
		colon[-1] = '\0';
		h++;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(h[0] ? h : NULL, port, &hints, &res);
	if (rc != 0) {
		log_error("listen %s: %s", spec, gai_strerror(rc));
		free(host);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0 ||
	    evutil_make_socket_nonblocking(fd) < 0) {
		log_error("cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	free(host);
	return fd;
}

/* A worker gives up root before it touches any mail (privs.h). */
static pid_t spawn_worker(const struct worker_start *ws)
{
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		sigprocmask(SIG_UNBLOCK, &set, NULL); /* the master blocks them for sigwait */
		int rc = privs_drop(&ws->privs) ? worker_main(ws) : 1;
		for (int i = 0; i < NPORTS; i++)
			if (ws->lfd[i] >= 0)
				close(ws->lfd[i]);
		exit(rc);
	}
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	return pid;
}

/* The master's view of its workers: one per row of the connection table.
 * There are twice as many rows as workers, so a new generation can start
 * while the old one finishes its sessions. */
struct master {
	struct worker_start start; /* row set per worker */
	pid_t *pid;                /* per row; 0: free */
	bool *retiring;
	unsigned rows;
};

static bool start_worker(struct master *m, unsigned row)
{
	m->start.row = row;
	m->pid[row] = spawn_worker(&m->start);
	m->retiring[row] = false;
	return m->pid[row] > 0;
}

static void reap_workers(struct master *m)
{
	pid_t pid;
	int status;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (unsigned r = 0; r < m->rows; r++) {
			if (m->pid[r] != pid)
				continue;
			conn_table_clear_row(m->start.table, r);
			m->pid[r] = 0;
			if (m->retiring[r])
				break;
			log_warn("worker %d exited (status %d); restarting", (int)pid, status);
			struct timespec pause = {0, 100 * 1000 * 1000}; /* no busy restart loop */
			nanosleep(&pause, NULL);
			start_worker(m, r);
		}
}

/* SIGHUP reads the certificate and key again; the new generation uses them,
 * and a file that cannot be used keeps the old ones (and says why). */
static void reload_tls(struct master *m)
{
	const struct server_config *cfg = m->start.cfg;
	if (!cfg->cert)
		return;
	SSL_CTX *fresh = tls_ctx_new(cfg->cert, cfg->key);
	if (!fresh) {
		log_warn("SIGHUP: keeping the previous certificate");
		return;
	}
	tls_ctx_free(m->start.tls); /* the running workers have their own copy */
	m->start.tls = fresh;
	log_info("SIGHUP: certificate %s loaded", cfg->cert);
}

/* SIGHUP: a new generation of workers takes new connections at once; the
 * old one stops accepting and drains its sessions as on SIGTERM. */
static void roll_workers(struct master *m)
{
	unsigned started = 0;
	reload_tls(m);
	bool *old = xcalloc(m->rows, sizeof *old);
	for (unsigned r = 0; r < m->rows; r++)
		old[r] = m->pid[r] && !m->retiring[r];
	for (unsigned r = 0; r < m->rows; r++) {
		if (!old[r])
			continue;
		unsigned fresh = 0;
		while (fresh < m->rows && m->pid[fresh])
			fresh++;
		if (fresh == m->rows) {
			log_warn(
			    "SIGHUP: the previous workers are still draining; try again later");
			break;
		}
		if (!start_worker(m, fresh))
			break;
		m->retiring[r] = true;
		kill(m->pid[r], SIGTERM);
		started++;
	}
	free(old);
	log_info("SIGHUP: %u new worker%s; the old ones finish their sessions", started,
	         started == 1 ? "" : "s");
}

/* The master: keeps N workers alive until told to stop. */
static int supervise(struct master *m)
{
	const struct server_config *cfg = m->start.cfg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m->rows = 2 * cfg->workers;
	m->start.table = conn_table_new(m->rows, cfg->max_connections);
	if (!m->start.table)
		return 1;
	m->pid = xcalloc(m->rows, sizeof *m->pid);
	m->retiring = xcalloc(m->rows, sizeof *m->retiring);
	for (unsigned r = 0; r < cfg->workers; r++)
		start_worker(m, r);
	for (;;) {
		int sig;
		sigwait(&set, &sig);
		if (sig == SIGCHLD)
			reap_workers(m);
		else if (sig == SIGHUP)
			roll_workers(m);
		else
			break;
	}
	for (unsigned r = 0; r < m->rows; r++)
		if (m->pid[r] > 0)
			kill(m->pid[r], SIGTERM);
	for (unsigned r = 0; r < m->rows; r++)
		if (m->pid[r] > 0)
			waitpid(m->pid[r], NULL, 0);
	free(m->pid);
	free(m->retiring);
	conn_table_free(m->start.table);
	return 0;
}

/* Binds what is configured; the certificate is read here too, while the
 * master may still read root-only key files. */
static bool open_ports(struct master *m)
{
	const struct server_config *cfg = m->start.cfg;
	m->start.lfd[PORT_PLAIN] = cfg->listen ? listen_on(cfg->listen) : -1;
	m->start.lfd[PORT_TLS] = cfg->tls_listen ? listen_on(cfg->tls_listen) : -1;
	if ((cfg->listen && m->start.lfd[PORT_PLAIN] < 0) ||
	    (cfg->tls_listen && m->start.lfd[PORT_TLS] < 0))
		return false;
	if (cfg->cert && !(m->start.tls = tls_ctx_new(cfg->cert, cfg->key)))
		return false;
	return true;
}

int server_run(const struct server_config *cfg)
{
	struct master m = {.start = {.cfg = cfg, .lfd = {-1, -1}}};
	int rc = 1;
	if (!privs_resolve(cfg->run_as, cfg->session.data_dir, &m.start.privs) || !open_ports(&m))
		goto out;
	if (!cfg->foreground && daemon(1, 0) < 0) {
		log_error("daemon: %s", strerror(errno));
		goto out;
	}
	log_info("listening on %s%s%s%s with %u worker%s%s%s", cfg->listen ? cfg->listen : "",
	         cfg->listen && cfg->tls_listen ? " and " : "", cfg->tls_listen ? "TLS " : "",
	         cfg->tls_listen ? cfg->tls_listen : "", cfg->workers, cfg->workers == 1 ? "" : "s",
	         m.start.privs.change ? " as " : "",
	         m.start.privs.change ? m.start.privs.name : "");
	rc = supervise(&m);
	log_info("stopped");
out:
	for (int i = 0; i < NPORTS; i++)
		if (m.start.lfd[i] >= 0)
			close(m.start.lfd[i]);
	tls_ctx_free(m.start.tls);
	return rc;
}

static void on_stdio_closed(struct conn *c, void *arg)
{
	*(bool *)arg = true;
}

int server_run_stdio(const struct session_config *cfg, const char *user)
{
	struct event_base *base = event_base_new();
	if (!base)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	bool closed = false;
	int in = dup(0), out = dup(1);
	struct session_config scfg = *cfg;
	scfg.jobs = jobs_new(cfg->threads);
	if (!scfg.jobs) {
		event_base_free(base);
		return 1;
	}
	scfg.pool = store_pool_new(cfg->data_dir, &cfg->store);
	struct event *changes = watch_changes(base, scfg.pool);
	struct event *done = watch_jobs(base, scfg.jobs);
	struct conn_link link = {.peer = "stdio", .local = true};
	if (!conn_new(base, in, out, &link, &scfg, user, on_stdio_closed, &closed))
		closed = true;
	/* The loop ends when the connection closed, or with the watcher alone. */
	while (!closed && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	jobs_free(scfg.jobs);
	event_free(done);
	event_free(changes);
	store_pool_free(scfg.pool);
	event_base_free(base);
	return closed ? 0 : 1;
}
