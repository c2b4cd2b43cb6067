#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/index.h"
#include "store/internal.h"
#include "store/maildir.h"
#include "store/repair.h"
#include "util/jobs.h"
#include "util/log.h"
#include "util/mutf7.h"
#include "util/str.h"

static const struct {
	const char *name, *special_use;
} default_mailboxes[] = {
    {"INBOX", NULL},      {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"},
    {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"},
};

const char *default_special_use(const char *name)
{
	for (size_t i = 0; i < sizeof default_mailboxes / sizeof *default_mailboxes; i++)
		if (strcmp(name, default_mailboxes[i].name) == 0)
			return default_mailboxes[i].special_use;
	return NULL;
}

/* The special-use attributes as static strings, so store_mailbox can point at them. */
static const char *special_use_static(const char *s)
{
	for (size_t i = 0; s && i < sizeof default_mailboxes / sizeof *default_mailboxes; i++)
		if (default_mailboxes[i].special_use &&
		    strcmp(s, default_mailboxes[i].special_use) == 0)
			return default_mailboxes[i].special_use;
	return NULL;
}

static int mkdir_p(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

int add_default_folders(struct index *ix, const char *root)
{
	for (size_t i = 1; i < sizeof default_mailboxes / sizeof *default_mailboxes; i++) {
		const char *name = default_mailboxes[i].name;
		char *dir = maildir_dir(root, name);
		int err = maildir_create(dir, true) < 0 ||
		          index_mailbox_add(ix, name, default_mailboxes[i].special_use) < 0 ||
		          index_subscribe(ix, name, true) < 0;
		free(dir);
		if (err)
			return -1;
	}
	return 0;
}

static enum store_rc provision(struct store *s)
{
	struct ix_mailbox mb;
	if (index_begin(s->ix) < 0)
		return STORE_ERROR;
	/* Checked under the write lock: two first logins may race here. */
	int rc = index_mailbox_get(s->ix, "INBOX", &mb);
	if (rc == 0) {
		index_mailbox_clear(&mb);
		index_rollback(s->ix);
		return STORE_OK;
	}
	if (rc < 0 || index_mailbox_add(s->ix, "INBOX", NULL) < 0 ||
	    index_subscribe(s->ix, "INBOX", true) < 0 ||
	    add_default_folders(s->ix, s->paths.maildir) < 0 || index_commit(s->ix) < 0) {
		index_rollback(s->ix);
		return STORE_ERROR;
	}
	log_info("store: created mailboxes for new user %s", s->user);
	return STORE_OK;
}

void changes_touch(const struct user_paths *p)
{
	int fd = open(p->changes, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0 || pwrite(fd, "x", 1, 0) != 1)
		log_warn("store: cannot write %s: %s", p->changes, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void store_changed(void *arg)
{
	changes_touch(&((struct store *)arg)->paths);
}

/* Opens the index, rebuilding it first when it is missing beside an
 * existing Maildir (deleted, or a tree another server wrote) or when it
 * turns out damaged. */
static enum store_rc open_index(struct store *s, bool had_maildir)
{
	const struct user_paths *p = &s->paths;
	struct stat st = {0};
	if (had_maildir && stat(p->db, &st) < 0 && errno == ENOENT) {
		log_warn("store: %s: %s is missing; building it from the Maildir", s->user, p->db);
		if (repair_index(p, &st) != STORE_OK)
			return STORE_ERROR;
	}
	for (int attempt = 0;; attempt++) {
		st = (struct stat){0};
		stat(p->db, &st);
		int rc = index_open(p->db, &s->ix);
		enum store_rc src = rc == 0 ? provision(s) : STORE_ERROR;
		bool damaged = rc == INDEX_DAMAGED || (rc == 0 && index_damaged(s->ix));
		if (src == STORE_OK && !damaged) {
			/* A file index_open has just made: its inode is known now. */
			if (st.st_ino == 0)
				stat(p->db, &st);
			s->db_ino = st.st_ino;
			return STORE_OK;
		}
		index_close(s->ix);
		s->ix = NULL;
		if (!damaged || attempt > 0)
			return STORE_ERROR;
		log_error("store: %s: %s is damaged; rebuilding it from the Maildir", s->user,
		          p->db);
		if (repair_index(p, &st) != STORE_OK)
			return STORE_ERROR;
	}
}

enum store_rc store_open(const char *data_dir, const char *user, const struct store_limits *lim,
                         struct store **out)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->user = xstrdup(user);
	s->lim = *lim;
	s->refs = 1;
	user_paths_init(&s->paths, data_dir, s->user);
	char *users = xasprintf("%s/users", data_dir);
	struct stat st;
	bool had_maildir = stat(s->paths.maildir, &st) == 0;
	enum store_rc rc = STORE_ERROR;
	int fd = -1;
	if (mkdir_p(users) < 0 || mkdir_p(s->paths.home) < 0 ||
	    maildir_create(s->paths.maildir, false) < 0 ||
	    (fd = open(s->paths.changes, O_WRONLY | O_CREAT | O_CLOEXEC, 0666)) < 0)
		log_error("store: cannot create %s: %s", s->paths.maildir, strerror(errno));
	else
		rc = open_index(s, had_maildir);
	if (fd >= 0)
		close(fd);
	if (s->ix) {
		index_set_change_hook(s->ix, store_changed, s);
		if (lim->lock_wait_ms)
			index_set_lock_wait(s->ix, lim->lock_wait_ms);
	}
	free(users);
	if (rc != STORE_OK) {
		store_close(s);
		return rc;
	}
	*out = s;
	return STORE_OK;
}

bool store_usable(struct store *s)
{
	struct stat st;
	if (s->dead)
		return false;
	/* Another process rebuilt the index: this one's file is the old one. */
	if (stat(s->paths.db, &st) == 0 && st.st_ino != s->db_ino)
		s->dead = true;
	return !s->dead;
}

bool store_repair(struct store *s)
{
	if (!store_usable(s))
		return true;
	if (!index_damaged(s->ix))
		return false;
	log_error("store: %s: the index went bad while in use; rebuilding it", s->user);
	struct stat seen = {.st_ino = s->db_ino};
	repair_index(&s->paths, &seen); /* which wakes this user's idling sessions */
	s->dead = true;
	return true;
}

bool store_busy(struct store *s)
{
	return s->ix && index_busy(s->ix);
}

void store_close(struct store *s)
{
	if (!s || (s->pool && !store_pool_release(s)))
		return;
	view_shares_drop(s);
	if (s->ix && !store_usable(s))
		index_detach(s->ix);
	index_close(s->ix);
	user_paths_free(&s->paths);
	free(s->user);
	free(s);
}

/* Why name (len bytes) cannot be a mailbox name, or NULL if it can. */
static const char *name_problem(const struct store *s, const char *name, size_t len)
{
	if (len == 0)
		return "is empty";
	if (len > s->lim.max_name_len)
		return "is too long";
	if (!utf8_valid(name, len))
		return "is not UTF-8";
	size_t depth = 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		/* RFC 9051 5.1: no control characters (U+0000-U+001F,
		 * U+007F-U+009F), no U+2028 or U+2029 in mailbox names. */
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)name[i + 1] < 0xa0) ||
		    (c == 0xe2 && (unsigned char)name[i + 1] == 0x80 &&
		     ((unsigned char)name[i + 2] == 0xa8 || (unsigned char)name[i + 2] == 0xa9)))
			return "has a control character";
		if (c != '/')
			continue;
		if (i == 0 || i == len - 1 || name[i - 1] == '/')
			return "has an empty level";
		if (++depth > s->lim.max_depth)
			return "is too deep";
	}
	return NULL;
}

char *store_name_check(const struct store *s, const char *name, const char **why)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '/')
		len--; /* "foo/" means foo, created to hold children (RFC 9051 6.3.4) */
	const char *problem = name_problem(s, name, len);
	if (problem) {
		if (why)
			*why = problem;
		return NULL;
	}
	struct sbuf b = {0};
	size_t first = strcspn(name, "/");
	if (first > len)
		first = len;
	if (first == 5 && str_has_prefix_i(name, "INBOX")) {
		sbuf_adds(&b, "INBOX");
		sbuf_add(&b, name + 5, len - 5);
	} else {
		sbuf_add(&b, name, len);
	}
	/* "." and ".." components are refused outright: never a path step. */
	for (char *c = b.s; c;) {
		char *slash = strchr(c, '/');
		size_t clen = slash ? (size_t)(slash - c) : strlen(c);
		if ((clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.')) {
			sbuf_free(&b);
			if (why)
				*why = "has a . or .. level";
			return NULL;
		}
		c = slash ? slash + 1 : NULL;
	}
	return sbuf_take(&b);
}

static int file_cmp(const void *a, const void *b)
{
	return maildir_base_cmp(((const struct maildir_file *)a)->name,
	                        ((const struct maildir_file *)b)->name);
}

static int msg_cmp(const void *a, const void *b)
{
	return maildir_base_cmp((*(struct ix_message *const *)a)->filename,
	                        (*(struct ix_message *const *)b)->filename);
}

/* Header searches read the index, not the files (issue 5): the header
 * block is kept at arrival. One longer than this is searched in the file. */
#define HEADER_CACHE_MAX (64 * 1024)

int cache_header(struct index *ix, int64_t mailbox_id, uint32_t uid, const char *path)
{
	char *hdr;
	size_t len;
	if (maildir_read_header(path, HEADER_CACHE_MAX, &hdr, &len) < 0)
		return 0;
	int rc = index_message_set_header(ix, mailbox_id, uid, hdr, len);
	free(hdr);
	return rc;
}

/* A file in cur/ the index does not know: delivered by an MTA (it gets the
 * next UID, with CRLF line ends so it can be served as it is), or one whose
 * expunge was committed but whose unlink did not happen (it goes now: an
 * expunged message never comes back). */
static int adopt_file(struct store *s, int64_t mailbox_id, const char *dir,
                      const struct maildir_file *f)
{
	char *base = xstrndup(f->name, maildir_base_len(f->name));
	bool expunged = index_expunged_file(s->ix, mailbox_id, base);
	free(base);
	if (expunged)
		return maildir_unlink(dir, f->name);
	char *path = maildir_cur_path(dir, f->name);
	uint64_t size;
	time_t mtime;
	int rc = 0;
	uint32_t uid;
	if (maildir_crlf(s->paths.maildir, path, &size, &mtime) == 0) {
		rc = index_message_add(s->ix, mailbox_id, f->name, f->flags, "", mtime, size, &uid);
		if (rc == 0)
			rc = cache_header(s->ix, mailbox_id, uid, path);
	}
	free(path);
	return rc; /* a file that vanished meanwhile is simply not there */
}

/* A directory changed within the last two seconds may change again in the
 * same mtime tick; it is stored as 0, marked for another scan. */
static int64_t mtime_to_keep(int64_t mt)
{
	int64_t now = (int64_t)time(NULL) * 1000000000;
	return mt > now - 2000000000LL ? 0 : mt;
}

void slice_start(struct slice *sl)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	sl->until = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec + SLICE_NS;
	sl->n = 0;
}

void slice_pause(void)
{
	jobs_yield(); /* the user's other sessions go now, not after it all */
	struct timespec t = {0, SLICE_PAUSE_NS};
	nanosleep(&t, NULL);
}

bool slice_full(struct slice *sl)
{
	if (++sl->n >= SLICE_MAX)
		return true;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec >= sl->until;
}

/* What a sync of one mailbox has to do, worked through in slices: index
 * rows whose file is gone (expunged), files whose info suffix changed (the
 * row takes the new name), files the index does not know (adopted). It stays
 * true as long as no one else changes the mailbox's messages, which every
 * such change shows by moving its MODSEQ: a plan another process overtook
 * between two slices is made again from the files. The mtimes that say the
 * directories were scanned are stored only with the plan's last slice, so a
 * crash half way leaves them old and the next sync scans again. */
struct sync_rename {
	uint32_t uid;
	char *name;
};
struct sync_plan {
	bool active;
	int64_t mailbox;
	uint64_t modseq; /* the mailbox's MODSEQ when our last slice committed */
	bool new_only;   /* only new/ had changed: cur/'s own mtime is read at the end */
	bool more_new;   /* files may wait in new/: taken a slice's worth at a time */
	int64_t mt[2];   /* what to store when the plan is done */
	uint32_t *gone;
	struct sync_rename *renamed;
	struct maildir_file *adopt;
	size_t ngone, nrenamed, nadopt, next; /* next: the first item not done, in that order */
};

static void plan_free(struct sync_plan *p)
{
	for (size_t i = 0; i < p->nrenamed; i++)
		free(p->renamed[i].name);
	maildir_files_free(p->adopt, p->nadopt);
	free(p->gone);
	free(p->renamed);
	memset(p, 0, sizeof *p);
}

/* Only new/ changed since the last scan (an MTA delivered): its files move
 * to cur/ and are to get UIDs, and cur/, changed only by us under the index
 * lock, need not be listed (by every session that wakes up for the delivery). */
static void plan_new(int64_t mt_new, struct sync_plan *p)
{
	p->new_only = true;
	p->more_new = true;
	p->mt[0] = mtime_to_keep(mt_new);
}

/* When the plan's items are done and files may still wait in new/, the next
 * slice's worth of them moves to cur/ (under the lock: no one else can adopt
 * them twice) and becomes the plan's items. A file left in new/ by a crash
 * is found by the next sync, as new/'s mtime has moved. */
static int plan_take_new(const char *dir, struct sync_plan *p)
{
	if (!p->more_new || p->next < p->ngone + p->nrenamed + p->nadopt)
		return 0;
	for (size_t i = 0; i < p->nrenamed; i++)
		free(p->renamed[i].name);
	maildir_files_free(p->adopt, p->nadopt);
	p->adopt = NULL;
	p->ngone = p->nrenamed = p->nadopt = p->next = 0;
	int rc = maildir_take_new(dir, SLICE_MAX, &p->adopt, &p->nadopt);
	p->more_new = rc == 0 && p->nadopt == SLICE_MAX;
	return rc;
}

/* Pairs files and index rows by base name, both sorted: rows whose file is
 * gone were expunged by someone else; files with no row are new. */
static void plan_pair(struct sync_plan *p, struct maildir_file *files, size_t nfiles,
                      struct ix_message *msgs, size_t nmsgs)
{
	qsort(files, nfiles, sizeof *files, file_cmp);
	struct ix_message **byname = xmalloc((nmsgs ? nmsgs : 1) * sizeof *byname);
	for (size_t i = 0; i < nmsgs; i++)
		byname[i] = &msgs[i];
	qsort(byname, nmsgs, sizeof *byname, msg_cmp);
	bool *known = xcalloc(nfiles ? nfiles : 1, sizeof *known);
	p->gone = xmalloc((nmsgs ? nmsgs : 1) * sizeof *p->gone);
	p->renamed = xmalloc((nmsgs ? nmsgs : 1) * sizeof *p->renamed);
	size_t j = 0;
	for (size_t i = 0; i < nmsgs; i++) {
		struct ix_message *msg = byname[i];
		while (j < nfiles && maildir_base_cmp(files[j].name, msg->filename) < 0)
			j++;
		if (j == nfiles || maildir_base_cmp(files[j].name, msg->filename) != 0) {
			p->gone[p->ngone++] = msg->uid;
			continue;
		}
		known[j] = true;
		if (strcmp(files[j].name, msg->filename) != 0)
			p->renamed[p->nrenamed++] =
			    (struct sync_rename){msg->uid, xstrdup(files[j].name)};
		j++;
	}
	p->adopt = xmalloc((nfiles ? nfiles : 1) * sizeof *p->adopt);
	for (j = 0; j < nfiles; j++)
		if (known[j])
			free(files[j].name);
		else
			p->adopt[p->nadopt++] = files[j];
	free(files);
	free(known);
	free(byname);
}

/* cur/ changed (or this mailbox was never scanned): list every file there;
 * what waits in new/ comes after, a slice's worth at a time. */
static int plan_full(struct store *s, int64_t mailbox, const char *dir, const int64_t mt[2],
                     struct sync_plan *p)
{
	struct maildir_file *files = NULL;
	size_t nfiles = 0, nmsgs = 0, waiting = 0;
	struct ix_message *msgs = NULL;
	if (maildir_peek(dir, &files, &nfiles, &waiting) < 0 ||
	    index_messages(s->ix, mailbox, false, &msgs, &nmsgs) < 0) {
		maildir_files_free(files, nfiles);
		return -1;
	}
	plan_pair(p, files, nfiles, msgs, nmsgs);
	index_messages_free(msgs, nmsgs);
	p->more_new = waiting > 0;
	for (int i = 0; i < 2; i++)
		p->mt[i] = mtime_to_keep(mt[i]);
	return 0;
}

/* Does the plan's next items, one slice's worth; the last slice stores the
 * mtimes. Inside a transaction. */
static int plan_step(struct store *s, int64_t mailbox, const char *dir, struct sync_plan *p)
{
	struct slice sl;
	if (plan_take_new(dir, p) < 0)
		return -1;
	size_t total = p->ngone + p->nrenamed + p->nadopt;
	int rc = 0;
	slice_start(&sl);
	for (bool full = false; p->next < total && rc == 0 && !full;
	     p->next++, full = slice_full(&sl)) {
		size_t k = p->next;
		if (k < p->ngone)
			rc = index_message_expunge(s->ix, mailbox, p->gone[k]);
		else if ((k -= p->ngone) < p->nrenamed)
			rc = index_message_set_filename(s->ix, mailbox, p->renamed[k].uid,
			                                p->renamed[k].name);
		else
			rc = adopt_file(s, mailbox, dir, &p->adopt[k - p->nrenamed]);
	}
	if (rc < 0 || p->next < total || p->more_new)
		return rc;
	int64_t mt[2];
	if (p->new_only && maildir_dir_mtimes(dir, mt) == 0)
		p->mt[1] = mt[1];
	p->active = false;
	return index_mailbox_set_mtimes(s->ix, mailbox, p->mt);
}

/* Brings the index up to date with the Maildir, one slice at a time: files
 * an MTA delivered get UIDs, files gone from disk are expunged. Skipped when
 * neither new/ nor cur/ changed since the last scan and no plan is under way.
 * Runs inside an index transaction. Returns 1 when it looked at the files
 * (the mailbox row may have moved; p->active: more slices to go), 0 when it
 * skipped them, -1 on error. */
static int sync_files(struct store *s, struct ix_mailbox *mb, struct sync_plan *p)
{
	char *dir = maildir_dir(s->paths.maildir, mb->name);
	int64_t mt[2];
	int rc = 0;
	if (p->active && (p->mailbox != mb->id || p->modseq != mb->modseq))
		plan_free(p); /* overtaken: made again from what is on disk now */
	if (!p->active) {
		if (maildir_dir_mtimes(dir, mt) < 0) {
			free(dir);
			return -1;
		}
		if (mt[0] == mb->mtimes[0] && mt[1] == mb->mtimes[1]) {
			free(dir);
			return 0;
		}
		p->active = true;
		p->mailbox = mb->id;
		if (mt[1] == mb->mtimes[1] && mt[1] != 0)
			plan_new(mt[0], p);
		else
			rc = plan_full(s, mb->id, dir, mt, p);
	}
	if (rc == 0)
		rc = plan_step(s, mb->id, dir, p);
	free(dir);
	return rc < 0 ? -1 : 1;
}

/* mb again after a sync that looked at the files: UIDNEXT and MODSEQ may
 * have moved. */
static int mailbox_reread(struct store *s, const char *name, struct ix_mailbox *mb)
{
	index_mailbox_clear(mb);
	return index_mailbox_get(s->ix, name, mb) == 0 ? 0 : -1;
}

enum store_rc mailbox_sync_begin(struct store *s, const char *name, struct ix_mailbox *mb)
{
	struct sync_plan p = {0};
	for (;;) {
		if (index_begin(s->ix) < 0)
			break;
		int rc = index_mailbox_get(s->ix, name, mb);
		if (rc > 0) {
			index_rollback(s->ix);
			plan_free(&p);
			return STORE_NONEXISTENT;
		}
		int synced = rc < 0 ? -1 : sync_files(s, mb, &p);
		if (synced > 0)
			synced = mailbox_reread(s, name, mb);
		if (synced >= 0 && !p.active) {
			plan_free(&p);
			return STORE_OK; /* the caller's work goes into this transaction */
		}
		/* More slices to go: this one commits, and the next one can tell by
		 * the MODSEQ it left whether someone else came between. */
		p.modseq = mb->modseq;
		index_mailbox_clear(mb);
		if (synced < 0 || index_commit(s->ix) < 0)
			break;
		slice_pause();
	}
	index_rollback(s->ix);
	plan_free(&p);
	return STORE_ERROR;
}

enum store_rc mailbox_fresh(struct store *s, const char *name, struct ix_mailbox *mb)
{
	enum store_rc rc = mailbox_sync_begin(s, name, mb);
	if (rc != STORE_OK)
		return rc;
	if (index_commit(s->ix) == 0)
		return STORE_OK;
	index_rollback(s->ix);
	index_mailbox_clear(mb);
	return STORE_ERROR;
}

static bool mailbox_exists(struct store *s, const char *name)
{
	struct ix_mailbox mb;
	if (index_mailbox_get(s->ix, name, &mb) != 0)
		return false;
	index_mailbox_clear(&mb);
	return true;
}

static void count_cb(void *arg, const char *name, const char *su)
{
	(*(size_t *)arg)++;
}

/* Adds name and any missing superiors (RFC 9051 6.3.4: the server SHOULD
 * create them); inside a transaction. */
static enum store_rc create_with_parents(struct store *s, const char *name)
{
	size_t count = 0;
	if (index_mailbox_each(s->ix, count_cb, &count) < 0)
		return STORE_ERROR;
	char *path = xstrdup(name);
	enum store_rc rc = STORE_OK;
	for (char *slash = path;; slash++) {
		slash = strchr(slash, '/');
		if (slash)
			*slash = '\0';
		if (!mailbox_exists(s, path)) {
			char *dir = maildir_dir(s->paths.maildir, path);
			if (++count > s->lim.max_mailboxes)
				rc = STORE_LIMIT;
			else if (!dir || maildir_create(dir, true) < 0 ||
			         index_mailbox_add(s->ix, path, NULL) < 0)
				rc = STORE_ERROR;
			free(dir);
		}
		if (!slash || rc != STORE_OK)
			break;
		*slash = '/';
	}
	free(path);
	return rc;
}

enum store_rc store_create(struct store *s, const char *name)
{
	if (index_begin(s->ix) < 0)
		return STORE_ERROR;
	enum store_rc rc = mailbox_exists(s, name) ? STORE_EXISTS : create_with_parents(s, name);
	if (rc == STORE_OK && index_commit(s->ix) < 0)
		rc = STORE_ERROR;
	if (rc != STORE_OK)
		index_rollback(s->ix);
	return rc;
}

enum store_rc store_delete(struct store *s, const char *name)
{
	if (strcmp(name, "INBOX") == 0)
		return STORE_NOTALLOWED;
	struct ix_mailbox mb;
	if (index_begin(s->ix) < 0)
		return STORE_ERROR;
	int rc = index_mailbox_get(s->ix, name, &mb);
	if (rc != 0) {
		index_rollback(s->ix);
		return rc > 0 ? STORE_NONEXISTENT : STORE_ERROR;
	}
	if (index_mailbox_delete(s->ix, mb.id) < 0 || index_commit(s->ix) < 0) {
		index_rollback(s->ix);
		index_mailbox_clear(&mb);
		return STORE_ERROR;
	}
	/* Files go only after the index no longer names them. */
	char *dir = maildir_dir(s->paths.maildir, name);
	if (maildir_remove(dir) < 0)
		log_warn("store: %s: could not remove all of %s", s->user, dir);
	free(dir);
	index_mailbox_clear(&mb);
	return STORE_OK;
}

struct name_list {
	char **names;
	size_t n, cap;
	const char *prefix; /* collect this name and those below it */
};

static void collect_below(void *arg, const char *name, const char *su)
{
	struct name_list *l = arg;
	size_t plen = strlen(l->prefix);
	if (strcmp(name, l->prefix) != 0 &&
	    !(strncmp(name, l->prefix, plen) == 0 && name[plen] == '/'))
		return;
	if (l->n == l->cap)
		l->names =
		    xrealloc(l->names, (l->cap = l->cap ? l->cap * 2 : 8) * sizeof *l->names);
	l->names[l->n++] = xstrdup(name);
}

static void names_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

/* Renames the directories of from and its children; undoes what it did on failure. */
static int rename_dirs(struct store *s, struct name_list *l, const char *from, const char *to)
{
	size_t flen = strlen(from);
	for (size_t i = 0; i < l->n; i++) {
		char *newname = xasprintf("%s%s", to, l->names[i] + flen);
		char *a = maildir_dir(s->paths.maildir, l->names[i]),
		     *b = maildir_dir(s->paths.maildir, newname);
		int rc = a && b ? rename(a, b) : -1;
		free(newname);
		free(a);
		free(b);
		if (rc < 0) {
			log_error("store: rename %s: %s", l->names[i], strerror(errno));
			/* Undo the first i; l keeps all its names for names_free. */
			struct name_list done = *l;
			done.n = i;
			rename_dirs(s, &done, to, from);
			return -1;
		}
	}
	return 0;
}

static enum store_rc move_all_messages(struct store *s, const struct ix_mailbox *from,
                                       const char *to)
{
	struct ix_mailbox dst;
	struct ix_message *m = NULL;
	size_t n = 0;
	if (index_mailbox_get(s->ix, to, &dst) != 0)
		return STORE_ERROR;
	char *src_dir = maildir_dir(s->paths.maildir, from->name),
	     *dst_dir = maildir_dir(s->paths.maildir, to);
	enum store_rc rc =
	    index_messages(s->ix, from->id, false, &m, &n) < 0 ? STORE_ERROR : STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		char *name = NULL;
		uint32_t uid;
		if (maildir_move(src_dir, m[i].filename, dst_dir, m[i].flags, &name) < 0 ||
		    index_message_add(s->ix, dst.id, name, m[i].flags, m[i].keywords,
		                      m[i].internaldate, m[i].size, &uid) < 0 ||
		    index_message_copy_header(s->ix, from->id, m[i].uid, dst.id, uid) < 0 ||
		    index_message_expunge(s->ix, from->id, m[i].uid) < 0)
			rc = STORE_ERROR;
		free(name);
	}
	index_messages_free(m, n);
	free(src_dir);
	free(dst_dir);
	index_mailbox_clear(&dst);
	return rc;
}

/* RENAME INBOX: a new mailbox receives INBOX's messages; INBOX stays. A crash
 * half way leaves each file in one of the two directories, and the next
 * scan of each indexes what it holds: nothing is lost. */
static enum store_rc rename_inbox(struct store *s, const char *to)
{
	struct ix_mailbox inbox = {0};
	enum store_rc rc = mailbox_sync_begin(s, "INBOX", &inbox);
	if (rc != STORE_OK)
		return rc;
	rc = mailbox_exists(s, to) ? STORE_EXISTS : create_with_parents(s, to);
	if (rc == STORE_OK)
		rc = move_all_messages(s, &inbox, to);
	if (rc == STORE_OK && index_commit(s->ix) == 0) {
		index_mailbox_clear(&inbox);
		return STORE_OK;
	}
	if (rc == STORE_OK)
		rc = STORE_ERROR;
	index_rollback(s->ix);
	index_mailbox_clear(&inbox);
	return rc;
}

enum store_rc store_rename(struct store *s, const char *from, const char *to)
{
	if (strcmp(to, "INBOX") == 0)
		return STORE_EXISTS;
	if (strcmp(from, "INBOX") == 0 && strncmp(to, "INBOX/", 6) == 0)
		return STORE_NOTALLOWED;
	if (strcmp(from, "INBOX") == 0)
		return rename_inbox(s, to);
	size_t flen = strlen(from);
	if (strncmp(to, from, flen) == 0 && (to[flen] == '/' || to[flen] == '\0'))
		return strcmp(to, from) == 0 ? STORE_EXISTS : STORE_NOTALLOWED;
	if (index_begin(s->ix) < 0)
		return STORE_ERROR;
	struct name_list l = {.prefix = from};
	enum store_rc rc = STORE_OK;
	if (!mailbox_exists(s, from))
		rc = STORE_NONEXISTENT;
	else if (mailbox_exists(s, to))
		rc = STORE_EXISTS;
	else if (index_mailbox_each(s->ix, collect_below, &l) < 0)
		rc = STORE_ERROR;
	/* The new name's superiors, but not the name itself: the directory moves there. */
	char *parent = xstrdup(to);
	char *slash = strrchr(parent, '/');
	if (rc == STORE_OK && slash) {
		*slash = '\0';
		rc = create_with_parents(s, parent);
	}
	free(parent);
	if (rc == STORE_OK && index_mailbox_rename(s->ix, from, to) < 0)
		rc = STORE_ERROR;
	if (rc == STORE_OK && rename_dirs(s, &l, from, to) < 0)
		rc = STORE_ERROR;
	if (rc == STORE_OK && index_commit(s->ix) < 0) {
		rename_dirs(s, &l, to, from);
		rc = STORE_ERROR;
	}
	if (rc != STORE_OK)
		index_rollback(s->ix);
	names_free(&l);
	return rc;
}

enum store_rc store_subscribe(struct store *s, const char *name, bool on)
{
	/* RFC 9051 6.3.7: a server MAY refuse to subscribe a name that does
	 * not exist; we refuse, which catches typos. */
	if (on && !mailbox_exists(s, name))
		return STORE_NONEXISTENT;
	return index_subscribe(s->ix, name, on) < 0 ? STORE_ERROR : STORE_OK;
}

struct list_acc {
	struct store_mailbox *m;
	size_t n, cap;
};

static struct store_mailbox *list_find_or_add(struct list_acc *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->m[i].name, name) == 0)
			return &a->m[i];
	if (a->n == a->cap)
		a->m = xrealloc(a->m, (a->cap = a->cap ? a->cap * 2 : 16) * sizeof *a->m);
	struct store_mailbox *e = &a->m[a->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(name);
	return e;
}

static void list_mailbox_cb(void *arg, const char *name, const char *special_use)
{
	struct store_mailbox *e = list_find_or_add(arg, name);
	e->exists = true;
	e->special_use = special_use_static(special_use);
}

static void list_sub_cb(void *arg, const char *name)
{
	list_find_or_add(arg, name)->subscribed = true;
}

static int mailbox_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_mailbox *)a)->name,
	              ((const struct store_mailbox *)b)->name);
}

enum store_rc store_list(struct store *s, struct store_mailbox **out, size_t *n)
{
	struct list_acc a = {0};
	if (index_mailbox_each(s->ix, list_mailbox_cb, &a) < 0 ||
	    index_subscription_each(s->ix, list_sub_cb, &a) < 0) {
		store_list_free(a.m, a.n);
		return STORE_ERROR;
	}
	if (a.n)
		qsort(a.m, a.n, sizeof *a.m, mailbox_cmp);
	*out = a.m;
	*n = a.n;
	return STORE_OK;
}

void store_list_free(struct store_mailbox *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

enum store_rc store_status(struct store *s, const char *name, struct store_status *st)
{
	struct ix_mailbox mb;
	struct ix_counts c = {0};
	enum store_rc rc = mailbox_fresh(s, name, &mb);
	if (rc != STORE_OK)
		return rc;
	if (index_mailbox_counts(s->ix, mb.id, &c) < 0)
		rc = STORE_ERROR;
	st->messages = c.messages;
	st->recent = c.recent;
	st->unseen = c.unseen;
	st->deleted = c.deleted;
	st->size = c.size;
	st->uidnext = mb.uidnext;
	st->uidvalidity = mb.uidvalidity;
	st->highestmodseq = mb.modseq;
	index_mailbox_clear(&mb);
	return rc;
}

enum store_rc store_tmpfile(struct store *s, int *fd, char **path)
{
	if (maildir_tmpfile(s->paths.maildir, fd, path) < 0) {
		log_error("store: %s: cannot create a temporary file: %s", s->user,
		          strerror(errno));
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_rc store_tmpfile_write(struct store *s, const char *data, size_t len, char **path)
{
	int fd;
	if (store_tmpfile(s, &fd, path) != STORE_OK)
		return STORE_ERROR;
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0) {
			log_error("store: %s: cannot write a temporary file: %s", s->user,
			          strerror(errno));
			close(fd);
			store_tmpfile_discard(*path);
			*path = NULL;
			return STORE_ERROR;
		}
		data += w;
		len -= (size_t)w;
	}
	close(fd);
	return STORE_OK;
}

void store_tmpfile_discard(char *path)
{
	unlink(path); /* ENOENT once store_append has moved it */
	free(path);
}

char *join_keywords(const char *const *kw, size_t n)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_addc(&b, ' ');
		sbuf_adds(&b, kw[i]);
	}
	return sbuf_take(&b);
}

int keep_scan_current(struct store *s, const struct ix_mailbox *mb, const char *dir,
                      const int64_t before[2])
{
	int64_t after[2];
	if (before[0] != mb->mtimes[0] || before[1] != mb->mtimes[1] || !before[1] ||
	    maildir_dir_mtimes(dir, after) < 0)
		return 0;
	return index_mailbox_set_mtimes(s->ix, mb->id, after);
}

/* Puts one message file into a mailbox and the index, under the index lock:
 * the file appears in cur/ only while no other process can scan the
 * directory, so no one else can adopt it under a second UID. */
enum store_rc store_append(struct store *s, const char *mailbox, const struct store_append *req,
                           uint32_t *uidvalidity, uint32_t *uid)
{
	const char *path = req->path;
	struct ix_mailbox mb;
	uint64_t size;
	char *dir = maildir_dir(s->paths.maildir, mailbox), *name = NULL;
	char *kw = join_keywords(req->keywords, req->nkeywords);
	time_t mtime;
	if (maildir_crlf(s->paths.maildir, path, &size, &mtime) < 0 || index_begin(s->ix) < 0) {
		free(dir);
		free(kw);
		return STORE_ERROR;
	}
	int found = index_mailbox_get(s->ix, mailbox, &mb);
	enum store_rc rc = found > 0 ? STORE_NONEXISTENT : found < 0 ? STORE_ERROR : STORE_OK;
	int64_t before[2] = {-1, -1};
	/* A folder whose directories are not its own (a planted symlink) takes
	 * nothing: maildir_dir_mtimes refuses it, as every sync does. */
	if (rc == STORE_OK && maildir_dir_mtimes(dir, before) < 0) {
		log_error("store: %s: cannot use the directory of %s: %s", s->user, mailbox,
		          strerror(errno));
		rc = STORE_ERROR;
	}
	if (rc == STORE_OK && maildir_commit(path, dir, req->flags, req->internaldate, &name) < 0) {
		log_error("store: %s: cannot store a message in %s: %s", s->user, mailbox,
		          strerror(errno));
		rc = STORE_ERROR;
	}
	char *cur = rc == STORE_OK ? maildir_cur_path(dir, name) : NULL;
	if (rc == STORE_OK &&
	    (index_message_add(s->ix, mb.id, name, req->flags, kw, req->internaldate, size, uid) <
	         0 ||
	     cache_header(s->ix, mb.id, *uid, cur) < 0 ||
	     index_mailbox_add_keywords(s->ix, mb.id, req->keywords, req->nkeywords) < 0 ||
	     keep_scan_current(s, &mb, dir, before) < 0 || index_commit(s->ix) < 0)) {
		maildir_unlink(dir, name);
		rc = STORE_ERROR;
	}
	if (rc == STORE_OK)
		*uidvalidity = mb.uidvalidity;
	else
		index_rollback(s->ix);
	if (found == 0)
		index_mailbox_clear(&mb);
	free(cur);
	free(dir);
	free(name);
	free(kw);
	return rc;
}
