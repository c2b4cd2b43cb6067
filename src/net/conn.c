#include "net/conn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"

struct conn {
	struct bufferevent *in, *out; /* the same for a socket */
	struct event *idle_timer, *pause_timer;
	struct session *session;
	const struct session_config *cfg;
	SSL_CTX *tls; /* for STARTTLS; NULL once TLS runs, or where there is none */
	bool encrypted;
	char *peer;
	bool closing;
	bool draining; /* the server stops: close once the command running is done */
	bool paused;
	unsigned armed_secs; /* the inactivity timer's length, as last armed */
	bool idle_expired;   /* it ran out while a job ran: acted on when it ends */
	conn_closed_fn *on_closed;
	void *arg;
	/* For the logout line: IMAP bytes as the client sent and received them
	 * (inside TLS, before encryption), counted as they enter the input
	 * buffer and leave the output buffer; why the connection ended when the
	 * session did not decide it; and when it began. */
	uint64_t bytes_in, bytes_out;
	const char *end_reason;
	time_t started;
};

static time_t monotonic_secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The session writes into a buffer of its own (its job may run on another
 * thread); the connection takes what is there whenever the session is
 * not running. */
static void pump(struct conn *c)
{
	evbuffer_add_buffer(bufferevent_get_output(c->out), session_output(c->session));
}

/* A plain socket's output buffer sends message files with sendfile(2),
 * which libevent does only for buffers marked as drained to a descriptor
 * (as bufferevent_socket_new marks its own); the session's buffer, moved
 * whole into it, must say the same, or a FETCH of a 25 MB message reads the
 * file into memory. TLS must see the bytes, so there it is unmarked. */
static void mark_sendfile(struct conn *c, bool on)
{
	struct evbuffer *b = session_output(c->session);
	if (on)
		evbuffer_set_flags(b, EVBUFFER_FLAG_DRAINS_TO_FD);
	else
		evbuffer_clear_flags(b, EVBUFFER_FLAG_DRAINS_TO_FD);
}

/* One line per connection, however it ended. */
static void log_logout(const struct conn *c)
{
	const char *user = session_user(c->session), *why = session_end_reason(c->session);
	if (!why)
		why = c->end_reason ? c->end_reason : "closed";
	log_info("logout: user=%s from=%s in=%llu out=%llu commands=%lu secs=%lld reason=%s",
	         user ? user : "-", c->peer, (unsigned long long)c->bytes_in,
	         (unsigned long long)c->bytes_out, session_commands(c->session),
	         (long long)(monotonic_secs() - c->started), why);
}

static void conn_free(struct conn *c)
{
	log_logout(c);
	session_free(c->session);
	event_free(c->idle_timer);
	event_free(c->pause_timer);
	if (c->out != c->in)
		bufferevent_free(c->out);
	bufferevent_free(c->in);
	if (c->on_closed)
		c->on_closed(c, c->arg);
	free(c->peer);
	free(c);
}

/* A client that stops reading must not keep a closing connection forever. */
#define CLOSE_WRITE_SECONDS 30

static void arm_idle_timer(struct conn *c)
{
	c->armed_secs = session_timeout(c->session);
	struct timeval tv = {c->armed_secs, 0};
	event_add(c->idle_timer, &tv);
}

/* Stop reading and close once everything written has gone out. Returns
 * false if the connection is already gone. */
static bool begin_close(struct conn *c)
{
	c->closing = true;
	bufferevent_disable(c->in, EV_READ);
	event_del(c->idle_timer);
	if (evbuffer_get_length(bufferevent_get_output(c->out)) > 0) {
		struct timeval tv = {CLOSE_WRITE_SECONDS, 0};
		bufferevent_set_timeouts(c->out, NULL, &tv);
		return true;
	}
	conn_free(c);
	return false;
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* Plain counters, run by libevent whenever a buffer changes. */
static void count_in(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	((struct conn *)arg)->bytes_in += info->n_added;
}

static void count_out(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	((struct conn *)arg)->bytes_out += info->n_deleted;
}

/* For new bufferevents: at the start, and after STARTTLS. */
static void set_callbacks(struct conn *c)
{
	bufferevent_setcb(c->in, on_read, c->out == c->in ? on_write : NULL, on_event, c);
	if (c->out != c->in)
		bufferevent_setcb(c->out, NULL, on_write, on_event, c);
	evbuffer_add_cb(bufferevent_get_input(c->in), count_in, c);
	evbuffer_add_cb(bufferevent_get_output(c->out), count_out, c);
}

static struct bufferevent *socket_bev(struct event_base *base, int fd, SSL_CTX *tls);

/* STARTTLS: the tagged OK goes out in the clear, then the socket gets a TLS
 * bufferevent. What the client sent after STARTTLS in the clear is dropped
 * (RFC 9051 6.2.1: nothing may survive into TLS); bytes not yet read reach
 * the handshake and fail it. */
static bool start_tls(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->in), *out = bufferevent_get_output(c->in);
	int fd = (int)bufferevent_getfd(c->in);
	evbuffer_drain(in, evbuffer_get_length(in));
	/* The OK is a short line for a socket whose send buffer is empty: it
	 * fits at once, or the client is not reading and will not do TLS
	 * either. The bufferevent is being replaced, so its buffer may be
	 * written from here (libevent freezes it for its own writer). */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write(out, fd) <= 0) {
			c->end_reason = "error";
			return begin_close(c);
		}
	/* TLS gets a descriptor of its own: the old bufferevent was made with
	 * BEV_OPT_CLOSE_ON_FREE and closes the one it has. */
	int tls_fd = dup(fd);
	struct bufferevent *bev =
	    tls_fd >= 0 ? socket_bev(bufferevent_get_base(c->in), tls_fd, c->tls) : NULL;
	if (!bev) {
		if (tls_fd >= 0)
			close(tls_fd);
		log_warn("STARTTLS from %s: cannot set up TLS", c->peer);
		c->end_reason = "error";
		return begin_close(c);
	}
	bufferevent_free(c->in);
	c->in = c->out = bev;
	c->tls = NULL;
	c->encrypted = true;
	mark_sendfile(c, false);
	set_callbacks(c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	session_tls_started(c->session, bufferevent_get_output(bev));
	log_info("starttls: from=%s", c->peer);
	return true;
}

/* Runs what input there is; false if that closed and freed the connection. */
static bool process_input(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->in);
	struct evbuffer *out = bufferevent_get_output(c->out);
	if (c->closing || c->paused || evbuffer_get_length(out) > c->cfg->max_output)
		return true;
	enum session_status st = session_feed(c->session, in);
	if (c->draining && st != SESSION_CLOSE && !session_busy(c->session)) {
		session_shutdown(c->session);
		st = SESSION_CLOSE;
	}
	if (st == SESSION_BUSY) {
		/* The job owns the session's buffer now: what it writes is
		 * taken when it is done (on_session_ready). */
		bufferevent_disable(c->in, EV_READ);
		return true;
	}
	pump(c);
	if (st == SESSION_CLOSE)
		return begin_close(c);
	if (st == SESSION_STARTTLS)
		return start_tls(c);
	if (st == SESSION_PAUSE) {
		struct timeval tv = {session_pause_ms(c->session) / 1000,
		                     (session_pause_ms(c->session) % 1000) * 1000};
		c->paused = true;
		bufferevent_disable(c->in, EV_READ);
		event_add(c->pause_timer, &tv);
		return true;
	}
	if (evbuffer_get_length(out) > c->cfg->max_output)
		bufferevent_disable(c->in, EV_READ);
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	c->idle_expired = false; /* the client spoke */
	if (process_input(c) && !c->closing)
		arm_idle_timer(c); /* after the commands: login changes the timeout */
}

/* Called when the output buffer has drained (write low-water mark 0). */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	/* The TLS bufferevent may run a write callback scheduled before the
	 * last answers were queued: close only once they are really out. */
	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(c->out)) == 0)
			conn_free(c);
		return;
	}
	if (!c->paused) {
		bufferevent_enable(c->in, EV_READ);
		process_input(c); /* pipelined commands may be waiting */
	}
}

/* The details of a failed connection: for debugging, not for every day
 * (clients vanish all the time). */
static void log_error_detail(const struct conn *c, struct bufferevent *bev)
{
	char reason[200];
	unsigned long e = c->encrypted ? bufferevent_get_openssl_error(bev) : 0;
	if (e)
		ERR_error_string_n(e, reason, sizeof reason);
	else
		snprintf(reason, sizeof reason, "%s",
		         errno ? strerror(errno) : "connection closed");
	log_debug("%s from %s: %s", c->encrypted ? "TLS" : "connection", c->peer, reason);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	const char *why = NULL;
	if (what & BEV_EVENT_ERROR) {
		log_error_detail(c, bev);
		why = "error";
	} else if (what & BEV_EVENT_TIMEOUT) {
		why = "timeout"; /* a closing session's last words were not read */
	}
	if (!c->end_reason)
		c->end_reason = why;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

static void time_out(struct conn *c)
{
	session_timed_out(c->session);
	pump(c);
	(void)begin_close(c);
}

/* A session whose job runs is not the loop's to touch: the timeout waits
 * for the job's end (an IDLE sync, or a command the client sent just
 * before the timer ran out). */
static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (session_running(c->session))
		c->idle_expired = true;
	else
		time_out(c);
}

/* The session's job is done (or, in IDLE, its mailbox changed): its
 * answers go out, and it reads on. Only the client's activity restarts the
 * inactivity timer, but a login changes its length: it starts again then. */
static void on_session_ready(void *arg)
{
	struct conn *c = arg;
	pump(c);
	if (c->closing)
		return;
	if (c->idle_expired) {
		c->idle_expired = false;
		time_out(c);
		return;
	}
	if (!c->paused)
		bufferevent_enable(c->in, EV_READ);
	if (process_input(c) && !c->closing && session_timeout(c->session) != c->armed_secs)
		arm_idle_timer(c);
}

static void on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->paused = false;
	session_resume(c->session);
	pump(c);
	bufferevent_enable(c->in, EV_READ);
	process_input(c);
}

static struct bufferevent *socket_bev(struct event_base *base, int fd, SSL_CTX *tls)
{
	evutil_make_socket_nonblocking(fd);
	if (!tls)
		return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	SSL *ssl = SSL_new(tls);
	struct bufferevent *bev =
	    ssl ? bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                         BEV_OPT_CLOSE_ON_FREE)
	        : NULL;
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static unsigned session_link(const struct conn_link *link)
{
	unsigned l = link->local ? LINK_LOCAL : 0;
	if (link->tls)
		l |= link->implicit_tls ? LINK_TLS : LINK_STARTTLS;
	return l;
}

struct conn *conn_new(struct event_base *base, int in_fd, int out_fd, const struct conn_link *link,
                      const struct session_config *cfg, const char *preauth_user,
                      conn_closed_fn *on_closed, void *arg)
{
	struct conn *c = xcalloc(1, sizeof *c);
	c->cfg = cfg;
	c->started = monotonic_secs();
	c->peer = xstrdup(link->peer);
	c->encrypted = link->tls && link->implicit_tls;
	c->tls = link->tls && !link->implicit_tls && in_fd == out_fd ? link->tls : NULL;
	c->in = socket_bev(base, in_fd, c->encrypted ? link->tls : NULL);
	c->out = out_fd == in_fd ? c->in : socket_bev(base, out_fd, NULL);
	if (!c->in || !c->out) {
		log_warn("connection from %s: cannot set up %s", c->peer,
		         c->encrypted ? "TLS" : "buffers");
		if (c->in)
			bufferevent_free(c->in);
		else
			close(in_fd);
		if (out_fd != in_fd)
			close(out_fd);
		free(c->peer);
		free(c);
		return NULL;
	}
	c->on_closed = on_closed;
	c->arg = arg;
	c->idle_timer = evtimer_new(base, on_idle, c);
	c->pause_timer = evtimer_new(base, on_pause_over, c);
	unsigned l = session_link(link);
	if (!c->tls)
		l &= ~(unsigned)LINK_STARTTLS;
	c->session = session_new(cfg, bufferevent_get_output(c->out), link->peer, l, arg,
	                         on_session_ready, c);
	mark_sendfile(c, !c->encrypted);
	log_info("connect: from=%s port=%s tls=%s", c->peer, link->port ? link->port : "-",
	         c->encrypted ? "yes" : "no");
	set_callbacks(c);
	if (c->out != c->in)
		bufferevent_enable(c->out, EV_WRITE);
	bufferevent_enable(c->in, EV_READ | (c->out == c->in ? EV_WRITE : 0));
	enum session_status st = session_start(c->session, preauth_user);
	arm_idle_timer(c);
	if (st == SESSION_BUSY)
		bufferevent_disable(c->in, EV_READ); /* on when the store is open */
	else
		pump(c);
	return c;
}

void conn_drain(struct conn *c)
{
	c->draining = true;
	if (c->closing || session_busy(c->session))
		return; /* process_input closes it when the command is done */
	session_shutdown(c->session);
	pump(c);
	(void)begin_close(c);
}

void conn_shutdown(struct conn *c)
{
	/* Best effort, in the clear only: we are going away. A TLS record
	 * cannot be pushed out synchronously from here. */
	if (!c->encrypted) {
		struct evbuffer *out = bufferevent_get_output(c->out);
		evbuffer_add_printf(out, "* BYE Server shutting down\r\n");
		evbuffer_write(out, bufferevent_getfd(c->out));
	}
	if (!c->end_reason)
		c->end_reason = "shutdown";
	conn_free(c);
}
