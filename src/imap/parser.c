#include "imap/parser.h"

#include "util/mutf7.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TAG 64

struct argvec {
	struct imap_arg *a;
	size_t n, cap;
};

enum pstate { ST_LINE, ST_LITERAL };

struct imap_parser {
	struct parser_limits lim;
	literal_sink_fn sink;
	void *sink_ctx;
	enum pstate st;
	bool want_line;

	/* the current line */
	struct sbuf line;
	bool overflow; /* line exceeded max_line: its bytes are dropped */
	char tail[32]; /* last bytes of an overflowed line, to find a literal marker */
	size_t tail_len;

	/* the command being built */
	struct argvec *stack; /* stack[0] is the command's top level */
	size_t depth, stack_cap;
	size_t ntokens;
	uint64_t mem_used;
	bool need_sep;    /* a token just ended: SP or ')' must follow */
	bool after_space; /* the last byte was the SP after a token */
	bool utf8;        /* UTF-8 allowed in quoted strings (RFC 6855) */

	/* the literal being read */
	uint64_t lit_left, lit_size;
	bool lit_discard, lit8, lit_nul;
	struct sbuf lit_mem;
	int lit_fd;
	char *lit_path;

	/* the error of the current command, reported when it ends */
	bool err;
	char err_tag[MAX_TAG + 1];
	const char *err_status;
	char err_text[200];
	char report_tag[MAX_TAG + 1]; /* the tag of the error being reported */

	char *line_out; /* for PARSE_LINE */
};

bool imap_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > MAX_TAG)
		return false;
	for (; *tag; tag++) {
		unsigned char c = (unsigned char)*tag;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\+", c))
			return false;
	}
	return true;
}

static void arg_free(struct imap_arg *a)
{
	free(a->str);
	if (a->file) {
		unlink(a->file);
		free(a->file);
	}
	for (size_t i = 0; i < a->nlist; i++)
		arg_free(&a->list[i]);
	free(a->list);
}

void imap_command_free(struct imap_command *cmd)
{
	if (!cmd)
		return;
	for (size_t i = 0; i < cmd->nargs; i++)
		arg_free(&cmd->args[i]);
	free(cmd->args);
	free(cmd->tag);
	free(cmd->name);
	free(cmd);
}

struct imap_parser *parser_new(const struct parser_limits *limits, literal_sink_fn sink,
                               void *sink_ctx)
{
	struct imap_parser *p = xcalloc(1, sizeof *p);
	p->lim = *limits;
	p->sink = sink;
	p->sink_ctx = sink_ctx;
	p->lit_fd = -1;
	p->stack_cap = 4;
	p->stack = xcalloc(p->stack_cap, sizeof *p->stack);
	return p;
}

static void vec_free(struct argvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		arg_free(&v->a[i]);
	free(v->a);
	memset(v, 0, sizeof *v);
}

static void literal_release(struct imap_parser *p)
{
	sbuf_free(&p->lit_mem);
	if (p->lit_fd >= 0)
		close(p->lit_fd);
	p->lit_fd = -1;
	if (p->lit_path) {
		unlink(p->lit_path);
		free(p->lit_path);
		p->lit_path = NULL;
	}
}

static void command_reset(struct imap_parser *p)
{
	for (size_t i = 0; i <= p->depth; i++)
		vec_free(&p->stack[i]);
	p->depth = 0;
	p->ntokens = 0;
	p->mem_used = 0;
	p->need_sep = false;
	p->after_space = false;
	p->err = false;
	p->err_tag[0] = '\0';
	literal_release(p);
}

void parser_free(struct imap_parser *p)
{
	if (!p)
		return;
	command_reset(p);
	free(p->stack);
	sbuf_free(&p->line);
	free(p->line_out);
	free(p);
}

void parser_set_utf8(struct imap_parser *p, bool on)
{
	p->utf8 = on;
}

void parser_want_line(struct imap_parser *p)
{
	p->want_line = true;
}

const char *parser_error_tag(const struct imap_parser *p)
{
	return p->report_tag[0] ? p->report_tag : "*";
}

const char *parser_error_status(const struct imap_parser *p)
{
	return p->err_status;
}

const char *parser_error_text(const struct imap_parser *p)
{
	return p->err_text;
}

/* The tag of the command so far, if its first token is a usable tag. */
static void remember_tag(struct imap_parser *p)
{
	struct argvec *root = &p->stack[0];
	if (p->err_tag[0] || root->n == 0 || root->a[0].type != ARG_ATOM)
		return;
	if (imap_tag_valid(root->a[0].str))
		snprintf(p->err_tag, sizeof p->err_tag, "%s", root->a[0].str);
}

static void fail(struct imap_parser *p, const char *status, const char *text)
{
	if (p->err)
		return; /* the first error is the one worth reporting */
	remember_tag(p);
	p->err = true;
	p->err_status = status;
	snprintf(p->err_text, sizeof p->err_text, "%s", text);
}

static struct imap_arg *push_arg(struct imap_parser *p, enum imap_arg_type type)
{
	if (++p->ntokens > p->lim.max_tokens) {
		fail(p, "BAD", "Too many arguments");
		return NULL;
	}
	struct argvec *v = &p->stack[p->depth];
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->a = xrealloc(v->a, v->cap * sizeof *v->a);
	}
	struct imap_arg *a = &v->a[v->n++];
	memset(a, 0, sizeof *a);
	a->type = type;
	p->need_sep = true;
	return a;
}

static void open_list(struct imap_parser *p)
{
	if (p->depth + 1 > p->lim.max_depth) {
		fail(p, "BAD", "Too many nested parentheses");
		return;
	}
	if (p->depth + 1 >= p->stack_cap) {
		p->stack = xrealloc(p->stack, p->stack_cap * 2 * sizeof *p->stack);
		memset(p->stack + p->stack_cap, 0, p->stack_cap * sizeof *p->stack);
		p->stack_cap *= 2;
	}
	p->depth++;
	memset(&p->stack[p->depth], 0, sizeof p->stack[p->depth]);
	p->need_sep = false;
}

static void close_list(struct imap_parser *p)
{
	if (p->depth == 0) {
		fail(p, "BAD", "Unexpected ')'");
		return;
	}
	struct argvec inner = p->stack[p->depth];
	memset(&p->stack[p->depth], 0, sizeof p->stack[p->depth]);
	p->depth--;
	struct imap_arg *a = push_arg(p, ARG_LIST); /* a list counts as one argument */
	if (!a) {
		vec_free(&inner);
		return;
	}
	a->list = inner.a;
	a->nlist = inner.n;
}

/* Returns the index just past the quoted string starting at s[i] == '"'. */
static size_t scan_quoted(struct imap_parser *p, const char *s, size_t n, size_t i)
{
	struct sbuf q = {0};
	for (i++; i < n; i++) {
		char c = s[i];
		if (c == '"') {
			if (p->utf8 && !utf8_valid(q.s ? q.s : "", q.len))
				break;
			struct imap_arg *a = push_arg(p, ARG_STRING);
			if (a) {
				a->len = q.len;
				a->str = sbuf_take(&q);
			}
			sbuf_free(&q);
			return i + 1;
		}
		if (c == '\\') {
			if (i + 1 >= n || (s[i + 1] != '"' && s[i + 1] != '\\'))
				break;
			c = s[++i];
		} else if (c == '\0' || c == '\r' || c == '\n' ||
		           ((unsigned char)c >= 0x80 && !p->utf8)) {
			break;
		}
		sbuf_addc(&q, c);
	}
	sbuf_free(&q);
	fail(p, "BAD", "Invalid quoted string");
	return n;
}

/* Atoms may carry a bracketed part with spaces, as in BODY[HEADER.FIELDS (A B)]. */
static size_t scan_atom(struct imap_parser *p, const char *s, size_t n, size_t i)
{
	size_t start = i;
	int brackets = 0;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f) {
			fail(p, "BAD", "Invalid character in command");
			return n;
		}
		if (c == '[')
			brackets++;
		else if (c == ']' && brackets > 0)
			brackets--;
		else if (brackets == 0 && strchr(" (){\"", c))
			break;
	}
	if (brackets) {
		fail(p, "BAD", "Unterminated '['");
		return n;
	}
	struct imap_arg *a = push_arg(p, ARG_ATOM);
	if (a) {
		a->str = xstrndup(s + start, i - start);
		a->len = i - start;
	}
	return i;
}

static void tokenize(struct imap_parser *p, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && !p->err) {
		char c = s[i];
		if (c == ' ') {
			/* exactly one SP between arguments, none after '(' */
			if (!p->need_sep) {
				fail(p, "BAD", "Unexpected space");
				return;
			}
			p->need_sep = false;
			p->after_space = true;
			i++;
			continue;
		}
		if (c == ')' && p->after_space) {
			fail(p, "BAD", "Unexpected space before ')'");
			return;
		}
		p->after_space = false;
		if (p->need_sep && c != ')') {
			fail(p, "BAD", "Missing space between arguments");
			return;
		}
		switch (c) {
		case '(':
			open_list(p);
			i++;
			break;
		case ')':
			close_list(p);
			i++;
			break;
		case '"':
			i = scan_quoted(p, s, n, i);
			break;
		case '{':
			fail(p, "BAD", "A literal must end its line");
			return;
		default:
			i = scan_atom(p, s, n, i);
			break;
		}
	}
}

struct marker {
	uint64_t size;
	bool nonsync, lit8, oversize;
	size_t start; /* where the marker begins in the line */
};

/* Finds a literal header "{n}", "{n+}" or "~{n}" at the end of a line. */
static bool find_marker(const char *s, size_t n, struct marker *m)
{
	if (n < 3 || s[n - 1] != '}')
		return false;
	size_t end = n - 1;
	m->nonsync = s[end - 1] == '+';
	if (m->nonsync)
		end--;
	size_t d = end;
	while (d > 0 && isdigit((unsigned char)s[d - 1]))
		d--;
	if (d == end || d == 0 || s[d - 1] != '{')
		return false;
	m->oversize = !str_to_u64(s + d, end - d, UINT64_MAX, &m->size);
	if (m->oversize)
		m->size = UINT64_MAX;
	m->start = d - 1;
	m->lit8 = m->start > 0 && s[m->start - 1] == '~';
	if (m->lit8)
		m->start--;
	return true;
}

static const char *command_name(struct imap_parser *p)
{
	struct argvec *root = &p->stack[0];
	if (root->n >= 2 && root->a[1].type == ARG_ATOM)
		return root->a[1].str;
	return NULL;
}

static void set_report_tag(struct imap_parser *p)
{
	remember_tag(p);
	memcpy(p->report_tag, p->err_tag, sizeof p->report_tag);
}

static enum parse_event error_event(struct imap_parser *p)
{
	set_report_tag(p);
	command_reset(p);
	return PARSE_ERROR;
}

/* A rejected or failed literal: a synchronising one is refused at once (the
 * client will not send it); a LITERAL+ one is read and dropped to stay in
 * step, unless it is too large even for that. */
static enum parse_event refuse_literal(struct imap_parser *p, const struct marker *m)
{
	if (!m->nonsync)
		return error_event(p);
	if (m->oversize || m->size > p->lim.max_discard) {
		set_report_tag(p);
		p->err_status = "BYE";
		snprintf(p->err_text, sizeof p->err_text, "Literal too large to skip; closing");
		return PARSE_FATAL;
	}
	p->st = ST_LITERAL;
	p->lit_left = m->size;
	p->lit_discard = true;
	return PARSE_MORE;
}

static void literal_done(struct imap_parser *p)
{
	p->st = ST_LINE;
	if (p->lit_discard) {
		p->lit_discard = false;
		return;
	}
	struct imap_arg *a = push_arg(p, ARG_STRING);
	if (!a) {
		literal_release(p);
		return;
	}
	a->literal = true;
	a->literal8 = p->lit8;
	a->has_nul = p->lit_nul;
	if (p->lit_path) {
		if (p->lit_fd >= 0)
			close(p->lit_fd);
		p->lit_fd = -1;
		a->file = p->lit_path;
		p->lit_path = NULL;
		a->len = (size_t)p->lit_size;
	} else {
		a->len = p->lit_mem.len;
		a->str = sbuf_take(&p->lit_mem);
	}
}

static enum parse_event start_literal(struct imap_parser *p, const struct marker *m)
{
	if (p->need_sep || (p->depth == 0 && !p->after_space)) {
		fail(p, "BAD", "Missing space before literal");
		return refuse_literal(p, m);
	}
	enum literal_sink where = SINK_MEMORY;
	if (!m->oversize && p->sink)
		where = p->sink(p->sink_ctx, command_name(p), m->size, &p->lit_fd, &p->lit_path);
	if (where == SINK_MEMORY && (m->oversize || m->size > p->lim.max_literal ||
	                             p->mem_used + m->size > p->lim.max_command))
		where = SINK_TOOBIG;
	if (where == SINK_TOOBIG) {
		fail(p, "NO", "[TOOBIG] Literal is larger than this server accepts");
		return refuse_literal(p, m);
	}
	if (where == SINK_MEMORY)
		p->mem_used += m->size;
	p->after_space = false;
	p->st = ST_LITERAL;
	p->lit_left = p->lit_size = m->size;
	p->lit8 = m->lit8;
	p->lit_nul = false;
	sbuf_reset(&p->lit_mem);
	if (m->size == 0)
		literal_done(p);
	return m->nonsync ? PARSE_MORE : PARSE_CONTINUE;
}

static enum parse_event finish_command(struct imap_parser *p, struct imap_command **out)
{
	struct argvec *root = &p->stack[0];
	if (!p->err && p->after_space)
		fail(p, "BAD", "Unexpected space at end of line");
	if (!p->err && p->depth != 0)
		fail(p, "BAD", "Missing ')'");
	if (!p->err && root->n == 0)
		fail(p, "BAD", "Empty command line");
	if (!p->err && (root->a[0].type != ARG_ATOM || !imap_tag_valid(root->a[0].str)))
		fail(p, "BAD", "Missing or invalid tag");
	if (!p->err && (root->n < 2 || root->a[1].type != ARG_ATOM))
		fail(p, "BAD", "Missing command name");
	if (p->err)
		return error_event(p);
	struct imap_command *cmd = xcalloc(1, sizeof *cmd);
	cmd->tag = root->a[0].str;
	cmd->name = root->a[1].str;
	str_upper(cmd->name);
	root->a[0].str = root->a[1].str = NULL;
	arg_free(&root->a[0]);
	arg_free(&root->a[1]);
	cmd->nargs = root->n - 2;
	cmd->args = xmalloc((cmd->nargs ? cmd->nargs : 1) * sizeof *cmd->args);
	memcpy(cmd->args, root->a + 2, cmd->nargs * sizeof *cmd->args);
	free(root->a);
	memset(root, 0, sizeof *root);
	command_reset(p);
	*out = cmd;
	return PARSE_COMMAND;
}

static enum parse_event line_done(struct imap_parser *p, struct imap_command **out)
{
	const char *s = p->overflow ? p->tail : p->line.s;
	size_t n = p->overflow ? p->tail_len : p->line.len;
	if (!s)
		s = "";
	n -= 2; /* CRLF */
	if (p->want_line) {
		p->want_line = false;
		if (p->overflow) {
			p->report_tag[0] = '\0';
			snprintf(p->err_text, sizeof p->err_text, "Line too long");
			p->err_status = "BYE";
			return PARSE_FATAL;
		}
		free(p->line_out);
		p->line_out = xstrndup(s, n);
		return PARSE_LINE;
	}
	struct marker m = {0};
	bool has_marker = find_marker(s, n, &m);
	if (p->overflow) {
		fail(p, "BAD", "Command line too long");
	} else {
		tokenize(p, s, has_marker ? m.start : n);
		if (memchr(s, '\0', n))
			fail(p, "BAD", "NUL byte in command line");
	}
	if (has_marker)
		return p->err ? refuse_literal(p, &m) : start_literal(p, &m);
	return finish_command(p, out);
}

static bool line_ends_crlf(const struct imap_parser *p)
{
	const char *s = p->overflow ? p->tail : p->line.s;
	size_t n = p->overflow ? p->tail_len : p->line.len;
	return n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n';
}

/* Keeps only the last bytes of an overflowed line: where the CRLF and a
 * literal marker would be. */
static void tail_append(struct imap_parser *p, const char *data, size_t n)
{
	if (n >= sizeof p->tail) {
		memcpy(p->tail, data + n - sizeof p->tail, sizeof p->tail);
		p->tail_len = sizeof p->tail;
		return;
	}
	if (p->tail_len + n > sizeof p->tail) {
		size_t drop = p->tail_len + n - sizeof p->tail;
		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len -= drop;
	}
	memcpy(p->tail + p->tail_len, data, n);
	p->tail_len += n;
}

static void line_append(struct imap_parser *p, const char *data, size_t n)
{
	if (!p->overflow && p->line.len + n > p->lim.max_line) {
		/* Take what fits and tokenise its start, so the error can carry
		 * the command's tag; from now on only the tail is kept. */
		size_t fits = p->lim.max_line - p->line.len;
		sbuf_add(&p->line, data, fits);
		data += fits;
		n -= fits;
		size_t keep = p->line.len < 80 ? p->line.len : 80;
		const char *sp = memchr(p->line.s, ' ', keep);
		if (sp)
			tokenize(p, p->line.s, (size_t)(sp - p->line.s));
		fail(p, "BAD", "Command line too long");
		p->overflow = true;
		p->tail_len = 0;
		tail_append(p, p->line.s, p->line.len);
	}
	if (p->overflow)
		tail_append(p, data, n);
	else
		sbuf_add(&p->line, data, n);
}

static void literal_feed(struct imap_parser *p, const char *data, size_t n)
{
	p->lit_left -= n;
	if (p->lit_discard)
		return;
	if (!p->lit_nul && memchr(data, '\0', n))
		p->lit_nul = true;
	if (p->lit_fd < 0) {
		sbuf_add(&p->lit_mem, data, n);
		return;
	}
	while (n > 0) {
		ssize_t w = write(p->lit_fd, data, n);
		if (w < 0) {
			fail(p, "NO", "[SERVERBUG] Could not store the literal");
			close(p->lit_fd);
			p->lit_fd = -1;
			p->lit_discard = true;
			return;
		}
		data += w;
		n -= (size_t)w;
	}
}

enum parse_event parser_feed(struct imap_parser *p, const char *data, size_t len, size_t *consumed,
                             struct imap_command **cmd, const char **line)
{
	size_t i = 0;
	enum parse_event ev = PARSE_MORE;
	*cmd = NULL;
	while (i < len && ev == PARSE_MORE) {
		if (p->st == ST_LITERAL) {
			size_t take = len - i;
			if (take > p->lit_left)
				take = (size_t)p->lit_left;
			literal_feed(p, data + i, take);
			i += take;
			if (p->lit_left == 0)
				literal_done(p);
			continue;
		}
		const char *lf = memchr(data + i, '\n', len - i);
		size_t chunk = lf ? (size_t)(lf - (data + i)) + 1 : len - i;
		line_append(p, data + i, chunk);
		i += chunk;
		if (!lf || !line_ends_crlf(p))
			continue; /* RFC 9051 2.2: only CRLF ends a line; a bare LF is line content
			           */
		ev = line_done(p, cmd);
		sbuf_reset(&p->line);
		p->overflow = false;
		p->tail_len = 0;
	}
	if (ev == PARSE_LINE)
		*line = p->line_out;
	*consumed = i;
	return ev;
}
