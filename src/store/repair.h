/* Index repair inside the store (store/repair.c): store_open calls it when a
 * user's gannet.db is missing beside an existing Maildir, or damaged.
 * store_rebuild and store_check (store.h) are the commands' way in. */
#ifndef GANNET_STORE_REPAIR_H
#define GANNET_STORE_REPAIR_H

#include <sys/stat.h>

#include "store/store.h"

/* DATA/users/USER and what is in it; changes is written after each change,
 * for watchers (pool.h). */
struct user_paths {
	const char *user;
	char *home, *db, *maildir, *lock, *changes;
};
void user_paths_init(struct user_paths *p, const char *data_dir, const char *user);
void user_paths_free(struct user_paths *p);

/* Rebuilds the user's index under the user's lock. seen is the index file
 * as the caller found it (st_ino 0: it was missing); when the file there now
 * is another one, someone rebuilt it meanwhile and nothing is done. NULL:
 * rebuild whatever is there. */
enum store_rc repair_index(const struct user_paths *p, const struct stat *seen);

#endif
