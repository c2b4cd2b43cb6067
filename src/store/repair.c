/* Index maintenance: rebuilding gannet.db from the Maildir (after it was
 * lost or damaged, or to import a tree another server wrote) and checking
 * that the two agree.
 *
 * A rebuild keeps what can be known. The UIDs, flags and keywords of each
 * message come from the rows still readable in the old file, or else from
 * Dovecot's dovecot-uidlist and dovecot-keywords; a mailbox keeps its
 * UIDVALIDITY and UIDNEXT when its own row or Dovecot's list gives them, and
 * a file neither knows gets a UID from UIDNEXT up, so no UID is ever given
 * twice. Only a mailbox with no such record gets a new UIDVALIDITY (RFC 9051
 * 2.3.1.1: "the unique identifiers ... MUST NOT change ... unless the
 * UIDVALIDITY value is incremented"). The new file is built beside the old
 * one and renamed over it, under a lock every process takes first, so no
 * one sees half an index and two processes never rebuild the same damage. */
#include "store/repair.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/index.h"
#include "store/internal.h"
#include "store/maildir-dovecot.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/str.h"

struct rebuild_stats {
	size_t mailboxes, messages, kept, renumbered, new_uidvalidity;
	char **imported; /* folders whose dovecot-uidlist gave their UIDs */
	size_t nimported;
};

/* One file of a mailbox being rebuilt and what is known of it. */
struct found {
	char *name; /* in cur/ */
	uint32_t uid, flags;
	const char *keywords; /* points into the salvage or owned by kw */
	char *kw;             /* owned keywords (from Dovecot's letters) */
	int64_t internaldate; /* 0: the file's mtime */
	uint64_t size;
	time_t mtime;
};

static int by_uid(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	return (x->uid > y->uid) - (x->uid < y->uid);
}

/* Files no record knows: oldest first, as an MTA would have delivered them. */
static int by_age(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	if (x->mtime != y->mtime)
		return (x->mtime > y->mtime) - (x->mtime < y->mtime);
	return strcmp(x->name, y->name);
}

static int file_cmp(const void *a, const void *b)
{
	return maildir_base_cmp(((const struct maildir_file *)a)->name,
	                        ((const struct maildir_file *)b)->name);
}

static int msg_cmp(const void *a, const void *b)
{
	return maildir_base_cmp(((const struct ix_message *)a)->filename,
	                        ((const struct ix_message *)b)->filename);
}

/* Salvaged rows are sorted by mailbox and file base name once, and looked
 * up by binary search: a mailbox of 100,000 files is 100,000 lookups. */
static int salvage_cmp(int64_t mailbox_a, const char *file_a, int64_t mailbox_b, const char *file_b)
{
	if (mailbox_a != mailbox_b)
		return (mailbox_a > mailbox_b) - (mailbox_a < mailbox_b);
	return maildir_base_cmp(file_a, file_b);
}

static int salvage_msg_cmp(const void *a, const void *b)
{
	const struct ix_salvage_msg *x = a, *y = b;
	return salvage_cmp(x->mailbox_id, x->filename, y->mailbox_id, y->filename);
}

static void salvage_sort(struct ix_salvage *sv)
{
	if (sv->nmsgs)
		qsort(sv->msgs, sv->nmsgs, sizeof *sv->msgs, salvage_msg_cmp);
	if (sv->nexpunged)
		qsort(sv->expunged, sv->nexpunged, sizeof *sv->expunged, salvage_msg_cmp);
}

static const struct ix_salvage_msg *salvaged_file(const struct ix_salvage_msg *m, size_t n,
                                                  int64_t mailbox_id, const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = salvage_cmp(m[mid].mailbox_id, m[mid].filename, mailbox_id, name);
		if (c == 0)
			return &m[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* What the old index or Dovecot says of one file; uid 0 when nothing. */
static void identify(struct found *f, const struct ix_salvage *sv, const struct ix_mailbox *row,
                     const struct dovecot_uidlist *dv, char *const kw[DOVECOT_KEYWORDS])
{
	const struct ix_salvage_msg *m =
	    row ? salvaged_file(sv->msgs, sv->nmsgs, row->id, f->name) : NULL;
	if (m && m->uid < row->uidnext) {
		f->uid = m->uid;
		f->flags = m->flags;
		f->keywords = m->keywords;
		f->internaldate = m->internaldate;
		return;
	}
	if (!row && dv) {
		f->uid = dovecot_uidlist_find(dv, f->name);
		f->kw = dovecot_name_keywords(f->name, kw);
		f->keywords = f->kw;
	}
}

/* Puts the messages into the new index: known UIDs first, in order (a UID
 * two files claim goes to the first), then the rest from UIDNEXT up. */
static int add_messages(struct index *ix, int64_t id, const char *dir, struct found *f, size_t n,
                        struct rebuild_stats *st)
{
	qsort(f, n, sizeof *f, by_uid);
	size_t known = 0;
	while (known < n && f[known].uid == 0)
		known++;
	for (size_t i = known + 1, last = known; i < n; i++) {
		if (f[i].uid == f[last].uid)
			f[i].uid = 0;
		else
			last = i;
	}
	qsort(f, n, sizeof *f, by_uid);
	known = 0;
	while (known < n && f[known].uid == 0)
		known++;
	qsort(f, known, sizeof *f, by_age);
	int rc = 0;
	for (size_t i = known; i < n && rc == 0; i++, st->kept++)
		rc = index_message_add_as(ix, id, f[i].uid, f[i].name, f[i].flags, f[i].keywords,
		                          f[i].internaldate ? f[i].internaldate : f[i].mtime,
		                          f[i].size);
	for (size_t i = 0; i < known && rc == 0; i++, st->renumbered++)
		rc = index_message_add(ix, id, f[i].name, f[i].flags, f[i].keywords, f[i].mtime,
		                       f[i].size, &f[i].uid);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *path = maildir_cur_path(dir, f[i].name);
		rc = cache_header(ix, id, f[i].uid, path);
		free(path);
		if (rc == 0 && f[i].keywords && *f[i].keywords) {
			char *words = xstrdup(f[i].keywords), *save = NULL;
			const char *list[64];
			size_t k = 0;
			for (char *w = strtok_r(words, " ", &save); w && k < 64;
			     w = strtok_r(NULL, " ", &save))
				list[k++] = w;
			rc = index_mailbox_add_keywords(ix, id, list, k);
			free(words);
		}
	}
	st->messages += n;
	return rc;
}

static bool expunged_before(const struct ix_salvage *sv, const struct ix_mailbox *row,
                            const char *name)
{
	return row && salvaged_file(sv->expunged, sv->nexpunged, row->id, name);
}

/* The files of one mailbox, with what is known of each; a file whose
 * expunge the old index logged goes now (an expunged message never comes
 * back). */
static int gather_files(const char *root, const char *dir, const struct ix_salvage *sv,
                        const struct ix_mailbox *row, const struct dovecot_uidlist *dv,
                        char *const kw[DOVECOT_KEYWORDS], struct found **out, size_t *nout)
{
	struct maildir_file *files;
	size_t n;
	if (maildir_list(dir, &files, &n) < 0)
		return -1;
	struct found *f = xcalloc(n ? n : 1, sizeof *f);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (expunged_before(sv, row, files[i].name)) {
			maildir_unlink(dir, files[i].name);
			continue;
		}
		struct found *x = &f[k];
		*x = (struct found){.name = files[i].name, .flags = files[i].flags};
		files[i].name = NULL; /* x owns it now */
		char *path = maildir_cur_path(dir, x->name);
		int rc = maildir_crlf(root, path, &x->size, &x->mtime);
		free(path);
		if (rc < 0) {
			free(x->name); /* gone meanwhile, or not a message file */
			continue;
		}
		identify(x, sv, row, dv, kw);
		k++;
	}
	maildir_files_free(files, n);
	*out = f;
	*nout = k;
	return 0;
}

static void found_free(struct found *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].kw);
	}
	free(f);
}

static const struct ix_mailbox *salvaged_mailbox(const struct ix_salvage *sv, const char *name)
{
	for (size_t i = 0; i < sv->nmailboxes; i++)
		if (strcmp(sv->mailboxes[i].name, name) == 0)
			return &sv->mailboxes[i];
	return NULL;
}

static int rebuild_mailbox(struct index *ix, const char *root, const char *name,
                           const struct ix_salvage *sv, struct rebuild_stats *st)
{
	char *dir = maildir_dir(root, name);
	const struct ix_mailbox *row = salvaged_mailbox(sv, name);
	struct dovecot_uidlist dv = {0};
	bool has_dv = !row && !dovecot_imported(dir) && dovecot_uidlist_read(dir, &dv) == 0;
	char *kw[DOVECOT_KEYWORDS];
	dovecot_keywords_read(dir, kw);
	uint32_t uidvalidity = row ? row->uidvalidity : has_dv ? dv.uidvalidity : 0;
	uint32_t uidnext = row ? row->uidnext : has_dv ? dv.nextuid : 1;
	struct found *f = NULL;
	size_t n = 0;
	struct ix_mailbox mb = {0};
	int rc = gather_files(root, dir, sv, row, has_dv ? &dv : NULL, kw, &f, &n);
	if (rc == 0)
		rc = index_mailbox_add_as(ix, name,
		                          row ? row->special_use : default_special_use(name),
		                          row ? row->keywords : "", uidvalidity, uidnext);
	if (rc == 0)
		rc = index_mailbox_get(ix, name, &mb) == 0 ? 0 : -1;
	if (rc == 0)
		rc = add_messages(ix, mb.id, dir, f, n, st);
	if (rc == 0 && row)
		rc = index_mailbox_modseq_floor(ix, mb.id, row->modseq + 1);
	if (rc == 0 && has_dv) {
		st->imported = xrealloc(st->imported, (st->nimported + 1) * sizeof *st->imported);
		st->imported[st->nimported++] = xstrdup(dir);
	}
	if (rc == 0) {
		st->mailboxes++;
		st->new_uidvalidity += uidvalidity == 0;
		log_info("index: rebuilt %s: %zu message%s, UIDVALIDITY %s%s", name, n,
		         n == 1 ? "" : "s",
		         row      ? "kept"
		         : has_dv ? "and UIDs from dovecot-uidlist"
		                  : "new",
		         row && uidvalidity ? " with the UIDs the old index still had" : "");
	}
	index_mailbox_clear(&mb);
	found_free(f, n);
	dovecot_keywords_free(kw);
	dovecot_uidlist_free(&dv);
	free(dir);
	return rc;
}

static int add_subscriptions(struct index *ix, const char *root, const struct ix_salvage *sv,
                             char **names, size_t nnames)
{
	char **dv;
	size_t ndv;
	int rc = 0;
	int has_dv = dovecot_subscriptions_read(root, &dv, &ndv);
	for (size_t i = 0; i < sv->nsubscriptions && rc == 0; i++)
		rc = index_subscribe(ix, sv->subscriptions[i], true);
	for (size_t i = 0; has_dv == 0 && i < ndv && rc == 0; i++)
		rc = index_subscribe(ix, dv[i], true);
	/* Nothing says what was subscribed: every mailbox, so clients that
	 * show only subscribed ones still show all the mail. */
	for (size_t i = 0; !sv->nsubscriptions && has_dv != 0 && i < nnames && rc == 0; i++)
		rc = index_subscribe(ix, names[i], true);
	for (size_t i = 0; has_dv == 0 && i < ndv; i++)
		free(dv[i]);
	if (has_dv == 0)
		free(dv);
	return rc;
}

static void remove_db(const char *db)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		char *p = xasprintf("%s%s", db, sfx[i]);
		unlink(p);
		free(p);
	}
}

/* Keeps the old file (and its WAL) beside the new one for whoever wants to
 * look at it; a later rebuild replaces it. */
static void set_aside(const char *db)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char *from = xasprintf("%s%s", db, sfx[i]), *to = xasprintf("%s.old%s", db, sfx[i]);
		if (rename(from, to) < 0 && errno != ENOENT)
			log_warn("index: cannot keep %s as %s: %s", from, to, strerror(errno));
		free(from);
		free(to);
	}
}

static int fsync_dir_of(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 || fsync(fd) < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* Every UIDVALIDITY the tree's mailboxes had, as far as anything says: a
 * mailbox that gets a new one must get a larger one (RFC 9051 2.3.1.1), even
 * when the clock says the same second its old one was made. */
static uint32_t highest_uidvalidity(const char *root, char **names, size_t n,
                                    const struct ix_salvage *sv)
{
	uint32_t top = sv->last_uidvalidity;
	for (size_t i = 0; i < sv->nmailboxes; i++)
		if (sv->mailboxes[i].uidvalidity > top)
			top = sv->mailboxes[i].uidvalidity;
	for (size_t i = 0; i < n; i++) {
		char *dir = maildir_dir(root, names[i]);
		uint32_t v = dovecot_uidlist_uidvalidity(dir);
		top = v > top ? v : top;
		free(dir);
	}
	return top;
}

static int build_index(const char *path, const char *root, const struct ix_salvage *sv,
                       struct rebuild_stats *st)
{
	struct index *ix;
	char **names = NULL;
	size_t n = 0;
	remove_db(path);
	if (index_open(path, &ix) != 0)
		return -1;
	int rc = maildir_folders(root, &names, &n) < 0 || index_begin(ix) < 0 ? -1 : 0;
	if (rc == 0)
		rc = index_uidvalidity_floor(ix, highest_uidvalidity(root, names, n, sv));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = rebuild_mailbox(ix, root, names[i], sv, st);
	/* A tree with an INBOX alone and no old index is a new user's that an
	 * MTA delivered into before the first login: the folders a new user
	 * gets, as if the first login had come first. */
	if (rc == 0 && n == 1 && sv->nmailboxes == 0)
		rc = add_default_folders(ix, root);
	if (rc == 0)
		rc = add_subscriptions(ix, root, sv, names, n);
	if (rc == 0)
		rc = index_commit(ix);
	else
		index_rollback(ix);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	index_close(ix); /* the last connection: the WAL goes into the file */
	return rc;
}

static enum store_rc rebuild_locked(const struct user_paths *p)
{
	struct ix_salvage sv = {0};
	struct stat st;
	bool had = stat(p->db, &st) == 0;
	if (had) {
		index_salvage(p->db, &sv);
		salvage_sort(&sv);
	}
	char *tmp = xasprintf("%s.new", p->db);
	struct rebuild_stats stats = {0};
	int rc = build_index(tmp, p->maildir, &sv, &stats);
	if (rc == 0) {
		if (had)
			set_aside(p->db);
		rc = rename(tmp, p->db) < 0 || fsync_dir_of(p->db) < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < stats.nimported; i++) {
		if (rc == 0 && dovecot_mark_imported(stats.imported[i]) < 0)
			log_warn("index: cannot mark %s as imported: %s", stats.imported[i],
			         strerror(errno));
		free(stats.imported[i]);
	}
	free(stats.imported);
	if (rc == 0)
		log_info(
		    "index: %s: rebuilt %s from the Maildir: %zu mailbox%s, %zu message%s, "
		    "%zu kept their UIDs, %zu got new ones, %zu mailbox%s got a new UIDVALIDITY",
		    p->user, p->db, stats.mailboxes, stats.mailboxes == 1 ? "" : "es",
		    stats.messages, stats.messages == 1 ? "" : "s", stats.kept, stats.renumbered,
		    stats.new_uidvalidity, stats.new_uidvalidity == 1 ? "" : "es");
	else
		log_error("index: %s: cannot rebuild %s", p->user, p->db);
	remove_db(tmp);
	free(tmp);
	index_salvage_free(&sv);
	return rc == 0 ? STORE_OK : STORE_ERROR;
}

void user_paths_init(struct user_paths *p, const char *data_dir, const char *user)
{
	p->user = user;
	p->home = xasprintf("%s/users/%s", data_dir, user);
	p->db = xasprintf("%s/gannet.db", p->home);
	p->maildir = xasprintf("%s/Maildir", p->home);
	p->lock = xasprintf("%s/index.lock", p->home);
	p->changes = xasprintf("%s/changes", p->home);
}

void user_paths_free(struct user_paths *p)
{
	free(p->home);
	free(p->db);
	free(p->maildir);
	free(p->lock);
	free(p->changes);
}

/* Every rebuild of a user's index takes this lock, so only one process
 * builds; the others wait and then find it done. */
static int lock_user(const struct user_paths *p)
{
	int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		log_error("index: cannot lock %s: %s", p->lock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

enum store_rc repair_index(const struct user_paths *p, const struct stat *seen)
{
	int lock = lock_user(p);
	if (lock < 0)
		return STORE_ERROR;
	struct stat now;
	bool exists = stat(p->db, &now) == 0;
	/* Someone else already rebuilt what this process found missing or
	 * damaged: nothing to do. */
	bool done = seen && exists && (seen->st_ino == 0 || now.st_ino != seen->st_ino);
	enum store_rc rc = done ? STORE_OK : rebuild_locked(p);
	close(lock);
	if (!done && rc == STORE_OK)
		changes_touch(p); /* sessions in IDLE learn of it now */
	return rc;
}

enum store_rc store_rebuild(const char *data_dir, const char *user)
{
	struct user_paths p;
	user_paths_init(&p, data_dir, user);
	struct stat st;
	enum store_rc rc = stat(p.maildir, &st) == 0 ? repair_index(&p, NULL) : STORE_NONEXISTENT;
	user_paths_free(&p);
	return rc;
}

/* check: reports each way the index and the Maildir differ. */
struct checker {
	struct index *ix;
	const char *root;
	void (*say)(void *arg, const char *line);
	void *arg;
	size_t differences;
};

static void differ(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void differ(struct checker *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct sbuf b = {0};
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	c->say(c->arg, b.s);
	sbuf_free(&b);
	c->differences++;
}

static int check_mailbox(struct checker *c, const char *name)
{
	struct ix_mailbox mb;
	if (index_mailbox_get(c->ix, name, &mb) != 0)
		return -1;
	char *dir = maildir_dir(c->root, name);
	struct maildir_file *files = NULL;
	struct ix_message *msgs = NULL;
	size_t nfiles = 0, nmsgs = 0, waiting = 0;
	int rc = maildir_peek(dir, &files, &nfiles, &waiting) < 0 ||
	                 index_messages(c->ix, mb.id, false, &msgs, &nmsgs) < 0
	             ? -1
	             : 0;
	if (rc < 0)
		differ(c, "%s: cannot read the mailbox's directory or rows", name);
	/* Both sides sorted by base name, then walked together. */
	if (nfiles)
		qsort(files, nfiles, sizeof *files, file_cmp);
	if (nmsgs)
		qsort(msgs, nmsgs, sizeof *msgs, msg_cmp);
	size_t missing = 0, unknown = 0, i = 0, j = 0;
	while (rc == 0 && (i < nmsgs || j < nfiles)) {
		int cmp = i == nmsgs    ? 1
		          : j == nfiles ? -1
		                        : maildir_base_cmp(msgs[i].filename, files[j].name);
		if (cmp < 0 && missing++ < 5)
			differ(c, "%s: UID %u: the index has it, its file %s is gone", name,
			       msgs[i].uid, msgs[i].filename);
		if (cmp > 0 && unknown++ < 5)
			differ(c, "%s: file cur/%s is not in the index", name, files[j].name);
		i += cmp <= 0;
		j += cmp >= 0;
	}
	if (missing > 5 || unknown > 5)
		differ(c, "%s: %zu files gone and %zu not in the index in all", name, missing,
		       unknown);
	if (rc == 0 && waiting)
		c->say(c->arg, "(a delivery waits in new/ and is taken at the next login)");
	maildir_files_free(files, nfiles);
	index_messages_free(msgs, nmsgs);
	index_mailbox_clear(&mb);
	free(dir);
	return rc;
}

struct name_acc {
	char **v;
	size_t n;
};

static void collect_name(void *arg, const char *name, const char *special_use)
{
	struct name_acc *a = arg;
	a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	a->v[a->n++] = xstrdup(name);
}

static bool listed(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

static void check_tree(struct checker *c)
{
	char **dirs = NULL;
	size_t ndirs = 0;
	struct name_acc rows = {0};
	if (maildir_folders(c->root, &dirs, &ndirs) < 0 ||
	    index_mailbox_each(c->ix, collect_name, &rows) < 0) {
		differ(c, "cannot list the Maildir or the index's mailboxes");
	} else {
		for (size_t i = 0; i < ndirs; i++)
			if (!listed(rows.v, rows.n, dirs[i]))
				differ(c, "%s: in the Maildir, not in the index", dirs[i]);
		for (size_t i = 0; i < rows.n; i++) {
			if (!listed(dirs, ndirs, rows.v[i]))
				differ(c, "%s: in the index, its directory is gone", rows.v[i]);
			else if (check_mailbox(c, rows.v[i]) < 0)
				differ(c, "%s: cannot be read", rows.v[i]);
		}
	}
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	for (size_t i = 0; i < rows.n; i++)
		free(rows.v[i]);
	free(rows.v);
}

enum store_rc store_check(const char *data_dir, const char *user,
                          void (*say)(void *arg, const char *line), void *arg, size_t *differences)
{
	struct user_paths p;
	user_paths_init(&p, data_dir, user);
	struct stat st;
	struct checker c = {.root = p.maildir, .say = say, .arg = arg};
	enum store_rc rc = STORE_OK;
	char *report = NULL;
	if (stat(p.maildir, &st) < 0) {
		rc = STORE_NONEXISTENT;
	} else if (stat(p.db, &st) < 0) {
		differ(&c, "%s: no index (it is built at the next login, or by index rebuild)",
		       p.db);
	} else if (index_open(p.db, &c.ix) != 0) {
		differ(&c, "%s: damaged (the server rebuilds it at the next login)", p.db);
	} else if (index_quick_check(c.ix, &report) != 0) {
		differ(&c, "%s: damaged: %s", p.db, report ? report : "cannot be checked");
	} else {
		check_tree(&c);
		if (index_damaged(c.ix))
			differ(&c, "%s: damaged (found while reading it)", p.db);
	}
	free(report);
	index_close(c.ix);
	user_paths_free(&p);
	*differences = c.differences;
	return rc;
}
