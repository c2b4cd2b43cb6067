/* The mail store API: one user's mailboxes and messages. The IMAP layer
 * talks only to this; SQL lives in store/index.c and file paths in
 * store/maildir.c, so another backend can sit behind the same calls.
 *
 * Mailbox names here are UTF-8 with '/' as the hierarchy separator and
 * "INBOX" spelled in capitals (store_name_check canonicalises). Every call
 * returns a store_rc; the caller owns whatever an out-parameter returns. */
#ifndef GANNET_STORE_STORE_H
#define GANNET_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/maildir.h" /* FLAG_* */

enum store_rc {
	STORE_OK = 0,
	STORE_NONEXISTENT = -1, /* no such mailbox */
	STORE_EXISTS = -2,      /* target already exists */
	STORE_BADNAME = -3,     /* name not allowed */
	STORE_NOTALLOWED = -4,  /* e.g. DELETE INBOX */
	STORE_ERROR = -5,       /* I/O or index failure (logged) */
	STORE_LIMIT = -6,       /* too many mailboxes, too deep */
	STORE_EXPUNGED = -7,    /* a message was expunged since the view was synced */
};

struct store_limits {
	size_t max_mailboxes;
	size_t max_name_len;   /* bytes of UTF-8 */
	size_t max_depth;      /* hierarchy levels */
	unsigned lock_wait_ms; /* for another process's lock on the index (0: 10 s) */
};

struct store;

/* Opens (creating on first use) DATA/users/USER with its Maildir and index; a
 * new user gets INBOX, Sent, Drafts, Trash, Junk and Archive. */
enum store_rc store_open(const char *data_dir, const char *user, const struct store_limits *lim,
                         struct store **out);
void store_close(struct store *s);

/* Index maintenance (store/repair.c). store_rebuild makes DATA/users/USER/
 * gannet.db again from the Maildir, keeping every message and every UID and
 * UIDVALIDITY it can recover (the old file's readable rows, Dovecot's
 * dovecot-uidlist); the old file stays beside it as gannet.db.old.
 * store_check tells say() each way the index and the Maildir differ and
 * changes nothing. STORE_NONEXISTENT: the user has no Maildir. */
enum store_rc store_rebuild(const char *data_dir, const char *user);
enum store_rc store_check(const char *data_dir, const char *user,
                          void (*say)(void *arg, const char *line), void *arg, size_t *differences);

/* False once the user's index was rebuilt (here or by another process):
 * the store reads an old file, and its sessions must end and log in again. */
bool store_usable(struct store *s);
/* After a STORE_ERROR: true when the index proved damaged, in which case it
 * has been rebuilt and the store is no longer usable. */
bool store_repair(struct store *s);
/* After a STORE_ERROR: true when another process held the user's index
 * locked for longer than the store waits (lock_wait_ms); the command may be
 * tried again. */
bool store_busy(struct store *s);

/* Checks a mailbox name and canonicalises it (INBOX in any case becomes
 * "INBOX"; a trailing '/' is dropped). Returns a new string, or NULL and
 * (if why is not NULL) why, as words that follow "Mailbox name". */
char *store_name_check(const struct store *s, const char *name, const char **why);

enum store_rc store_create(struct store *s, const char *name);
enum store_rc store_delete(struct store *s, const char *name);
/* Renames a mailbox and everything below it; INBOX moves its messages into
 * a new mailbox and stays, empty (RFC 9051 section 6.3.6). */
enum store_rc store_rename(struct store *s, const char *from, const char *to);
enum store_rc store_subscribe(struct store *s, const char *name, bool on);

struct store_mailbox {
	char *name;
	const char *special_use; /* static string or NULL */
	bool exists;             /* false: only subscribed */
	bool subscribed;
};
/* Every existing or subscribed mailbox, sorted by name. */
enum store_rc store_list(struct store *s, struct store_mailbox **out, size_t *n);
void store_list_free(struct store_mailbox *m, size_t n);

struct store_status {
	uint32_t messages, recent, unseen, deleted, uidnext, uidvalidity;
	uint64_t size, highestmodseq;
};
/* Picks up files an MTA delivered, then counts. */
enum store_rc store_status(struct store *s, const char *name, struct store_status *st);

/* A file to stream an APPEND literal into; it stays the caller's until
 * store_append consumes it. */
enum store_rc store_tmpfile(struct store *s, int *fd, char **path);

/* Writes data into a new temporary file for store_append. */
enum store_rc store_tmpfile_write(struct store *s, const char *data, size_t len, char **path);
/* Removes a temporary file store_append did not consume, and frees path. */
void store_tmpfile_discard(char *path);

struct store_append {
	const char *path; /* a file from store_tmpfile holding the message */
	uint32_t flags;
	const char *const *keywords;
	size_t nkeywords;
	time_t internaldate;
};
/* Moves the message into the mailbox, on disk (fsync'd) before it returns. */
enum store_rc store_append(struct store *s, const char *mailbox, const struct store_append *req,
                           uint32_t *uidvalidity, uint32_t *uid);

/* A selected mailbox as one session sees it: the messages in sequence
 * order, as this session was last told of them. */
struct view_msg {
	uint32_t uid, flags;
	char *keywords;
};
struct view_share;
struct view {
	struct store *store;
	char *name;
	char *dir;  /* the mailbox's Maildir directory */
	int64_t id; /* the mailbox in the index */
	bool readonly;
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;
	char *keywords; /* the mailbox's keywords, space-separated */
	struct view_msg *msgs;
	size_t n, cap;            /* cap 0: msgs belong to share */
	struct view_share *share; /* the list shared with views at the same MODSEQ */
	struct {
		uint32_t lo, hi;
	} * recent; /* UID ranges that are \Recent to this session */
	size_t nrecent;
	bool cache_txn; /* cache writes are batched in an open transaction */
};

/* Whether the message at view position i is \Recent to this session. */
bool view_recent(const struct view *v, size_t i);

enum store_rc view_open(struct store *s, const char *name, bool readonly, struct view **out);
void view_close(struct view *v);

/* What changed since the view was last brought up to date: expunged holds
 * sequence numbers in the order they must be reported (each as the client
 * numbers them at that moment); then the view has n messages. */
struct view_changes {
	uint32_t *expunged;
	size_t nexpunged;
	uint32_t *flags_changed; /* sequence numbers whose flags someone else changed */
	size_t nflags_changed;
	bool keywords_changed; /* the mailbox's keyword list grew: send FLAGS again */
	bool exists_changed;
	uint32_t recent;
};
enum store_rc view_sync(struct view *v, bool allow_expunge, struct view_changes *ch);
void view_changes_free(struct view_changes *ch);

/* Removes \Deleted messages (of those whose UIDs are in uids, sorted, when
 * uids is not NULL: UID EXPUNGE). Many messages go in slices, each its own
 * commit (store/internal.h, SLICE_MAX); each slice's files go only after
 * its commit. They leave the view, to be reported, at the next view_sync. */
enum store_rc view_expunge(struct view *v, const uint32_t *uids, size_t nuids);

/* What FETCH needs of a message beyond the view. */
struct store_message {
	uint64_t size;
	int64_t internaldate;
	char *envelope, *body, *bodystructure; /* cached IMAP strings, or NULL */
};
enum store_rc view_message(struct view *v, size_t idx, struct store_message *out);
void store_message_clear(struct store_message *m);
/* The header block cached at arrival (malloc'd); STORE_NONEXISTENT when
 * there is none (a header too long to keep): read the file instead. */
enum store_rc view_message_header(struct view *v, size_t idx, char **hdr, size_t *len);
/* Opens the message file for reading; the caller closes fd. */
enum store_rc view_message_open(struct view *v, size_t idx, int *fd, uint64_t *size);
/* Caches the message's ENVELOPE, BODY and BODYSTRUCTURE strings. Writes
 * are batched in one transaction until view_cache_flush, so a cold FETCH
 * of many messages costs one commit per batch, not one per message. */
enum store_rc view_message_cache(struct view *v, size_t idx, const char *envelope, const char *body,
                                 const char *bodystructure);
void view_cache_flush(struct view *v);

enum flag_op { FLAG_OP_SET, FLAG_OP_ADD, FLAG_OP_REMOVE };
/* STORE: changes the flags of the messages at view positions idx[]; changed[i]
 * says whether message idx[i] changed. Every change gets a new MODSEQ: one
 * per slice of up to SLICE_MAX messages, each slice its own commit. */
enum store_rc view_store(struct view *v, const size_t *idx, size_t n, enum flag_op op,
                         uint32_t flags, const char *const *kw, size_t nkw, bool *changed);

/* COPY or MOVE (RFC 6851) of the messages at idx[] to dest; dst_uids[i]
 * gets the new UID of idx[i]. STORE_EXPUNGED when one of them was expunged
 * meanwhile (RFC 2180 4.4). Many messages go over in slices, each one index
 * transaction around its file links or renames, so after a crash each
 * message of a MOVE is in one of the two mailboxes and never in both. A COPY
 * is all or nothing: one that fails in a later slice expunges what the
 * earlier ones added to dest. A MOVE that fails part way leaves the slices
 * it committed moved (RFC 6851 3.3: each message moved or unaffected). The
 * moved messages leave the view at the next view_sync. */
enum store_rc view_copy(struct view *v, const size_t *idx, size_t n, const char *dest, bool move,
                        uint32_t *dst_uidvalidity, uint32_t *dst_uids);

#endif
