/* Logging: one line per event, to stderr (foreground) or syslog (facility
 * mail, ident "gannet"). Messages never contain passwords, SASL responses or
 * message contents; callers pass only names, addresses and counts, in
 * key=value form. Every line is escaped here (log_escape), so a name a client
 * chose cannot start a line of its own or hide the rest of one. */
#ifndef GANNET_UTIL_LOG_H
#define GANNET_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *ident, bool use_syslog, enum log_level level);
/* "error", "warn", "info" or "debug" to *level; false for anything else. */
bool log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies in to out (size > 0, NUL-terminated, truncated to fit) with a
 * backslash as "\\" and as "\xHH" each byte of: C0 controls and DEL, bytes
 * that are not well-formed UTF-8, C1 controls, the Unicode line and paragraph
 * separators, and the bidirectional overrides. */
void log_escape(const char *in, char *out, size_t size);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
