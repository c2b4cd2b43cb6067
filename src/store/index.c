#include "store/index.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"

#define STMT_CACHE 64

/* Prepared statements are kept per connection, keyed by the address of
 * their SQL text (every statement is a string literal in this file). */
struct index {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	size_t ncache;
	bool changed;          /* this transaction changed a mailbox's messages or flags */
	bool damaged;          /* SQLite said the file is corrupt or not a database */
	bool busy;             /* the last failure was a lock another connection held too long */
	unsigned lock_wait_ms; /* how long busy_wait waits */
	int64_t busy_since_ms; /* when the current wait began */
	index_change_fn *on_change;
	void *change_arg;
};

static const char *schema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS mailbox("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " special_use TEXT,"
    " keywords TEXT NOT NULL DEFAULT '',"
    " uidvalidity INTEGER NOT NULL,"
    " uidnext INTEGER NOT NULL DEFAULT 1,"
    " recent_uid INTEGER NOT NULL DEFAULT 1,"
    " modseq INTEGER NOT NULL DEFAULT 1,"
    " new_mtime INTEGER NOT NULL DEFAULT 0,"
    " cur_mtime INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS message("
    " mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,"
    " uid INTEGER NOT NULL,"
    " filename TEXT NOT NULL,"
    " flags INTEGER NOT NULL DEFAULT 0,"
    " keywords TEXT NOT NULL DEFAULT '',"
    " modseq INTEGER NOT NULL,"
    " internaldate INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " envelope TEXT,"
    " body TEXT,"
    " bodystructure TEXT,"
    " PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS expunged("
    " mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,"
    " uid INTEGER NOT NULL, modseq INTEGER NOT NULL, filename TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS expunged_file ON expunged(mailbox_id, filename);"
    "CREATE INDEX IF NOT EXISTS expunged_mailbox ON expunged(mailbox_id, modseq);"
    /* Sessions catch up by MODSEQ: what changed since they last looked. */
    "CREATE INDEX IF NOT EXISTS message_modseq ON message(mailbox_id, modseq);"
    "CREATE TABLE IF NOT EXISTS subscription(name TEXT PRIMARY KEY);"
    /* Header blocks for SEARCH live apart from the message rows, so the
     * row scans of SELECT do not wade through them. */
    "CREATE TABLE IF NOT EXISTS message_header("
    " mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,"
    " uid INTEGER NOT NULL, header BLOB NOT NULL,"
    " PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', 1), ('uidvalidity', 0);";

/* SQLite's word that the file itself is bad, as opposed to a full disk or
 * a busy lock: the store rebuilds such an index (store/rebuild.c). */
static void note_result(struct index *ix, int rc)
{
	int primary = rc & 0xff;
	ix->busy = primary == SQLITE_BUSY;
	if ((primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) && !ix->damaged) {
		ix->damaged = true;
		log_error("index: the database is damaged: %s", sqlite3_errstr(rc));
	}
}

static int step(struct index *ix, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		note_result(ix, rc);
	return rc;
}

bool index_damaged(const struct index *ix)
{
	return ix->damaged;
}

bool index_busy(const struct index *ix)
{
	return ix->busy;
}

void index_set_lock_wait(struct index *ix, unsigned ms)
{
	ix->lock_wait_ms = ms;
}

const char *index_errmsg(struct index *ix)
{
	return sqlite3_errmsg(ix->db);
}

static int exec(struct index *ix, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(ix->db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		note_result(ix, rc);
		log_error("index: %s: %s", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A file cut short (a disk that lost the end of a write, a copy stopped
 * half way) is only found by SQLite when a query reaches a missing page,
 * maybe days later. Its header says how long it should be: trusted when
 * its "version-valid-for" matches the change counter (the file format,
 * section 1.3.7), and only without a WAL, which legitimately holds pages
 * the main file does not have yet. */
static bool file_cut_short(const char *path)
{
	char *wal = xasprintf("%s-wal", path);
	struct stat st;
	bool has_wal = stat(wal, &st) == 0 && st.st_size > 0;
	free(wal);
	if (has_wal)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char h[100];
	bool cut = false;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
			cut = true;
		} else if (memcmp(h, "SQLite format 3", 16) == 0) {
			uint32_t page = (uint32_t)h[16] << 8 | h[17];
			if (page == 1)
				page = 65536;
			uint64_t pages = be32(h + 28);
			cut = page < 512 || st.st_size % page != 0 ||
			      (be32(h + 24) == be32(h + 92) && pages * page > (uint64_t)st.st_size);
		}
	}
	if (fd >= 0)
		close(fd);
	return cut;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the write lock by trying again every millisecond, for up to
 * lock_wait_ms (10 s unless set). It runs on a worker's job thread, never
 * on the event loop (util/jobs.h). SQLite's own handler (sqlite3_busy_timeout) backs off to 100 ms
 * sleeps, and so would almost never meet the short gap a long operation
 * leaves between two of its slices (SLICE_PAUSE_NS in store/internal.h):
 * its wait would last the whole operation, which slicing is there to stop. */
static int busy_wait(void *arg, int count)
{
	struct index *ix = arg;
	int64_t now = monotonic_ms();
	if (count == 0)
		ix->busy_since_ms = now;
	else if (now - ix->busy_since_ms >= ix->lock_wait_ms)
		return 0;
	struct timespec t = {0, 1000000};
	nanosleep(&t, NULL);
	return 1;
}

int index_open(const char *path, struct index **out)
{
	if (file_cut_short(path)) {
		log_error("index: %s is shorter than its header says: damaged", path);
		return INDEX_DAMAGED;
	}
	struct index *ix = xcalloc(1, sizeof *ix);
	int rc = sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		note_result(ix, rc);
		log_error("index: cannot open %s: %s", path, sqlite3_errmsg(ix->db));
	} else {
		ix->lock_wait_ms = 10000;
		sqlite3_busy_handler(ix->db, busy_wait, ix);
		rc = exec(ix, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA "
		              "foreign_keys=ON;") < 0 ||
		     exec(ix, "BEGIN IMMEDIATE") < 0 || exec(ix, schema) < 0 ||
		     exec(ix, "COMMIT") < 0;
	}
	if (rc != SQLITE_OK) {
		rc = ix->damaged ? INDEX_DAMAGED : -1;
		index_close(ix);
		return rc;
	}
	*out = ix;
	return 0;
}

void index_detach(struct index *ix)
{
	/* The last connection to a database deletes "<path>-wal" by name as
	 * it closes (sqlite3WalClose), and "<path>-shm" with it. SQLite 3.40
	 * was seen leaving them alone once the file had been renamed, but
	 * nothing promises that; with the WAL persisted it deletes neither. */
	int one = 1;
	sqlite3_file_control(ix->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
}

void index_close(struct index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->ncache; i++)
		sqlite3_finalize(ix->cache[i].st);
	sqlite3_close_v2(ix->db);
	free(ix);
}

int index_begin(struct index *ix)
{
	ix->busy = false;
	return exec(ix, "BEGIN IMMEDIATE");
}

int index_commit(struct index *ix)
{
	int rc = exec(ix, "COMMIT");
	bool changed = ix->changed && rc == 0;
	ix->changed = false;
	if (changed && ix->on_change)
		ix->on_change(ix->change_arg);
	return rc;
}

void index_rollback(struct index *ix)
{
	ix->changed = false;
	if (!sqlite3_get_autocommit(ix->db))
		exec(ix, "ROLLBACK");
}

void index_set_change_hook(struct index *ix, index_change_fn *fn, void *arg)
{
	ix->on_change = fn;
	ix->change_arg = arg;
}

static sqlite3_stmt *prepare(struct index *ix, const char *sql)
{
	for (size_t i = 0; i < ix->ncache; i++)
		if (ix->cache[i].sql == sql)
			return ix->cache[i].st;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(ix->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		note_result(ix, rc);
		log_error("index: prepare %s: %s", sql, sqlite3_errmsg(ix->db));
		return NULL;
	}
	if (ix->ncache == STMT_CACHE) {
		log_error("index: statement cache full; raise STMT_CACHE");
		abort();
	}
	ix->cache[ix->ncache].sql = sql;
	ix->cache[ix->ncache++].st = st;
	return st;
}

/* Makes a cached statement ready for its next use. */
static void release(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no rows, then readies it for reuse. */
static int run(struct index *ix, sqlite3_stmt *st)
{
	if (!st)
		return -1;
	int rc = step(ix, st);
	release(st);
	if (rc != SQLITE_DONE) {
		log_error("index: %s", sqlite3_errmsg(ix->db));
		return -1;
	}
	return 0;
}

static char *column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? xstrdup((const char *)t) : NULL;
}

int index_mailbox_get(struct index *ix, const char *name, struct ix_mailbox *out)
{
	sqlite3_stmt *st =
	    prepare(ix, "SELECT id, name, special_use, keywords, uidvalidity, uidnext,"
	                " recent_uid, modseq, new_mtime, cur_mtime"
	                " FROM mailbox WHERE name = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = step(ix, st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		out->id = sqlite3_column_int64(st, 0);
		out->name = column_dup(st, 1);
		out->special_use = column_dup(st, 2);
		out->keywords = column_dup(st, 3);
		out->uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
		out->uidnext = (uint32_t)sqlite3_column_int64(st, 5);
		out->recent_uid = (uint32_t)sqlite3_column_int64(st, 6);
		out->modseq = (uint64_t)sqlite3_column_int64(st, 7);
		out->mtimes[0] = sqlite3_column_int64(st, 8);
		out->mtimes[1] = sqlite3_column_int64(st, 9);
	}
	release(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

void index_mailbox_clear(struct ix_mailbox *mb)
{
	free(mb->name);
	free(mb->special_use);
	free(mb->keywords);
	memset(mb, 0, sizeof *mb);
}

/* UIDVALIDITY: the creation time, but always larger than any given before,
 * so a mailbox deleted and made again never repeats one (RFC 9051 2.3.1.1). */
static int next_uidvalidity(struct index *ix, uint32_t *out)
{
	sqlite3_stmt *st = prepare(ix, "SELECT value FROM meta WHERE key = 'uidvalidity'");
	if (!st)
		return -1;
	int64_t last = step(ix, st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	release(st);
	int64_t v = (int64_t)time(NULL);
	if (v <= last)
		v = last + 1;
	if (v > UINT32_MAX)
		v = 1; /* year 2106 */
	st = prepare(ix, "UPDATE meta SET value = ? WHERE key = 'uidvalidity'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, v);
	*out = (uint32_t)v;
	return run(ix, st);
}

int index_mailbox_add(struct index *ix, const char *name, const char *special_use)
{
	uint32_t uidvalidity;
	if (next_uidvalidity(ix, &uidvalidity) < 0)
		return -1;
	sqlite3_stmt *st =
	    prepare(ix, "INSERT INTO mailbox(name, special_use, uidvalidity) VALUES (?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (special_use)
		sqlite3_bind_text(st, 2, special_use, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, uidvalidity);
	return run(ix, st);
}

int index_mailbox_delete(struct index *ix, int64_t id)
{
	sqlite3_stmt *st = prepare(ix, "DELETE FROM mailbox WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return run(ix, st);
}

int index_mailbox_rename(struct index *ix, const char *from, const char *to)
{
	/* substr() rather than LIKE: names may hold '%' and '_'. */
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE mailbox SET name = ?2 || substr(name, length(?1) + 1)"
	                " WHERE name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/'");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	return run(ix, st);
}

int index_mailbox_each(struct index *ix,
                       void (*cb)(void *arg, const char *name, const char *special_use), void *arg)
{
	sqlite3_stmt *st = prepare(ix, "SELECT name, special_use FROM mailbox ORDER BY name");
	if (!st)
		return -1;
	int rc;
	while ((rc = step(ix, st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1));
	release(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int index_mailbox_set_mtimes(struct index *ix, int64_t id, const int64_t mtimes[2])
{
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE mailbox SET new_mtime = ?, cur_mtime = ? WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mtimes[0]);
	sqlite3_bind_int64(st, 2, mtimes[1]);
	sqlite3_bind_int64(st, 3, id);
	return run(ix, st);
}

int index_mailbox_claim_recent(struct index *ix, int64_t id, uint32_t *old_recent_uid)
{
	sqlite3_stmt *st = prepare(ix, "SELECT recent_uid FROM mailbox WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (step(ix, st) != SQLITE_ROW) {
		release(st);
		return -1;
	}
	*old_recent_uid = (uint32_t)sqlite3_column_int64(st, 0);
	release(st);
	/* Unchanged rows are not written: a commit with no writes needs no fsync. */
	st = prepare(
	    ix, "UPDATE mailbox SET recent_uid = uidnext WHERE id = ? AND recent_uid < uidnext");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return run(ix, st);
}

int index_mailbox_add_keywords(struct index *ix, int64_t id, const char *const *kw, size_t n)
{
	sqlite3_stmt *st = prepare(ix, "SELECT keywords FROM mailbox WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	struct sbuf b = {0};
	sbuf_adds(&b, step(ix, st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : "");
	release(st);
	size_t before = b.len;
	for (size_t i = 0; i < n; i++) {
		if (str_has_word_i(b.s, kw[i]))
			continue;
		if (b.len)
			sbuf_addc(&b, ' ');
		sbuf_adds(&b, kw[i]);
	}
	int rc = 0;
	if (b.len != before) {
		st = prepare(ix, "UPDATE mailbox SET keywords = ? WHERE id = ?");
		if (st) {
			sqlite3_bind_text(st, 1, b.s, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, id);
		}
		rc = run(ix, st);
	}
	sbuf_free(&b);
	return rc;
}

int index_mailbox_counts(struct index *ix, int64_t id, struct ix_counts *out)
{
	sqlite3_stmt *st = prepare(
	    ix,
	    "SELECT count(*), coalesce(sum(flags & 1 = 0), 0), coalesce(sum(flags & 8 != 0), 0),"
	    " coalesce(sum(size), 0),"
	    " coalesce(sum(uid >= (SELECT recent_uid FROM mailbox WHERE id = ?1)), 0)"
	    " FROM message WHERE mailbox_id = ?1");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = step(ix, st);
	if (rc == SQLITE_ROW) {
		out->messages = (uint32_t)sqlite3_column_int64(st, 0);
		out->unseen = (uint32_t)sqlite3_column_int64(st, 1);
		out->deleted = (uint32_t)sqlite3_column_int64(st, 2);
		out->size = (uint64_t)sqlite3_column_int64(st, 3);
		out->recent = (uint32_t)sqlite3_column_int64(st, 4);
	}
	release(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int insert_message(struct index *ix, int64_t mailbox_id, uint32_t uid, uint64_t modseq,
                          const char *filename, uint32_t flags, const char *keywords,
                          int64_t internaldate, uint64_t size)
{
	sqlite3_stmt *st =
	    prepare(ix, "INSERT INTO message(mailbox_id, uid, filename, flags, keywords, modseq,"
	                " internaldate, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, filename, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, flags);
	sqlite3_bind_text(st, 5, keywords ? keywords : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)modseq);
	sqlite3_bind_int64(st, 7, internaldate);
	sqlite3_bind_int64(st, 8, (int64_t)size);
	return run(ix, st);
}

int index_message_add(struct index *ix, int64_t mailbox_id, const char *filename, uint32_t flags,
                      const char *keywords, int64_t internaldate, uint64_t size, uint32_t *uid)
{
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE mailbox SET uidnext = uidnext + 1, modseq = modseq + 1"
	                " WHERE id = ? RETURNING uidnext - 1, modseq");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	if (step(ix, st) != SQLITE_ROW) {
		release(st);
		return -1;
	}
	int64_t u = sqlite3_column_int64(st, 0), modseq = sqlite3_column_int64(st, 1);
	release(st);
	ix->changed = true;
	if (u <= 0 || u >= UINT32_MAX)
		return -1; /* UIDs exhausted: the mailbox needs a new UIDVALIDITY */
	*uid = (uint32_t)u;
	return insert_message(ix, mailbox_id, *uid, (uint64_t)modseq, filename, flags, keywords,
	                      internaldate, size);
}

static int expunge_row(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *base);

int index_message_expunge(struct index *ix, int64_t mailbox_id, uint32_t uid)
{
	/* The file's base name goes into the log, so a file that outlives its
	 * expunge (a crash before the unlink) is removed, never re-adopted. */
	sqlite3_stmt *st =
	    prepare(ix, "SELECT filename FROM message WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	if (step(ix, st) != SQLITE_ROW) {
		release(st);
		return 0; /* already gone */
	}
	const char *fn = (const char *)sqlite3_column_text(st, 0);
	char *base = xstrndup(fn, strcspn(fn, ":"));
	release(st);
	int rc = expunge_row(ix, mailbox_id, uid, base);
	free(base);
	return rc;
}

static int expunge_row(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *base)
{
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE mailbox SET modseq = modseq + 1 WHERE id = ? RETURNING modseq");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	int64_t modseq = step(ix, st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	release(st);
	if (modseq < 0)
		return -1;
	ix->changed = true;
	st = prepare(ix, "DELETE FROM message WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	if (run(ix, st) < 0)
		return -1;
	st = prepare(ix, "DELETE FROM message_header WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	if (run(ix, st) < 0)
		return -1;
	st = prepare(ix,
	             "INSERT INTO expunged(mailbox_id, uid, modseq, filename) VALUES (?, ?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, modseq);
	sqlite3_bind_text(st, 4, base, -1, SQLITE_STATIC);
	return run(ix, st);
}

int index_message_set_filename(struct index *ix, int64_t mailbox_id, uint32_t uid,
                               const char *filename)
{
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE message SET filename = ? WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, filename, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, mailbox_id);
	sqlite3_bind_int64(st, 3, uid);
	return run(ix, st);
}

static int collect_messages(struct index *ix, sqlite3_stmt *st, struct ix_message **out, size_t *n);

int index_messages(struct index *ix, int64_t mailbox_id, bool flags_only, struct ix_message **out,
                   size_t *n)
{
	/* A view needs UIDs and flags only; the rest costs a string per message. */
	sqlite3_stmt *st =
	    flags_only
	        ? prepare(ix, "SELECT uid, flags, NULL, keywords, 0, 0, 0"
	                      " FROM message WHERE mailbox_id = ? ORDER BY uid")
	        : prepare(ix, "SELECT uid, flags, filename, keywords, size, modseq,"
	                      " internaldate FROM message WHERE mailbox_id = ? ORDER BY uid");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	return collect_messages(ix, st, out, n);
}

int index_messages_since(struct index *ix, int64_t mailbox_id, uint64_t modseq,
                         struct ix_message **out, size_t *n)
{
	sqlite3_stmt *st = prepare(ix, "SELECT uid, flags, NULL, keywords, 0, modseq, 0"
	                               " FROM message WHERE mailbox_id = ? AND modseq > ?"
	                               " ORDER BY uid");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, (int64_t)modseq);
	return collect_messages(ix, st, out, n);
}

int index_expunged_since(struct index *ix, int64_t mailbox_id, uint64_t modseq, uint32_t **uids,
                         size_t *n)
{
	sqlite3_stmt *st =
	    prepare(ix, "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ?"
	                " ORDER BY uid");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, (int64_t)modseq);
	size_t cap = 16, count = 0;
	uint32_t *u = xmalloc(cap * sizeof *u);
	int rc;
	while ((rc = step(ix, st)) == SQLITE_ROW) {
		if (count == cap)
			u = xrealloc(u, (cap *= 2) * sizeof *u);
		u[count++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	release(st);
	if (rc != SQLITE_DONE) {
		free(u);
		return -1;
	}
	*uids = u;
	*n = count;
	return 0;
}

static int collect_messages(struct index *ix, sqlite3_stmt *st, struct ix_message **out, size_t *n)
{
	size_t cap = 16, count = 0;
	struct ix_message *m = xmalloc(cap * sizeof *m);
	int rc;
	while ((rc = step(ix, st)) == SQLITE_ROW) {
		if (count == cap)
			m = xrealloc(m, (cap *= 2) * sizeof *m);
		memset(&m[count], 0, sizeof m[count]);
		m[count].uid = (uint32_t)sqlite3_column_int64(st, 0);
		m[count].flags = (uint32_t)sqlite3_column_int64(st, 1);
		m[count].filename = column_dup(st, 2);
		m[count].keywords = column_dup(st, 3);
		m[count].size = (uint64_t)sqlite3_column_int64(st, 4);
		m[count].modseq = (uint64_t)sqlite3_column_int64(st, 5);
		m[count].internaldate = sqlite3_column_int64(st, 6);
		count++;
	}
	release(st);
	if (rc != SQLITE_DONE) {
		index_messages_free(m, count);
		return -1;
	}
	*out = m;
	*n = count;
	return 0;
}

void index_messages_free(struct ix_message *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		index_message_clear(&m[i]);
	free(m);
}

int index_subscribe(struct index *ix, const char *name, bool on)
{
	sqlite3_stmt *st = prepare(ix, on ? "INSERT OR IGNORE INTO subscription(name) VALUES (?)"
	                                  : "DELETE FROM subscription WHERE name = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return run(ix, st);
}

int index_subscription_each(struct index *ix, void (*cb)(void *arg, const char *name), void *arg)
{
	sqlite3_stmt *st = prepare(ix, "SELECT name FROM subscription ORDER BY name");
	if (!st)
		return -1;
	int rc;
	while ((rc = step(ix, st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0));
	release(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

bool index_expunged_file(struct index *ix, int64_t mailbox_id, const char *base)
{
	sqlite3_stmt *st =
	    prepare(ix, "SELECT 1 FROM expunged WHERE mailbox_id = ? AND filename = ? LIMIT 1");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_text(st, 2, base, -1, SQLITE_STATIC);
	bool found = step(ix, st) == SQLITE_ROW;
	release(st);
	return found;
}

int index_message_get(struct index *ix, int64_t mailbox_id, uint32_t uid, struct ix_message *out)
{
	sqlite3_stmt *st =
	    prepare(ix, "SELECT flags, filename, keywords, size, modseq, internaldate,"
	                " envelope, body, bodystructure FROM message"
	                " WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	int rc = step(ix, st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		out->uid = uid;
		out->flags = (uint32_t)sqlite3_column_int64(st, 0);
		out->filename = column_dup(st, 1);
		out->keywords = column_dup(st, 2);
		out->size = (uint64_t)sqlite3_column_int64(st, 3);
		out->modseq = (uint64_t)sqlite3_column_int64(st, 4);
		out->internaldate = sqlite3_column_int64(st, 5);
		out->envelope = column_dup(st, 6);
		out->body = column_dup(st, 7);
		out->bodystructure = column_dup(st, 8);
	}
	release(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

int index_message_exists(struct index *ix, int64_t mailbox_id, uint32_t uid)
{
	sqlite3_stmt *st = prepare(ix, "SELECT 1 FROM message WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	int rc = step(ix, st);
	release(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

void index_message_clear(struct ix_message *m)
{
	free(m->filename);
	free(m->keywords);
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	memset(m, 0, sizeof *m);
}

int index_message_set_cache(struct index *ix, int64_t mailbox_id, uint32_t uid,
                            const char *envelope, const char *body, const char *bodystructure)
{
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE message SET envelope = ?, body = ?, bodystructure = ?"
	                " WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, envelope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, bodystructure, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, mailbox_id);
	sqlite3_bind_int64(st, 5, uid);
	return run(ix, st);
}

int index_mailbox_next_modseq(struct index *ix, int64_t mailbox_id, uint64_t *modseq)
{
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE mailbox SET modseq = modseq + 1 WHERE id = ? RETURNING modseq");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	int rc = step(ix, st);
	if (rc == SQLITE_ROW)
		*modseq = (uint64_t)sqlite3_column_int64(st, 0);
	release(st);
	ix->changed |= rc == SQLITE_ROW;
	return rc == SQLITE_ROW ? 0 : -1;
}

int index_message_set_flags(struct index *ix, int64_t mailbox_id, uint32_t uid, uint32_t flags,
                            const char *keywords, uint64_t modseq)
{
	sqlite3_stmt *st = prepare(ix, "UPDATE message SET flags = ?, keywords = ?, modseq = ?"
	                               " WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, flags);
	sqlite3_bind_text(st, 2, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)modseq);
	sqlite3_bind_int64(st, 4, mailbox_id);
	sqlite3_bind_int64(st, 5, uid);
	return run(ix, st);
}

int index_message_set_header(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *hdr,
                             size_t len)
{
	sqlite3_stmt *st =
	    prepare(ix, "INSERT OR REPLACE INTO message_header(mailbox_id, uid, header)"
	                " VALUES (?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_blob(st, 3, hdr, (int)len, SQLITE_STATIC);
	return run(ix, st);
}

int index_message_copy_header(struct index *ix, int64_t from_mailbox, uint32_t from_uid,
                              int64_t to_mailbox, uint32_t to_uid)
{
	sqlite3_stmt *st =
	    prepare(ix, "INSERT OR REPLACE INTO message_header(mailbox_id, uid, header)"
	                " SELECT ?, ?, header FROM message_header"
	                " WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, to_mailbox);
	sqlite3_bind_int64(st, 2, to_uid);
	sqlite3_bind_int64(st, 3, from_mailbox);
	sqlite3_bind_int64(st, 4, from_uid);
	return run(ix, st);
}

int index_message_header(struct index *ix, int64_t mailbox_id, uint32_t uid, char **hdr,
                         size_t *len)
{
	sqlite3_stmt *st =
	    prepare(ix, "SELECT header FROM message_header WHERE mailbox_id = ? AND uid = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	int rc = -1;
	if (step(ix, st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*hdr = xmalloc(*len + 1);
		memcpy(*hdr, sqlite3_column_blob(st, 0), *len);
		(*hdr)[*len] = '\0';
		rc = 0;
	}
	release(st);
	return rc;
}

int index_mailbox_modseq_floor(struct index *ix, int64_t id, uint64_t modseq)
{
	sqlite3_stmt *st = prepare(ix, "UPDATE mailbox SET modseq = max(modseq, ?) WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)modseq);
	sqlite3_bind_int64(st, 2, id);
	return run(ix, st);
}

int index_uidvalidity_floor(struct index *ix, uint32_t uidvalidity)
{
	sqlite3_stmt *st =
	    prepare(ix, "UPDATE meta SET value = max(value, ?) WHERE key = 'uidvalidity'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, uidvalidity);
	return run(ix, st);
}

int index_mailbox_add_as(struct index *ix, const char *name, const char *special_use,
                         const char *keywords, uint32_t uidvalidity, uint32_t uidnext)
{
	if (uidvalidity == 0 && next_uidvalidity(ix, &uidvalidity) < 0)
		return -1;
	/* Later mailboxes still get larger UIDVALIDITYs than this kept one. */
	if (index_uidvalidity_floor(ix, uidvalidity) < 0)
		return -1;
	sqlite3_stmt *st =
	    prepare(ix, "INSERT INTO mailbox(name, special_use, keywords, uidvalidity, uidnext,"
	                " recent_uid) VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (special_use)
		sqlite3_bind_text(st, 2, special_use, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, keywords ? keywords : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, uidvalidity);
	sqlite3_bind_int64(st, 5, uidnext ? uidnext : 1);
	return run(ix, st);
}

int index_message_add_as(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *filename,
                         uint32_t flags, const char *keywords, int64_t internaldate, uint64_t size)
{
	sqlite3_stmt *st = prepare(ix, "UPDATE mailbox SET uidnext = max(uidnext, ?1 + 1),"
	                               " recent_uid = max(recent_uid, ?1 + 1), modseq = modseq + 1"
	                               " WHERE id = ?2 RETURNING modseq");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, mailbox_id);
	if (step(ix, st) != SQLITE_ROW) {
		release(st);
		return -1;
	}
	int64_t modseq = sqlite3_column_int64(st, 0);
	release(st);
	ix->changed = true;
	return insert_message(ix, mailbox_id, uid, (uint64_t)modseq, filename, flags, keywords,
	                      internaldate, size);
}

int index_quick_check(struct index *ix, char **report)
{
	sqlite3_stmt *st = prepare(ix, "PRAGMA quick_check(20)");
	if (!st)
		return -1;
	struct sbuf b = {0};
	int rc;
	while ((rc = step(ix, st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		if (line && strcmp(line, "ok") != 0)
			sbuf_printf(&b, "%s%s", b.len ? "\n" : "", line);
	}
	release(st);
	*report = b.s ? sbuf_take(&b) : NULL;
	return rc == SQLITE_DONE && !*report ? 0 : 1;
}

/* Salvage reads a damaged file table by table and keeps every row SQLite
 * can still return: a bad page ends that table's scan, not the others'. */
static void salvage_mailboxes(struct index *ix, struct ix_salvage *out)
{
	sqlite3_stmt *st = prepare(ix, "SELECT id, name, special_use, keywords, uidvalidity,"
	                               " uidnext, modseq FROM mailbox");
	size_t cap = 0;
	while (st && step(ix, st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		int64_t uv = sqlite3_column_int64(st, 4), next = sqlite3_column_int64(st, 5);
		if (!name || uv <= 0 || uv > UINT32_MAX || next <= 0 || next > UINT32_MAX)
			continue;
		if (out->nmailboxes == cap)
			out->mailboxes = xrealloc(out->mailboxes, (cap = cap ? 2 * cap : 16) *
			                                              sizeof *out->mailboxes);
		struct ix_mailbox *mb = &out->mailboxes[out->nmailboxes++];
		*mb = (struct ix_mailbox){.id = sqlite3_column_int64(st, 0),
		                          .name = xstrdup(name),
		                          .special_use = column_dup(st, 2),
		                          .keywords = column_dup(st, 3),
		                          .uidvalidity = (uint32_t)uv,
		                          .uidnext = (uint32_t)next,
		                          .modseq = (uint64_t)sqlite3_column_int64(st, 6)};
	}
	if (st)
		release(st);
}

/* Adds the row st is on; false when it is not a usable one. */
static void salvage_row(sqlite3_stmt *st, struct ix_salvage_msg **out, size_t *n, size_t *cap)
{
	const char *file = (const char *)sqlite3_column_text(st, 2);
	int64_t uid = sqlite3_column_int64(st, 1);
	if (!file || uid <= 0 || uid >= UINT32_MAX)
		return;
	if (*n == *cap)
		*out = xrealloc(*out, (*cap = *cap ? 2 * *cap : 256) * sizeof **out);
	(*out)[(*n)++] = (struct ix_salvage_msg){
	    .mailbox_id = sqlite3_column_int64(st, 0),
	    .uid = (uint32_t)uid,
	    .filename = xstrdup(file),
	    .flags = (uint32_t)sqlite3_column_int64(st, 3),
	    .keywords = column_dup(st, 4),
	    .internaldate = sqlite3_column_int64(st, 5),
	};
}

/* Rows by key, one lookup each: a bad page then costs only the rows on
 * it, where a scan stops at the first one. Bounded per mailbox. */
static void salvage_by_uid(struct index *ix, const char *sql, const struct ix_salvage *sv,
                           struct ix_salvage_msg **out, size_t *n, size_t *cap)
{
	sqlite3_stmt *st = prepare(ix, sql);
	for (size_t m = 0; st && m < sv->nmailboxes; m++) {
		uint32_t end =
		    sv->mailboxes[m].uidnext < 2000000 ? sv->mailboxes[m].uidnext : 2000000;
		for (uint32_t uid = 1; uid < end; uid++) {
			sqlite3_bind_int64(st, 1, sv->mailboxes[m].id);
			sqlite3_bind_int64(st, 2, uid);
			if (step(ix, st) == SQLITE_ROW)
				salvage_row(st, out, n, cap);
			release(st);
		}
	}
}

static void salvage_messages(struct index *ix, const char *sql, const char *by_uid,
                             const struct ix_salvage *sv, struct ix_salvage_msg **out, size_t *n)
{
	sqlite3_stmt *st = prepare(ix, sql);
	size_t cap = 0;
	int rc = SQLITE_ERROR;
	while (st && (rc = step(ix, st)) == SQLITE_ROW)
		salvage_row(st, out, n, &cap);
	if (st)
		release(st);
	if (rc == SQLITE_DONE || !by_uid)
		return;
	for (size_t i = 0; i < *n; i++) {
		free((*out)[i].filename);
		free((*out)[i].keywords);
	}
	*n = 0;
	salvage_by_uid(ix, by_uid, sv, out, n, &cap);
}

static void salvage_subscription(void *arg, const char *name)
{
	struct ix_salvage *out = arg;
	if (!name)
		return;
	out->subscriptions =
	    xrealloc(out->subscriptions, (out->nsubscriptions + 1) * sizeof *out->subscriptions);
	out->subscriptions[out->nsubscriptions++] = xstrdup(name);
}

void index_salvage(const char *path, struct ix_salvage *out)
{
	*out = (struct ix_salvage){0};
	struct index *ix = xcalloc(1, sizeof *ix);
	/* writable_schema lets SQLite open a file shorter than its header
	 * says (btree.c, lockBtree) instead of refusing it whole; the
	 * connection is read-only, so nothing is written. */
	if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    exec(ix, "PRAGMA writable_schema=ON") == 0) {
		sqlite3_busy_timeout(ix->db, 10000);
		salvage_mailboxes(ix, out);
		sqlite3_stmt *st = prepare(ix, "SELECT value FROM meta WHERE key = 'uidvalidity'");
		if (st && step(ix, st) == SQLITE_ROW) {
			int64_t v = sqlite3_column_int64(st, 0);
			out->last_uidvalidity = v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
		}
		if (st)
			release(st);
		salvage_messages(ix,
		                 "SELECT mailbox_id, uid, filename, flags, keywords, internaldate"
		                 " FROM message",
		                 "SELECT mailbox_id, uid, filename, flags, keywords, internaldate"
		                 " FROM message WHERE mailbox_id = ? AND uid = ?",
		                 out, &out->msgs, &out->nmsgs);
		salvage_messages(ix, "SELECT mailbox_id, uid, filename, 0, NULL, 0 FROM expunged",
		                 NULL, out, &out->expunged, &out->nexpunged);
		index_subscription_each(ix, salvage_subscription, out);
	}
	index_close(ix);
}

void index_salvage_free(struct ix_salvage *s)
{
	for (size_t i = 0; i < s->nmailboxes; i++)
		index_mailbox_clear(&s->mailboxes[i]);
	free(s->mailboxes);
	struct ix_salvage_msg *lists[] = {s->msgs, s->expunged};
	size_t counts[] = {s->nmsgs, s->nexpunged};
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			free(lists[l][i].filename);
			free(lists[l][i].keywords);
		}
		free(lists[l]);
	}
	for (size_t i = 0; i < s->nsubscriptions; i++)
		free(s->subscriptions[i]);
	free(s->subscriptions);
	*s = (struct ix_salvage){0};
}
