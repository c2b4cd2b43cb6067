/* FETCH and UID FETCH (RFC 9051 6.4.5), with BINARY (RFC 3516).
 *
 * A FETCH is parsed into a list of items, then run as a job over the
 * messages: each message's response is written whole, and the job stops
 * whenever a slice of output is waiting, to go on when it has drained, so
 * FETCH 1:* over a large mailbox never builds its whole answer in memory.
 * Message bodies go out straight from the file (evbuffer_add_file). */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap/cmd.h"
#include "imap/response.h"
#include "mime/mime.h"
#include "util/date.h"

#define FETCH_SLICE (256 * 1024) /* output queued before the job yields */
#define MAX_PATH 128             /* beyond MIME_MAX_DEPTH: deeper paths simply name no part */
#define MAX_FIELDS 128
#define INLINE_MAX (16 * 1024) /* smaller file ranges are copied, not sent as file segments */

enum item_kind {
	IT_FLAGS,
	IT_UID,
	IT_INTERNALDATE,
	IT_SIZE,
	IT_ENVELOPE,
	IT_BODY,
	IT_BODYSTRUCTURE,
	IT_SECTION,     /* BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER, RFC822.TEXT */
	IT_BINARY,      /* BINARY[...], BINARY.PEEK[...] */
	IT_BINARY_SIZE, /* BINARY.SIZE[...] */
};

enum section_text { SEC_ALL, SEC_HEADER, SEC_FIELDS, SEC_FIELDS_NOT, SEC_TEXT, SEC_MIME };

struct fetch_item {
	enum item_kind kind;
	char *label; /* the name the response uses */
	bool peek;
	uint32_t path[MAX_PATH];
	size_t npath;
	enum section_text text;
	char **fields;
	size_t nfields;
	bool partial;
	uint64_t start, length;
};

struct fetch_job {
	char *tag;
	bool uid;
	struct fetch_item *items;
	size_t nitems;
	size_t *idx, n, next;
	bool *seen_now; /* \Seen set by this FETCH: report FLAGS */
	bool unknown_cte;
	bool expunged; /* a message was expunged by someone else: left out */
};

static void items_free(struct fetch_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(it[i].label);
		for (size_t k = 0; k < it[i].nfields; k++)
			free(it[i].fields[k]);
		free(it[i].fields);
	}
	free(it);
}

void fetch_job_free(struct fetch_job *job)
{
	if (!job)
		return;
	items_free(job->items, job->nitems);
	free(job->tag);
	free(job->idx);
	free(job->seen_now);
	free(job);
}

/* ---- parsing the items ---- */

static bool parse_number(const char **p, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	size_t n = strspn(s, "0123456789");
	if (!str_to_u64(s, n, max, out))
		return false;
	*p = s + n;
	return true;
}

/* header-list: "(" name *(SP name) ")"; names are atoms or quoted. */
static bool parse_fields(const char **p, struct fetch_item *it)
{
	const char *s = *p;
	if (*s++ != '(')
		return false;
	it->fields = xcalloc(MAX_FIELDS, sizeof *it->fields);
	while (*s != ')') {
		if (it->nfields && *s++ != ' ')
			return false;
		bool quoted = *s == '"';
		size_t n = quoted ? strcspn(s + 1, "\"") : strcspn(s, " )");
		if (n == 0 || it->nfields == MAX_FIELDS || (quoted && s[n + 1] != '"'))
			return false;
		char *name = xstrndup(s + quoted, n);
		for (char *c = name; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == ':' || (unsigned char)*c >= 0x7f) {
				free(name);
				return false;
			}
		str_upper(name);
		it->fields[it->nfields++] = name;
		s += n + 2 * quoted;
	}
	*p = s + 1;
	return it->nfields > 0;
}

/* section-spec (RFC 9051 9): part numbers, then HEADER, HEADER.FIELDS[.NOT]
 * (list), TEXT, or (after a part number) MIME. */
static bool parse_section(const char **p, struct fetch_item *it, bool binary)
{
	const char *s = *p;
	uint64_t num;
	while (*s >= '1' && *s <= '9') {
		if (!parse_number(&s, UINT32_MAX, &num) || it->npath == MAX_PATH)
			return false;
		it->path[it->npath++] = (uint32_t)num;
		if (*s != '.')
			break;
		s++;
		if (!(*s >= '1' && *s <= '9'))
			break;
	}
	if (*s != ']' && (binary || (it->npath && s[-1] != '.')))
		return false;
	if (str_has_prefix_i(s, "HEADER.FIELDS.NOT ")) {
		it->text = SEC_FIELDS_NOT;
		s += 18;
	} else if (str_has_prefix_i(s, "HEADER.FIELDS ")) {
		it->text = SEC_FIELDS;
		s += 14;
	} else if (str_has_prefix_i(s, "HEADER]")) {
		it->text = SEC_HEADER;
		s += 6;
	} else if (str_has_prefix_i(s, "TEXT]")) {
		it->text = SEC_TEXT;
		s += 4;
	} else if (str_has_prefix_i(s, "MIME]") && it->npath) {
		it->text = SEC_MIME;
		s += 4;
	} else if (*s != ']') {
		return false;
	}
	if ((it->text == SEC_FIELDS || it->text == SEC_FIELDS_NOT) && !parse_fields(&s, it))
		return false;
	if (*s++ != ']')
		return false;
	*p = s;
	return true;
}

/* "<start.length>" */
static bool parse_partial(const char **p, struct fetch_item *it)
{
	const char *s = *p;
	if (*s != '<')
		return true;
	s++;
	if (!parse_number(&s, UINT32_MAX, &it->start) || *s++ != '.' ||
	    !parse_number(&s, UINT32_MAX, &it->length) || it->length == 0 || *s++ != '>')
		return false;
	it->partial = true;
	*p = s;
	return true;
}

static const struct {
	const char *name;
	enum item_kind kind;
} simple_items[] = {
    {"FLAGS", IT_FLAGS},
    {"UID", IT_UID},
    {"INTERNALDATE", IT_INTERNALDATE},
    {"RFC822.SIZE", IT_SIZE},
    {"ENVELOPE", IT_ENVELOPE},
    {"BODY", IT_BODY},
    {"BODYSTRUCTURE", IT_BODYSTRUCTURE},
};

static bool parse_body_item(const char *s, struct fetch_item *it)
{
	static const struct {
		const char *prefix;
		enum item_kind kind;
		bool peek;
		const char *label;
	} forms[] = {
	    {"BODY.PEEK[", IT_SECTION, true, "BODY["},
	    {"BODY[", IT_SECTION, false, "BODY["},
	    {"BINARY.PEEK[", IT_BINARY, true, "BINARY["},
	    {"BINARY[", IT_BINARY, false, "BINARY["},
	    {"BINARY.SIZE[", IT_BINARY_SIZE, true, "BINARY.SIZE["},
	};
	for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
		if (!str_has_prefix_i(s, forms[i].prefix))
			continue;
		it->kind = forms[i].kind;
		it->peek = forms[i].peek;
		const char *p = s + strlen(forms[i].prefix), *sec = p;
		if (!parse_section(&p, it, it->kind != IT_SECTION))
			return false;
		size_t seclen = (size_t)(p - sec);
		if (it->kind != IT_BINARY_SIZE && !parse_partial(&p, it))
			return false;
		if (*p)
			return false;
		struct sbuf label = {0};
		sbuf_adds(&label, forms[i].label);
		sbuf_add(&label, sec, seclen);
		if (it->partial)
			sbuf_printf(&label, "<%llu>", (unsigned long long)it->start);
		it->label = sbuf_take(&label);
		str_upper(it->label);
		return true;
	}
	return false;
}

static bool parse_item(const char *s, struct fetch_item *it)
{
	memset(it, 0, sizeof *it);
	for (size_t i = 0; i < sizeof simple_items / sizeof *simple_items; i++)
		if (str_ieq(s, simple_items[i].name)) {
			it->kind = simple_items[i].kind;
			it->label = xstrdup(simple_items[i].name);
			return true;
		}
	/* RFC822 forms are BODY[] forms with their own names (RFC 3501 6.4.5) */
	it->kind = IT_SECTION;
	if (str_ieq(s, "RFC822")) {
		it->label = xstrdup("RFC822");
	} else if (str_ieq(s, "RFC822.HEADER")) {
		it->label = xstrdup("RFC822.HEADER");
		it->peek = true;
		it->text = SEC_HEADER;
	} else if (str_ieq(s, "RFC822.TEXT")) {
		it->label = xstrdup("RFC822.TEXT");
		it->text = SEC_TEXT;
	} else {
		return parse_body_item(s, it);
	}
	return true;
}

static const char *macro_items(const char *s)
{
	if (str_ieq(s, "ALL"))
		return "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE";
	if (str_ieq(s, "FAST"))
		return "FLAGS INTERNALDATE RFC822.SIZE";
	if (str_ieq(s, "FULL"))
		return "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY";
	return NULL;
}

static bool add_item(struct fetch_job *job, const char *s, size_t *cap)
{
	if (job->nitems == *cap)
		job->items =
		    xrealloc(job->items, (*cap = *cap ? *cap * 2 : 8) * sizeof *job->items);
	/* counted even when invalid, so fetch_job_free frees what it holds */
	return parse_item(s, &job->items[job->nitems++]);
}

static bool parse_items(struct fetch_job *job, const struct imap_arg *a)
{
	size_t cap = 0;
	if (a->type == ARG_ATOM && macro_items(a->str)) {
		char *copy = xstrdup(macro_items(a->str)), *save = NULL;
		for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
			add_item(job, w, &cap);
		free(copy);
		return true;
	}
	if (a->type == ARG_ATOM)
		return add_item(job, a->str, &cap);
	if (a->type != ARG_LIST || a->nlist == 0)
		return false;
	for (size_t i = 0; i < a->nlist; i++)
		if (a->list[i].type != ARG_ATOM || !add_item(job, a->list[i].str, &cap))
			return false;
	return true;
}

/* ---- producing the data ---- */

/* What one message needs opened or computed, done on first use. */
struct msg_ctx {
	struct session *s;
	struct fetch_job *job;
	size_t i; /* view position */
	struct store_message info;
	bool have_info;
	int fd;
	uint64_t fsize;
	struct mime_part *root;
	bool failed; /* the file could not be opened or parsed */
};

static bool ctx_info(struct msg_ctx *m)
{
	if (!m->have_info)
		m->have_info = view_message(m->s->view, m->i, &m->info) == STORE_OK;
	return m->have_info;
}

static bool ctx_file(struct msg_ctx *m)
{
	if (m->fd < 0 && !m->failed)
		m->failed = view_message_open(m->s->view, m->i, &m->fd, &m->fsize) != STORE_OK;
	return m->fd >= 0;
}

static bool ctx_mime(struct msg_ctx *m)
{
	if (!m->root && ctx_file(m) && mime_parse_fd(m->fd, m->fsize, &m->root) < 0)
		m->failed = true;
	return m->root != NULL;
}

/* ENVELOPE, BODY and BODYSTRUCTURE come from the index's cache, or are
 * computed once and cached. */
static bool ctx_structure(struct msg_ctx *m)
{
	if (!ctx_info(m))
		return false;
	if (m->info.envelope && m->info.body && m->info.bodystructure)
		return true;
	if (!ctx_mime(m))
		return false;
	free(m->info.envelope);
	free(m->info.body);
	free(m->info.bodystructure);
	m->info.envelope = mime_envelope(m->root);
	m->info.body = mime_bodystructure(m->root, false);
	m->info.bodystructure = mime_bodystructure(m->root, true);
	view_message_cache(m->s->view, m->i, m->info.envelope, m->info.body, m->info.bodystructure);
	m->have_info = true;
	return true;
}

static void ctx_free(struct msg_ctx *m)
{
	if (m->fd >= 0)
		close(m->fd);
	mime_free(m->root);
	store_message_clear(&m->info);
}

/* The message a section's text applies to: the root, or the message inside
 * a message/rfc822 part; NULL if there is none. */
static const struct mime_part *section_message(const struct mime_part *root,
                                               const struct fetch_item *it)
{
	if (it->npath == 0)
		return root;
	const struct mime_part *p = mime_part_at(root, it->path, it->npath);
	if (!p || !str_ieq(p->type, "message") || !str_ieq(p->subtype, "rfc822") || !p->nchildren)
		return NULL;
	return &p->children[0];
}

/* Where a BODY[section] lies: a byte range of the file (*gen NULL), or
 * generated text (*gen set). False: the section does not exist (NIL). */
static bool section_range(struct msg_ctx *m, const struct fetch_item *it, uint64_t *off,
                          uint64_t *len, char **gen, size_t *genlen)
{
	*gen = NULL;
	if (it->npath == 0 && it->text == SEC_ALL) {
		if (!ctx_file(m))
			return false;
		*off = 0;
		*len = m->fsize;
		return true;
	}
	if (!ctx_mime(m))
		return false;
	const struct mime_part *p;
	if (it->text == SEC_ALL || it->text == SEC_MIME) {
		p = mime_part_at(m->root, it->path, it->npath);
		if (!p)
			return false;
		*off = it->text == SEC_MIME ? p->header_start : p->body_start;
		*len = it->text == SEC_MIME ? p->body_start - p->header_start
		                            : p->body_end - p->body_start;
		return true;
	}
	p = section_message(m->root, it);
	if (!p)
		return false;
	if (it->text == SEC_HEADER) {
		*off = p->header_start;
		*len = p->body_start - p->header_start;
	} else if (it->text == SEC_TEXT) {
		*off = p->body_start;
		*len = p->body_end - p->body_start;
	} else {
		mime_header_fields(p->header, p->header_len, (const char *const *)it->fields,
		                   it->nfields, it->text == SEC_FIELDS_NOT, gen, genlen);
	}
	return true;
}

static void clip(const struct fetch_item *it, uint64_t *off, uint64_t *len)
{
	if (!it->partial)
		return;
	/* RFC 9051 6.4.5: an origin beyond the end gives an empty string */
	uint64_t start = it->start < *len ? it->start : *len;
	*off += start;
	*len -= start;
	if (*len > it->length)
		*len = it->length;
}

/* Appends a file range as a literal: small ones copied, large ones as a
 * file segment that libevent sends (and closes) by itself. */
static void emit_file_literal(struct session *s, struct sbuf *b, int fd, uint64_t off, uint64_t len)
{
	sbuf_printf(b, "{%llu}\r\n", (unsigned long long)len);
	if (len <= INLINE_MAX) {
		char *buf = xmalloc(len ? len : 1);
		ssize_t got = pread(fd, buf, len, (off_t)off);
		if (got < 0)
			got = 0;
		memset(buf + got, ' ', len - (size_t)got); /* keep the literal's promised length */
		sbuf_add(b, buf, len);
		free(buf);
		return;
	}
	sess_write(s, b);
	sbuf_reset(b);
	int dupfd = dup(fd);
	if (dupfd < 0 || evbuffer_add_file(s->out, dupfd, (ev_off_t)off, (ev_off_t)len) < 0) {
		/* cannot happen short of running out of descriptors: keep the count */
		if (dupfd >= 0)
			close(dupfd);
		char *pad = xmalloc(len);
		memset(pad, ' ', len);
		evbuffer_add(s->out, pad, len);
		free(pad);
	}
}

static void emit_mem_literal(struct sbuf *b, const char *data, size_t len, bool binary)
{
	bool nul = binary && memchr(data, '\0', len);
	sbuf_printf(b, "%s{%zu}\r\n", nul ? "~" : "", len);
	sbuf_add(b, data, len);
}

static void emit_section(struct msg_ctx *m, const struct fetch_item *it, struct sbuf *b)
{
	uint64_t off = 0, len = 0;
	char *gen;
	size_t genlen = 0;
	if (!section_range(m, it, &off, &len, &gen, &genlen)) {
		sbuf_adds(b, "NIL");
		return;
	}
	if (gen) {
		uint64_t goff = 0, glen = genlen;
		clip(it, &goff, &glen);
		emit_mem_literal(b, gen + goff, glen, false);
		free(gen);
		return;
	}
	clip(it, &off, &len);
	emit_file_literal(m->s, b, m->fd, off, len);
}

/* BINARY[part]: the part's body with its Content-Transfer-Encoding undone. */
static bool decode_part(struct msg_ctx *m, const struct fetch_item *it, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	const struct mime_part *p =
	    it->npath ? (ctx_mime(m) ? mime_part_at(m->root, it->path, it->npath) : NULL) : NULL;
	uint64_t off = 0, n = 0;
	const char *cte = NULL;
	if (it->npath == 0) {
		if (!ctx_file(m))
			return false;
		n = m->fsize; /* BINARY[] is the whole message, as it is */
	} else if (p) {
		off = p->body_start;
		n = p->body_end - p->body_start;
		cte = p->encoding;
	} else {
		return false;
	}
	struct mime_decoder *d = mime_decoder_new(cte);
	if (!d) {
		m->job->unknown_cte = true;
		return false;
	}
	size_t cap = 0;
	char buf[65536];
	while (n > 0) {
		ssize_t got = pread(m->fd, buf, n < sizeof buf ? n : sizeof buf, (off_t)off);
		if (got <= 0)
			break;
		mime_decoder_feed(d, buf, (size_t)got, out, len, &cap);
		off += (uint64_t)got;
		n -= (uint64_t)got;
	}
	mime_decoder_finish(d, out, len, &cap);
	mime_decoder_free(d);
	if (!*out)
		*out = xstrdup("");
	return true;
}

static void emit_binary(struct msg_ctx *m, const struct fetch_item *it, struct sbuf *b)
{
	char *data;
	size_t len;
	if (!decode_part(m, it, &data, &len)) {
		sbuf_adds(b, "NIL");
		free(data);
		return;
	}
	if (it->kind == IT_BINARY_SIZE) {
		sbuf_printf(b, "%zu", len);
	} else {
		uint64_t off = 0, n = len;
		clip(it, &off, &n);
		emit_mem_literal(b, data + off, n, true);
	}
	free(data);
}

static void emit_item(struct msg_ctx *m, const struct fetch_item *it, struct sbuf *b)
{
	struct session *s = m->s;
	char date[32];
	sbuf_printf(b, "%s ", it->label);
	switch (it->kind) {
	case IT_FLAGS:
		sess_flags(s, b, m->i);
		break;
	case IT_UID:
		sbuf_printf(b, "%u", s->view->msgs[m->i].uid);
		break;
	case IT_INTERNALDATE:
	case IT_SIZE:
		if (!ctx_info(m)) {
			sbuf_adds(b, "NIL");
		} else if (it->kind == IT_SIZE) {
			sbuf_printf(b, "%llu", (unsigned long long)m->info.size);
		} else {
			imap_datetime_format((time_t)m->info.internaldate, date);
			sbuf_printf(b, "\"%s\"", date);
		}
		break;
	case IT_ENVELOPE:
	case IT_BODY:
	case IT_BODYSTRUCTURE:
		if (!ctx_structure(m))
			sbuf_adds(b, "NIL");
		else
			sbuf_adds(b, it->kind == IT_ENVELOPE ? m->info.envelope
			             : it->kind == IT_BODY   ? m->info.body
			                                     : m->info.bodystructure);
		break;
	case IT_SECTION:
		emit_section(m, it, b);
		break;
	case IT_BINARY:
	case IT_BINARY_SIZE:
		emit_binary(m, it, b);
		break;
	}
}

static bool has_item(const struct fetch_job *job, enum item_kind kind)
{
	for (size_t i = 0; i < job->nitems; i++)
		if (job->items[i].kind == kind)
			return true;
	return false;
}

/* Whether the message is still there for the items asked: FLAGS and UID
 * come from the view, everything else from the index and the file, which
 * another session may have expunged since this client was told. */
static bool still_there(struct msg_ctx *m)
{
	bool info = false, file = false;
	for (size_t i = 0; i < m->job->nitems; i++) {
		enum item_kind k = m->job->items[i].kind;
		info |= k != IT_FLAGS && k != IT_UID;
		file |= k == IT_SECTION || k == IT_BINARY || k == IT_BINARY_SIZE;
	}
	return (!info || ctx_info(m)) && (!file || ctx_file(m));
}

static void fetch_one(struct session *s, struct fetch_job *job, size_t k)
{
	struct msg_ctx m = {.s = s, .job = job, .i = job->idx[k], .fd = -1};
	if (!still_there(&m)) {
		/* RFC 2180 4.1.2: the others are answered, the command ends NO. */
		job->expunged = true;
		ctx_free(&m);
		return;
	}
	struct sbuf b = {0};
	sbuf_printf(&b, "* %zu FETCH (", m.i + 1);
	size_t mark = b.len;
	/* UID FETCH answers always carry the UID (RFC 9051 6.4.9); \Seen set
	 * by this FETCH shows as FLAGS (6.4.5). */
	if (job->uid && !has_item(job, IT_UID))
		sbuf_printf(&b, "UID %u", s->view->msgs[m.i].uid);
	if (job->seen_now[k] && !has_item(job, IT_FLAGS)) {
		sbuf_adds(&b, b.len > mark ? " FLAGS " : "FLAGS ");
		sess_flags(s, &b, m.i);
	}
	for (size_t i = 0; i < job->nitems; i++) {
		if (b.len > mark)
			sbuf_addc(&b, ' ');
		emit_item(&m, &job->items[i], &b);
	}
	sbuf_adds(&b, ")\r\n");
	sess_write(s, &b);
	sbuf_free(&b);
	ctx_free(&m);
}

bool fetch_resume(struct session *s)
{
	struct fetch_job *job = s->job;
	while (job->next < job->n) {
		if (evbuffer_get_length(s->out) > FETCH_SLICE) {
			view_cache_flush(s->view);
			return true; /* go on when the client has read this */
		}
		fetch_one(s, job, job->next++);
	}
	view_cache_flush(s->view);
	struct imap_command done = {.tag = job->tag, .name = "FETCH"};
	s->cur = &done;
	s->uid_cmd = job->uid;
	s->expunge_ok = job->uid; /* RFC 9051 7.5.1 */
	if (job->expunged)
		sess_store_error(s, STORE_EXPUNGED, "FETCH");
	else if (job->unknown_cte)
		sess_tagged(s, "NO", "[UNKNOWN-CTE] Cannot decode a part's transfer encoding");
	else
		sess_tagged(s, "OK", "%sFETCH completed", job->uid ? "UID " : "");
	s->cur = NULL;
	s->job = NULL;
	fetch_job_free(job);
	return false;
}

/* BODY[...] without PEEK sets \Seen (RFC 9051 6.4.5), unless read-only. */
static void mark_seen(struct session *s, struct fetch_job *job)
{
	bool sets_seen = false;
	for (size_t i = 0; i < job->nitems; i++)
		sets_seen |=
		    (job->items[i].kind == IT_SECTION || job->items[i].kind == IT_BINARY) &&
		    !job->items[i].peek;
	if (!sets_seen || s->view->readonly)
		return;
	size_t *unseen = xmalloc(job->n * sizeof *unseen), nu = 0;
	for (size_t k = 0; k < job->n; k++)
		if (!(s->view->msgs[job->idx[k]].flags & FLAG_SEEN))
			unseen[nu++] = job->idx[k];
	bool *changed = xcalloc(nu ? nu : 1, sizeof *changed);
	if (nu &&
	    view_store(s->view, unseen, nu, FLAG_OP_ADD, FLAG_SEEN, NULL, 0, changed) == STORE_OK) {
		for (size_t k = 0, u = 0; k < job->n && u < nu; k++)
			if (job->idx[k] == unseen[u])
				job->seen_now[k] = changed[u++];
	}
	free(changed);
	free(unseen);
}

void cmd_fetch(struct session *s, struct imap_command *c)
{
	struct fetch_job *job = xcalloc(1, sizeof *job);
	job->uid = s->uid_cmd;
	if (c->nargs != 2 || !parse_items(job, &c->args[1])) {
		fetch_job_free(job);
		sess_tagged(s, "BAD", "Invalid FETCH arguments");
		return;
	}
	if (!sess_msgset(s, &c->args[0], job->uid, &job->idx, &job->n)) {
		fetch_job_free(job);
		return;
	}
	job->tag = xstrdup(c->tag);
	job->seen_now = xcalloc(job->n ? job->n : 1, sizeof *job->seen_now);
	mark_seen(s, job);
	s->job = job;
	fetch_resume(s);
}
