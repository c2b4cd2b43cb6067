/* Views: a selected mailbox as one session sees it (design.md section 3),
 * and the message operations that work through a view: FETCH data, STORE,
 * COPY, MOVE and EXPUNGE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/index.h"
#include "store/internal.h"
#include "store/maildir.h"
#include "store/store.h"
#include "util/log.h"
#include "util/str.h"

/* Most messages have no keywords; they share this instead of a malloc'd
 * empty string each (a view of 100k messages is then 2.4 MB, not 5). */
static char no_keywords[] = "";

static char *kw_own(char *k)
{
	if (k && k[0])
		return k;
	free(k);
	return no_keywords;
}

static void kw_free(char *k)
{
	if (k != no_keywords)
		free(k);
}

/* ---- message lists shared between views ----
 *
 * Views of one mailbox that are up to date with the same MODSEQ hold the
 * same list, so the sessions of a worker on one mailbox (a phone, a laptop
 * and a webmail, each with a few connections) share one copy: the store
 * keeps the shared lists, a view that must change its list first copies it
 * (view_own), and a view that caught up again joins the list of its MODSEQ
 * (view_share). The store keeps the newest list of each mailbox while it is
 * open, so a SELECT of an unchanged mailbox reads no message rows.
 * \Recent is kept apart, per view, as UID ranges. */
struct view_share {
	unsigned refs;
	bool kept; /* the store holds a reference: the newest list of its mailbox */
	struct store *store;
	int64_t mailbox;
	uint64_t modseq;
	struct view_msg *msgs;
	size_t n;
	struct view_share *next; /* the store's list */
};

static void msgs_free(struct view_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kw_free(m[i].keywords);
	free(m);
}

static void share_unlist(struct view_share *sh)
{
	for (struct view_share **p = &sh->store->shares; *p; p = &(*p)->next)
		if (*p == sh) {
			*p = sh->next;
			return;
		}
}

static void share_release(struct view_share *sh)
{
	if (--sh->refs > 0)
		return;
	share_unlist(sh);
	msgs_free(sh->msgs, sh->n);
	free(sh);
}

/* Makes v's list its own before it changes: the last holder takes the list
 * back, the others copy it. */
static void view_own(struct view *v)
{
	struct view_share *sh = v->share;
	if (!sh)
		return;
	v->share = NULL;
	if (sh->refs == 2 && sh->kept) { /* only the store shares it: take it back */
		sh->kept = false;
		sh->refs--;
	}
	if (sh->refs == 1) {
		share_unlist(sh);
		free(sh);
		v->cap = v->n;
		return;
	}
	struct view_msg *copy = xmalloc((v->n ? v->n : 1) * sizeof *copy);
	for (size_t i = 0; i < v->n; i++) {
		copy[i] = v->msgs[i];
		if (copy[i].keywords != no_keywords)
			copy[i].keywords = xstrdup(copy[i].keywords);
	}
	v->msgs = copy;
	v->cap = v->n ? v->n : 1;
	share_release(sh);
}

/* v is exactly the index's state at v->modseq: join the list another view
 * has for that MODSEQ, or offer this one. */
static void view_share(struct view *v)
{
	if (v->share && v->share->modseq == v->modseq)
		return;
	for (struct view_share *sh = v->store->shares; sh; sh = sh->next) {
		if (sh->mailbox != v->id || sh->modseq != v->modseq || sh->n != v->n)
			continue;
		if (v->share)
			share_release(v->share);
		else
			msgs_free(v->msgs, v->n);
		sh->refs++;
		v->share = sh;
		v->msgs = sh->msgs;
		v->cap = 0;
		return;
	}
	view_own(v);
	for (struct view_share *sh = v->store->shares; sh; sh = sh->next)
		if (sh->mailbox == v->id && sh->kept) { /* the newest is this one now */
			sh->kept = false;
			share_release(sh);
			break;
		}
	struct view_share *sh = xcalloc(1, sizeof *sh);
	*sh = (struct view_share){2,         true,    v->store, v->id,
	                          v->modseq, v->msgs, v->n,     v->store->shares};
	v->store->shares = sh;
	v->share = sh;
	v->cap = 0;
}

void view_shares_drop(struct store *s)
{
	struct view_share *sh = s->shares;
	while (sh) {
		struct view_share *next = sh->next;
		if (sh->kept) {
			sh->kept = false;
			share_release(sh);
		}
		sh = next;
	}
}

static void view_msgs_free(struct view *v)
{
	if (v->share)
		share_release(v->share);
	else
		msgs_free(v->msgs, v->n);
	v->share = NULL;
	v->msgs = NULL;
	v->n = v->cap = 0;
}

static void view_push(struct view *v, struct ix_message *m)
{
	view_own(v);
	if (v->n == v->cap)
		v->msgs = xrealloc(v->msgs, (v->cap = v->cap ? v->cap * 2 : 64) * sizeof *v->msgs);
	struct view_msg *e = &v->msgs[v->n++];
	e->uid = m->uid;
	e->flags = m->flags;
	e->keywords = kw_own(m->keywords); /* taken over */
	m->keywords = NULL;
}

/* \Recent for this session: UIDs in [lo, hi). */
static void view_add_recent(struct view *v, uint32_t lo, uint32_t hi)
{
	if (lo >= hi)
		return;
	if (v->nrecent && v->recent[v->nrecent - 1].hi == lo) {
		v->recent[v->nrecent - 1].hi = hi;
		return;
	}
	v->recent = xrealloc(v->recent, (v->nrecent + 1) * sizeof *v->recent);
	v->recent[v->nrecent].lo = lo;
	v->recent[v->nrecent++].hi = hi;
}

bool view_recent(const struct view *v, size_t i)
{
	uint32_t uid = v->msgs[i].uid;
	for (size_t k = 0; k < v->nrecent; k++)
		if (uid >= v->recent[k].lo && uid < v->recent[k].hi)
			return true;
	return false;
}

static void view_take_mailbox(struct view *v, struct ix_mailbox *mb)
{
	v->uidvalidity = mb->uidvalidity;
	v->uidnext = mb->uidnext;
	v->modseq = mb->modseq;
	free(v->keywords);
	v->keywords = mb->keywords;
	mb->keywords = NULL;
}

/* The mailbox and its messages as one snapshot, files adopted first. With
 * claim, \Recent is taken for messages above last: it belongs to the first
 * session to see a message read-write (RFC 3501 2.3.2), which gets the UIDs
 * from the old mark on while the mark moves to UIDNEXT, in the same
 * transaction as the read, so no message is claimed unseen or seen twice. */
struct snapshot {
	struct ix_mailbox mb;
	struct view_share *share; /* the store's list, up to date: no rows read */
	struct ix_message *m;     /* all messages, or (since > 0) those changed since */
	size_t n;
	uint32_t *gone; /* since > 0: UIDs expunged since */
	size_t ngone;
	uint32_t recent_from;
};

static void snapshot_free(struct snapshot *sn)
{
	index_mailbox_clear(&sn->mb);
	index_messages_free(sn->m, sn->n);
	free(sn->gone);
	memset(sn, 0, sizeof *sn);
}

/* Reads the messages: all of them, or only what changed since MODSEQ since. */
static int snapshot_read(struct index *ix, uint64_t since, struct snapshot *sn)
{
	if (!since)
		return index_messages(ix, sn->mb.id, true, &sn->m, &sn->n);
	return index_messages_since(ix, sn->mb.id, since, &sn->m, &sn->n) < 0 ||
	               index_expunged_since(ix, sn->mb.id, since, &sn->gone, &sn->ngone) < 0
	           ? -1
	           : 0;
}

static struct view_share *kept_share(struct store *s, int64_t mailbox, uint64_t modseq)
{
	for (struct view_share *sh = s->shares; sh; sh = sh->next)
		if (sh->kept && sh->mailbox == mailbox && sh->modseq == modseq)
			return sh;
	return NULL;
}

static enum store_rc snapshot(struct store *s, const char *name, bool claim, uint32_t last,
                              uint64_t since, struct snapshot *sn)
{
	memset(sn, 0, sizeof *sn);
	sn->recent_from = UINT32_MAX;
	struct ix_mailbox *mb = &sn->mb;
	enum store_rc rc = mailbox_sync_begin(s, name, mb);
	if (rc != STORE_OK)
		return rc;
	/* A new view (since 0) of an unchanged mailbox takes the store's list. */
	sn->share = since ? NULL : kept_share(s, mb->id, mb->modseq);
	bool fail = !sn->share && snapshot_read(s->ix, since, sn) < 0;
	uint32_t top = sn->share ? (sn->share->n ? sn->share->msgs[sn->share->n - 1].uid : 0)
	               : sn->n   ? sn->m[sn->n - 1].uid
	                         : 0;
	if (!fail && claim && top > last && top >= mb->recent_uid) /* else another has them */
		fail = index_mailbox_claim_recent(s->ix, mb->id, &sn->recent_from) < 0;
	if (fail || index_commit(s->ix) < 0) {
		index_rollback(s->ix);
		snapshot_free(sn);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_rc view_open(struct store *s, const char *name, bool readonly, struct view **out)
{
	struct snapshot sn;
	enum store_rc rc = snapshot(s, name, !readonly, 0, 0, &sn);
	if (rc != STORE_OK)
		return rc;
	struct view *v = xcalloc(1, sizeof *v);
	v->store = s;
	v->name = xstrdup(name);
	v->dir = maildir_dir(s->paths.maildir, name);
	v->id = sn.mb.id;
	v->readonly = readonly;
	if (sn.share) {
		v->share = sn.share;
		v->share->refs++;
		v->msgs = v->share->msgs;
		v->n = v->share->n;
	}
	for (size_t i = 0; i < sn.n; i++)
		view_push(v, &sn.m[i]);
	/* EXAMINE sees \Recent without taking it. */
	uint32_t end = v->n ? v->msgs[v->n - 1].uid + 1 : 0;
	view_add_recent(v, readonly ? sn.mb.recent_uid : sn.recent_from, end);
	view_take_mailbox(v, &sn.mb);
	snapshot_free(&sn);
	view_share(v);
	*out = v;
	return STORE_OK;
}

void view_close(struct view *v)
{
	if (!v)
		return;
	view_cache_flush(v);
	view_msgs_free(v);
	free(v->recent);
	free(v->keywords);
	free(v->name);
	free(v->dir);
	free(v);
}

static bool uid_in(const uint32_t *uids, size_t n, uint32_t uid);

/* The view position of uid, or v->n. */
static size_t view_find(const struct view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n && v->msgs[lo].uid == uid ? lo : v->n;
}

/* Applies a snapshot of what changed since the view's MODSEQ: sn->gone
 * leave, their sequence numbers recorded from the highest down so each is
 * right at the moment the client applies it (RFC 9051 7.5.1), or are held
 * back; then the changed rows the view has update its flags, recorded with
 * the sequence numbers after the expunges. Returns how many are held. */
static size_t view_apply_changes(struct view *v, const struct snapshot *sn, bool allow_expunge,
                                 struct view_changes *ch)
{
	size_t held = 0, cap = v->n ? v->n : 1;
	view_own(v);
	ch->expunged = xmalloc(cap * sizeof *ch->expunged);
	ch->flags_changed = xmalloc(cap * sizeof *ch->flags_changed);
	for (size_t i = v->n; sn->ngone && i-- > 0;)
		if (uid_in(sn->gone, sn->ngone, v->msgs[i].uid)) {
			if (allow_expunge)
				ch->expunged[ch->nexpunged++] = (uint32_t)i + 1;
			else
				held++;
		}
	size_t kept = 0;
	for (size_t i = 0; ch->nexpunged && i < v->n; i++) {
		if (uid_in(sn->gone, sn->ngone, v->msgs[i].uid)) {
			kw_free(v->msgs[i].keywords);
			continue;
		}
		v->msgs[kept++] = v->msgs[i];
	}
	if (ch->nexpunged)
		v->n = kept;
	for (size_t k = 0; k < sn->n; k++) {
		const struct ix_message *im = &sn->m[k];
		size_t i = view_find(v, im->uid);
		if (i == v->n)
			continue; /* new: appended by the caller */
		struct view_msg *vm = &v->msgs[i];
		if (im->flags == vm->flags && strcmp(im->keywords, vm->keywords) == 0)
			continue;
		vm->flags = im->flags;
		kw_free(vm->keywords);
		vm->keywords = kw_own(xstrdup(im->keywords));
		ch->flags_changed[ch->nflags_changed++] = (uint32_t)i + 1;
	}
	return held;
}

/* True when neither the index nor the Maildir directories moved since the
 * view was last synced: the common case after most commands and for most
 * watch wake-ups, answered without taking the write lock. */
static bool view_unchanged(struct view *v)
{
	struct ix_mailbox mb;
	int64_t mt[2];
	if (index_mailbox_get(v->store->ix, v->name, &mb) != 0)
		return false;
	bool same = mb.id == v->id && mb.modseq == v->modseq &&
	            maildir_dir_mtimes(v->dir, mt) == 0 && mt[0] == mb.mtimes[0] &&
	            mt[1] == mb.mtimes[1];
	index_mailbox_clear(&mb);
	return same;
}

enum store_rc view_sync(struct view *v, bool allow_expunge, struct view_changes *ch)
{
	memset(ch, 0, sizeof *ch);
	if (view_unchanged(v))
		return STORE_OK;
	/* Only what changed since the view's MODSEQ is read. */
	struct snapshot sn;
	uint32_t last = v->n ? v->msgs[v->n - 1].uid : 0;
	enum store_rc rc = snapshot(v->store, v->name, !v->readonly, last, v->modseq, &sn);
	if (rc != STORE_OK)
		return rc;
	if (sn.mb.modseq == v->modseq) {
		snapshot_free(&sn);
		return STORE_OK;
	}
	size_t held = view_apply_changes(v, &sn, allow_expunge, ch);
	for (size_t k = 0; k < sn.n; k++) {
		if (sn.m[k].uid <= last)
			continue;
		view_push(v, &sn.m[k]);
		ch->exists_changed = true;
	}
	if (ch->exists_changed)
		view_add_recent(v, sn.recent_from, v->msgs[v->n - 1].uid + 1);
	ch->keywords_changed =
	    strcmp(sn.mb.keywords ? sn.mb.keywords : "", v->keywords ? v->keywords : "");
	uint64_t seen_modseq = v->modseq;
	view_take_mailbox(v, &sn.mb);
	/* Expunges held back (RFC 9051 7.5.1) must still be found next time. */
	if (held)
		v->modseq = seen_modseq;
	else
		view_share(v);
	snapshot_free(&sn);
	for (size_t i = 0; ch->exists_changed && i < v->n; i++)
		ch->recent += view_recent(v, i);
	return STORE_OK;
}

void view_changes_free(struct view_changes *ch)
{
	free(ch->expunged);
	free(ch->flags_changed);
	memset(ch, 0, sizeof *ch);
}

static bool uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The files of an expunge go after its commit, so keeping the stored
 * mtimes current (keep_scan_current) takes a second, small transaction;
 * another process that scanned meanwhile has stored newer ones, and then
 * this does nothing. */
static void keep_scan_after_unlink(struct store *s, struct view *v, const int64_t before[2])
{
	struct ix_mailbox mb;
	if (index_begin(s->ix) < 0)
		return;
	if (index_mailbox_get(s->ix, v->name, &mb) != 0) {
		index_rollback(s->ix);
		return;
	}
	if (keep_scan_current(s, &mb, v->dir, before) < 0 || index_commit(s->ix) < 0)
		index_rollback(s->ix);
	index_mailbox_clear(&mb);
}

/* The messages an EXPUNGE is to remove (\Deleted, and in uids when it is
 * not NULL), read before any lock is taken; each slice looks again. */
static int expunge_list(struct view *v, const uint32_t *uids, size_t nuids, struct ix_message **m,
                        size_t *n)
{
	if (index_messages(v->store->ix, v->id, false, m, n) < 0)
		return -1;
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		if (!((*m)[i].flags & FLAG_DELETED) || (uids && !uid_in(uids, nuids, (*m)[i].uid)))
			index_message_clear(&(*m)[i]);
		else
			(*m)[kept++] = (*m)[i];
	}
	*n = kept;
	return 0;
}

/* One message of an EXPUNGE, under the lock: it goes if it is still there
 * and still \Deleted (someone may have changed it since the list was read),
 * and m takes its file name as it is now. m->uid 0: it stays. */
static int expunge_one(struct index *ix, int64_t mailbox, struct ix_message *m)
{
	struct ix_message now;
	int found = index_message_get(ix, mailbox, m->uid, &now);
	bool going = found == 0 && (now.flags & FLAG_DELETED);
	if (going) {
		free(m->filename);
		m->filename = now.filename;
		now.filename = NULL;
	}
	if (found == 0)
		index_message_clear(&now);
	if (!going)
		m->uid = 0;
	return found < 0 ? -1 : going ? index_message_expunge(ix, mailbox, m->uid) : 0;
}

/* One slice of an EXPUNGE in its own transaction, from m[*i] on; its files
 * go after its commit. The previous slice's unlinks are our own change to
 * cur/, so this slice keeps the stored mtimes current for them first
 * (keep_scan_current), and before[] gets cur/'s mtimes before this one. */
static int expunge_slice(struct view *v, struct ix_message *m, size_t nm, size_t *i,
                         int64_t before[2], bool *unlinked)
{
	struct store *s = v->store;
	struct ix_mailbox mb;
	struct slice sl;
	size_t from = *i;
	if (index_begin(s->ix) < 0)
		return -1;
	int rc = 0;
	if (index_mailbox_get(s->ix, v->name, &mb) == 0) {
		if (*unlinked && mb.id == v->id)
			rc = keep_scan_current(s, &mb, v->dir, before);
		index_mailbox_clear(&mb);
	}
	*unlinked = false;
	maildir_dir_mtimes(v->dir, before);
	slice_start(&sl);
	for (bool full = false; *i < nm && rc == 0 && !full; full = slice_full(&sl))
		rc = expunge_one(s->ix, v->id, &m[(*i)++]);
	if (rc < 0 || index_commit(s->ix) < 0) {
		index_rollback(s->ix);
		return -1;
	}
	/* Files go only after the commit; one left behind by a crash is
	 * recognised from the expunge log and removed, not re-adopted. */
	for (size_t k = from; k < *i; k++)
		if (m[k].uid)
			*unlinked |= maildir_unlink(v->dir, m[k].filename) == 0;
	return 0;
}

enum store_rc view_expunge(struct view *v, const uint32_t *uids, size_t nuids)
{
	struct ix_message *m = NULL;
	size_t nm = 0, i = 0;
	int64_t before[2] = {-1, -1};
	bool unlinked = false;
	enum store_rc rc = expunge_list(v, uids, nuids, &m, &nm) < 0 ? STORE_ERROR : STORE_OK;
	while (rc == STORE_OK && i < nm) {
		if (i > 0)
			slice_pause();
		if (expunge_slice(v, m, nm, &i, before, &unlinked) < 0)
			rc = STORE_ERROR;
	}
	index_messages_free(m, nm);
	if (unlinked)
		keep_scan_after_unlink(v->store, v, before);
	return rc;
}

enum store_rc view_message(struct view *v, size_t idx, struct store_message *out)
{
	struct ix_message m;
	memset(out, 0, sizeof *out);
	int rc = index_message_get(v->store->ix, v->id, v->msgs[idx].uid, &m);
	if (rc != 0)
		return rc > 0 ? STORE_NONEXISTENT : STORE_ERROR;
	out->size = m.size;
	out->internaldate = m.internaldate;
	out->envelope = m.envelope;
	out->body = m.body;
	out->bodystructure = m.bodystructure;
	m.envelope = m.body = m.bodystructure = NULL;
	index_message_clear(&m);
	return STORE_OK;
}

enum store_rc view_message_header(struct view *v, size_t idx, char **hdr, size_t *len)
{
	return index_message_header(v->store->ix, v->id, v->msgs[idx].uid, hdr, len) == 0
	           ? STORE_OK
	           : STORE_NONEXISTENT;
}

void store_message_clear(struct store_message *m)
{
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	memset(m, 0, sizeof *m);
}

enum store_rc view_message_open(struct view *v, size_t idx, int *fd, uint64_t *size)
{
	struct ix_message m;
	int rc = index_message_get(v->store->ix, v->id, v->msgs[idx].uid, &m);
	if (rc != 0)
		return rc > 0 ? STORE_NONEXISTENT : STORE_ERROR;
	rc = maildir_open(v->dir, m.filename, fd, size);
	if (rc < 0)
		log_warn("store: %s: message %s of %s is missing", v->store->user, m.filename,
		         v->name);
	index_message_clear(&m);
	return rc < 0 ? STORE_NONEXISTENT : STORE_OK;
}

enum store_rc view_message_cache(struct view *v, size_t idx, const char *envelope, const char *body,
                                 const char *bodystructure)
{
	if (!v->cache_txn) {
		if (index_begin(v->store->ix) < 0)
			return STORE_ERROR;
		v->cache_txn = true;
	}
	return index_message_set_cache(v->store->ix, v->id, v->msgs[idx].uid, envelope, body,
	                               bodystructure) < 0
	           ? STORE_ERROR
	           : STORE_OK;
}

void view_cache_flush(struct view *v)
{
	if (!v->cache_txn)
		return;
	v->cache_txn = false;
	if (index_commit(v->store->ix) < 0)
		index_rollback(v->store->ix); /* only a cache: it is computed again next time */
}

/* ---- STORE ---- */

/* The keyword list after op; keywords compare case-insensitively (RFC 9051 2.3.2). */
static char *apply_keywords(const char *cur, enum flag_op op, const char *const *kw, size_t nkw)
{
	struct sbuf b = {0};
	sbuf_adds(&b, "");
	if (op != FLAG_OP_SET) {
		char *copy = xstrdup(cur), *save = NULL;
		for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			bool drop = false;
			for (size_t i = 0; op == FLAG_OP_REMOVE && i < nkw && !drop; i++)
				drop = strcasecmp(w, kw[i]) == 0;
			if (!drop)
				sbuf_printf(&b, "%s%s", b.len ? " " : "", w);
		}
		free(copy);
	}
	for (size_t i = 0; op != FLAG_OP_REMOVE && i < nkw; i++)
		if (!str_has_word_i(b.s, kw[i]))
			sbuf_printf(&b, "%s%s", b.len ? " " : "", kw[i]);
	return sbuf_take(&b);
}

static uint32_t apply_flags(uint32_t cur, enum flag_op op, uint32_t flags)
{
	switch (op) {
	case FLAG_OP_SET:
		return flags;
	case FLAG_OP_ADD:
		return cur | flags;
	case FLAG_OP_REMOVE:
		return cur & ~flags;
	}
	return cur;
}

/* One message's STORE inside the transaction; *modseq is taken on first change. */
static int store_one(struct view *v, struct view_msg *vm, enum flag_op op, uint32_t flags,
                     const char *const *kw, size_t nkw, uint64_t *modseq, bool *changed)
{
	struct ix_message m;
	struct index *ix = v->store->ix;
	*changed = false;
	int rc = index_message_get(ix, v->id, vm->uid, &m);
	if (rc != 0)
		return rc > 0 ? 0 : -1; /* expunged meanwhile: nothing to change */
	uint32_t nflags = apply_flags(m.flags, op, flags);
	char *nkw_s = apply_keywords(m.keywords, op, kw, nkw);
	if (nflags != m.flags || strcmp(nkw_s, m.keywords) != 0)
		rc = (!*modseq && index_mailbox_next_modseq(ix, v->id, modseq) < 0) ||
		             index_message_set_flags(ix, v->id, vm->uid, nflags, nkw_s, *modseq) < 0
		         ? -1
		         : 0;
	/* The view keeps what this client knows, with this STORE applied: a
	 * change someone else made stays for the next sync to report (the row's
	 * MODSEQ is past the view's), even after a .SILENT STORE. */
	uint32_t vflags = apply_flags(vm->flags, op, flags);
	char *vkw = apply_keywords(vm->keywords, op, kw, nkw);
	*changed = rc == 0 && (vflags != vm->flags || strcmp(vkw, vm->keywords) != 0);
	vm->flags = vflags;
	kw_free(vm->keywords);
	vm->keywords = kw_own(vkw);
	free(nkw_s);
	index_message_clear(&m);
	return rc;
}

/* One slice of a STORE, from idx[*i] on, in its own transaction and with
 * its own MODSEQ: a session that catches up between two slices (it reads
 * the rows above the MODSEQ it saw) then misses none of the next one's. */
static int store_slice(struct view *v, const size_t *idx, size_t n, size_t *i, enum flag_op op,
                       uint32_t flags, const char *const *kw, size_t nkw, bool *changed)
{
	struct index *ix = v->store->ix;
	uint64_t modseq = 0;
	struct slice sl;
	if (index_begin(ix) < 0)
		return -1;
	int rc = op != FLAG_OP_REMOVE ? index_mailbox_add_keywords(ix, v->id, kw, nkw) : 0;
	slice_start(&sl);
	for (bool full = false; *i < n && rc == 0 && !full; (*i)++, full = slice_full(&sl))
		rc = store_one(v, &v->msgs[idx[*i]], op, flags, kw, nkw, &modseq, &changed[*i]);
	if (rc == 0 && index_commit(ix) == 0)
		return 0;
	index_rollback(ix);
	return -1;
}

/* A STORE over many messages commits slice by slice: RFC 9051 6.4.6 asks no
 * atomicity of it, and a failure part way leaves each message either
 * changed or not, as a later FETCH shows. */
enum store_rc view_store(struct view *v, const size_t *idx, size_t n, enum flag_op op,
                         uint32_t flags, const char *const *kw, size_t nkw, bool *changed)
{
	size_t i = 0;
	view_own(v);
	do {
		if (i > 0)
			slice_pause();
		if (store_slice(v, idx, n, &i, op, flags, kw, nkw, changed) < 0)
			return STORE_ERROR;
	} while (i < n);
	return STORE_OK;
}

/* ---- COPY and MOVE ---- */

struct placed {
	char *from, *to; /* file names before and after */
};

/* Undoes file placements after a failed transaction: links go, renamed
 * files go back to their old names. */
static void unplace(struct view *v, const char *dst_dir, struct placed *p, size_t n, bool move)
{
	for (size_t i = 0; i < n; i++) {
		if (!p[i].to)
			continue; /* never placed */
		if (move)
			maildir_rename(dst_dir, p[i].to, v->dir, p[i].from);
		else
			maildir_unlink(dst_dir, p[i].to);
	}
}

static int copy_one(struct view *v, int64_t dst_id, const char *dst_dir, uint32_t uid, bool move,
                    struct placed *p, uint32_t *dst_uid)
{
	struct index *ix = v->store->ix;
	struct ix_message m;
	int found = index_message_get(ix, v->id, uid, &m);
	if (found != 0)
		return found > 0 ? 1 : -1; /* 1: expunged since the client was told */
	p->from = xstrdup(m.filename);
	int rc = move ? maildir_move(v->dir, m.filename, dst_dir, m.flags, &p->to)
	              : maildir_link(v->dir, m.filename, dst_dir, m.flags, &p->to);
	if (rc == 0) {
		rc =
		    index_message_add(ix, dst_id, p->to, m.flags, m.keywords, m.internaldate,
		                      m.size, dst_uid) < 0 ||
		            (m.envelope && index_message_set_cache(ix, dst_id, *dst_uid, m.envelope,
		                                                   m.body, m.bodystructure) < 0) ||
		            index_message_copy_header(ix, v->id, uid, dst_id, *dst_uid) < 0 ||
		            (move && index_message_expunge(ix, v->id, uid) < 0)
		        ? -1
		        : 0;
	}
	if (rc == 0 && m.keywords[0]) {
		char *copy = xstrdup(m.keywords), *save = NULL;
		for (char *w = strtok_r(copy, " ", &save); w && rc == 0;
		     w = strtok_r(NULL, " ", &save))
			rc = index_mailbox_add_keywords(ix, dst_id, (const char *const *)&w, 1);
		free(copy);
	}
	index_message_clear(&m);
	return rc;
}

/* A COPY or MOVE under way: its messages go over in slices, each one index
 * transaction around its file links or renames (so a crash leaves each
 * message of a MOVE in exactly one of the two mailboxes), and done counts
 * the messages committed. */
struct copy_job {
	struct view *v;
	const size_t *idx;
	size_t n, done;
	const char *dest;
	char *dst_dir;
	bool move;
	int64_t dst_id; /* 0 until the first slice found the target */
	uint32_t uidvalidity;
	uint32_t *dst_uids;
	struct placed *p;
};

/* Whether every message is still there, looked at before any slice takes
 * the lock: what someone else expunged before the command then fails it
 * whole (RFC 2180 4.4), with nothing copied and nothing moved. One expunged
 * between two slices is still caught, by the slice that meets it. */
static int copy_precheck(const struct copy_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		int rc = index_message_exists(j->v->store->ix, j->v->id, j->v->msgs[j->idx[i]].uid);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The target's row in this slice's transaction: the one the first slice
 * found, or -1 (deleted, or made again, meanwhile). */
static int copy_target(struct copy_job *j, struct ix_mailbox *dst)
{
	int found = index_mailbox_get(j->v->store->ix, j->dest, dst);
	if (found != 0)
		return found > 0 && !j->dst_id ? 2 : -1;
	if (j->dst_id && dst->id != j->dst_id)
		return -1;
	j->dst_id = dst->id;
	j->uidvalidity = dst->uidvalidity;
	return 0;
}

/* The messages from j->done on, one slice's worth, placed and indexed;
 * keeps both mailboxes' stored mtimes current for our own changes. Inside
 * the slice's transaction; *end: where the slice stopped. 1: a message was
 * expunged since the client was told, 2: no target. */
static int copy_messages(struct copy_job *j, struct ix_mailbox *dst, size_t *end)
{
	struct store *s = j->v->store;
	struct ix_mailbox src = {0};
	int64_t src_before[2] = {-1, -1}, dst_before[2] = {-1, -1};
	struct slice sl;
	int rc = copy_target(j, dst);
	if (rc == 0 && index_mailbox_get(s->ix, j->v->name, &src) != 0)
		rc = -1;
	maildir_dir_mtimes(j->v->dir, src_before);
	/* A target whose directories are not its own (a planted symlink) takes
	 * nothing, as in store_append. */
	if (rc == 0 && maildir_dir_mtimes(j->dst_dir, dst_before) < 0)
		rc = -1;
	slice_start(&sl);
	for (bool full = false; *end < j->n && rc == 0 && !full; (*end)++, full = slice_full(&sl))
		rc = copy_one(j->v, dst->id, j->dst_dir, j->v->msgs[j->idx[*end]].uid, j->move,
		              &j->p[*end], &j->dst_uids[*end]);
	if (rc == 0)
		rc = keep_scan_current(s, dst, j->dst_dir, dst_before);
	if (rc == 0 && j->move && src.id != dst->id)
		rc = keep_scan_current(s, &src, j->v->dir, src_before);
	index_mailbox_clear(&src);
	return rc;
}

/* One slice in its own transaction. The files move (or are linked) while we
 * hold the index lock, so no other process can scan either directory half
 * way through; a slice that fails puts its own files back. */
static int copy_slice(struct copy_job *j)
{
	struct store *s = j->v->store;
	struct ix_mailbox dst = {0};
	size_t end = j->done;
	if (index_begin(s->ix) < 0)
		return -1;
	int rc = copy_messages(j, &dst, &end);
	if (rc == 0)
		rc = index_commit(s->ix);
	index_mailbox_clear(&dst);
	if (rc == 0) {
		j->done = end;
		return 0;
	}
	index_rollback(s->ix);
	unplace(j->v, j->dst_dir, j->p + j->done, end - j->done, j->move);
	return rc;
}

/* A COPY that failed in a later slice: RFC 9051 6.4.7 has the server
 * restore the destination to its state before the COPY, so what the earlier
 * slices added is expunged again (in slices too, files after each commit).
 * Their UIDs stay used: UIDNEXT never goes back. A crash before this ends
 * leaves those copies in the destination, each whole and once. */
static void copy_undo(struct copy_job *j)
{
	struct index *ix = j->v->store->ix;
	for (size_t i = 0; i < j->done;) {
		size_t from = i;
		struct slice sl;
		if (index_begin(ix) < 0)
			return;
		slice_start(&sl);
		int rc = 0;
		for (bool full = false; i < j->done && rc == 0 && !full;
		     i++, full = slice_full(&sl))
			rc = index_message_expunge(ix, j->dst_id, j->dst_uids[i]);
		if (rc < 0 || index_commit(ix) < 0) {
			index_rollback(ix);
			log_error("store: %s: could not take back a failed COPY from %s",
			          j->v->store->user, j->dest);
			return;
		}
		for (size_t k = from; k < i; k++)
			maildir_unlink(j->dst_dir, j->p[k].to);
		slice_pause();
	}
}

/* RFC 6851 3.3 on a MOVE that fails part way: "Because a MOVE applies to a
 * set of messages, it might fail partway through the set. Regardless of
 * whether the command is successful in moving the entire set, each
 * individual message SHOULD either be moved or unaffected. The server MUST
 * leave each message in a state where it is in at least one of the source
 * or target mailboxes (no message can be lost or orphaned). The server
 * SHOULD NOT leave any message in both mailboxes (it would be bad for a
 * partial failure to result in a bunch of duplicate messages). This is true
 * even if the server returns a tagged NO response to the command." So the
 * slices a failed MOVE committed stay moved (moving them back would give
 * them new UIDs in the source, which is not "unaffected" either), and the
 * client learns of them from their EXPUNGEs at the next sync. Section 4.3
 * wants COPYUID in an untagged OK before the EXPUNGEs; the caller sends it
 * from dst_uids once the whole MOVE went through, unchanged by slicing. */
enum store_rc view_copy(struct view *v, const size_t *idx, size_t n, const char *dest, bool move,
                        uint32_t *dst_uidvalidity, uint32_t *dst_uids)
{
	struct copy_job j = {
	    .v = v, .idx = idx, .n = n, .dest = dest, .move = move, .dst_uids = dst_uids};
	j.dst_dir = maildir_dir(v->store->paths.maildir, dest);
	j.p = xcalloc(n ? n : 1, sizeof *j.p);
	int rc = copy_precheck(&j);
	while (rc == 0) {
		rc = copy_slice(&j);
		if (rc != 0 || j.done == n)
			break;
		slice_pause();
	}
	if (rc != 0 && !move)
		copy_undo(&j);
	*dst_uidvalidity = j.uidvalidity;
	for (size_t i = 0; i < n; i++) {
		free(j.p[i].from);
		free(j.p[i].to);
	}
	free(j.p);
	free(j.dst_dir);
	return rc == 0   ? STORE_OK
	       : rc == 2 ? STORE_NONEXISTENT
	       : rc > 0  ? STORE_EXPUNGED
	                 : STORE_ERROR;
}
