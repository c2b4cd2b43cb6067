/* loadgen — the IMAP load generator of Gannet's benchmark harness (bench/run calls it).
 *
 *   build/loadgen --port PORT --user USER --password PW [--host 127.0.0.1] --clients N
 *                 (--duration SEC | --count N) --script login|select|command|mixed|idle
 *                 [--mailbox NAME] [--command 'TEXT'] [--warmup SEC] [--seed N] [--users K]
 *                 [--source ADDR[,ADDR...]] [--ramp-limit SEC]
 *                 [--pushes N | --control] [--push-timeout SEC] *
 * What it does: N connections, non-blocking sockets on one epoll loop, each a small state machine:
 * greeting, LOGIN "user" "password", the script, LOGOUT. One command is outstanding per connection.
 *   login    connect, LOGIN, LOGOUT, close, again; one command = one whole cycle.
 *   select   SELECT <mailbox> over and over.
 *   command  SELECT <mailbox> once (setup), then the --command text over and over.
 *   mixed    SELECT <mailbox> once (setup), then a weighted random mix (--seed, per connection):
 *            SELECT 10, UID FETCH 1:* (FLAGS) 20, UID FETCH of 20 recent UIDs (FROM SUBJECT DATE
 *            headers) 25, UID STORE +FLAGS (\Seen) 20, APPEND Sent ~3 KB (LITERAL+ if advertised)
 *            10, NOOP 10, IDLE 1-3 s then DONE 5 (NOOP if IDLE is not advertised).
 *   idle     log in, SELECT <mailbox> (default INBOX), IDLE, and stay there. Once every client is
 *            idling come the push rounds: one more connection per user (--users K: K of them, else
 *            one) logs in, and when all have, each APPENDs one ~3 KB message to <mailbox> (LITERAL+
 *            if advertised). t0 is taken just before the first APPEND is written. The round ends
 *            when every client that was idling at t0 has received an untagged "n EXISTS" above the
 *            count it last saw (or after --push-timeout SEC, default 120: the rest are errors).
 *            Per-client latency: t0 to the arrival of that line. --pushes N rounds (default 1),
 *            the first 1 s after all clients are idling, each next 1 s after the last; the run
 *            lasts --duration SEC at least. With --control, stdin drives it instead: a line "push"
 *            runs a round, "end" (or end of file) ends the run, and stderr gets
 *            "loadgen: ready IDLING CLIENTS ERRORS" once every client is set up and
 *            "loadgen: pushed ROUND GOT IDLING LAST_MS ERRORS" after each round (ERRORS: the
 *            count so far). The script ends by closing its sockets (no DONE, no LOGOUT).
 *   --users K  client i logs in as USER<i mod K + 1> (USER1 ... USERK), all with the same password.
 *   --source   client i binds to the i-mod-n-th address before connecting (more source ports and
 *              a spread over per-IP limits: --source 127.0.0.1,127.0.0.2).
 *
 * How it measures:
 *   - Ramp-up: except for `login`, clients connect and log in (256 at a time) and do their setup
 *     first; the run starts when all have (or failed, or after 300 s). This is not measured;
 *     its length is reported as ramp_seconds (--ramp-limit, default 300 s). For `login` the run
 *     starts at once.
 *   - The first --warmup seconds of the run are not measured. A command is measured when it is
 *     issued after that; --duration SEC then stops new commands SEC seconds later, --count N after
 *     N measured commands. Commands in flight finish (30 s at most), then every client logs out.
 *   - Latency: from the moment the command's last byte left (for login: from connect()) to its
 *     tagged response; every sample is kept, percentiles are nearest-rank, in milliseconds.
 *   - Verification: responses are framed by lines, with literals {n} counted and skipped, never
 *     scanned for tags. The tagged OK counts in "commands" (and in cps and the percentiles);
 *     NO or BAD is an error, except a BAD saying "Unknown command", which is "unsupported" (not
 *     built yet, as opposed to broken). A connection lost, a failed login or an unexpected line is
 *     an error too. Errors and unsupported are counted over the whole run, ramp-up included; up
 *     to 5 distinct lines of each are kept as samples. Lost connections reconnect after 100 ms.
 *   - seconds: from the start of the measured window to the last measured completion (for
 *     --duration, at least SEC). cps = commands / seconds.
 *
 * Output: one JSON object on stdout: script, clients, commands, errors, unsupported, seconds, cps,
 * p50_ms, p90_ms, p99_ms, max_ms, connected (clients that logged in at least once), error_samples,
 * unsupported_samples, ramp_seconds. For idle, commands and the percentiles are over every EXISTS
 * of every round, and "push" lists the rounds: round, idling, received, missed, appends (answered
 * OK), append_p50_ms, append_max_ms, p50_ms, p90_ms, p99_ms, max_ms (the last client: the time to
 * push to all of them), last_after_ok_ms (last EXISTS minus the last APPEND's tagged OK; negative
 * when every client had it before the appender had its OK). Exit 0; 1 on a usage error or when no
 * TCP connection could be made at all. SIGINT/SIGTERM end the run early and still print the
 * report. */
#include "loadgen.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct global g;

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "loadgen: %s\n", why);
	fprintf(stderr, "usage: loadgen --port PORT --user USER --password PW [--host 127.0.0.1]\n"
	                "               --clients N (--duration SEC | --count N)\n"
	                "               --script login|select|command|mixed|idle [--mailbox NAME]\n"
	                "               [--command 'TEXT'] [--warmup SEC] [--seed N] [--users K]\n"
	                "               [--source ADDR[,ADDR...]] [--ramp-limit SEC]\n"
	                "               [--pushes N | --control] [--push-timeout SEC]\n");
	exit(1);
}

static double number(const char *s, double min, double max, const char *what)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || v < min || v > max) {
		fprintf(stderr, "loadgen: bad %s: %s\n", what, s);
		usage(NULL);
	}
	return v;
}

static uint64_t seed(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);
	if (end == s || *end)
		usage("bad --seed");
	return v;
}

static enum script script_named(const char *s)
{
	static const char *const names[] = {"login", "select", "command", "mixed", "idle"};
	for (int i = 0; i < 5; i++)
		if (!strcmp(s, names[i]))
			return (enum script)i;
	usage("unknown --script");
	return SCRIPT_LOGIN;
}

static void check_text(const char *s, const char *what)
{
	if (strpbrk(s, "\r\n")) {
		fprintf(stderr, "loadgen: %s must not contain CR or LF\n", what);
		usage(NULL);
	}
}

static void check_options(struct options *o, bool have_script)
{
	if (!o->port || !o->user || !o->password || !o->clients || !have_script)
		usage("--port, --user, --password, --clients and --script are required");
	bool idle_control = o->script == SCRIPT_IDLE && o->control;
	if (!idle_control && (o->duration > 0) == (o->count > 0))
		usage("give exactly one of --duration and --count");
	if (idle_control && o->count)
		usage("--script idle takes no --count");
	if (o->script == SCRIPT_IDLE && !o->duration && !o->control)
		usage("--script idle needs --duration or --control");
	if ((o->control || o->pushes) && o->script != SCRIPT_IDLE)
		usage("--control and --pushes are for --script idle");
	if (o->control && o->pushes)
		usage("--pushes is for runs without --control");
	if (o->script == SCRIPT_COMMAND && !o->command)
		usage("--script command needs --command");
	check_text(o->user, "--user");
	check_text(o->password, "--password");
	check_text(o->mailbox, "--mailbox");
	if (o->command)
		check_text(o->command, "--command");
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
	    {"port", 1, 0, 'p'},    {"user", 1, 0, 'u'},    {"password", 1, 0, 'w'},
	    {"host", 1, 0, 'H'},    {"clients", 1, 0, 'c'}, {"duration", 1, 0, 'd'},
	    {"count", 1, 0, 'n'},   {"script", 1, 0, 's'},  {"mailbox", 1, 0, 'm'},
	    {"command", 1, 0, 'C'}, {"warmup", 1, 0, 'W'},  {"seed", 1, 0, 'S'},
	    {"users", 1, 0, 'U'},   {"source", 1, 0, 'B'},  {"control", 0, 0, 'K'},
	    {"pushes", 1, 0, 'P'},  {"ramp-limit", 1, 0, 'R'}, {"push-timeout", 1, 0, 'T'},
	    {"help", 0, 0, 'h'},    {0, 0, 0, 0},
	};
	bool have_script = false;
	*o = (struct options){.host = "127.0.0.1", .mailbox = "INBOX", .seed = 1, .ramp_limit = 300,
	                      .push_timeout = 120};
	for (int ch; (ch = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
		switch (ch) {
		case 'p':
			o->port = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'w':
			o->password = optarg;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'c':
			o->clients = (long)number(optarg, 1, 1000000, "--clients");
			break;
		case 'd':
			o->duration = number(optarg, 0.001, 1e6, "--duration");
			break;
		case 'n':
			o->count = (long)number(optarg, 1, 1e15, "--count");
			break;
		case 's':
			o->script = script_named(optarg);
			have_script = true;
			break;
		case 'm':
			o->mailbox = optarg;
			break;
		case 'C':
			o->command = optarg;
			break;
		case 'W':
			o->warmup = number(optarg, 0, 1e6, "--warmup");
			break;
		case 'S':
			o->seed = seed(optarg);
			break;
		case 'U':
			o->users = (long)number(optarg, 1, 1000000, "--users");
			break;
		case 'B':
			o->source = optarg;
			break;
		case 'K':
			o->control = true;
			break;
		case 'P':
			o->pushes = (long)number(optarg, 1, 1000, "--pushes");
			break;
		case 'R':
			o->ramp_limit = number(optarg, 1, 86400, "--ramp-limit");
			break;
		case 'T':
			o->push_timeout = number(optarg, 0.1, 86400, "--push-timeout");
			break;
		default:
			usage(NULL);
		}
	}
	if (optind < argc)
		usage("unexpected argument");
	check_options(o, have_script);
	number(o->port, 1, 65535, "--port");
}

/* Up to 10,000 sockets: raise the soft descriptor limit to the hard one. */
static void raise_nofile(long clients)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)clients + 16)
		fprintf(stderr, "loadgen: warning: %ld clients but only %llu file descriptors\n",
		        clients, (unsigned long long)rl.rlim_cur);
}

static void on_signal(int sig)
{
	(void)sig;
	g.stop = 1;
}

/* The clients, then for idle the pushers: one per user. */
static void init_conns(void)
{
	long pushers = g.o.script == SCRIPT_IDLE ? (g.o.users ? g.o.users : 1) : 0;
	g.nconns = g.o.clients + pushers;
	g.push.pushers = pushers;
	g.conns = calloc((size_t)g.nconns, sizeof *g.conns);
	if (!g.conns)
		abort();
	for (long i = 0; i < g.nconns; i++) {
		struct conn *c = &g.conns[i];
		c->idx = (uint32_t)i;
		c->fd = -1;
		c->rng = g.o.seed ^ ((uint64_t)(i + 1) * 0xD1B54A32D192ED03ull);
		c->pusher = i >= g.o.clients;
		c->ramped = c->pusher; /* not part of the ramp-up */
	}
}

/* The measured window: from its start to the last measured completion (at least --duration). */
static double window_seconds(void)
{
	if (!g.measure_start || !g.tcp_ok)
		return 0;
	uint64_t end = g.last_done;
	if (g.o.duration > 0 && end < g.measure_end)
		end = g.measure_end;
	return end > g.measure_start ? (double)(end - g.measure_start) / 1e9 : 0;
}

int main(int argc, char **argv)
{
	parse(argc, argv, &g.o);
	if (g.o.script == SCRIPT_IDLE && !g.o.control && !g.o.pushes)
		g.o.pushes = 1;
	raise_nofile(g.o.clients + (g.o.users ? g.o.users : 1));
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	net_init(g.o.host, g.o.port, g.o.source);
	init_conns();
	if (g.o.control)
		net_watch_stdin();
	g.t0 = now_ns();
	script_start();
	net_loop();
	stats_print(window_seconds());
	return g.tcp_ok ? 0 : 1;
}
