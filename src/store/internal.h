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

/* Looks a mailbox up and syncs it with its files, in one transaction. */
enum store_rc mailbox_fresh(struct store *s, const char *name, struct ix_mailbox *mb);
/* The same inside the caller's transaction; mb is the row after the sync. */
enum store_rc mailbox_sync_locked(struct store *s, const char *name, struct ix_mailbox *mb);
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
