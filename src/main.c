/* gannet's command line: serve, imap (PREAUTH on stdin/stdout), user, deliver. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/passwd.h"
#include "auth/usercmd.h"
#include "server/deliver.h"
#include "server/server.h"
#include "store/store.h"
#include "util/log.h"
#include "util/str.h"

static void usage(void)
{
	fputs("usage: gannet serve --data DIR --listen HOST:PORT [--foreground] [--workers N]\n"
	      "                    [--login-timeout SEC] [--idle-timeout SEC]\n"
	      "                    [--auth-fail-delay MS] [--append-limit BYTES] [--debug]\n"
	      "                    [--max-connections N] [--max-ip-connections N]\n"
	      "                    [--max-user-connections N]\n"
	      "       gannet imap --preauth USER --data DIR\n"
	      "       gannet user add|passwd|del NAME --data DIR [--password-stdin]\n"
	      "       gannet user list --data DIR\n"
	      "       gannet deliver USER --data DIR [--mailbox NAME] [--append-limit BYTES]\n",
	      stderr);
}

static void defaults(struct session_config *s)
{
	*s = (struct session_config){
	    .parser = {.max_line = 64 * 1024,
	               .max_depth = 32,
	               .max_tokens = 100000,
	               .max_literal = 1024 * 1024,
	               .max_command = 8 * 1024 * 1024,
	               .max_discard = 64 * 1024 * 1024},
	    .store = {.max_mailboxes = 1000, .max_name_len = 512, .max_depth = 16},
	    .login_timeout = 60,
	    .idle_timeout = 30 * 60,
	    .auth_fail_delay_ms = 1000,
	    .append_limit = 64ull * 1024 * 1024,
	};
}

static bool parse_num(const char *opt, const char *arg, unsigned long long max,
                      unsigned long long *out)
{
	uint64_t v;
	if (!str_to_u64(arg, strlen(arg), max, &v)) {
		fprintf(stderr, "gannet: %s: %s is not a number up to %llu\n", opt, arg, max);
		return false;
	}
	*out = v;
	return true;
}

enum {
	OPT_DATA = 256,
	OPT_LISTEN,
	OPT_FOREGROUND,
	OPT_WORKERS,
	OPT_LOGIN_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_AUTH_DELAY,
	OPT_APPEND_LIMIT,
	OPT_PREAUTH,
	OPT_DEBUG,
	OPT_MAX_CONN,
	OPT_MAX_IP_CONN,
	OPT_MAX_USER_CONN,
};

static const struct option long_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"login-timeout", required_argument, NULL, OPT_LOGIN_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"auth-fail-delay", required_argument, NULL, OPT_AUTH_DELAY},
    {"append-limit", required_argument, NULL, OPT_APPEND_LIMIT},
    {"preauth", required_argument, NULL, OPT_PREAUTH},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"max-ip-connections", required_argument, NULL, OPT_MAX_IP_CONN},
    {"max-user-connections", required_argument, NULL, OPT_MAX_USER_CONN},
    {NULL, 0, NULL, 0},
};

struct options {
	struct server_config server;
	const char *preauth;
	bool debug;
};

static bool parse_options(int argc, char **argv, struct options *o)
{
	unsigned long long v;
	int ch;
	defaults(&o->server.session);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	o->server.workers = cores > 0 ? (unsigned)cores : 1;
	/* A person has a phone, a laptop and a webmail, each with a few
	 * connections; an office may sit behind one address. */
	o->server.max_connections = 20000;
	o->server.max_ip_connections = 1000;
	o->server.max_user_connections = 100;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		bool ok = true;
		switch (ch) {
		case OPT_DATA:
			o->server.session.data_dir = optarg;
			break;
		case OPT_LISTEN:
			o->server.listen = optarg;
			break;
		case OPT_FOREGROUND:
			o->server.foreground = true;
			break;
		case OPT_PREAUTH:
			o->preauth = optarg;
			break;
		case OPT_DEBUG:
			o->debug = true;
			break;
		case OPT_WORKERS:
			ok = parse_num("--workers", optarg, 256, &v) && v > 0;
			o->server.workers = (unsigned)v;
			break;
		case OPT_LOGIN_TIMEOUT:
			ok = parse_num("--login-timeout", optarg, 86400, &v) && v > 0;
			o->server.session.login_timeout = (unsigned)v;
			break;
		case OPT_IDLE_TIMEOUT:
			ok = parse_num("--idle-timeout", optarg, 86400, &v) && v > 0;
			o->server.session.idle_timeout = (unsigned)v;
			break;
		case OPT_AUTH_DELAY:
			ok = parse_num("--auth-fail-delay", optarg, 60000, &v);
			o->server.session.auth_fail_delay_ms = (unsigned)v;
			break;
		case OPT_MAX_CONN:
			ok = parse_num("--max-connections", optarg, 1000000, &v) && v > 0;
			o->server.max_connections = (unsigned)v;
			break;
		case OPT_MAX_IP_CONN:
			ok = parse_num("--max-ip-connections", optarg, 1000000, &v) && v > 0;
			o->server.max_ip_connections = (unsigned)v;
			break;
		case OPT_MAX_USER_CONN:
			ok = parse_num("--max-user-connections", optarg, 1000000, &v) && v > 0;
			o->server.max_user_connections = (unsigned)v;
			break;
		case OPT_APPEND_LIMIT:
			ok = parse_num("--append-limit", optarg, 1ull << 40, &v) && v > 0;
			o->server.session.append_limit = v;
			break;
		default:
			ok = false;
			break;
		}
		if (!ok)
			return false;
	}
	if (optind != argc || !o->server.session.data_dir) {
		fputs(optind != argc ? "gannet: unexpected argument\n"
		                     : "gannet: --data is required\n",
		      stderr);
		return false;
	}
	return true;
}

static int cmd_serve(int argc, char **argv, bool stdio)
{
	struct options o = {0};
	if (!parse_options(argc, argv, &o) || (stdio ? !o.preauth : !o.server.listen)) {
		usage();
		return 2;
	}
	/* `gannet imap` speaks IMAP on stdout: logs go to syslog there. */
	log_init("gannet", stdio || !o.server.foreground, o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	o.server.session.passwd_path = xasprintf("%s/passwd", o.server.session.data_dir);
	int rc;
	if (stdio) {
		if (passwd_has_user(o.server.session.passwd_path, o.preauth) != 1) {
			fprintf(stderr, "gannet: no user %s in %s\n", o.preauth,
			        o.server.session.passwd_path);
			rc = 1;
		} else {
			rc = server_run_stdio(&o.server.session, o.preauth);
		}
	} else {
		rc = server_run(&o.server);
	}
	free(o.server.session.passwd_path);
	return rc;
}

/* After `user add`, the new user's mailboxes are made at once, so an MTA
 * can deliver into the Maildir before the first login. */
static int cmd_user(int argc, char **argv)
{
	int rc = usercmd_main(argc, argv);
	if (rc != 0 || argc < 3 || strcmp(argv[1], "add") != 0)
		return rc;
	const char *data = NULL, *name = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			data = argv[++i];
		else if (strncmp(argv[i], "--data=", 7) == 0)
			data = argv[i] + 7;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
	}
	struct session_config cfg;
	defaults(&cfg);
	struct store *s;
	log_init("gannet", false, LOG_LVL_WARN);
	if (!data || !name || store_open(data, name, &cfg.store, &s) != STORE_OK) {
		fprintf(stderr, "gannet: user added, but their mailboxes could not be made yet\n");
		return 3;
	}
	store_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 1, argv + 1, false);
	if (strcmp(cmd, "imap") == 0)
		return cmd_serve(argc - 1, argv + 1, true);
	if (strcmp(cmd, "user") == 0)
		return cmd_user(argc - 1, argv + 1);
	if (strcmp(cmd, "deliver") == 0) {
		struct session_config cfg;
		defaults(&cfg);
		return deliver_main(argc - 1, argv + 1, &cfg);
	}
	usage();
	return 2;
}
