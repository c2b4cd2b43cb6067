#include "util/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/mutf7.h"

/* Process-wide logging configuration: set once at start-up by log_init. */
static struct {
	const char *ident;
	bool syslog;
	enum log_level level;
} log_cfg = {"gannet", false, LOG_LVL_INFO};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *ident, bool use_syslog, enum log_level level)
{
	log_cfg.ident = ident;
	log_cfg.syslog = use_syslog;
	log_cfg.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool log_level_parse(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++)
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return true;
		}
	return false;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

/* Code points that would let text pose as something else in a terminal or
 * a log viewer: C1 controls (CSI among them), line and paragraph separators,
 * and the bidirectional embeddings, overrides and isolates. */
static bool cp_deceptive(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Length of the character at p that may appear as it is; 0: escape p[0]. */
static size_t printable_len(const unsigned char *p, size_t len)
{
	uint32_t cp;
	if (p[0] == '\\')
		return 0;
	size_t n = utf8_decode(p, len, &cp);
	if (n == 0 || cp < 0x20 || cp == 0x7f || cp_deceptive(cp))
		return 0;
	return n;
}

void log_escape(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t len = strlen(in), o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = printable_len(p + i, len - i);
		char esc[5];
		const char *add = (const char *)p + i;
		size_t addlen = n;
		if (n == 0) {
			n = 1;
			addlen = p[i] == '\\' ? 2 : 4;
			snprintf(esc, sizeof esc, p[i] == '\\' ? "\\\\" : "\\x%02x", p[i]);
			add = esc;
		}
		if (o + addlen >= size)
			break; /* a character is cut whole, never in the middle */
		memcpy(out + o, add, addlen);
		o += addlen;
		i += n;
	}
	out[o] = '\0';
}

/* A formatted line before escaping, and after: at most 4 bytes for 1. */
#define LINE_MAX_RAW 2048
#define LINE_MAX_ESCAPED (4 * LINE_MAX_RAW)

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	if (level > log_cfg.level)
		return;
	char raw[LINE_MAX_RAW], line[LINE_MAX_ESCAPED];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	log_escape(raw, line, sizeof line);
	if (log_cfg.syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
	fprintf(stderr, "%s %s[%d] %s: %s\n", ts, log_cfg.ident, (int)getpid(), level_names[level],
	        line);
}
