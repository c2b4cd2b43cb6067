/* loadgen: sockets, the epoll loop, timers, stdin (--control), and response framing.
 *
 * Framing: bytes are cut into lines at LF. A line that ends in {n} (or {n+}) announces a literal:
 * the next n bytes are counted and skipped, never scanned, and the response goes on after them.
 * Only the first line of each response is kept (up to SEG_MAX bytes) and handed to on_response(),
 * which is all the verification needs: the tag, the status, and untagged codes like [UIDNEXT n]. */
#include "loadgen.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEG_MAX 16384
#define RBUF_SIZE (256 * 1024)
#define MAX_EVENTS 1024
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* Linux 4.2 */
#endif
#define MAX_SOURCES 64
#define STDIN_KEY UINT64_MAX /* epoll key of stdin; connections' keys are gen << 32 | idx */

struct timer {
	uint64_t at;
	uint32_t idx, gen;
	int kind;
};

static struct sockaddr_storage addr;
static socklen_t addrlen;
/* --source: client i binds to sources[i % nsources] before connecting */
static struct sockaddr_storage sources[MAX_SOURCES];
static socklen_t source_len[MAX_SOURCES];
static int nsources;
static struct timer *heap;
static size_t heap_n, heap_cap;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	return p;
}

/* "127.0.0.1,127.0.0.2,...": numeric addresses of the server's family. */
static void parse_sources(const char *list)
{
	char *copy = strdup(list), *save = NULL;
	for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		struct addrinfo hints = {.ai_family = addr.ss_family,
		                         .ai_socktype = SOCK_STREAM,
		                         .ai_flags = AI_NUMERICHOST},
		                *ai;
		int rc = getaddrinfo(a, NULL, &hints, &ai);
		if (rc || nsources == MAX_SOURCES) {
			fprintf(stderr, "loadgen: --source %s: %s\n", a,
			        rc ? gai_strerror(rc) : "too many addresses");
			exit(1);
		}
		memcpy(&sources[nsources], ai->ai_addr, ai->ai_addrlen);
		source_len[nsources++] = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	free(copy);
}

void net_init(const char *host, const char *port, const char *source)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "loadgen: %s:%s: %s\n", host, port, gai_strerror(rc));
		exit(1);
	}
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (source)
		parse_sources(source);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0) {
		perror("loadgen: epoll_create1");
		exit(1);
	}
}

static void ep_set(struct conn *c, int opcode, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)c->gen << 32 | c->idx};
	if (epoll_ctl(g.ep, opcode, c->fd, &ev) < 0) {
		perror("loadgen: epoll_ctl");
		exit(1);
	}
}

static void want_output(struct conn *c, bool on)
{
	if (c->want_out != on)
		ep_set(c, EPOLL_CTL_MOD, on ? EPOLLIN | EPOLLOUT : EPOLLIN);
	c->want_out = on;
}

static void reset_input(struct conn *c)
{
	c->seg_len = 0;
	c->seg_total = 0;
	c->lit_left = 0;
	c->seg_first = true;
	c->bye[0] = 0;
}

static void connected(struct conn *c)
{
	g.tcp_ok++;
	c->st = CS_GREETING;
}

void conn_open(struct conn *c)
{
	reset_input(c);
	c->out_len = c->out_off = 0;
	c->caps_known = false;
	c->st = CS_CONNECTING;
	c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		on_lost(c, strerror(errno));
		return;
	}
	g.open_conns++;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (nsources) {
		/* The port is chosen at connect(), per destination, not at bind(). */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		int k = (int)(c->idx % (uint32_t)nsources);
		if (bind(c->fd, (struct sockaddr *)&sources[k], source_len[k]) < 0) {
			on_lost(c, strerror(errno));
			return;
		}
	}
	if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == 0) {
		ep_set(c, EPOLL_CTL_ADD, EPOLLIN);
		c->want_out = false;
		connected(c);
	} else if (errno == EINPROGRESS) {
		ep_set(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT);
		c->want_out = true;
	} else {
		on_lost(c, strerror(errno));
	}
}

static void connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		on_lost(c, strerror(err));
		return;
	}
	want_output(c, false);
	connected(c);
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		g.open_conns--;
	}
	c->fd = -1;
	c->gen++;
	c->st = CS_OFF;
	c->op = OP_NONE;
	c->authed = false;
	c->await_sent = false;
	c->want_out = false;
	c->out_len = c->out_off = 0;
}

void conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		c->out_cap = (c->out_len + n) * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

/* Send what is queued. A write error is left to the read side, which sees it and closes. */
void conn_flush(struct conn *c)
{
	while (c->fd >= 0 && c->out_off < c->out_len) {
		ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (k > 0) {
			c->out_off += (size_t)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_output(c, true);
			return;
		} else {
			break;
		}
	}
	c->out_len = c->out_off = 0;
	if (c->await_sent) {
		c->sent_ns = now_ns();
		c->await_sent = false;
	}
	if (c->fd >= 0)
		want_output(c, false);
}

static void seg_append(struct conn *c, const char *p, size_t n)
{
	if (c->seg_first && c->seg_len < SEG_MAX) {
		size_t k = n < SEG_MAX - c->seg_len ? n : SEG_MAX - c->seg_len;
		if (c->seg_len + k + 1 > c->seg_cap) {
			c->seg_cap = (c->seg_len + k + 1) * 2;
			c->seg = xrealloc(c->seg, c->seg_cap);
		}
		memcpy(c->seg + c->seg_len, p, k);
		c->seg_len += k;
	}
	size_t t = sizeof c->tail;
	if (n >= t) {
		memcpy(c->tail, p + n - t, t);
	} else {
		memmove(c->tail, c->tail + n, t - n);
		memcpy(c->tail + t - n, p, n);
	}
	c->seg_total += n;
}

/* Does the line just ended (in c->tail) end with a literal announcement {n} or {n+}? */
static bool literal_size(const struct conn *c, uint64_t *n)
{
	size_t t = sizeof c->tail;
	size_t len = c->seg_total < t ? (size_t)c->seg_total : t;
	const char *s = c->tail + t - len;
	if (len && s[len - 1] == '\n')
		len--;
	if (len && s[len - 1] == '\r')
		len--;
	if (!len || s[--len] != '}')
		return false;
	if (len && s[len - 1] == '+')
		len--;
	size_t end = len;
	while (len && isdigit((unsigned char)s[len - 1]))
		len--;
	if (len == end || !len || s[len - 1] != '{' || end - len > 18)
		return false;
	*n = strtoull(s + len, NULL, 10);
	return true;
}

/* A line has ended. Returns false when the connection was closed or reused meanwhile. */
static bool line_done(struct conn *c)
{
	uint64_t n;
	if (literal_size(c, &n)) {
		c->lit_left = n;
		c->seg_first = false;
		c->seg_total = 0;
		return true;
	}
	size_t len = c->seg_len;
	while (len && (c->seg[len - 1] == '\n' || c->seg[len - 1] == '\r'))
		len--;
	c->seg[len] = 0;
	c->seg_len = 0;
	c->seg_total = 0;
	c->seg_first = true;
	uint32_t gen = c->gen;
	on_response(c, c->seg, len);
	return c->gen == gen;
}

static void feed(struct conn *c, const char *p, size_t n)
{
	while (n) {
		if (c->lit_left) {
			size_t k = n < c->lit_left ? n : (size_t)c->lit_left;
			p += k;
			n -= k;
			c->lit_left -= k;
			continue;
		}
		const char *lf = memchr(p, '\n', n);
		size_t k = lf ? (size_t)(lf - p) + 1 : n;
		seg_append(c, p, k);
		p += k;
		n -= k;
		if (lf && !line_done(c))
			return;
	}
}

static void do_read(struct conn *c)
{
	static char buf[RBUF_SIZE];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);
	if (n > 0)
		feed(c, buf, (size_t)n);
	else if (n == 0)
		on_lost(c, "connection closed by the server");
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		on_lost(c, strerror(errno));
}

/* --control: lines from stdin go to on_control(); end of file is on_control(NULL). */
void net_watch_stdin(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = STDIN_KEY};
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, 0, &ev) < 0) {
		perror("loadgen: --control: stdin must be a pipe or terminal");
		exit(1);
	}
}

static void read_stdin(void)
{
	static char line[256];
	static size_t len;
	char buf[1024];
	ssize_t n = read(0, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		epoll_ctl(g.ep, EPOLL_CTL_DEL, 0, NULL);
		on_control(NULL);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			line[len] = 0;
			len = 0;
			on_control(line);
		} else if (len < sizeof line - 1) {
			line[len++] = buf[i];
		}
	}
}

static void handle_event(const struct epoll_event *ev)
{
	if (ev->data.u64 == STDIN_KEY) {
		read_stdin();
		return;
	}
	struct conn *c = &g.conns[(uint32_t)ev->data.u64];
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	if (c->gen != gen || c->fd < 0)
		return;
	if (c->st == CS_CONNECTING) {
		connect_done(c);
		return;
	}
	if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		do_read(c);
	if (c->gen == gen && (ev->events & EPOLLOUT))
		conn_flush(c);
}

static void heap_swap(size_t a, size_t b)
{
	struct timer t = heap[a];
	heap[a] = heap[b];
	heap[b] = t;
}

void timer_add(struct conn *c, uint64_t at, int kind)
{
	if (heap_n == heap_cap) {
		heap_cap = heap_cap ? heap_cap * 2 : 64;
		heap = xrealloc(heap, heap_cap * sizeof *heap);
	}
	size_t i = heap_n++;
	heap[i] = (struct timer){.at = at, .idx = c->idx, .gen = c->gen, .kind = kind};
	while (i && heap[(i - 1) / 2].at > heap[i].at) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct timer heap_pop(void)
{
	struct timer top = heap[0];
	heap[0] = heap[--heap_n];
	for (size_t i = 0;;) {
		size_t m = i, l = 2 * i + 1, r = l + 1;
		if (l < heap_n && heap[l].at < heap[m].at)
			m = l;
		if (r < heap_n && heap[r].at < heap[m].at)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

static void run_timers(uint64_t now)
{
	while (heap_n && heap[0].at <= now) {
		struct timer t = heap_pop();
		struct conn *c = &g.conns[t.idx];
		if (c->gen == t.gen)
			on_timer(c, t.kind);
	}
}

/* Sleep until the next timer or phase deadline, and never longer than 100 ms. */
static int wait_ms(uint64_t now)
{
	uint64_t at = g.deadline;
	if (heap_n && heap[0].at < at)
		at = heap[0].at;
	if (at <= now)
		return 0;
	uint64_t ms = (at - now + 999999) / 1000000;
	return ms > 100 ? 100 : (int)ms;
}

void net_loop(void)
{
	static struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		run_timers(now_ns());
		script_phase(now_ns());
		if (g.phase == PH_EXIT)
			return;
		int n = epoll_wait(g.ep, evs, MAX_EVENTS, wait_ms(now_ns()));
		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			exit(1);
		}
		for (int i = 0; i < n; i++)
			handle_event(&evs[i]);
	}
}
