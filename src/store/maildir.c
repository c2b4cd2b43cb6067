#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/mutf7.h"
#include "util/str.h"

/* Appends the on-disk form of one name component; false if it has none,
 * so a name that cannot be mapped never turns into the root's own path. */
static bool escape_component(struct sbuf *out, const char *utf8, size_t len)
{
	char *m = utf8_to_mutf7(utf8, len);
	if (!m || !*m) {
		free(m);
		return false;
	}
	for (const char *c = m; *c; c++) {
		if (*c == '.')
			sbuf_adds(out, "%2E");
		else if (*c == '%')
			sbuf_adds(out, "%25");
		else
			sbuf_addc(out, *c);
	}
	free(m);
	return true;
}

char *maildir_dir(const char *root, const char *name)
{
	if (strcmp(name, "INBOX") == 0)
		return xstrdup(root);
	if (name[0] == '\0')
		return NULL;
	struct sbuf b = {0};
	sbuf_printf(&b, "%s/", root);
	for (const char *p = name; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0) {
			sbuf_free(&b);
			return NULL;
		}
		sbuf_addc(&b, '.');
		if (!escape_component(&b, p, len)) {
			sbuf_free(&b);
			return NULL;
		}
		p += len + (slash ? 1 : 0);
	}
	return sbuf_take(&b);
}

/* Symlinks. Names never leave the Maildir (maildir_dir escapes them), but
 * whoever has shell access to it could plant a link: a folder, its tmp/ new/
 * cur/, or a message file pointing outside the user's tree, for the server
 * to write or read through. None is followed: a folder that is a link, or
 * whose tmp/ new/ cur/ is one, is refused (every call on it fails), and a
 * message file that is a link is no message. The Maildir root itself may be
 * a link: that is the administrator's choice, not the user's. Checked with
 * lstat before each use; a link swapped in between check and use is not
 * caught, but message files are opened with O_NOFOLLOW regardless. */
static bool real_dir(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return false;
	if (!S_ISDIR(st.st_mode)) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
		return false;
	}
	return true;
}

/* A folder's directory is ".Name"; INBOX's is the root. */
static bool is_folder(const char *dir)
{
	const char *base = strrchr(dir, '/');
	return base && base[1] == '.';
}

/* dir (if a folder) and dir/sub (if sub) are real directories, not links. */
static bool dir_ok(const char *dir, const char *sub)
{
	if (!dir || (is_folder(dir) && !real_dir(dir)))
		return false;
	if (!sub)
		return true;
	char *p = xasprintf("%s/%s", dir, sub);
	bool ok = real_dir(p);
	free(p);
	return ok;
}

/* A message file: a regular file, not a link to one. */
static bool regular_file(const char *path, struct stat *st)
{
	if (lstat(path, st) < 0)
		return false;
	if (!S_ISREG(st->st_mode)) {
		errno = S_ISLNK(st->st_mode) ? ELOOP : EINVAL;
		return false;
	}
	return true;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* The mailbox name of a folder directory ".A.B" (the inverse of
 * maildir_dir), or NULL when the directory is not one maildir_dir makes. */
static char *folder_name(const char *root, const char *entry)
{
	struct sbuf b = {0};
	for (const char *p = entry + 1; *p;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		struct sbuf m = {0};
		for (size_t i = 0; i < len; i++) {
			if (strncmp(p + i, "%2E", 3) == 0 && i + 3 <= len) {
				sbuf_addc(&m, '.');
				i += 2;
			} else if (strncmp(p + i, "%25", 3) == 0 && i + 3 <= len) {
				sbuf_addc(&m, '%');
				i += 2;
			} else {
				sbuf_addc(&m, p[i]);
			}
		}
		char *u = len ? mutf7_to_utf8(m.s ? m.s : "", m.len) : NULL;
		sbuf_free(&m);
		if (!u) {
			sbuf_free(&b);
			return NULL;
		}
		if (b.len)
			sbuf_addc(&b, '/');
		sbuf_adds(&b, u);
		free(u);
		p += len + (dot ? 1 : 0);
		if (dot && !*p) {
			sbuf_free(&b);
			return NULL; /* a trailing dot: an empty level */
		}
	}
	char *name = sbuf_take(&b);
	/* Only a name that maps back to this very directory: no second
	 * spelling of a folder, and nothing maildir_dir would refuse. */
	char *again = name && *name ? maildir_dir(root, name) : NULL;
	char *want = xasprintf("%s/%s", root, entry);
	bool same = again && strcmp(again, want) == 0;
	free(again);
	free(want);
	if (!same) {
		free(name);
		return NULL;
	}
	return name;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int maildir_folders(const char *root, char ***names, size_t *n)
{
	DIR *d = opendir(root);
	if (!d)
		return -1;
	size_t count = 0, cap = 16;
	char **v = xmalloc(cap * sizeof *v);
	v[count++] = xstrdup("INBOX");
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		char *path = xasprintf("%s/%s", root, e->d_name);
		bool folder = real_dir(path);
		free(path);
		char *name = folder ? folder_name(root, e->d_name) : NULL;
		if (!name)
			continue;
		if (count == cap)
			v = xrealloc(v, (cap *= 2) * sizeof *v);
		v[count++] = name;
	}
	closedir(d);
	qsort(v + 1, count - 1, sizeof *v, name_cmp);
	*names = v;
	*n = count;
	return 0;
}

int maildir_create(const char *dir, bool sub)
{
	if (!dir)
		return -1; /* a name maildir_dir could not map */
	static const char *subdirs[] = {"tmp", "new", "cur"};
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || !dir_ok(dir, NULL))
		return -1;
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, subdirs[i]);
		int rc = mkdir(p, 0700);
		/* An existing folder's tmp/ new/ cur/ must be its own. (The root's
		 * are checked when used, so a planted link cannot stop a login.) */
		if (rc < 0 && errno == EEXIST)
			rc = sub && !real_dir(p) ? -1 : 0;
		free(p);
		if (rc < 0)
			return -1;
	}
	if (sub) {
		char *p = xasprintf("%s/maildirfolder", dir);
		int fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		free(p);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return fsync_dir(dir);
}

static int remove_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		if (unlink(p) < 0 && errno != ENOENT)
			rc = -1;
		free(p);
	}
	closedir(d);
	return rc;
}

int maildir_remove(const char *dir)
{
	if (!dir)
		return -1; /* a name maildir_dir could not map */
	/* A link goes, not what it points at. */
	if (is_folder(dir) && !real_dir(dir) && errno == ELOOP)
		return unlink(dir);
	static const char *subdirs[] = {"tmp", "new", "cur"};
	int rc = 0;
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, subdirs[i]);
		if (!real_dir(p) && errno == ELOOP) {
			if (unlink(p) < 0)
				rc = -1;
		} else if (remove_files(p) < 0 || (rmdir(p) < 0 && errno != ENOENT)) {
			rc = -1;
		}
		free(p);
	}
	if (remove_files(dir) < 0 || (rmdir(dir) < 0 && errno != ENOENT))
		rc = -1;
	return rc;
}

/* time.MusecPpidQcount.host: unique across processes and hosts, as the
 * Maildir specification asks. */
static char *unique_name(void)
{
	/* Per process, shared by the worker's threads: two names made in the
	 * same microsecond must still differ, or a rename would replace a
	 * message. */
	static _Atomic unsigned counter;
	struct timeval tv;
	char host[256];
	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	struct sbuf b = {0};
	sbuf_printf(&b, "%lld.M%ldP%dQ%u.", (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(),
	            atomic_fetch_add(&counter, 1) + 1);
	for (const char *h = host; *h; h++) {
		if (*h == '/')
			sbuf_adds(&b, "\\057");
		else if (*h == ':')
			sbuf_adds(&b, "\\072");
		else
			sbuf_addc(&b, *h);
	}
	return sbuf_take(&b);
}

int maildir_tmpfile(const char *dir, int *fd, char **path)
{
	if (!dir_ok(dir, "tmp"))
		return -1; /* a name maildir_dir could not map, or a link */
	for (int attempt = 0; attempt < 10; attempt++) {
		char *name = unique_name();
		char *p = xasprintf("%s/tmp/%s", dir, name);
		free(name);
		*fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd >= 0) {
			*path = p;
			return 0;
		}
		free(p);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static void add_info(struct sbuf *b, uint32_t flags)
{
	/* Maildir info letters, in ASCII order as the specification requires. */
	sbuf_adds(b, ":2,");
	if (flags & FLAG_DRAFT)
		sbuf_addc(b, 'D');
	if (flags & FLAG_FLAGGED)
		sbuf_addc(b, 'F');
	if (flags & FLAG_ANSWERED)
		sbuf_addc(b, 'R');
	if (flags & FLAG_SEEN)
		sbuf_addc(b, 'S');
	if (flags & FLAG_DELETED)
		sbuf_addc(b, 'T');
}

static char *cur_name(uint32_t flags, uint64_t size)
{
	char *u = unique_name();
	struct sbuf b = {0};
	sbuf_printf(&b, "%s,S=%llu", u, (unsigned long long)size);
	add_info(&b, flags);
	free(u);
	return sbuf_take(&b);
}

/* Renames src into dir/cur/ under a fresh unique name and makes the rename
 * durable by fsyncing the directory. */
static int install(const char *src, const char *dir, uint32_t flags, uint64_t size, char **name,
                   bool keep_src)
{
	if (!dir_ok(dir, "cur"))
		return -1; /* a name maildir_dir could not map, or a link */
	char *n = cur_name(flags, size);
	char *dst = xasprintf("%s/cur/%s", dir, n);
	int rc = keep_src ? link(src, dst) : rename(src, dst);
	int err = errno; /* place() looks at why a link failed */
	free(dst);
	if (rc == 0) {
		char *cur = xasprintf("%s/cur", dir);
		rc = fsync_dir(cur);
		err = errno;
		free(cur);
	}
	if (rc < 0) {
		free(n);
		errno = err;
		return -1;
	}
	*name = n;
	return 0;
}

int maildir_commit(const char *tmp_path, const char *dir, uint32_t flags, time_t mtime, char **name)
{
	int fd = open(tmp_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0 || fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
	futimens(fd, times); /* INTERNALDATE as mtime helps an index rebuild; not vital */
	close(fd);
	return install(tmp_path, dir, flags, (uint64_t)st.st_size, name, false);
}

int maildir_unlink(const char *dir, const char *name)
{
	if (!dir_ok(dir, "cur"))
		return -1; /* a name maildir_dir could not map, or a link */
	char *p = xasprintf("%s/cur/%s", dir, name);
	int rc = unlink(p);
	free(p);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

size_t maildir_base_len(const char *name)
{
	const char *colon = strchr(name, ':');
	return colon ? (size_t)(colon - name) : strlen(name);
}

int maildir_base_cmp(const char *a, const char *b)
{
	size_t la = maildir_base_len(a), lb = maildir_base_len(b);
	int c = strncmp(a, b, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

uint32_t maildir_info_flags(const char *name)
{
	const char *info = strstr(name, ":2,");
	uint32_t flags = 0;
	if (!info)
		return 0;
	for (info += 3; *info; info++) {
		switch (*info) {
		case 'D':
			flags |= FLAG_DRAFT;
			break;
		case 'F':
			flags |= FLAG_FLAGGED;
			break;
		case 'R':
			flags |= FLAG_ANSWERED;
			break;
		case 'S':
			flags |= FLAG_SEEN;
			break;
		case 'T':
			flags |= FLAG_DELETED;
			break;
		default:
			break;
		}
	}
	return flags;
}

static void files_add(struct maildir_file **f, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap)
		*f = xrealloc(*f, (*cap = *cap ? *cap * 2 : 64) * sizeof **f);
	(*f)[*n].name = xstrdup(name);
	(*f)[*n].flags = maildir_info_flags(name);
	(*n)++;
}

/* Files an MTA delivered into new/ move to cur/ with an empty info suffix;
 * the names they got in cur/ are added to f. */
static int adopt_new(const char *dir, size_t max, struct maildir_file **f, size_t *n, size_t *cap)
{
	if (!dir_ok(dir, "new") || !dir_ok(dir, "cur"))
		return -1;
	char *newdir = xasprintf("%s/new", dir);
	DIR *d = opendir(newdir);
	struct dirent *e;
	for (size_t moved = 0; d && moved < max && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		moved++;
		char *src = xasprintf("%s/%s", newdir, e->d_name);
		char *name =
		    strchr(e->d_name, ':') ? xstrdup(e->d_name) : xasprintf("%s:2,", e->d_name);
		char *dst = xasprintf("%s/cur/%s", dir, name);
		/* ENOENT: another process adopted it first */
		if (rename(src, dst) == 0 && f)
			files_add(f, n, cap, name);
		free(src);
		free(dst);
		free(name);
	}
	if (d)
		closedir(d);
	free(newdir);
	return d ? 0 : -1;
}

int maildir_take_new(const char *dir, size_t max, struct maildir_file **files, size_t *n)
{
	size_t cap = 0;
	*files = NULL;
	*n = 0;
	if (!dir)
		return -1;
	return adopt_new(dir, max, files, n, &cap);
}

static int path_stat(const char *p, uint64_t *vsize, time_t *mtime);

/* Size with bare LFs counted as CRLF (that is, the size after maildir_crlf). */
static int path_stat(const char *p, uint64_t *vsize, time_t *mtime)
{
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char buf[65536];
	uint64_t size = 0;
	char prev = '\0'; /* the byte before buf[0] */
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		/* memchr from LF to LF: files are read once on arrival, and a
		 * mailbox imported whole is gigabytes */
		for (const char *lf = memchr(buf, '\n', (size_t)n); lf;
		     lf = memchr(lf + 1, '\n', (size_t)(buf + n - lf - 1)))
			if ((lf == buf ? prev : lf[-1]) != '\r')
				size++;
		prev = buf[n - 1];
		size += (uint64_t)n;
	}
	close(fd);
	if (n < 0)
		return -1;
	*vsize = size;
	*mtime = st.st_mtime;
	return 0;
}

int maildir_dir_mtimes(const char *dir, int64_t mtimes[2])
{
	/* Every sync and every APPEND, COPY and MOVE target starts here: a
	 * folder with a link for itself or its tmp/ is refused too. */
	if (!dir_ok(dir, "tmp"))
		return -1; /* a name maildir_dir could not map, or a link */
	static const char *subdirs[] = {"new", "cur"};
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, subdirs[i]);
		struct stat st;
		int rc = lstat(p, &st);
		free(p);
		if (rc == 0 && !S_ISDIR(st.st_mode)) {
			errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
			rc = -1;
		}
		if (rc < 0)
			return -1;
		mtimes[i] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	return 0;
}

/* The files in dir/cur/; nothing on failure. */
static int list_cur(const char *dir, struct maildir_file **files, size_t *n)
{
	char *cur = xasprintf("%s/cur", dir);
	DIR *d = opendir(cur);
	free(cur);
	*files = NULL;
	*n = 0;
	if (!d)
		return -1;
	size_t cap = 64, count = 0;
	struct maildir_file *f = xmalloc(cap * sizeof *f);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			files_add(&f, &count, &cap, e->d_name);
	closedir(d);
	*files = f;
	*n = count;
	return 0;
}

int maildir_list(const char *dir, struct maildir_file **files, size_t *n)
{
	if (!dir_ok(dir, "cur"))
		return -1; /* a name maildir_dir could not map, or a link */
	adopt_new(dir, SIZE_MAX, NULL, NULL, NULL);
	return list_cur(dir, files, n);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

int maildir_peek(const char *dir, struct maildir_file **files, size_t *n, size_t *waiting)
{
	if (!dir_ok(dir, "cur"))
		return -1;
	char *new = maildir_sub(dir, "new");
	*waiting = count_entries(new);
	free(new);
	return list_cur(dir, files, n);
}

void maildir_files_free(struct maildir_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i].name);
	free(files);
}

/* Copies fd to out with every bare LF turned into CRLF. */
static int copy_crlf(int in, int out)
{
	char buf[65536], obuf[2 * 65536];
	char prev = '\0';
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		size_t o = 0;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && prev != '\r')
				obuf[o++] = '\r';
			obuf[o++] = buf[i];
			prev = buf[i];
		}
		for (size_t done = 0; done < o;) {
			ssize_t w = write(out, obuf + done, o - done);
			if (w < 0)
				return -1;
			done += (size_t)w;
		}
	}
	return n < 0 ? -1 : 0;
}

/* A copy of the file at src in dir's tmp/, with CRLF line ends and src's
 * mtime, fsync'd; *tmp names it, for the caller to rename or install (and
 * to unlink if that fails). */
static int copy_into_tmp(const char *dir, const char *src, char **tmp)
{
	int out, in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0 || maildir_tmpfile(dir, &out, tmp) < 0) {
		if (in >= 0)
			close(in);
		return -1;
	}
	struct timespec times[2] = {st.st_mtim, st.st_mtim};
	int rc = copy_crlf(in, out) < 0 || futimens(out, times) < 0 || fsync(out) < 0 ? -1 : 0;
	close(in);
	close(out);
	if (rc < 0) {
		unlink(*tmp);
		free(*tmp);
	}
	return rc;
}

int maildir_crlf(const char *dir, const char *path, uint64_t *size, time_t *mtime)
{
	uint64_t vsize;
	struct stat st;
	char *tmp;
	if (!dir || !regular_file(path, &st) || path_stat(path, &vsize, mtime) < 0)
		return -1;
	*size = vsize;
	if (vsize == (uint64_t)st.st_size)
		return 0;
	if (copy_into_tmp(dir, path, &tmp) < 0)
		return -1;
	int rc = rename(tmp, path);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* COPY where the kernel refuses the hard link: a file the mail user does
 * not own (fs.protected_hardlinks: an MTA or an administrator left it
 * root's) or, one day, another file system. The message is copied into
 * tmp/, fsync'd and installed like an APPEND, keeping its mtime. */
static int install_copy(const char *src, const char *dir, uint32_t flags, uint64_t size,
                        char **name)
{
	char *tmp;
	if (copy_into_tmp(dir, src, &tmp) < 0)
		return -1;
	int rc = install(tmp, dir, flags, size, name, false);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int place(const char *dir_from, const char *name, const char *dir_to, uint32_t flags,
                 char **new_name, bool keep)
{
	if (!dir_ok(dir_from, "cur"))
		return -1;
	char *src = xasprintf("%s/cur/%s", dir_from, name);
	struct stat st;
	int rc = !regular_file(src, &st)
	             ? -1
	             : install(src, dir_to, flags, (uint64_t)st.st_size, new_name, keep);
	if (rc < 0 && keep && (errno == EPERM || errno == EXDEV))
		rc = install_copy(src, dir_to, flags, (uint64_t)st.st_size, new_name);
	free(src);
	return rc;
}

int maildir_move(const char *dir_from, const char *name, const char *dir_to, uint32_t flags,
                 char **new_name)
{
	return place(dir_from, name, dir_to, flags, new_name, false);
}

int maildir_link(const char *dir_from, const char *name, const char *dir_to, uint32_t flags,
                 char **new_name)
{
	return place(dir_from, name, dir_to, flags, new_name, true);
}

int maildir_open(const char *dir, const char *name, int *fd, uint64_t *size)
{
	if (!dir_ok(dir, "cur"))
		return -1;
	char *p = xasprintf("%s/cur/%s", dir, name);
	*fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	struct stat st;
	if (*fd < 0 || fstat(*fd, &st) < 0) {
		if (*fd >= 0)
			close(*fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

char *maildir_cur_path(const char *dir, const char *name)
{
	return dir ? xasprintf("%s/cur/%s", dir, name) : NULL;
}

char *maildir_sub(const char *dir, const char *sub)
{
	return dir ? xasprintf("%s/%s", dir, sub) : NULL;
}

int maildir_rename(const char *dir_from, const char *name_from, const char *dir_to,
                   const char *name_to)
{
	if (!dir_ok(dir_from, "cur") || !dir_ok(dir_to, "cur"))
		return -1;
	char *a = xasprintf("%s/cur/%s", dir_from, name_from);
	char *b = xasprintf("%s/cur/%s", dir_to, name_to);
	int rc = rename(a, b);
	free(a);
	free(b);
	return rc;
}

int maildir_read_header(const char *path, size_t cap, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char *buf = xmalloc(cap + 1);
	ssize_t got = pread(fd, buf, cap, 0);
	close(fd);
	if (got < 0) {
		free(buf);
		return -1;
	}
	/* the header ends with the first empty line (CRLF files: "\r\n\r\n") */
	const char *end = memmem(buf, (size_t)got, "\r\n\r\n", 4);
	if (!end && (size_t)got == cap) {
		free(buf);
		return -1; /* longer than we keep */
	}
	*len = end ? (size_t)(end - buf) + 4 : (size_t)got;
	buf[*len] = '\0';
	*out = buf;
	return 0;
}
