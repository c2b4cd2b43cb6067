/* gannet's command line: serve, imap (PREAUTH on stdin/stdout), user, deliver, config check. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/passwd.h"
#include "auth/throttle.h"
#include "auth/usercmd.h"
#include "net/tls.h"
#include "server/config.h"
#include "server/deliver.h"
#include "server/indexcmd.h"
#include "server/privs.h"
#include "server/server.h"
#include "store/store.h"
#include "util/log.h"
#include "util/str.h"

static void usage(void)
{
	fputs(
	    "usage: gannet serve --data DIR --listen HOST:PORT [--tls-listen HOST:PORT]\n"
	    "                    [--cert FILE --key FILE] [--user NAME] [--foreground]\n"
	    "                    [--plaintext-auth local|never|always]\n"
	    "                    [--log-level error|warn|info|debug] [--debug]\n"
	    "                    [--config FILE] [--SETTING N ...]   (gannet help settings)\n"
	    "       gannet config check [--config FILE] [options as for serve]\n"
	    "       gannet imap --preauth USER --data DIR\n"
	    "       gannet user add|passwd|del NAME --data DIR [--password-stdin]\n"
	    "       gannet user list --data DIR\n"
	    "       gannet deliver USER --data DIR [--mailbox NAME] [--append-limit BYTES]\n"
	    "       (user, deliver, index: --config FILE instead of --data takes the file's data)\n"
	    "       gannet index check|rebuild USER --data DIR | --config FILE\n",
	    stderr);
}

struct options {
	struct server_config server;
	const char *preauth;
	enum log_level log_level; /* --debug is --log-level debug */
	struct config_file file;  /* owns the strings the file's settings point to */
};

/* Every numeric setting: its flag, where it goes and its range. The defaults
 * are in defaults(); each limit is answered with a clear response when hit. */
struct num_setting {
	const char *name;
	size_t off, size;
	unsigned long long min, max;
	const char *what;
};

#define NUM(flag, field, lo, hi, text)                                                           \
	{                                                                                        \
		flag, offsetof(struct options, field), sizeof(((struct options *)0)->field), lo, \
		    hi, text                                                                     \
	}

static const struct num_setting num_settings[] = {
    NUM("workers", server.workers, 1, 256, "worker processes (default: one per core)"),
    NUM("worker-threads", server.session.threads[LANE_STORE], 1, 256,
        "threads per worker running mail commands"),
    NUM("auth-threads", server.session.threads[LANE_AUTH], 1, 256,
        "threads per worker checking passwords"),
    NUM("login-timeout", server.session.login_timeout, 1, 86400, "seconds to log in"),
    NUM("idle-timeout", server.session.idle_timeout, 1, 86400, "seconds of silence after login"),
    NUM("auth-fail-delay", server.session.auth_fail_delay_ms, 0, 60000,
        "ms a first failed login waits; it doubles with each failure"),
    NUM("auth-fail-delay-max", server.session.auth_fail_delay_max_ms, 0, 600000,
        "ms a failed login waits at most"),
    NUM("append-limit", server.session.append_limit, 1, 1ull << 40,
        "bytes in one message (APPENDLIMIT)"),
    NUM("max-connections", server.max_connections, 1, 1000000, "connections in all"),
    NUM("max-ip-connections", server.max_ip_connections, 1, 1000000,
        "connections from one address"),
    NUM("max-user-connections", server.max_user_connections, 1, 1000000,
        "connections logged in as one user"),
    NUM("max-line", server.session.parser.max_line, 1024, 1 << 26,
        "bytes in one command line, literals aside"),
    NUM("max-literal", server.session.parser.max_literal, 1024, 1ull << 32,
        "bytes in one literal other than a message"),
    NUM("max-depth", server.session.parser.max_depth, 1, 1000, "nested parentheses"),
    NUM("max-args", server.session.parser.max_tokens, 16, 10000000, "arguments in one command"),
    NUM("max-seqset", server.session.max_seq_ranges, 1, 10000000, "ranges in one sequence set"),
    NUM("max-search-keys", server.session.search_max_keys, 1, 1000000,
        "keys in one search program"),
    NUM("max-search-depth", server.session.search_max_depth, 1, 1000,
        "nested NOT, OR and groups in one search program"),
    NUM("max-pipeline", server.session.max_pipeline, 1, 1000000,
        "commands run from one read before their answers are sent"),
    NUM("max-output", server.session.max_output, 4096, 1ull << 32,
        "bytes buffered for one client before it must read"),
    NUM("max-mailboxes", server.session.store.max_mailboxes, 1, 1000000, "mailboxes per user"),
    NUM("max-mailbox-name", server.session.store.max_name_len, 16, 4096, "bytes in a mailbox name"),
    NUM("max-mailbox-depth", server.session.store.max_depth, 1, 256, "levels in a mailbox name"),
    NUM("index-lock-wait", server.session.store.lock_wait_ms, 100, 600000,
        "ms a command waits for another process's lock on a user's index"),
};
#define NUM_SETTINGS (sizeof num_settings / sizeof *num_settings)

static void defaults(struct options *o)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct options){0};
	o->server.workers = cores > 0 ? (unsigned)cores : 1;
	/* A person has a phone, a laptop and a webmail, each with a few
	 * connections; an office may sit behind one address. */
	o->server.max_connections = 20000;
	o->server.max_ip_connections = 1000;
	o->server.max_user_connections = 100;
	o->server.session = (struct session_config){
	    .parser = {.max_line = 64 * 1024,
	               .max_depth = 32,
	               .max_tokens = 100000,
	               .max_literal = 1024 * 1024,
	               .max_command = 8 * 1024 * 1024,
	               .max_discard = 64 * 1024 * 1024},
	    .store = {.max_mailboxes = 1000,
	              .max_name_len = 512,
	              .max_depth = 16,
	              .lock_wait_ms = 10000},
	    .login_timeout = 60,
	    .idle_timeout = 30 * 60,
	    .auth_fail_delay_ms = 1000,
	    .auth_fail_delay_max_ms = 15000,
	    .append_limit = 64ull * 1024 * 1024,
	    .max_seq_ranges = 100000,
	    .search_max_keys = 1000,
	    .search_max_depth = 32,
	    .max_pipeline = 100,
	    .max_output = 1024 * 1024,
	    .threads = {[LANE_STORE] = 4, [LANE_AUTH] = 2},
	    .plaintext_auth = PLAINTEXT_LOCAL,
	};
	o->log_level = LOG_LVL_INFO;
}

/* The setters below say what is wrong in err (for "where: err"). */
#define ERR_MAX 256

static bool set_num(struct options *o, const struct num_setting *ns, const char *arg, char *err)
{
	uint64_t v;
	if (!str_to_u64(arg, strlen(arg), ns->max, &v) || v < ns->min) {
		snprintf(err, ERR_MAX, "%.64s is not a number from %llu to %llu", arg, ns->min,
		         ns->max);
		return false;
	}
	char *field = (char *)o + ns->off;
	switch (ns->size) {
	case sizeof(unsigned):
		*(unsigned *)field = (unsigned)v;
		break;
	case sizeof(uint64_t):
		*(uint64_t *)field = v;
		break;
	default:
		abort(); /* a field of another width in num_settings */
	}
	return true;
}

static unsigned long long get_num(const struct options *o, const struct num_setting *ns)
{
	const char *field = (const char *)o + ns->off;
	return ns->size == sizeof(unsigned) ? *(const unsigned *)field : *(const uint64_t *)field;
}

static void print_settings(void)
{
	struct options o;
	defaults(&o);
	for (size_t i = 0; i < NUM_SETTINGS; i++)
		printf("  --%-22s %-12llu %s\n", num_settings[i].name,
		       get_num(&o, &num_settings[i]), num_settings[i].what);
	/* The word settings whose default is worth knowing. */
	printf("  --%-22s %-12s %s\n", "plaintext-auth", "local",
	       "passwords without TLS: local (loopback only), never, always");
	printf("  --%-22s %-12s %s\n", "log-level", log_level_name(o.log_level),
	       "error, warn, info (one line per session event) or debug (--debug)");
}

enum {
	OPT_DATA = 256,
	OPT_LISTEN,
	OPT_TLS_LISTEN,
	OPT_CERT,
	OPT_KEY,
	OPT_USER,
	OPT_PLAINTEXT,
	OPT_FOREGROUND,
	OPT_PREAUTH,
	OPT_DEBUG,
	OPT_LOG_LEVEL,
	OPT_CONFIG,
	OPT_NUM, /* OPT_NUM + i: num_settings[i] */
};

static const struct option word_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"tls-listen", required_argument, NULL, OPT_TLS_LISTEN},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"user", required_argument, NULL, OPT_USER},
    {"plaintext-auth", required_argument, NULL, OPT_PLAINTEXT},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"preauth", required_argument, NULL, OPT_PREAUTH},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"config", required_argument, NULL, OPT_CONFIG}, /* read before the others */
};
#define WORD_OPTS (sizeof word_opts / sizeof *word_opts)

static bool set_plaintext(struct options *o, const char *arg, char *err)
{
	static const char *names[] = {[PLAINTEXT_LOCAL] = "local",
	                              [PLAINTEXT_NEVER] = "never",
	                              [PLAINTEXT_ALWAYS] = "always"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(arg, names[i]) == 0) {
			o->server.session.plaintext_auth = (enum plaintext_auth)i;
			return true;
		}
	snprintf(err, ERR_MAX, "%.64s is not local, never or always", arg);
	return false;
}

static bool set_word(struct options *o, int opt, const char *arg, char *err)
{
	switch (opt) {
	case OPT_DATA:
		o->server.session.data_dir = arg;
		return true;
	case OPT_LISTEN:
		o->server.listen = arg;
		return true;
	case OPT_TLS_LISTEN:
		o->server.tls_listen = arg;
		return true;
	case OPT_CERT:
		o->server.cert = arg;
		return true;
	case OPT_KEY:
		o->server.key = arg;
		return true;
	case OPT_USER:
		o->server.run_as = arg;
		return true;
	case OPT_PLAINTEXT:
		return set_plaintext(o, arg, err);
	case OPT_FOREGROUND:
		o->server.foreground = true;
		return true;
	case OPT_PREAUTH:
		o->preauth = arg;
		return true;
	case OPT_DEBUG:
		o->log_level = LOG_LVL_DEBUG;
		return true;
	case OPT_LOG_LEVEL:
		if (log_level_parse(arg, &o->log_level))
			return true;
		snprintf(err, ERR_MAX, "%.64s is not error, warn, info or debug", arg);
		return false;
	case OPT_CONFIG:
		return true; /* read first, by read_config */
	}
	snprintf(err, ERR_MAX, "unknown option");
	return false;
}

static const char *opt_name(int ch)
{
	if (ch >= OPT_NUM)
		return num_settings[ch - OPT_NUM].name;
	for (size_t i = 0; i < WORD_OPTS; i++)
		if (word_opts[i].val == ch)
			return word_opts[i].name;
	return "?";
}

/* A file's value for an option that takes none on the command line. */
static bool file_flag(const char *value, bool *on, char *err)
{
	*on = strcmp(value, "yes") == 0 || strcmp(value, "true") == 0;
	if (*on || strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
		return true;
	snprintf(err, ERR_MAX, "%.64s is not yes or no", value);
	return false;
}

/* One line of the configuration file, as the option of the same name. */
static bool apply_entry(struct options *o, const struct config_entry *e, char *err)
{
	for (size_t i = 0; i < NUM_SETTINGS; i++)
		if (strcmp(e->name, num_settings[i].name) == 0)
			return set_num(o, &num_settings[i], e->value, err);
	for (size_t i = 0; i < WORD_OPTS; i++) {
		const struct option *w = &word_opts[i];
		if (strcmp(e->name, w->name) != 0 || w->val == OPT_CONFIG || w->val == OPT_PREAUTH)
			continue;
		bool on = true;
		if (w->has_arg == no_argument && !file_flag(e->value, &on, err))
			return false;
		return !on || set_word(o, w->val, e->value, err);
	}
	snprintf(err, ERR_MAX, "unknown setting %.64s (gannet help settings lists them)", e->name);
	return false;
}

/* --config FILE (or --config=FILE) anywhere on the line: its settings come
 * first, so the command line's override them. */
static bool read_config(int argc, char **argv, struct options *o)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	if (!path)
		return true;
	char err[ERR_MAX + 128];
	if (!config_read(path, &o->file, err, sizeof err)) {
		fprintf(stderr, "gannet: %s\n", err);
		return false;
	}
	for (size_t i = 0; i < o->file.n; i++) {
		const struct config_entry *e = &o->file.entries[i];
		if (!apply_entry(o, e, err)) {
			fprintf(stderr, "gannet: %s:%u: %s: %s\n", path, e->line, e->name, err);
			return false;
		}
	}
	return true;
}

static bool parse_options(int argc, char **argv, struct options *o)
{
	struct option opts[WORD_OPTS + NUM_SETTINGS + 1];
	memcpy(opts, word_opts, sizeof word_opts);
	for (size_t i = 0; i < NUM_SETTINGS; i++)
		opts[WORD_OPTS + i] = (struct option){num_settings[i].name, required_argument, NULL,
		                                      OPT_NUM + (int)i};
	opts[WORD_OPTS + NUM_SETTINGS] = (struct option){0};
	defaults(o);
	if (!read_config(argc, argv, o))
		return false;
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char err[ERR_MAX];
		if (ch == '?')
			return false; /* getopt said what */
		bool ok = ch >= OPT_NUM ? set_num(o, &num_settings[ch - OPT_NUM], optarg, err)
		                        : set_word(o, ch, optarg, err);
		if (!ok) {
			fprintf(stderr, "gannet: --%s: %s\n", opt_name(ch), err);
			return false;
		}
	}
	if (optind != argc || !o->server.session.data_dir) {
		fputs(optind != argc ? "gannet: unexpected argument\n"
		                     : "gannet: --data is required\n",
		      stderr);
		return false;
	}
	if (!o->server.cert != !o->server.key || (o->server.tls_listen && !o->server.cert)) {
		fputs("gannet: TLS needs both --cert and --key\n", stderr);
		return false;
	}
	return true;
}

/* The --data argument of a subcommand's command line, or NULL. */
static const char *data_arg(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--data=", 7) == 0)
			return argv[i] + 7;
	}
	return NULL;
}

/* Run as root, a subcommand that touches mail becomes the data directory's
 * owner first (privs.h), so nothing it makes belongs to root. Without
 * --data it touches nothing and only says how it is used. */
static bool become_mail_user(const char *data)
{
	struct privs p;
	return !data || (privs_resolve(NULL, data, &p) && privs_drop(&p));
}

static int cmd_serve(int argc, char **argv, bool stdio)
{
	struct options o = {0};
	if (!parse_options(argc, argv, &o) ||
	    (stdio ? !o.preauth : !o.server.listen && !o.server.tls_listen)) {
		config_free(&o.file);
		usage();
		return 2;
	}
	/* `gannet imap` speaks IMAP on stdout: logs go to syslog there. */
	log_init("gannet", stdio || !o.server.foreground, o.log_level);
	o.server.session.passwd_path = xasprintf("%s/passwd", o.server.session.data_dir);
	int rc;
	if (stdio && !become_mail_user(o.server.session.data_dir)) {
		rc = 1;
	} else if (stdio) {
		if (passwd_has_user(o.server.session.passwd_path, o.preauth) != 1) {
			fprintf(stderr, "gannet: no user %s in %s\n", o.preauth,
			        o.server.session.passwd_path);
			rc = 1;
		} else {
			rc = server_run_stdio(&o.server.session, o.preauth);
		}
	} else {
		/* Made before the workers fork, so all of them share it. */
		o.server.session.throttle = throttle_new(4096, o.server.session.auth_fail_delay_ms,
		                                         o.server.session.auth_fail_delay_max_ms);
		rc = o.server.session.throttle ? server_run(&o.server) : 1;
		throttle_free(o.server.session.throttle);
	}
	free(o.server.session.passwd_path);
	config_free(&o.file);
	return rc;
}

/* `gannet config check [--config FILE] [options]`: everything serve would
 * refuse at start, found without starting: the settings, the data
 * directory and who may touch it, the certificate and key. */
static int cmd_config(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		usage();
		return 2;
	}
	log_init("gannet", false, LOG_LVL_WARN);
	struct options o = {0};
	struct privs privs;
	struct stat st;
	bool ok = parse_options(argc - 1, argv + 1, &o);
	if (ok && !o.server.listen && !o.server.tls_listen) {
		fputs("gannet: nothing to listen on: set listen or tls-listen\n", stderr);
		ok = false;
	}
	if (ok && (stat(o.server.session.data_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "gannet: data %s is not a directory\n", o.server.session.data_dir);
		ok = false;
	}
	ok = ok && privs_resolve(o.server.run_as, o.server.session.data_dir, &privs);
	if (ok && o.server.cert) {
		SSL_CTX *tls = tls_ctx_new(o.server.cert, o.server.key);
		ok = tls != NULL;
		tls_ctx_free(tls);
	}
	if (ok)
		printf("gannet: configuration OK\n");
	config_free(&o.file);
	return ok ? 0 : 1;
}

/* After `user add`, the new user's mailboxes are made at once, so an MTA
 * can deliver into the Maildir before the first login. */
static int cmd_user(int argc, char **argv)
{
	if (!become_mail_user(data_arg(argc, argv)))
		return 1;
	int rc = usercmd_main(argc, argv);
	if (rc != 0 || argc < 3 || strcmp(argv[1], "add") != 0)
		return rc;
	const char *data = data_arg(argc, argv), *name = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0)
			i++;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
	}
	struct options o;
	defaults(&o);
	struct store *s;
	log_init("gannet", false, LOG_LVL_WARN);
	if (!data || !name || store_open(data, name, &o.server.session.store, &s) != STORE_OK) {
		fprintf(stderr, "gannet: user added, but their mailboxes could not be made yet\n");
		return 3;
	}
	store_close(s);
	return 0;
}

/* --data DIR, or else the data setting of --config FILE; NULL when neither
 * (the caller says how it is used). *file keeps the string. */
static const char *data_dir_of(int argc, char **argv, struct config_file *file)
{
	const char *data = data_arg(argc, argv);
	const char *path = NULL;
	for (int i = 1; i < argc - 1 && !data; i++)
		if (strcmp(argv[i], "--config") == 0)
			path = argv[i + 1];
	char err[ERR_MAX + 128];
	if (!path)
		return data;
	if (!config_read(path, file, err, sizeof err)) {
		fprintf(stderr, "gannet: %s\n", err);
		return NULL;
	}
	for (size_t i = 0; i < file->n; i++)
		if (strcmp(file->entries[i].name, "data") == 0)
			data = file->entries[i].value;
	if (!data)
		fprintf(stderr, "gannet: %s sets no data directory\n", path);
	return data;
}

/* argv with "--config FILE" turned into "--data DIR" (the file's data
 * setting), for `user` and `deliver`, which read only --data. NULL when the
 * file cannot be used (said on stderr). Free the array, not its strings. */
static char **config_to_data(int argc, char **argv, struct config_file *file)
{
	char **out = xcalloc((size_t)argc + 1, sizeof *out);
	memcpy(out, argv, (size_t)argc * sizeof *out);
	for (int i = 1; i < argc - 1; i++) {
		if (strcmp(argv[i], "--config") != 0)
			continue;
		const char *data = data_dir_of(argc, argv, file);
		if (!data) {
			free(out);
			return NULL;
		}
		out[i] = "--data";
		out[i + 1] = (char *)data;
		break;
	}
	return out;
}

static int cmd_deliver(int argc, char **argv)
{
	struct options o;
	defaults(&o);
	struct config_file file = {0};
	char **args = config_to_data(argc, argv, &file);
	int rc;
	if (!args)
		rc = 75; /* EX_TEMPFAIL: the MTA keeps the message until this is fixed */
	else if (!become_mail_user(data_arg(argc, args)))
		rc = 75;
	else
		rc = deliver_main(argc, args, &o.server.session);
	free(args);
	config_free(&file);
	return rc;
}

static int cmd_index(int argc, char **argv)
{
	struct config_file file = {0};
	const char *data = data_dir_of(argc, argv, &file);
	log_init("gannet", false, LOG_LVL_INFO);
	int rc = !data ? 2 : become_mail_user(data) ? indexcmd_main(argc, argv, data) : 3;
	if (rc == 2)
		usage();
	config_free(&file);
	return rc;
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
	if (strcmp(cmd, "user") == 0) {
		struct config_file file = {0};
		char **args = config_to_data(argc - 1, argv + 1, &file);
		int rc = args ? cmd_user(argc - 1, args) : 2;
		free(args);
		config_free(&file);
		return rc;
	}
	if (strcmp(cmd, "deliver") == 0)
		return cmd_deliver(argc - 1, argv + 1);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(argc - 1, argv + 1);
	if (strcmp(cmd, "index") == 0)
		return cmd_index(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 && argc == 3 && strcmp(argv[2], "settings") == 0) {
		print_settings();
		return 0;
	}
	usage();
	return 2;
}
