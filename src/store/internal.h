/* What the store's own files share: the store's state and the helpers that
 * both mailbox (store.c) and view (view.c) operations use. Not for callers
 * outside src/store/. */
#ifndef GANNET_STORE_INTERNAL_H
#define GANNET_STORE_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "store/index.h"
#include "store/repair.h"
#include "store/store.h"

struct store {
	char *user;
	struct index *ix;
	struct store_limits lim;
	struct store_pool *pool;   /* NULL: not shared */
	unsigned refs;             /* sessions sharing it, when pooled */
	struct view_share *shares; /* message lists shared by this store's views (view.c) */
	struct user_paths paths;   /* paths.maildir: the root of the tree, INBOX */
	ino_t db_ino;              /* the index file this store has open */
	bool dead;                 /* its index was rebuilt: sessions must start again */
};

/* Our own change to a mailbox's cur/ (APPEND, COPY, MOVE, EXPUNGE), made
 * under the index lock and in the index: when the directories were as the
 * last scan left them (before, taken before the change, equals the stored
 * mtimes), they still are as far as the index is concerned, and the stored
 * mtimes move on, so the sessions that wake up for the change do not each
 * list the directory again. (An outside change within the same clock tick
 * as ours would wait for the next change to be seen.) Inside a transaction. */
int keep_scan_current(struct store *s, const struct ix_mailbox *mb, const char *dir,
                      const int64_t before[2]);
/* Lets go of the message lists the store keeps for its views (view.c). */
void view_shares_drop(struct store *s);
/* Drops one reference to a pooled store; true when it was the last. */
bool store_pool_release(struct store *s);

/* Long operations (COPY, MOVE, STORE, EXPUNGE of many messages, adopting
 * many files) commit in slices, so the user's index write lock, which every
 * other worker and `gannet deliver` waits for, is never held for long
 * (issue 14). A slice ends after SLICE_MAX messages or SLICE_NS, whichever
 * comes first, and always holds at least one. Measured on 16,384 messages
 * (bench/long_ops.py): a COPY costs about 0.3 ms a message (a link and an
 * fsync of cur/), adopting a file 80 us, a STORE 5 us, and a commit a few
 * ms; 50 ms keeps a waiting delivery's delay well under the time a client
 * notices, and the commits then cost under a tenth of the work. The count
 * bounds the cheap operations (a STORE of 4,096 messages takes about 20
 * ms); it was 512 at first, and then a STORE of 10,000 messages paid 20
 * commits and pauses and took twice as long as in one transaction
 * (bench/run store-10k: 96 ms before slicing, 213 ms with 512). */
#define SLICE_MAX 4096
#define SLICE_NS (50 * 1000 * 1000)
struct slice {
	int64_t until;
	size_t n;
};
/* Between two slices, with no transaction open: the jobs of the user's
 * other sessions waiting in this worker run (jobs_yield, util/jobs.h), so
 * none waits for the whole operation. And SQLite's lock is not fair: a
 * writer that takes it again at once would starve the other processes,
 * whose busy handler (index.c) tries every millisecond, so the slicer also
 * steps aside for a little longer than that. */
#define SLICE_PAUSE_NS (2 * 1000 * 1000)
void slice_pause(void);
void slice_start(struct slice *sl);
/* Counts one message done; true when the slice should commit now. */
bool slice_full(struct slice *sl);

/* Looks a mailbox up and syncs it with its files: a sync with much to do
 * (many files an MTA dropped, a folder never indexed) commits its first
 * slices on its own, and the last one is left open for the caller, whose
 * reads and writes then see the mailbox as it is on disk. On STORE_OK the
 * transaction is open and mb holds the row after the sync; on anything else
 * there is no transaction. */
enum store_rc mailbox_sync_begin(struct store *s, const char *name, struct ix_mailbox *mb);
/* The same, committed: the mailbox's row, fresh. */
enum store_rc mailbox_fresh(struct store *s, const char *name, struct ix_mailbox *mb);
/* Tells watchers in every process (pool.h): any write to the changes file
 * wakes them, and they compare MODSEQs themselves. */
void changes_touch(const struct user_paths *p);
/* Keeps the header block of the message file at path for header searches. */
int cache_header(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *path);
/* Makes a new user's folders (Sent, Drafts, Trash, Junk, Archive, with
 * their special-use, subscribed) in the tree at root and the index, inside
 * the caller's transaction. */
int add_default_folders(struct index *ix, const char *root);
/* The special-use a new user's mailbox of this name gets (Sent: \Sent), or NULL. */
const char *default_special_use(const char *name);
/* Keywords as the index keeps them: space-separated. Caller frees. */
char *join_keywords(const char *const *kw, size_t n);

#endif
