/* Incremental IMAP command parser (RFC 9051 section 9 grammar, tokens only).
 *
 * The caller feeds raw bytes as they arrive; the parser frames lines and
 * literals ({n} synchronising, {n+} LITERAL+, ~{n} literal8), tokenises each
 * line as it completes, and reports one event at a time: a complete command,
 * a request to send the "+" continuation, a line-level error (answered with a
 * tagged or untagged BAD/NO, after which the parser has resynchronised), or a
 * fatal error (answer BYE and close). Handlers interpret the argument tree.
 *
 * A literal's bytes go to memory or, when the sink callback says so (APPEND),
 * straight into a file, so a large message is never held whole in memory.
 * Ownership: a command returned by parser_feed belongs to the caller, who
 * frees it with imap_command_free (which unlinks an unclaimed literal file). */
#ifndef GANNET_IMAP_PARSER_H
#define GANNET_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/str.h"

enum imap_arg_type { ARG_ATOM, ARG_STRING, ARG_LIST };

struct imap_arg {
	enum imap_arg_type type;
	char *str;             /* ATOM and in-memory STRING: NUL-terminated */
	size_t len;            /* byte length of str, or of the file for a file literal */
	char *file;            /* STRING streamed to a file: its path (owned) */
	bool literal;          /* STRING came as a literal */
	bool literal8;         /* ~{n} */
	bool has_nul;          /* a literal contained a NUL byte */
	struct imap_arg *list; /* LIST items */
	size_t nlist;
};

struct imap_command {
	char *tag;
	char *name; /* upper-cased */
	struct imap_arg *args;
	size_t nargs;
};

void imap_command_free(struct imap_command *cmd);

struct parser_limits {
	size_t max_line;      /* bytes in one line, without literals */
	size_t max_depth;     /* parenthesis nesting */
	size_t max_tokens;    /* arguments in one command, all levels */
	uint64_t max_literal; /* one in-memory literal */
	uint64_t max_command; /* all in-memory literals of one command */
	uint64_t max_discard; /* a rejected LITERAL+ we will read and drop */
};

enum literal_sink {
	SINK_MEMORY, /* keep in memory (parser limits apply) */
	SINK_FILE,   /* stream into *fd, a file at *path (path ownership passes to the parser) */
	SINK_TOOBIG, /* refuse with NO [TOOBIG] */
};

/* Asked when a literal header arrives; name may be NULL if the line had none. */
typedef enum literal_sink (*literal_sink_fn)(void *ctx, const char *name, uint64_t size, int *fd,
                                             char **path);

enum parse_event {
	PARSE_MORE,     /* all input consumed, nothing complete yet */
	PARSE_COMMAND,  /* *cmd holds a command */
	PARSE_CONTINUE, /* send "+ ..." and feed on: a synchronising literal was accepted */
	PARSE_ERROR,    /* answer with parser_error(); the parser is ready for the next command */
	PARSE_LINE,     /* after parser_want_line(): *line holds one raw line */
	PARSE_FATAL,    /* answer BYE with parser_error() and close */
};

struct imap_parser;

struct imap_parser *parser_new(const struct parser_limits *limits, literal_sink_fn sink,
                               void *sink_ctx);
void parser_free(struct imap_parser *p);

/* Consumes up to len bytes, stopping after the first event; *consumed says
 * how many. For PARSE_COMMAND, *cmd is set; for PARSE_LINE, *line points to
 * parser-owned text valid until the next call. */
enum parse_event parser_feed(struct imap_parser *p, const char *data, size_t len, size_t *consumed,
                             struct imap_command **cmd, const char **line);

/* RFC 6855: after ENABLE UTF8=ACCEPT, quoted strings may hold UTF-8. */
void parser_set_utf8(struct imap_parser *p, bool on);

/* The next complete line is returned raw as PARSE_LINE (SASL responses). */
void parser_want_line(struct imap_parser *p);

/* For PARSE_ERROR / PARSE_FATAL: the tag ("*" if there was no usable one),
 * "BAD" or "NO", and the text, which may start with a response code. */
const char *parser_error_tag(const struct imap_parser *p);
const char *parser_error_status(const struct imap_parser *p);
const char *parser_error_text(const struct imap_parser *p);

/* Tag syntax (RFC 9051: 1*<any ASTRING-CHAR except "+">). */
bool imap_tag_valid(const char *tag);

#endif
