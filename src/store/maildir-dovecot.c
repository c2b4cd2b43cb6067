#include "store/maildir-dovecot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store/maildir.h"
#include "util/mutf7.h"
#include "util/str.h"

/* Opens dir/name for reading lines; NULL with errno ENOENT when absent. */
static FILE *open_in(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "re");
	free(p);
	return f;
}

static void chomp(char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
}

/* A decimal number from 1 to 2^32-1 at *p, which moves past it. */
static bool read_u32(const char **p, uint32_t *out)
{
	const char *s = *p;
	size_t n = strspn(s, "0123456789");
	uint64_t v;
	if (!str_to_u64(s, n, UINT32_MAX, &v) || v == 0)
		return false;
	*out = (uint32_t)v;
	*p = s + n;
	return true;
}

/* The header: "3 V<uidvalidity> N<nextuid> ..." (version 3), or
 * "1 <uidvalidity> <nextuid>" (version 1). Returns the version or 0. */
static int uidlist_header(const char *line, struct dovecot_uidlist *l)
{
	uint32_t version;
	const char *p = line;
	if (!read_u32(&p, &version))
		return 0;
	if (version == 1) {
		if (*p++ != ' ' || !read_u32(&p, &l->uidvalidity) || *p++ != ' ' ||
		    !read_u32(&p, &l->nextuid))
			return 0;
		return 1;
	}
	if (version != 3)
		return 0;
	while (*p == ' ') {
		p++;
		if (*p == 'V' || *p == 'N') {
			uint32_t *field = *p == 'V' ? &l->uidvalidity : &l->nextuid;
			p++;
			if (!read_u32(&p, field))
				return 0;
		}
		p += strcspn(p, " ");
	}
	return l->uidvalidity && l->nextuid ? 3 : 0;
}

/* A record: "<uid> <filename>" (version 1) or "<uid> [extensions] :<filename>"
 * (version 3). False for a line that is neither. */
static bool uidlist_record(const char *line, int version, struct dovecot_uid *r)
{
	const char *p = line;
	if (!read_u32(&p, &r->uid) || *p != ' ')
		return false;
	const char *name = version == 1 ? p + 1 : strstr(p, " :");
	if (!name)
		return false;
	name += version == 1 ? 0 : 2;
	size_t len = maildir_base_len(name);
	if (len == 0 || memchr(name, '/', len))
		return false;
	r->base = xstrndup(name, len);
	return true;
}

static int uid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dovecot_uid *)a)->base, ((const struct dovecot_uid *)b)->base);
}

/* Reads dir/dovecot-uidlist's header, and its records unless header_only. */
static int uidlist_parse(const char *dir, struct dovecot_uidlist *out, bool header_only)
{
	*out = (struct dovecot_uidlist){0};
	FILE *f = open_in(dir, "dovecot-uidlist");
	if (!f)
		return errno == ENOENT ? 1 : -1;
	char *line = NULL;
	size_t cap = 0, n = 0;
	int version = 0;
	bool ok = getline(&line, &cap, f) > 0;
	if (ok) {
		chomp(line);
		version = uidlist_header(line, out);
		ok = version != 0;
	}
	while (ok && !header_only && getline(&line, &cap, f) > 0) {
		chomp(line);
		if (!*line)
			continue;
		struct dovecot_uid r;
		/* UIDs only grow down the file. The header's next UID may be
		 * older than the lines after it: Dovecot appends records
		 * without rewriting the header. */
		ok = uidlist_record(line, version, &r);
		if (ok && ((out->n && r.uid <= out->uids[out->n - 1].uid) || r.uid == UINT32_MAX)) {
			free(r.base);
			ok = false;
		}
		if (ok && r.uid >= out->nextuid)
			out->nextuid = r.uid + 1;
		if (!ok)
			break;
		if (out->n == n)
			out->uids = xrealloc(out->uids, (n = n ? 2 * n : 64) * sizeof *out->uids);
		out->uids[out->n++] = r;
	}
	ok = ok && !ferror(f);
	free(line);
	fclose(f);
	if (!ok) {
		dovecot_uidlist_free(out);
		return -1;
	}
	if (out->n)
		qsort(out->uids, out->n, sizeof *out->uids, uid_cmp);
	return 0;
}

int dovecot_uidlist_read(const char *dir, struct dovecot_uidlist *out)
{
	return uidlist_parse(dir, out, false);
}

uint32_t dovecot_uidlist_uidvalidity(const char *dir)
{
	struct dovecot_uidlist l;
	return uidlist_parse(dir, &l, true) == 0 ? l.uidvalidity : 0;
}

uint32_t dovecot_uidlist_find(const struct dovecot_uidlist *l, const char *name)
{
	size_t len = maildir_base_len(name);
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *b = l->uids[mid].base;
		int c = strncmp(b, name, len);
		if (c == 0)
			c = b[len] != '\0';
		if (c == 0)
			return l->uids[mid].uid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void dovecot_uidlist_free(struct dovecot_uidlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->uids[i].base);
	free(l->uids);
	*l = (struct dovecot_uidlist){0};
}

int dovecot_mark_imported(const char *dir)
{
	char *p = xasprintf("%s/gannet-imported", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(p);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

bool dovecot_imported(const char *dir)
{
	char *p = xasprintf("%s/gannet-imported", dir);
	bool marked = access(p, F_OK) == 0;
	free(p);
	return marked;
}

/* Lines "<index> <keyword>", index 0 for letter a. */
void dovecot_keywords_read(const char *dir, char *kw[DOVECOT_KEYWORDS])
{
	memset(kw, 0, DOVECOT_KEYWORDS * sizeof *kw);
	FILE *f = open_in(dir, "dovecot-keywords");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		chomp(line);
		char *sp = strchr(line, ' ');
		uint64_t i;
		if (!sp || !str_to_u64(line, (size_t)(sp - line), DOVECOT_KEYWORDS - 1, &i))
			continue;
		const char *word = sp + 1;
		/* An IMAP atom: nothing a FLAGS list could not carry. */
		bool atom = *word != '\0' && !kw[i];
		for (const char *c = word; *c && atom; c++)
			atom = *c > ' ' && *c < 0x7f && !strchr("(){%*\"\\]", *c);
		if (atom)
			kw[i] = xstrdup(word);
	}
	free(line);
	fclose(f);
}

void dovecot_keywords_free(char *kw[DOVECOT_KEYWORDS])
{
	for (int i = 0; i < DOVECOT_KEYWORDS; i++) {
		free(kw[i]);
		kw[i] = NULL;
	}
}

char *dovecot_name_keywords(const char *name, char *const kw[DOVECOT_KEYWORDS])
{
	struct sbuf b = {0};
	const char *info = strstr(name, ":2,");
	for (const char *c = info ? info + 3 : ""; *c; c++) {
		if (*c < 'a' || *c > 'z' || !kw[*c - 'a'])
			continue;
		if (b.len)
			sbuf_addc(&b, ' ');
		sbuf_adds(&b, kw[*c - 'a']);
	}
	return b.s ? sbuf_take(&b) : xstrdup("");
}

/* A subscribed name as Dovecot wrote it, to Gannet's: levels joined by sep
 * ('\t' in version 2 files, '.' before), each in modified UTF-7 or UTF-8. */
static char *subscription_name(const char *line, char sep)
{
	if (strcasecmp(line, "INBOX") == 0)
		return xstrdup("INBOX");
	struct sbuf b = {0};
	for (const char *p = line; *p;) {
		size_t len = strcspn(p, (char[]){sep, '\0'});
		char *u = len ? mutf7_to_utf8(p, len) : NULL;
		if (!u && len && utf8_valid(p, len) && !memchr(p, '&', len))
			u = xstrndup(p, len);
		if (!u || strchr(u, '/')) {
			free(u);
			sbuf_free(&b);
			return NULL;
		}
		if (b.len)
			sbuf_addc(&b, '/');
		sbuf_adds(&b, u);
		free(u);
		p += len + (p[len] ? 1 : 0);
	}
	return b.s ? sbuf_take(&b) : NULL;
}

int dovecot_subscriptions_read(const char *root, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	FILE *f = open_in(root, "subscriptions");
	if (!f)
		return errno == ENOENT ? 1 : -1;
	char *line = NULL;
	size_t cap = 0, size = 0;
	char sep = '.';
	bool first = true;
	while (getline(&line, &cap, f) > 0) {
		chomp(line);
		if (first && strncmp(line, "V\t", 2) == 0) {
			sep = '\t'; /* version 2: a header line, then an empty one */
			first = false;
			continue;
		}
		first = false;
		char *name = *line ? subscription_name(line, sep) : NULL;
		if (!name)
			continue;
		if (*n == size)
			*names = xrealloc(*names, (size = size ? 2 * size : 16) * sizeof **names);
		(*names)[(*n)++] = name;
	}
	free(line);
	fclose(f);
	return 0;
}
