/* Shared stores and the change watcher: see pool.h. */
#include "store/pool.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "store/internal.h"
#include "util/log.h"
#include "util/str.h"

/* What a view is told about: the user's change file and two directories. */
enum { WATCH_CHANGES, WATCH_NEW, WATCH_CUR, WATCH_PATHS };

struct store_watch {
	struct store_pool *pool;
	int wd[WATCH_PATHS]; /* -1: not watched */
	store_watch_fn *fn;
	void *arg;
	bool pending;
	struct store_watch *prev, *next;
};

/* The kernel hands out one descriptor per watched path; several views may
 * watch the same path, so each descriptor is counted. Sorted by wd. */
struct wd_ref {
	int wd;
	unsigned refs;
};

/* One lock for the lists the pool keeps (stores, watches, descriptors):
 * stores are opened and closed, and watches set and removed, by the users'
 * queues on the worker's threads, while the loop hands out changes. */
struct store_pool {
	pthread_mutex_t lock;
	char *data_dir;
	struct store_limits lim;
	struct store **stores; /* open, shared */
	size_t nstores, capstores;
	int fd; /* inotify */
	struct wd_ref *wds;
	size_t nwds, capwds;
	struct store_watch *watches;
	bool degraded; /* a watch could not be set: store_pool_poll_ms says when to look */
};

struct store_pool *store_pool_new(const char *data_dir, const struct store_limits *lim)
{
	struct store_pool *p = xcalloc(1, sizeof *p);
	p->data_dir = xstrdup(data_dir);
	p->lim = *lim;
	pthread_mutex_init(&p->lock, NULL);
	p->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->fd < 0)
		log_warn("store: no inotify (%s): idling sessions are looked at every %d ms",
		         strerror(errno), STORE_POOL_POLL_MS);
	return p;
}

void store_pool_free(struct store_pool *p)
{
	if (!p)
		return;
	if (p->nstores || p->watches)
		log_error("store: pool freed with %zu stores open", p->nstores);
	if (p->fd >= 0)
		close(p->fd);
	free(p->stores);
	free(p->wds);
	free(p->data_dir);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Under the lock: the user's open store, if it is still usable. */
static struct store *pooled(struct store_pool *p, const char *user)
{
	for (size_t i = 0; i < p->nstores; i++)
		if (strcmp(p->stores[i]->user, user) == 0 && store_usable(p->stores[i]))
			return p->stores[i];
	return NULL;
}

/* The store of a user is opened, shared and closed on that user's queue
 * only, so no two threads open the same user's store at once; the lock
 * guards the list the users share. */
enum store_rc store_pool_open(struct store_pool *p, const char *user, struct store **out)
{
	pthread_mutex_lock(&p->lock);
	struct store *s = pooled(p, user);
	if (s)
		s->refs++;
	pthread_mutex_unlock(&p->lock);
	if (s) {
		*out = s;
		return STORE_OK;
	}
	enum store_rc rc = store_open(p->data_dir, user, &p->lim, &s);
	if (rc != STORE_OK)
		return rc;
	pthread_mutex_lock(&p->lock);
	if (p->nstores == p->capstores)
		p->stores =
		    xrealloc(p->stores, (p->capstores = p->capstores ? p->capstores * 2 : 16) *
		                            sizeof *p->stores);
	p->stores[p->nstores++] = s;
	s->pool = p;
	pthread_mutex_unlock(&p->lock);
	*out = s;
	return STORE_OK;
}

/* store_close's half for a pooled store: the last user closes it. */
bool store_pool_release(struct store *s)
{
	struct store_pool *p = s->pool;
	pthread_mutex_lock(&p->lock);
	bool last = --s->refs == 0;
	for (size_t i = 0; last && i < p->nstores; i++)
		if (p->stores[i] == s) {
			p->stores[i] = p->stores[--p->nstores];
			break;
		}
	pthread_mutex_unlock(&p->lock);
	return last;
}

int store_pool_fd(const struct store_pool *p)
{
	return p->fd;
}

static size_t wd_find(const struct store_pool *p, int wd)
{
	size_t lo = 0, hi = p->nwds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->wds[mid].wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int wd_add(struct store_pool *p, const char *path, uint32_t mask)
{
	int wd = inotify_add_watch(p->fd, path, mask);
	if (wd < 0) {
		if (!p->degraded)
			log_warn("store: cannot watch %s: %s (fs.inotify.max_user_watches?); "
			         "idling sessions are looked at every %d ms instead",
			         path, strerror(errno), STORE_POOL_POLL_MS);
		p->degraded = true;
		return -1;
	}
	size_t i = wd_find(p, wd);
	if (i < p->nwds && p->wds[i].wd == wd) {
		p->wds[i].refs++;
		return wd;
	}
	if (p->nwds == p->capwds)
		p->wds =
		    xrealloc(p->wds, (p->capwds = p->capwds ? p->capwds * 2 : 16) * sizeof *p->wds);
	memmove(p->wds + i + 1, p->wds + i, (p->nwds - i) * sizeof *p->wds);
	p->wds[i] = (struct wd_ref){wd, 1};
	p->nwds++;
	return wd;
}

static void wd_drop(struct store_pool *p, int wd)
{
	size_t i = wd_find(p, wd);
	if (wd < 0 || i == p->nwds || p->wds[i].wd != wd || --p->wds[i].refs > 0)
		return;
	inotify_rm_watch(p->fd, wd);
	memmove(p->wds + i, p->wds + i + 1, (p->nwds - i - 1) * sizeof *p->wds);
	p->nwds--;
}

struct store_watch *view_watch(struct view *v, store_watch_fn *fn, void *arg)
{
	struct store_pool *p = v->store->pool;
	if (!p)
		return NULL;
	struct store_watch *w = xcalloc(1, sizeof *w);
	w->pool = p;
	w->fn = fn;
	w->arg = arg;
	char *nw = maildir_sub(v->dir, "new"), *cur = maildir_sub(v->dir, "cur");
	for (int i = 0; i < WATCH_PATHS; i++)
		w->wd[i] = -1;
	pthread_mutex_lock(&p->lock);
	if (p->fd >= 0) {
		w->wd[WATCH_CHANGES] = wd_add(p, v->store->paths.changes, IN_MODIFY);
		/* An MTA links or renames into new/; another Maildir reader may delete. */
		w->wd[WATCH_NEW] = wd_add(p, nw, IN_CREATE | IN_MOVED_TO);
		w->wd[WATCH_CUR] = wd_add(p, cur, IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO);
	}
	w->next = p->watches;
	if (p->watches)
		p->watches->prev = w;
	p->watches = w;
	pthread_mutex_unlock(&p->lock);
	free(nw);
	free(cur);
	return w;
}

void store_unwatch(struct store_watch *w)
{
	if (!w)
		return;
	struct store_pool *p = w->pool;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < WATCH_PATHS; i++)
		wd_drop(p, w->wd[i]);
	if (w->prev)
		w->prev->next = w->next;
	else
		p->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&p->lock);
	free(w);
}

static void mark_pending(struct store_pool *p, int wd)
{
	for (struct store_watch *w = p->watches; w; w = w->next)
		for (int i = 0; i < WATCH_PATHS; i++)
			w->pending |= w->wd[i] == wd;
}

unsigned store_pool_poll_ms(const struct store_pool *p)
{
	return p->fd < 0 || p->degraded ? STORE_POOL_POLL_MS : 0;
}

/* The watches to call, taken under the lock and called after it, so a
 * watch function may do what it likes with the pool. A watch removed in
 * between may still be called once: its owner outlives the removal (the
 * watch functions run on the loop, which frees their owners). */
struct calls {
	struct {
		store_watch_fn *fn;
		void *arg;
	} * c;
	size_t n, cap;
};

static void calls_add(struct calls *cs, const struct store_watch *w)
{
	if (cs->n == cs->cap)
		cs->c = xrealloc(cs->c, (cs->cap = cs->cap ? cs->cap * 2 : 16) * sizeof *cs->c);
	cs->c[cs->n].fn = w->fn;
	cs->c[cs->n++].arg = w->arg;
}

static void calls_run(struct calls *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		cs->c[i].fn(cs->c[i].arg);
	free(cs->c);
}

void store_pool_poll(struct store_pool *p)
{
	struct calls cs = {0};
	pthread_mutex_lock(&p->lock);
	for (struct store_watch *w = p->watches; w; w = w->next)
		calls_add(&cs, w);
	pthread_mutex_unlock(&p->lock);
	calls_run(&cs);
}

void store_pool_dispatch(struct store_pool *p)
{
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	bool any = false;
	struct calls cs = {0};
	pthread_mutex_lock(&p->lock);
	while ((n = read(p->fd, buf, sizeof buf)) > 0)
		for (char *at = buf; at < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)at;
			if (!(ev->mask & IN_IGNORED))
				mark_pending(p, ev->wd);
			any = true;
			at += sizeof *ev + ev->len;
		}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("store: reading inotify: %s", strerror(errno));
	/* The sessions learn of it once, however many events came. */
	for (struct store_watch *w = p->watches; any && w; w = w->next)
		if (w->pending) {
			w->pending = false;
			calls_add(&cs, w);
		}
	pthread_mutex_unlock(&p->lock);
	calls_run(&cs);
}
