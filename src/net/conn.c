#include "net/conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/str.h"

struct conn {
	struct bufferevent *in, *out; /* the same for a socket */
	struct event *idle_timer, *pause_timer;
	struct session *session;
	bool closing;
	bool draining; /* the server stops: close once the command running is done */
	bool paused;
	conn_closed_fn *on_closed;
	void *arg;
};

static void conn_free(struct conn *c)
{
	session_free(c->session);
	event_free(c->idle_timer);
	event_free(c->pause_timer);
	if (c->out != c->in)
		bufferevent_free(c->out);
	bufferevent_free(c->in);
	if (c->on_closed)
		c->on_closed(c, c->arg);
	free(c);
}

static void arm_idle_timer(struct conn *c)
{
	struct timeval tv = {session_timeout(c->session), 0};
	event_add(c->idle_timer, &tv);
}

/* Stop reading and close once everything written has gone out. Returns
 * false if the connection is already gone. */
static bool begin_close(struct conn *c)
{
	c->closing = true;
	bufferevent_disable(c->in, EV_READ);
	event_del(c->idle_timer);
	if (evbuffer_get_length(bufferevent_get_output(c->out)) > 0)
		return true;
	conn_free(c);
	return false;
}

/* Runs what input there is; false if that closed and freed the connection. */
static bool process_input(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->in);
	struct evbuffer *out = bufferevent_get_output(c->out);
	if (c->closing || c->paused || evbuffer_get_length(out) > CONN_OUT_HIGH)
		return true;
	enum session_status st = session_feed(c->session, in);
	if (c->draining && st != SESSION_CLOSE && !session_busy(c->session)) {
		session_shutdown(c->session);
		st = SESSION_CLOSE;
	}
	if (st == SESSION_CLOSE)
		return begin_close(c);
	if (st == SESSION_PAUSE) {
		struct timeval tv = {session_pause_ms(c->session) / 1000,
		                     (session_pause_ms(c->session) % 1000) * 1000};
		c->paused = true;
		bufferevent_disable(c->in, EV_READ);
		event_add(c->pause_timer, &tv);
		return true;
	}
	if (evbuffer_get_length(out) > CONN_OUT_HIGH)
		bufferevent_disable(c->in, EV_READ);
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (process_input(c) && !c->closing)
		arm_idle_timer(c); /* after the commands: login changes the timeout */
}

/* Called when the output buffer has drained (write low-water mark 0). */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->closing) {
		conn_free(c);
		return;
	}
	if (!c->paused) {
		bufferevent_enable(c->in, EV_READ);
		process_input(c); /* pipelined commands may be waiting */
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	session_timed_out(c->session);
	(void)begin_close(c);
}

static void on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->paused = false;
	session_resume(c->session);
	bufferevent_enable(c->in, EV_READ);
	process_input(c);
}

struct conn *conn_new(struct event_base *base, int in_fd, int out_fd, const char *peer,
                      const struct session_config *cfg, const char *preauth_user,
                      conn_closed_fn *on_closed, void *arg)
{
	struct conn *c = xcalloc(1, sizeof *c);
	evutil_make_socket_nonblocking(in_fd);
	c->in = bufferevent_socket_new(base, in_fd, BEV_OPT_CLOSE_ON_FREE);
	if (out_fd == in_fd) {
		c->out = c->in;
	} else {
		evutil_make_socket_nonblocking(out_fd);
		c->out = bufferevent_socket_new(base, out_fd, BEV_OPT_CLOSE_ON_FREE);
	}
	c->on_closed = on_closed;
	c->arg = arg;
	c->idle_timer = evtimer_new(base, on_idle, c);
	c->pause_timer = evtimer_new(base, on_pause_over, c);
	c->session = session_new(cfg, bufferevent_get_output(c->out), peer, arg);
	bufferevent_setcb(c->in, on_read, c->out == c->in ? on_write : NULL, on_event, c);
	if (c->out != c->in) {
		bufferevent_setcb(c->out, NULL, on_write, on_event, c);
		bufferevent_enable(c->out, EV_WRITE);
	}
	bufferevent_enable(c->in, EV_READ | (c->out == c->in ? EV_WRITE : 0));
	enum session_status st = session_start(c->session, preauth_user);
	arm_idle_timer(c);
	if (st == SESSION_CLOSE)
		begin_close(c); /* the BYE is queued, so c lives until it is sent */
	return c;
}

void conn_drain(struct conn *c)
{
	c->draining = true;
	if (c->closing || session_busy(c->session))
		return; /* process_input closes it when the command is done */
	session_shutdown(c->session);
	(void)begin_close(c);
}

void conn_shutdown(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->out);
	evbuffer_add_printf(out, "* BYE Server shutting down\r\n");
	evbuffer_write(out, bufferevent_getfd(c->out)); /* best effort: we are going away */
	conn_free(c);
}
