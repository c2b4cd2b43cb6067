/* loadgen: shared declarations. See main.c for what the program does and how it measures. */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum script { SCRIPT_LOGIN, SCRIPT_SELECT, SCRIPT_COMMAND, SCRIPT_MIXED, SCRIPT_IDLE };

struct options {
	const char *host, *port, *user, *password, *mailbox, *command, *source;
	long clients, count, users, pushes;
	double duration, warmup, ramp_limit, push_timeout;
	uint64_t seed;
	enum script script;
	bool control; /* idle: "push" and "end" come on stdin, events go to stderr */
};

/* Where a connection is in its life; what it is waiting for. */
enum cstate {
	CS_OFF,        /* no socket (not started, waiting to reconnect, or finished) */
	CS_CONNECTING, /* non-blocking connect() in progress */
	CS_GREETING,   /* waiting for the server's greeting */
	CS_BUSY,       /* a tagged command is outstanding */
	CS_CONT,       /* waiting for a "+" continuation (synchronising literal, IDLE) */
	CS_IDLING,     /* in IDLE (mixed: waiting for our timer to send DONE) */
	CS_READY,      /* authenticated, nothing outstanding */
};

enum op {
	OP_NONE,
	OP_LOGIN,
	OP_CAPA,
	OP_SETUP, /* the one SELECT before the script starts */
	OP_LOGOUT,
	OP_SELECT,
	OP_FETCH_FLAGS,
	OP_FETCH_HDR,
	OP_STORE,
	OP_APPEND,
	OP_NOOP,
	OP_IDLE,
	OP_USER, /* the --command text */
};

/* Run phases, in order. */
enum phase { PH_RAMP, PH_RUN, PH_DRAIN, PH_LOGOUT, PH_EXIT };

struct conn {
	int fd;
	uint32_t idx, gen; /* gen changes at every close: stale events and timers are dropped */
	enum cstate st;
	enum op op;
	bool authed, ever_authed, ramped;
	bool counted;    /* the outstanding op is a script command (in g.inflight) */
	bool measured;   /* ... and it was issued inside the measurement window */
	bool await_sent; /* stamp sent_ns when the output buffer empties */
	bool want_out;   /* EPOLLOUT is registered */
	bool caps_known, cap_literal_plus, cap_idle;
	bool pusher;    /* idle: one of the connections that APPEND the pushed message */
	bool push_wait; /* idle: in IDLE when the push started, its EXISTS not yet seen */
	uint32_t tagno, uidnext, exists;
	uint64_t start_ns, sent_ns, rng;
	char tag[16];
	char *out; /* pending output */
	size_t out_len, out_off, out_cap;
	char *seg; /* first line of the response being read (truncated at SEG_MAX) */
	size_t seg_len, seg_cap;
	uint64_t seg_total, lit_left;
	bool seg_first;
	char tail[24]; /* last bytes of the current line, to spot a trailing {n} */
	char bye[128]; /* text of the last untagged BYE */
};

/* idle: one push round: log the pushers in, APPEND one message to each user's INBOX, wait until
 * every client that was idling has reported the new EXISTS. */
struct push {
	bool active, fired;
	int round;
	uint64_t t0, deadline, next_at;
	long queued;          /* --control: "push" lines not yet acted on */
	long pushers, ready;  /* pusher connections; how many are logged in */
	long idling, waiting; /* clients in IDLE at t0; those still without their EXISTS */
	long lost;            /* ... and those whose connection was lost before it came */
	long appends_left;    /* APPENDs not yet answered */
	uint64_t last_exists, last_ok;
};

struct global {
	struct options o;
	struct conn *conns;
	long nconns; /* clients, then (idle) the pushers */
	enum phase phase;
	uint64_t t0, measure_start, measure_end, deadline, last_done;
	long ramp_pending, ramp_next, ramp_active;
	long inflight, issued_measured, open_conns, tcp_ok, ever_authed;
	double ramp_seconds;
	struct push push;
	bool control_end; /* --control: "end" or end of file on stdin */
	int ep;
	volatile sig_atomic_t stop; /* SIGINT or SIGTERM: end the run now */
};

extern struct global g;

/* main.c */
uint64_t now_ns(void);

/* stats.c */
void stats_latency(uint64_t ns);
void stats_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void stats_unsupported(const char *text);
long stats_errors(void);
void stats_print(double seconds);
void stats_push_begin(void);
void stats_push_exists(uint64_t ns);
void stats_push_append(uint64_t ns);
void stats_push_end(int round, long idling, long missed, double last_after_ok_ms);

/* net.c */
void net_init(const char *host, const char *port, const char *source);
void net_watch_stdin(void);
void conn_open(struct conn *c);
void conn_close(struct conn *c);
void conn_write(struct conn *c, const void *p, size_t n);
void conn_flush(struct conn *c);
void timer_add(struct conn *c, uint64_t at, int kind);
void net_loop(void);

enum { T_RECONNECT, T_IDLE_DONE };

/* script.c */
void script_start(void);
void script_phase(uint64_t now);
void on_response(struct conn *c, const char *line, size_t len);
void on_timer(struct conn *c, int kind);
void on_lost(struct conn *c, const char *why);
void on_control(const char *line); /* a line from stdin; NULL at end of file */

#endif
