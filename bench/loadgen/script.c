/* loadgen: the IMAP side of each connection (greeting, LOGIN, the script, LOGOUT), the phases of
 * the run (ramp-up, run, drain, logout), and the idle script's push rounds. One command is
 * outstanding per connection at a time. */
#include "loadgen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define RAMP_CONCURRENCY 256 /* connections logging in at once before the run starts */
#define DRAIN_LIMIT_S 30     /* how long commands in flight may take after the end */
#define LOGOUT_LIMIT_S 5
#define RETRY_MS 100        /* reconnect after a lost connection */
#define LOGIN_RETRY_MS 1000 /* ... and after a failed login */
#define RECENT_UIDS 200     /* the "recent" window of the mixed header fetch */

enum result { RES_OK, RES_ERROR, RES_UNSUPPORTED };

static char **login_args, *mailbox_arg, *message; /* login_args: one per user */
static long nlogins;
static size_t message_len;

static uint64_t rng(struct conn *c)
{
	uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static char *quote(const char *s)
{
	char *q = malloc(2 * strlen(s) + 3), *p = q;
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = 0;
	return q;
}

/* The ~3 KB message the mixed script appends to Sent. */
static void make_message(void)
{
	static const char head[] = "From: Load Generator <loadgen@example.org>\r\n"
	                           "To: Bob <bob@example.org>\r\n"
	                           "Subject: Benchmark message\r\n"
	                           "Date: Mon, 1 Jan 2024 09:00:00 +0000\r\n"
	                           "Message-ID: <loadgen.1@example.org>\r\n"
	                           "MIME-Version: 1.0\r\n"
	                           "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
	size_t cap = 4096, n = strlen(head);
	message = malloc(cap);
	memcpy(message, head, n);
	for (int i = 1; n < 3000; i++)
		n += (size_t)snprintf(message + n, cap - n,
		                      "Line %02d: the quick brown fox jumps over the lazy dog.\r\n",
		                      i);
	message_len = n;
}

static bool starts(const char *s, const char *word)
{
	size_t n = strlen(word);
	return strncasecmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == 0);
}

static const char *op_name(enum op op)
{
	static const char *const names[] = {
	    [OP_NONE] = "connection",       [OP_LOGIN] = "LOGIN",         [OP_CAPA] = "CAPABILITY",
	    [OP_SETUP] = "SELECT",          [OP_LOGOUT] = "LOGOUT",       [OP_SELECT] = "SELECT",
	    [OP_FETCH_FLAGS] = "UID FETCH", [OP_FETCH_HDR] = "UID FETCH", [OP_STORE] = "UID STORE",
	    [OP_APPEND] = "APPEND",         [OP_NOOP] = "NOOP",           [OP_IDLE] = "IDLE",
	};
	return op == OP_USER ? g.o.command : names[op];
}

static const char *stage_name(const struct conn *c)
{
	if (c->st == CS_CONNECTING)
		return "connect";
	if (c->st == CS_GREETING)
		return "greeting";
	return op_name(c->op);
}

/* "user" "password" for this connection: client i is user i mod K, pusher k is user k. */
static const char *login_for(const struct conn *c)
{
	long i = c->pusher ? (long)c->idx - g.o.clients : (long)c->idx;
	return login_args[i % nlogins];
}

/* The end of a command: bookkeeping for script commands, then the verdict. */
static void result(struct conn *c, enum result r, const char *text)
{
	uint64_t now = now_ns();
	bool measured = c->counted && c->measured;
	if (c->counted) {
		c->counted = false;
		g.inflight--;
	}
	if (measured)
		g.last_done = now;
	if (r == RES_OK && measured)
		stats_latency(now - (g.o.script == SCRIPT_LOGIN ? c->start_ns : c->sent_ns));
	else if (r == RES_UNSUPPORTED)
		stats_unsupported(text);
	else if (r == RES_ERROR)
		stats_error("%s: %.200s", stage_name(c), text);
}

static void ramp_more(void)
{
	static bool busy;
	if (busy)
		return;
	busy = true;
	while (g.ramp_next < g.o.clients && g.ramp_active < RAMP_CONCURRENCY) {
		g.ramp_active++;
		conn_open(&g.conns[g.ramp_next++]);
	}
	busy = false;
}

static void mark_ramped(struct conn *c)
{
	if (c->ramped)
		return;
	c->ramped = true;
	g.ramp_pending--;
	g.ramp_active--;
	ramp_more();
}

/* Close, and come back after retry_ms while the run lasts. */
static void drop(struct conn *c, unsigned retry_ms)
{
	conn_close(c);
	mark_ramped(c);
	if (g.phase <= PH_RUN)
		timer_add(c, now_ns() + retry_ms * NS_PER_MS, T_RECONNECT);
}

/* May a script command start now? Marks it in flight and measured or not. */
static bool issue(struct conn *c, uint64_t now)
{
	if (g.phase != PH_RUN)
		return false;
	c->measured = now >= g.measure_start;
	if (c->measured && g.o.count && g.issued_measured >= g.o.count)
		return false;
	if (c->measured)
		g.issued_measured++;
	c->counted = true;
	g.inflight++;
	return true;
}

static void next_tag(struct conn *c)
{
	snprintf(c->tag, sizeof c->tag, "a%u", ++c->tagno);
}

/* Send "TAG text\r\n"; in state CS_BUSY latency runs from when its last byte leaves. */
static void cmd(struct conn *c, enum op op, enum cstate st, const char *fmt, ...)
{
	char *text;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	next_tag(c);
	conn_write(c, c->tag, strlen(c->tag));
	conn_write(c, " ", 1);
	conn_write(c, text, (size_t)n);
	conn_write(c, "\r\n", 2);
	free(text);
	c->op = op;
	c->st = st;
	c->sent_ns = now_ns();
	c->await_sent = st == CS_BUSY;
	conn_flush(c);
}

static void start_cycle(struct conn *c)
{
	uint64_t now = now_ns();
	if (!issue(c, now))
		return;
	c->start_ns = now;
	conn_open(c);
}

/* 20 distinct random UIDs among the newest RECENT_UIDS, ascending. */
static void recent_uids(struct conn *c, char *buf, size_t size)
{
	uint32_t hi = c->uidnext > 1 ? c->uidnext - 1 : 1;
	uint32_t span = hi < RECENT_UIDS ? hi : RECENT_UIDS;
	bool pick[RECENT_UIDS] = {false};
	for (uint32_t want = span < 20 ? span : 20; want;) {
		uint32_t k = (uint32_t)(rng(c) % span);
		if (!pick[k]) {
			pick[k] = true;
			want--;
		}
	}
	size_t n = 0;
	buf[0] = 0;
	for (uint32_t k = span; k-- > 0;)
		if (pick[k])
			n += (size_t)snprintf(buf + n, size - n, "%s%u", n ? "," : "", hi - k);
}

/* APPEND the message to target ("Sent (\Seen)", or the quoted --mailbox). */
static void append(struct conn *c, const char *target)
{
	char *line;
	next_tag(c);
	bool plus = c->cap_literal_plus;
	int n = asprintf(&line, "%s APPEND %s {%zu%s}\r\n", c->tag, target, message_len,
	                 plus ? "+" : "");
	if (n < 0)
		abort();
	conn_write(c, line, (size_t)n);
	free(line);
	c->op = OP_APPEND;
	c->st = plus ? CS_BUSY : CS_CONT;
	if (plus) {
		conn_write(c, message, message_len);
		conn_write(c, "\r\n", 2);
	}
	c->sent_ns = now_ns();
	c->await_sent = plus;
	conn_flush(c);
}

static enum op mixed_pick(struct conn *c)
{
	static const struct {
		enum op op;
		unsigned weight;
	} mix[] = {{OP_SELECT, 10}, {OP_FETCH_FLAGS, 20}, {OP_FETCH_HDR, 25}, {OP_STORE, 20},
	           {OP_APPEND, 10}, {OP_NOOP, 10},        {OP_IDLE, 5}};
	unsigned r = (unsigned)(rng(c) % 100), i = 0;
	while (r >= mix[i].weight)
		r -= mix[i++].weight;
	if (mix[i].op == OP_IDLE && !c->cap_idle)
		return OP_NOOP;
	return mix[i].op;
}

static void mixed_command(struct conn *c)
{
	char uids[256];
	switch (mixed_pick(c)) {
	case OP_SELECT:
		cmd(c, OP_SELECT, CS_BUSY, "SELECT %s", mailbox_arg);
		break;
	case OP_FETCH_FLAGS:
		cmd(c, OP_FETCH_FLAGS, CS_BUSY, "UID FETCH 1:* (FLAGS)");
		break;
	case OP_FETCH_HDR:
		recent_uids(c, uids, sizeof uids);
		cmd(c, OP_FETCH_HDR, CS_BUSY,
		    "UID FETCH %s (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])", uids);
		break;
	case OP_STORE:
		cmd(c, OP_STORE, CS_BUSY, "UID STORE %u +FLAGS (\\Seen)",
		    1 + (uint32_t)(rng(c) % (c->uidnext > 1 ? c->uidnext - 1 : 1)));
		break;
	case OP_APPEND:
		append(c, "Sent (\\Seen)");
		break;
	case OP_IDLE:
		cmd(c, OP_IDLE, CS_CONT, "IDLE");
		break;
	default:
		cmd(c, OP_NOOP, CS_BUSY, "NOOP");
		break;
	}
}

static void next_command(struct conn *c)
{
	if (g.o.script == SCRIPT_IDLE || !issue(c, now_ns()))
		return;
	if (g.o.script == SCRIPT_SELECT)
		cmd(c, OP_SELECT, CS_BUSY, "SELECT %s", mailbox_arg);
	else if (g.o.script == SCRIPT_COMMAND)
		cmd(c, OP_USER, CS_BUSY, "%s", g.o.command);
	else
		mixed_command(c);
}

static void push_fire(void);

static void ready(struct conn *c)
{
	c->st = CS_READY;
	c->op = OP_NONE;
	if (g.o.script == SCRIPT_IDLE && !c->pusher && g.phase <= PH_RUN) {
		cmd(c, OP_IDLE, CS_CONT, "IDLE"); /* ramped when the "+" comes */
		return;
	}
	if (c->pusher) {
		if (g.push.active && !g.push.fired && ++g.push.ready == g.push.pushers)
			push_fire();
		return;
	}
	mark_ramped(c);
	if (g.phase == PH_RUN)
		next_command(c);
	else if (g.phase == PH_LOGOUT)
		cmd(c, OP_LOGOUT, CS_BUSY, "LOGOUT");
}

static void after_caps(struct conn *c)
{
	if (g.o.script == SCRIPT_COMMAND || g.o.script == SCRIPT_MIXED ||
	    (g.o.script == SCRIPT_IDLE && !c->pusher))
		cmd(c, OP_SETUP, CS_BUSY, "SELECT %s", mailbox_arg);
	else
		ready(c);
}

static void logged_in(struct conn *c)
{
	c->authed = true;
	if (!c->ever_authed && !c->pusher) {
		c->ever_authed = true;
		g.ever_authed++;
	}
	if (g.o.script == SCRIPT_LOGIN)
		cmd(c, OP_LOGOUT, CS_BUSY, "LOGOUT");
	else if ((g.o.script == SCRIPT_MIXED || c->pusher) && !c->caps_known)
		cmd(c, OP_CAPA, CS_BUSY, "CAPABILITY");
	else
		after_caps(c);
}

/* "CAPABILITY ..." or "OK [CAPABILITY ...] ...": note LITERAL+ and IDLE. */
static void caps_scan(struct conn *c, const char *s)
{
	if (!strncasecmp(s, "OK [", 4) || !strncasecmp(s, "PREAUTH [", 9))
		s = strchr(s, '[') + 1;
	if (strncasecmp(s, "CAPABILITY ", 11))
		return;
	c->caps_known = true;
	c->cap_literal_plus = c->cap_idle = false;
	for (s += 11; *s && *s != ']';) {
		size_t n = strcspn(s, " ]");
		if (n == 8 && !strncasecmp(s, "LITERAL+", 8))
			c->cap_literal_plus = true;
		if (n == 4 && !strncasecmp(s, "IDLE", 4))
			c->cap_idle = true;
		s += n;
		s += *s == ' ';
	}
}

static void greeting(struct conn *c, const char *s)
{
	caps_scan(c, s);
	if (starts(s, "OK")) {
		c->caps_known = false; /* capabilities may change at login */
		cmd(c, OP_LOGIN, CS_BUSY, "LOGIN %s", login_for(c));
	} else if (starts(s, "PREAUTH")) {
		logged_in(c);
	} else {
		result(c, RES_ERROR, s);
		drop(c, LOGIN_RETRY_MS);
	}
}

/* "* n EXISTS": during a push round, a count above the last one seen is the pushed message. */
static void exists(struct conn *c, uint32_t n)
{
	if (c->push_wait && n > c->exists) {
		uint64_t now = now_ns();
		c->push_wait = false;
		g.push.waiting--;
		g.push.last_exists = now;
		stats_push_exists(now - g.push.t0);
	}
	c->exists = n;
}

static void untagged(struct conn *c, const char *s)
{
	char *end;
	if (starts(s, "BYE")) {
		snprintf(c->bye, sizeof c->bye, "%s", s);
	} else if (*s >= '0' && *s <= '9') {
		unsigned long n = strtoul(s, &end, 10);
		if (!strcasecmp(end, " EXISTS"))
			exists(c, (uint32_t)n);
	} else if (!strncasecmp(s, "OK [UIDNEXT ", 12)) {
		c->uidnext = (uint32_t)strtoul(s + 12, NULL, 10);
	} else {
		caps_scan(c, s);
	}
}

static void idle_done(struct conn *c)
{
	conn_write(c, "DONE\r\n", 6);
	c->st = CS_BUSY;
	c->await_sent = true;
	conn_flush(c);
}

static void continuation(struct conn *c)
{
	if (c->st != CS_CONT)
		return;
	if (c->op == OP_APPEND) {
		conn_write(c, message, message_len);
		conn_write(c, "\r\n", 2);
		c->st = CS_BUSY;
		c->await_sent = true;
		conn_flush(c);
	} else if (g.o.script == SCRIPT_IDLE) {
		c->st = CS_IDLING; /* and there it stays */
		mark_ramped(c);
	} else if (g.phase >= PH_DRAIN) {
		idle_done(c);
	} else {
		c->st = CS_IDLING;
		timer_add(c, now_ns() + (1000 + rng(c) % 2001) * NS_PER_MS, T_IDLE_DONE);
	}
}

static enum result classify(const char *s)
{
	if (starts(s, "OK"))
		return RES_OK;
	if (starts(s, "BAD") && strcasestr(s, "unknown command"))
		return RES_UNSUPPORTED;
	return RES_ERROR;
}

static void tagged(struct conn *c, const char *s)
{
	enum result r = classify(s);
	bool cycle = c->counted;
	caps_scan(c, s);
	switch (c->op) {
	case OP_LOGIN:
		if (r == RES_OK) {
			logged_in(c);
		} else {
			result(c, r, s);
			drop(c, LOGIN_RETRY_MS);
		}
		break;
	case OP_CAPA:
		result(c, r, s);
		after_caps(c);
		break;
	case OP_LOGOUT:
		result(c, r, s);
		conn_close(c);
		if (cycle)
			start_cycle(c);
		break;
	case OP_IDLE:
		result(c, r, s);
		if (g.o.script == SCRIPT_IDLE) { /* refused (we never send DONE): no retry */
			c->st = CS_READY;
			c->op = OP_NONE;
			mark_ramped(c);
		} else {
			ready(c);
		}
		break;
	case OP_APPEND:
		result(c, r, s);
		if (c->pusher) {
			uint64_t now = now_ns();
			if (r == RES_OK) {
				stats_push_append(now - g.push.t0);
				g.push.last_ok = now;
			}
			g.push.appends_left--;
			cmd(c, OP_LOGOUT, CS_BUSY, "LOGOUT");
		} else {
			ready(c);
		}
		break;
	default:
		result(c, r, s);
		ready(c);
		break;
	}
}

void on_response(struct conn *c, const char *line, size_t len)
{
	size_t tl = strlen(c->tag);
	if (c->st == CS_GREETING)
		greeting(c, len >= 2 && line[0] == '*' && line[1] == ' ' ? line + 2 : line);
	else if (len >= 2 && line[0] == '*' && line[1] == ' ')
		untagged(c, line + 2);
	else if (line[0] == '+')
		continuation(c);
	else if ((c->st == CS_BUSY || c->st == CS_CONT || c->st == CS_IDLING) && tl &&
	         !strncmp(line, c->tag, tl) && line[tl] == ' ')
		tagged(c, line + tl + 1);
	else
		stats_error("unexpected response: %.100s", line);
}

void on_lost(struct conn *c, const char *why)
{
	if (c->op == OP_LOGOUT && (g.phase >= PH_LOGOUT || c->pusher)) {
		conn_close(c);
		return;
	}
	if (c->push_wait) { /* it will not see this round's message */
		c->push_wait = false;
		g.push.waiting--;
		g.push.lost++;
	}
	if (c->pusher && c->st == CS_READY && !g.push.fired)
		g.push.ready--;
	char text[300];
	snprintf(text, sizeof text, "%s%s%s", why, c->bye[0] ? " after " : "", c->bye);
	result(c, RES_ERROR, text);
	drop(c, RETRY_MS);
}

void on_timer(struct conn *c, int kind)
{
	if (kind == T_IDLE_DONE) {
		if (c->st == CS_IDLING)
			idle_done(c);
	} else if (c->st == CS_OFF && g.phase <= PH_RUN) {
		if (c->pusher) {
			if (g.push.active && !g.push.fired)
				conn_open(c);
		} else if (g.o.script == SCRIPT_LOGIN)
			start_cycle(c);
		else
			conn_open(c);
	}
}

static void start_run(uint64_t now)
{
	g.phase = PH_RUN;
	g.ramp_seconds = (double)(now - g.t0) / NS_PER_S;
	g.measure_start = now + (uint64_t)(g.o.warmup * NS_PER_S);
	g.measure_end = g.measure_start + (uint64_t)(g.o.duration * NS_PER_S);
	g.deadline = g.o.count ? UINT64_MAX : g.measure_end;
	if (g.o.script == SCRIPT_IDLE) {
		g.push.next_at = now + NS_PER_S;
		if (g.o.control) {
			long idling = 0;
			for (long i = 0; i < g.o.clients; i++)
				idling += g.conns[i].st == CS_IDLING;
			fprintf(stderr, "loadgen: ready %ld %ld %ld\n", idling, g.o.clients, stats_errors());
		}
	}
	for (long i = 0; i < g.o.clients; i++)
		if (g.o.script == SCRIPT_LOGIN)
			start_cycle(&g.conns[i]);
		else if (g.conns[i].st == CS_READY)
			next_command(&g.conns[i]);
}

static void enter_drain(uint64_t now)
{
	g.phase = PH_DRAIN;
	if (g.o.duration > 0 && now < g.measure_end)
		g.measure_end = now; /* stopped early by a signal */
	g.deadline = now + DRAIN_LIMIT_S * NS_PER_S;
	for (long i = 0; i < g.o.clients; i++)
		if (g.conns[i].st == CS_IDLING)
			idle_done(&g.conns[i]);
}

static void enter_logout(uint64_t now)
{
	g.phase = PH_LOGOUT;
	g.deadline = now + LOGOUT_LIMIT_S * NS_PER_S;
	for (long i = 0; i < g.o.clients; i++) {
		struct conn *c = &g.conns[i];
		if (c->counted)
			result(c, RES_ERROR, "no response within 30 s after the end of the run");
		if (c->st == CS_READY)
			cmd(c, OP_LOGOUT, CS_BUSY, "LOGOUT");
		else
			conn_close(c);
	}
}

static void enter_exit(void)
{
	g.phase = PH_EXIT;
	for (long i = 0; i < g.nconns; i++)
		conn_close(&g.conns[i]);
}

/* idle: log the pushers in; push_fire() when all are. */
static void push_begin(uint64_t now)
{
	struct push *p = &g.push;
	p->active = true;
	p->fired = false;
	p->round++;
	p->ready = p->idling = p->waiting = p->lost = 0;
	p->appends_left = p->pushers;
	p->last_exists = p->last_ok = 0;
	p->deadline = now + (uint64_t)(g.o.push_timeout * NS_PER_S);
	stats_push_begin();
	for (long k = 0; k < p->pushers; k++)
		conn_open(&g.conns[g.o.clients + k]);
}

/* Every pusher is logged in: note who is idling, take t0, write every APPEND. */
static void push_fire(void)
{
	struct push *p = &g.push;
	for (long i = 0; i < g.o.clients; i++) {
		struct conn *c = &g.conns[i];
		c->push_wait = c->st == CS_IDLING;
		p->idling += c->push_wait;
	}
	p->waiting = p->idling;
	p->fired = true;
	p->t0 = now_ns();
	p->deadline = p->t0 + (uint64_t)(g.o.push_timeout * NS_PER_S);
	for (long k = 0; k < p->pushers; k++)
		append(&g.conns[g.o.clients + k], mailbox_arg);
}

static void push_end(uint64_t now)
{
	struct push *p = &g.push;
	long missed = p->waiting + p->lost, got = p->idling - missed;
	if (!p->fired)
		stats_error("push %d: the %ld pushers were not all logged in after %g s", p->round,
		            p->pushers, g.o.push_timeout);
	if (p->waiting)
		stats_error("push %d: %ld of %ld idling clients had no EXISTS after %g s", p->round,
		            p->waiting, p->idling, g.o.push_timeout);
	if (p->fired && p->appends_left)
		stats_error("push %d: %ld of %ld APPENDs unanswered after %g s", p->round,
		            p->appends_left, p->pushers, g.o.push_timeout);
	for (long i = 0; i < g.o.clients; i++)
		g.conns[i].push_wait = false;
	for (long k = 0; k < p->pushers; k++)
		conn_close(&g.conns[g.o.clients + k]);
	double after_ok = p->last_ok && p->last_exists
	                      ? ((double)p->last_exists - (double)p->last_ok) / 1e6
	                      : 0;
	double last = got ? (double)(p->last_exists - p->t0) / 1e6 : 0;
	stats_push_end(p->round, p->idling, missed, after_ok);
	p->active = false;
	p->next_at = now + NS_PER_S;
	g.last_done = now;
	if (g.o.control)
		fprintf(stderr, "loadgen: pushed %d %ld %ld %.3f %ld\n", p->round, got, p->idling, last,
		        stats_errors());
}

/* idle, during the run: start a round when one is due, end it when it is over. */
static void push_phase(uint64_t now)
{
	struct push *p = &g.push;
	if (p->active) {
		if ((p->fired && p->waiting == 0 && p->appends_left == 0) || now >= p->deadline)
			push_end(now);
	} else if (g.o.control ? p->queued > 0 : p->round < g.o.pushes && now >= p->next_at) {
		if (g.o.control)
			p->queued--;
		push_begin(now);
	}
}

void on_control(const char *line)
{
	if (!line || !strcmp(line, "end"))
		g.control_end = true;
	else if (!strcmp(line, "push"))
		g.push.queued++;
	else if (*line)
		fprintf(stderr, "loadgen: --control: unknown command \"%s\" (push, end)\n", line);
}

static bool run_over(uint64_t now)
{
	if (g.stop)
		return true;
	if (g.o.script == SCRIPT_IDLE) {
		if (g.push.active)
			return false;
		if (g.o.control)
			return g.control_end && !g.push.queued;
		return g.push.round >= g.o.pushes && now >= g.measure_end;
	}
	if (g.o.count)
		return g.issued_measured >= g.o.count;
	return now >= g.measure_end;
}

void script_phase(uint64_t now)
{
	if (g.phase == PH_RAMP && (g.ramp_pending == 0 || now >= g.deadline || g.stop))
		start_run(now);
	if (g.phase == PH_RUN && g.o.script == SCRIPT_IDLE)
		push_phase(now);
	if (g.phase == PH_RUN && run_over(now)) {
		if (g.o.script == SCRIPT_IDLE) { /* no DONE, no LOGOUT: close */
			if (g.push.active)
				push_end(now);
			enter_exit();
			return;
		}
		enter_drain(now);
	}
	if (g.phase == PH_DRAIN && (g.inflight == 0 || now >= g.deadline))
		enter_logout(now);
	if (g.phase == PH_LOGOUT && (g.open_conns == 0 || now >= g.deadline))
		enter_exit();
	if (g.tcp_ok == 0 && g.ramp_pending == 0 && g.phase != PH_EXIT)
		enter_exit();
}

void script_start(void)
{
	char *p = quote(g.o.password);
	nlogins = g.o.users ? g.o.users : 1;
	login_args = calloc((size_t)nlogins, sizeof *login_args);
	if (!login_args)
		abort();
	for (long k = 0; k < nlogins; k++) {
		char *name, *u;
		if (g.o.users ? asprintf(&name, "%s%ld", g.o.user, k + 1) < 0
		              : !(name = strdup(g.o.user)))
			abort();
		u = quote(name);
		if (asprintf(&login_args[k], "%s %s", u, p) < 0)
			abort();
		free(u);
		free(name);
	}
	free(p);
	mailbox_arg = quote(g.o.mailbox);
	make_message();
	g.ramp_pending = g.o.clients;
	if (g.o.script == SCRIPT_LOGIN) {
		g.ramp_next = g.ramp_active = g.o.clients;
		start_run(g.t0);
	} else {
		g.phase = PH_RAMP;
		g.deadline = g.t0 + (uint64_t)(g.o.ramp_limit * NS_PER_S);
		ramp_more();
	}
}
