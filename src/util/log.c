#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logging configuration: set once at start-up by log_init. */
static struct {
	const char *ident;
	bool syslog;
	enum log_level level;
} log_cfg = {"gannet", false, LOG_LVL_INFO};

void log_init(const char *ident, bool use_syslog, enum log_level level)
{
	log_cfg.ident = ident;
	log_cfg.syslog = use_syslog;
	log_cfg.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *name[] = {"error", "warn", "info", "debug"};
	if (level > log_cfg.level)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (log_cfg.syslog) {
		vsyslog(prio[level], fmt, ap);
	} else {
		char line[2048];
		vsnprintf(line, sizeof line, fmt, ap);
		time_t now = time(NULL);
		struct tm tm;
		char ts[32];
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
		fprintf(stderr, "%s %s[%d] %s: %s\n", ts, log_cfg.ident, (int)getpid(), name[level],
		        line);
	}
	va_end(ap);
}
