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
#include "store/pool.h"
#include "util/log.h"
#include "util/str.h"

/* One worker's context: its loop, its shared stores and change watcher, and
 * its live connections. */
struct worker {
	struct event_base *base;
	struct session_config cfg; /* the master's, with this worker's pool */
	struct event *changes;     /* the pool's watcher is readable */
	struct conn **conns;
	size_t n, cap;
};

static void worker_forget(struct conn *c, void *arg)
{
	struct worker *w = arg;
	for (size_t i = 0; i < w->n; i++)
		if (w->conns[i] == c) {
			w->conns[i] = w->conns[--w->n];
			return;
		}
}

static void peer_name(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, len, "%s:%d", host, port);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct worker *w = arg;
	char peer[80];
	int one = 1;
	/* Responses are written as they are ready; Nagle's algorithm would hold
	 * the tagged line back until the client's delayed ACK (40 ms). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	peer_name(sa, peer, sizeof peer);
	if (w->n == w->cap)
		w->conns =
		    xrealloc(w->conns, (w->cap = w->cap ? w->cap * 2 : 64) * sizeof *w->conns);
	struct conn *c = conn_new(w->base, fd, fd, peer, &w->cfg, NULL, worker_forget, w);
	w->conns[w->n++] = c;
	log_debug("connect from %s", peer);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	event_base_loopbreak(w->base);
}

static void on_changes(evutil_socket_t fd, short what, void *arg)
{
	store_pool_dispatch(arg);
}

/* Each process watches with its own descriptor: an inotify event is read
 * by one reader only. */
static struct event *watch_changes(struct event_base *base, struct store_pool *pool)
{
	if (store_pool_fd(pool) < 0)
		return NULL;
	struct event *ev =
	    event_new(base, store_pool_fd(pool), EV_READ | EV_PERSIST, on_changes, pool);
	event_add(ev, NULL);
	return ev;
}

static int worker_main(int lfd, const struct session_config *cfg)
{
	struct worker w = {.cfg = *cfg};
	w.base = event_base_new();
	if (!w.base)
		return 1;
	w.cfg.pool = store_pool_new(cfg->data_dir, &cfg->store);
	w.changes = watch_changes(w.base, w.cfg.pool);
	struct evconnlistener *l =
	    evconnlistener_new(w.base, on_accept, &w, LEV_OPT_CLOSE_ON_EXEC, -1, lfd);
	struct event *term = evsignal_new(w.base, SIGTERM, on_stop, &w);
	struct event *intr = evsignal_new(w.base, SIGINT, on_stop, &w);
	event_add(term, NULL);
	event_add(intr, NULL);
	signal(SIGPIPE, SIG_IGN);
	event_base_dispatch(w.base);
	evconnlistener_free(l);
	while (w.n > 0)
		conn_shutdown(w.conns[w.n - 1]); /* removes itself from the list */
	free(w.conns);
	if (w.changes)
		event_free(w.changes);
	store_pool_free(w.cfg.pool);
	event_free(term);
	event_free(intr);
	event_base_free(w.base);
	return 0;
}

static int listen_on(const char *spec)
{
	char *host = xstrdup(spec);
	char *colon = strrchr(host, ':');
	int fd = -1;
	if (!colon) {
		log_error("--listen %s: expected HOST:PORT", spec);
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
		log_error("--listen %s: %s", spec, gai_strerror(rc));
		free(host);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0 ||
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

static pid_t spawn_worker(int lfd, const struct session_config *cfg)
{
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigprocmask(SIG_UNBLOCK, &set, NULL); /* the master blocks them for sigwait */
		int rc = worker_main(lfd, cfg);
		close(lfd);
		exit(rc);
	}
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	return pid;
}

/* The master: keeps N workers alive until told to stop. */
static int supervise(int lfd, const struct server_config *cfg)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t *pids = xcalloc(cfg->workers, sizeof *pids);
	for (unsigned i = 0; i < cfg->workers; i++)
		pids[i] = spawn_worker(lfd, &cfg->session);
	for (;;) {
		int sig;
		sigwait(&set, &sig);
		if (sig != SIGCHLD)
			break;
		pid_t pid;
		int status;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (unsigned i = 0; i < cfg->workers; i++) {
				if (pids[i] != pid)
					continue;
				log_warn("worker %d exited (status %d); restarting", (int)pid,
				         status);
				struct timespec pause = {0, 100 * 1000 *
				                                1000}; /* no busy restart loop */
				nanosleep(&pause, NULL);
				pids[i] = spawn_worker(lfd, &cfg->session);
			}
		}
	}
	for (unsigned i = 0; i < cfg->workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (unsigned i = 0; i < cfg->workers; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	free(pids);
	return 0;
}

int server_run(const struct server_config *cfg)
{
	int lfd = listen_on(cfg->listen);
	if (lfd < 0)
		return 1;
	if (!cfg->foreground && daemon(1, 0) < 0) {
		log_error("daemon: %s", strerror(errno));
		return 1;
	}
	log_info("listening on %s with %u worker%s", cfg->listen, cfg->workers,
	         cfg->workers == 1 ? "" : "s");
	int rc = supervise(lfd, cfg);
	close(lfd);
	log_info("stopped");
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
	scfg.pool = store_pool_new(cfg->data_dir, &cfg->store);
	struct event *changes = watch_changes(base, scfg.pool);
	conn_new(base, in, out, "stdio", &scfg, user, on_stdio_closed, &closed);
	/* The loop ends when the connection closed, or with the watcher alone. */
	while (!closed && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	if (changes)
		event_free(changes);
	store_pool_free(scfg.pool);
	event_base_free(base);
	return closed ? 0 : 1;
}
