/* The per-user SQLite index (the only module with SQL in it).
 *
 * It is the truth for what IMAP adds to the Maildir files: mailboxes with
 * their UIDVALIDITY, UIDNEXT and MODSEQ, each message's UID, flags, keywords,
 * INTERNALDATE and size, the expunge log and the subscriptions. WAL mode and
 * synchronous=FULL: a commit that returned survives a crash. Writers take
 * the database lock with index_begin (BEGIN IMMEDIATE), which also
 * serialises UID assignment between processes. */
#ifndef GANNET_STORE_INDEX_H
#define GANNET_STORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct index;

struct ix_mailbox {
	int64_t id;
	char *name;
	char *special_use; /* NULL or "\\Sent" etc. */
	char *keywords;    /* space-separated keywords used in this mailbox */
	uint32_t uidvalidity, uidnext, recent_uid;
	uint64_t modseq;
	int64_t mtimes[2]; /* new/ and cur/ as of the last scan */
};

struct ix_counts {
	uint32_t messages, recent, unseen, deleted;
	uint64_t size;
};

struct ix_message {
	uint32_t uid, flags;
	char *filename;
	char *keywords;
	uint64_t size, modseq;
	int64_t internaldate;
	char *envelope, *body, *bodystructure; /* cached IMAP strings, NULL until computed */
};

/* 0 opened, INDEX_DAMAGED when the file is not a sound database (cut
 * short, corrupt, not SQLite): the store rebuilds it; -1 other errors. */
#define INDEX_DAMAGED (-2)
int index_open(const char *path, struct index **out);
/* Whether SQLite has called the open file corrupt since it was opened. */
bool index_damaged(const struct index *ix);
/* Whether the last failure since index_begin was a lock another connection
 * (another process: `gannet deliver`, a rebuild) held past the wait. */
bool index_busy(const struct index *ix);
/* How long a statement waits for another connection's lock (default 10 s). */
void index_set_lock_wait(struct index *ix, unsigned ms);
/* PRAGMA quick_check: 0 sound, 1 problems (*report says which; caller
 * frees), -1 could not check. */
int index_quick_check(struct index *ix, char **report);
void index_close(struct index *ix);
/* For a connection whose file was renamed away (a rebuild put a new index
 * in its place): its close must not remove the files now at its old path,
 * which belong to the new index. Call before index_close. */
void index_detach(struct index *ix);
const char *index_errmsg(struct index *ix);

int index_begin(struct index *ix);
int index_commit(struct index *ix);
void index_rollback(struct index *ix);

/* Called after each commit of a transaction that changed a mailbox's
 * messages, flags or MODSEQ (not after cache or \Recent writes), so other
 * processes can be told. */
typedef void index_change_fn(void *arg);
void index_set_change_hook(struct index *ix, index_change_fn *fn, void *arg);

/* 0 found, 1 no such mailbox, -1 error. Free with index_mailbox_clear. */
int index_mailbox_get(struct index *ix, const char *name, struct ix_mailbox *out);
void index_mailbox_clear(struct ix_mailbox *mb);
int index_mailbox_add(struct index *ix, const char *name, const char *special_use);
int index_mailbox_delete(struct index *ix, int64_t id);
/* Renames from and every mailbox below it ("from/..."). */
int index_mailbox_rename(struct index *ix, const char *from, const char *to);
/* Calls cb for every mailbox name (with its special-use), in name order. */
int index_mailbox_each(struct index *ix,
                       void (*cb)(void *arg, const char *name, const char *special_use), void *arg);
int index_mailbox_set_mtimes(struct index *ix, int64_t id, const int64_t mtimes[2]);
/* Messages with uid >= recent_uid are \Recent; returns the old value and moves it to uidnext. */
int index_mailbox_claim_recent(struct index *ix, int64_t id, uint32_t *old_recent_uid);
int index_mailbox_add_keywords(struct index *ix, int64_t id, const char *const *kw, size_t n);
int index_mailbox_counts(struct index *ix, int64_t id, struct ix_counts *out);

/* Gives the message the mailbox's next UID, bumping UIDNEXT and MODSEQ. */
int index_message_add(struct index *ix, int64_t mailbox_id, const char *filename, uint32_t flags,
                      const char *keywords, int64_t internaldate, uint64_t size, uint32_t *uid);
/* Removes a message and records it in the expunge log. */
int index_message_expunge(struct index *ix, int64_t mailbox_id, uint32_t uid);
int index_message_set_filename(struct index *ix, int64_t mailbox_id, uint32_t uid,
                               const char *filename);
/* All messages of a mailbox in UID order; free with index_messages_free. */
int index_messages(struct index *ix, int64_t mailbox_id, bool flags_only, struct ix_message **out,
                   size_t *n);
/* Flags-only rows of the messages whose MODSEQ is above modseq (added or
 * changed since), by UID; and the UIDs expunged since, by UID. */
int index_messages_since(struct index *ix, int64_t mailbox_id, uint64_t modseq,
                         struct ix_message **out, size_t *n);
int index_expunged_since(struct index *ix, int64_t mailbox_id, uint64_t modseq, uint32_t **uids,
                         size_t *n);
void index_messages_free(struct ix_message *m, size_t n);

/* 0 found, 1 no such message, -1 error. Free with index_message_clear. */
int index_message_get(struct index *ix, int64_t mailbox_id, uint32_t uid, struct ix_message *out);
void index_message_clear(struct ix_message *m);
/* 0 the message is there, 1 it is not, -1 error: a cheap look, no row read. */
int index_message_exists(struct index *ix, int64_t mailbox_id, uint32_t uid);
int index_message_set_cache(struct index *ix, int64_t mailbox_id, uint32_t uid,
                            const char *envelope, const char *body, const char *bodystructure);
int index_message_set_flags(struct index *ix, int64_t mailbox_id, uint32_t uid, uint32_t flags,
                            const char *keywords, uint64_t modseq);
/* Bumps the mailbox's MODSEQ and returns the new value. */
int index_mailbox_next_modseq(struct index *ix, int64_t mailbox_id, uint64_t *modseq);
/* Whether a file with this base name was expunged from the mailbox. */
bool index_expunged_file(struct index *ix, int64_t mailbox_id, const char *base);

/* The message's header block, cached at arrival for header searches. */
int index_message_set_header(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *hdr,
                             size_t len);
int index_message_copy_header(struct index *ix, int64_t from_mailbox, uint32_t from_uid,
                              int64_t to_mailbox, uint32_t to_uid);
/* 0 and a malloc'd copy, or -1 when none is cached. */
int index_message_header(struct index *ix, int64_t mailbox_id, uint32_t uid, char **hdr,
                         size_t *len);

/* Rebuilding (store/rebuild.c): a mailbox with a known UIDVALIDITY (0: a
 * new one) and UIDNEXT, and a message with a known UID. */
int index_mailbox_add_as(struct index *ix, const char *name, const char *special_use,
                         const char *keywords, uint32_t uidvalidity, uint32_t uidnext);
/* MODSEQ never goes back within a UIDVALIDITY: a rebuilt mailbox goes on
 * from the old one's. */
int index_mailbox_modseq_floor(struct index *ix, int64_t id, uint64_t modseq);
/* Mailboxes made from now on get a UIDVALIDITY above uidvalidity. */
int index_uidvalidity_floor(struct index *ix, uint32_t uidvalidity);
int index_message_add_as(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *filename,
                         uint32_t flags, const char *keywords, int64_t internaldate, uint64_t size);

/* What can still be read from a damaged index file: every row of each table
 * up to the first bad page of that table. */
struct ix_salvage_msg {
	int64_t mailbox_id;
	uint32_t uid, flags;
	char *filename, *keywords;
	int64_t internaldate;
};
struct ix_salvage {
	struct ix_mailbox *mailboxes; /* id, name, special_use, keywords, uidvalidity, uidnext,
	                               * modseq */
	size_t nmailboxes;
	struct ix_salvage_msg *msgs, *expunged; /* expunged: mailbox_id, uid and filename */
	size_t nmsgs, nexpunged;
	char **subscriptions;
	size_t nsubscriptions;
	uint32_t last_uidvalidity; /* the largest UIDVALIDITY the file ever gave */
};
void index_salvage(const char *path, struct ix_salvage *out);
void index_salvage_free(struct ix_salvage *s);

int index_subscribe(struct index *ix, const char *name, bool on);
int index_subscription_each(struct index *ix, void (*cb)(void *arg, const char *name), void *arg);

#endif
