/* One process's open stores, and the watcher that tells sessions of changes
 * (design.md section 3).
 *
 * Sessions of one user in one worker share one store: one SQLite connection
 * with its page cache and prepared statements, so an idle session costs
 * only its own view. A store is opened, used and closed only by its user's
 * job queue (util/jobs.h), one thread at a time, and no transaction stays
 * open across jobs; the pool's own lists are locked.
 *
 * Changes reach sessions in two ways, both watched through one inotify
 * descriptor per process: every index commit that changes messages or flags
 * writes the user's change file (from any process: workers, `gannet
 * deliver`), and an MTA renames files into a mailbox's new/. A watch calls
 * its function at most once per store_pool_dispatch, however many events
 * came, and only from store_pool_dispatch. */
#ifndef GANNET_STORE_POOL_H
#define GANNET_STORE_POOL_H

#include "store/store.h"

struct store_pool;
struct store_watch;

struct store_pool *store_pool_new(const char *data_dir, const struct store_limits *lim);
/* Every store must be closed and every watch removed first. */
void store_pool_free(struct store_pool *p);

/* The user's store, opened or shared; store_close gives it back. */
enum store_rc store_pool_open(struct store_pool *p, const char *user, struct store **out);

/* Readable when store_pool_dispatch has changes to hand out; -1 when the
 * kernel gave no inotify descriptor. */
int store_pool_fd(const struct store_pool *p);
void store_pool_dispatch(struct store_pool *p);

/* Without inotify, or past the kernel's limit of watches, nothing tells
 * the pool of changes: then the caller runs store_pool_poll every this many
 * milliseconds (0: no need), which calls every watch. */
#define STORE_POOL_POLL_MS 2000
unsigned store_pool_poll_ms(const struct store_pool *p);
void store_pool_poll(struct store_pool *p);

/* Calls fn(arg) when the mailbox of view v may have changed, from
 * store_pool_dispatch or store_pool_poll (the loop's thread), maybe once
 * more after store_unwatch returned; the view must come from a pooled
 * store. */
typedef void store_watch_fn(void *arg);
struct store_watch *view_watch(struct view *v, store_watch_fn *fn, void *arg);
void store_unwatch(struct store_watch *w);

#endif
