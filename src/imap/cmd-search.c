/* SEARCH and UID SEARCH (RFC 9051 6.4.4), with ESEARCH's RETURN options
 * (RFC 4731) and SEARCHRES's SAVE and "$" (RFC 5182). The program is parsed
 * by imap/search-parse.c and evaluated by search/; this file walks the
 * selected mailbox and answers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/cmd.h"
#include "imap/search-parse.h"
#include "imap/seqset.h"
#include "search/search.h"

/* A SEARCH runs in slices of this much time, so a BODY search over a big
 * mailbox does not hold up the worker's other sessions (IDLE pushes among
 * them) for seconds. */
#define SEARCH_SLICE_NS (20 * 1000 * 1000)

enum {
	RET_MIN = 1 << 0,
	RET_MAX = 1 << 1,
	RET_COUNT = 1 << 2,
	RET_ALL = 1 << 3,
	RET_SAVE = 1 << 4,
};

/* RETURN (...) options; an empty list means ALL (RFC 4731 3.1). */
static bool parse_return(const struct imap_arg *list, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {{"MIN", RET_MIN},
	            {"MAX", RET_MAX},
	            {"COUNT", RET_COUNT},
	            {"ALL", RET_ALL},
	            {"SAVE", RET_SAVE}};
	*ret = 0;
	if (list->type != ARG_LIST)
		return false;
	for (size_t i = 0; i < list->nlist; i++) {
		size_t k;
		for (k = 0; k < sizeof opts / sizeof *opts; k++)
			if (arg_is_word(&list->list[i], opts[k].name))
				break;
		if (k == sizeof opts / sizeof *opts)
			return false;
		*ret |= opts[k].bit;
	}
	if (*ret == 0)
		*ret = RET_ALL;
	return true;
}

struct open_ctx {
	struct view *view;
	size_t idx;
};

static int open_message(void *arg, int *fd, uint64_t *size)
{
	struct open_ctx *o = arg;
	return view_message_open(o->view, o->idx, fd, size) == STORE_OK ? 0 : -1;
}

static int load_header(void *arg, char **raw, size_t *len)
{
	struct open_ctx *o = arg;
	return view_message_header(o->view, o->idx, raw, len) == STORE_OK ? 0 : -1;
}

/* Whether the program asks for RFC822.SIZE or INTERNALDATE, which come from
 * the index row (header and body keys get their data through callbacks). */
static bool needs_info(const struct search_node *n)
{
	switch (n->key) {
	case SK_LARGER:
	case SK_SMALLER:
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
		return true;
	default:
		break;
	}
	for (size_t i = 0; i < n->nkids; i++)
		if (needs_info(&n->kids[i]))
			return true;
	return false;
}

struct search_job {
	char *tag;
	bool uid;
	unsigned ret;
	struct search_node *prog;
	bool needs_info;
	struct search_cache *cache;
	size_t *hits, nhits;
	size_t next; /* the view position to look at next */
};

void search_job_free(struct search_job *job)
{
	if (!job)
		return;
	free(job->tag);
	search_free(job->prog);
	search_cache_free(job->cache);
	free(job->hits);
	free(job);
}

static bool search_one(struct session *s, struct search_job *job, size_t i)
{
	struct view *v = s->view;
	struct open_ctx oc = {v, i};
	struct store_message info = {0};
	if (job->needs_info)
		view_message(v, i, &info);
	struct search_msg m = {.seq = (uint32_t)i + 1,
	                       .uid = v->msgs[i].uid,
	                       .flags = v->msgs[i].flags,
	                       .keywords = v->msgs[i].keywords,
	                       .recent = view_recent(v, i),
	                       .size = info.size,
	                       .internaldate = info.internaldate,
	                       .open_file = open_message,
	                       .load_header = load_header,
	                       .arg = &oc};
	bool hit = search_match(job->prog, &m, job->cache);
	search_cache_clear(job->cache);
	store_message_clear(&info);
	return hit;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void search_answer(struct session *s, struct search_job *job);

bool search_resume(struct session *s)
{
	struct search_job *job = s->sjob;
	const struct view *v = s->view;
	int64_t until = now_ns() + SEARCH_SLICE_NS;
	while (job->next < v->n) {
		if (job->next % 64 == 0 && now_ns() > until)
			return true; /* the worker's other sessions go first */
		size_t i = job->next++;
		if (search_one(s, job, i))
			job->hits[job->nhits++] = i;
	}
	s->sjob = NULL;
	search_answer(s, job);
	search_job_free(job);
	return false;
}

static uint32_t hit_value(const struct session *s, size_t idx)
{
	return s->uid_cmd ? s->view->msgs[idx].uid : (uint32_t)idx + 1;
}

static void answer_esearch(struct session *s, const char *tag, unsigned ret, const size_t *hits,
                           size_t n)
{
	struct sbuf b = {0};
	sbuf_printf(&b, "* ESEARCH (TAG \"%s\")%s", tag, s->uid_cmd ? " UID" : "");
	if (ret & RET_MIN && n)
		sbuf_printf(&b, " MIN %u", hit_value(s, hits[0]));
	if (ret & RET_MAX && n)
		sbuf_printf(&b, " MAX %u", hit_value(s, hits[n - 1]));
	if (ret & RET_COUNT)
		sbuf_printf(&b, " COUNT %zu", n);
	if (ret & RET_ALL && n) {
		uint32_t *v = xmalloc(n * sizeof *v);
		for (size_t i = 0; i < n; i++)
			v[i] = hit_value(s, hits[i]);
		sbuf_adds(&b, " ALL ");
		seqset_format(&b, v, n);
		free(v);
	}
	sbuf_adds(&b, "\r\n");
	sess_write(s, &b);
	sbuf_free(&b);
}

static void answer_search(struct session *s, const size_t *hits, size_t n)
{
	struct sbuf b = {0};
	sbuf_adds(&b, "* SEARCH");
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&b, " %u", hit_value(s, hits[i]));
	sbuf_adds(&b, "\r\n");
	sess_write(s, &b);
	sbuf_free(&b);
}

/* RFC 5182: the result is kept as UIDs, so "$" survives expunges. With MIN
 * and/or MAX but neither ALL nor COUNT, only those are saved (2.4). */
static void save_result(struct session *s, unsigned ret, const size_t *hits, size_t n)
{
	free(s->saved);
	s->saved = xmalloc((n ? n : 1) * sizeof *s->saved);
	s->nsaved = 0;
	bool extremes = (ret & (RET_MIN | RET_MAX)) && !(ret & (RET_ALL | RET_COUNT));
	for (size_t i = 0; i < n; i++)
		if (!extremes || (ret & RET_MIN && i == 0) || (ret & RET_MAX && i == n - 1))
			s->saved[s->nsaved++] = s->view->msgs[hits[i]].uid;
}

void cmd_search(struct session *s, struct imap_command *c)
{
	unsigned ret = 0;
	size_t first = 0;
	if (c->nargs >= 2 && arg_is_word(&c->args[0], "RETURN")) {
		if (!parse_return(&c->args[1], &ret)) {
			sess_tagged(s, "BAD", "Invalid RETURN options");
			return;
		}
		first = 2;
	}
	/* RFC 9051 6.4.4: "If no result option is specified or empty list of
	 * options is specified as "()", ALL is assumed"; the old untagged
	 * SEARCH is for IMAP4rev1 clients only. */
	if (!ret && s->rev2)
		ret = RET_ALL;
	struct view *v = s->view;
	struct search_parse_ctx ctx = {.nmsgs = (uint32_t)v->n,
	                               .max_uid = v->n ? v->msgs[v->n - 1].uid : 0,
	                               .saved = s->saved,
	                               .nsaved = s->nsaved,
	                               .utf8 = s->utf8,
	                               .max_depth = s->cfg->search_max_depth,
	                               .max_keys = s->cfg->search_max_keys,
	                               .max_ranges = s->cfg->max_seq_ranges};
	const char *status = "BAD";
	char err[200] = "Invalid search program";
	struct search_node *prog =
	    search_parse(c->args + first, c->nargs - first, &ctx, &status, err, sizeof err);
	if (!prog) {
		/* RFC 5182 2.1: a NO with SAVE empties "$"; a BAD leaves it */
		if (ret & RET_SAVE && strcmp(status, "NO") == 0)
			save_result(s, ret, NULL, 0);
		sess_tagged(s, status, "%s", err);
		return;
	}
	struct search_job *job = xcalloc(1, sizeof *job);
	job->tag = xstrdup(c->tag);
	job->uid = s->uid_cmd;
	job->ret = ret;
	job->prog = prog;
	job->needs_info = needs_info(prog);
	job->cache = search_cache_new();
	job->hits = xmalloc((v->n ? v->n : 1) * sizeof *job->hits);
	s->sjob = job;
	search_resume(s); /* most searches end in their first slice */
}

static void search_answer(struct session *s, struct search_job *job)
{
	struct imap_command done = {.tag = job->tag, .name = "SEARCH"};
	s->cur = &done;
	s->uid_cmd = job->uid;
	s->expunge_ok = job->uid; /* RFC 9051 7.5.1 */
	if (job->ret & RET_SAVE)
		save_result(s, job->ret, job->hits, job->nhits);
	/* RFC 5182 2.1: SAVE alone gives no ESEARCH response */
	if (job->ret & ~RET_SAVE)
		answer_esearch(s, job->tag, job->ret, job->hits, job->nhits);
	else if (!job->ret)
		answer_search(s, job->hits, job->nhits);
	sess_tagged(s, "OK", "%sSEARCH completed", s->uid_cmd ? "UID " : "");
	s->cur = NULL;
}
