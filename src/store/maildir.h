/* Maildir++ files (the only module that builds file paths for mail).
 *
 * A user's tree has INBOX at its root and each other mailbox in a directory
 * ".A.B" for the mailbox "A/B", as Dovecot and Courier lay it out; a name
 * component is stored in modified UTF-7 with '.' and '%' escaped as %2E and
 * %25, so any valid mailbox name maps to one plain directory name and none can
 * reach outside the tree. Messages are written to tmp/, fsync'd and renamed
 * into cur/ with their flags in the ":2,FLAGS" suffix. */
#ifndef GANNET_STORE_MAILDIR_H
#define GANNET_STORE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* IMAP system flags as the store keeps them. */
enum {
	FLAG_SEEN = 1 << 0,
	FLAG_ANSWERED = 1 << 1,
	FLAG_FLAGGED = 1 << 2,
	FLAG_DELETED = 1 << 3,
	FLAG_DRAFT = 1 << 4,
};

/* The directory of a mailbox (UTF-8 name) below root; NULL if the name cannot
 * be mapped. Caller frees. Every function below fails on a NULL dir, so an
 * unmappable name can never act on the root (INBOX) by mistake. */
char *maildir_dir(const char *root, const char *name);
/* The mailboxes whose directories are in the tree at root: "INBOX" first,
 * then every folder directory (not a link) that maildir_dir would make for
 * its name, sorted. Others (another program's spelling) are left out. */
int maildir_folders(const char *root, char ***names, size_t *n);
/* Creates dir with tmp/ new/ cur/ (and the maildirfolder marker when sub). */
int maildir_create(const char *dir, bool sub);
/* Removes a mailbox directory and the messages in it (not its children,
 * which are separate directories). */
int maildir_remove(const char *dir);

/* Opens a new unique file in dir/tmp/ for writing; *path is owned by the caller. */
int maildir_tmpfile(const char *dir, int *fd, char **path);
/* fsyncs the file at tmp_path, renames it into dir/cur/ as a new unique name
 * with the flags' info suffix, and fsyncs dir/cur/. *name gets the new file
 * name (caller frees). */
int maildir_commit(const char *tmp_path, const char *dir, uint32_t flags, time_t mtime,
                   char **name);
/* Moves dir_from/cur/name to dir_to/cur/ under a fresh unique name. */
int maildir_move(const char *dir_from, const char *name, const char *dir_to, uint32_t flags,
                 char **new_name);
int maildir_unlink(const char *dir, const char *name);

struct maildir_file {
	char *name;     /* full name in cur/ */
	uint32_t flags; /* from the info suffix */
};

/* Moves files found in new/ into cur/, then lists cur/ (names and the flags
 * of their info suffix; sizes come from maildir_crlf). */
int maildir_list(const char *dir, struct maildir_file **files, size_t *n);
/* Lists cur/ as maildir_list does, and counts the files waiting in new/,
 * moving nothing (gannet index check). */
int maildir_peek(const char *dir, struct maildir_file **files, size_t *n, size_t *waiting);
/* Moves what an MTA delivered into new/ to cur/, at most max files (a
 * slice's worth: the rest wait in new/ for the next call); files gets their
 * names in cur/. */
int maildir_take_new(const char *dir, size_t max, struct maildir_file **files, size_t *n);
/* mtimes of new/ and cur/ in nanoseconds: unchanged means nothing to scan. */
int maildir_dir_mtimes(const char *dir, int64_t mtimes[2]);
void maildir_files_free(struct maildir_file *files, size_t n);

/* Rewrites the file at path (in dir's tmp/ or cur/) with CRLF line ends if it
 * has a bare LF, keeping its name and mtime; *size is the resulting size.
 * IMAP serves CRLF, and a file that already is CRLF can be sent as it is. */
int maildir_crlf(const char *dir, const char *path, uint64_t *size, time_t *mtime);
/* Hard-links dir_from/cur/name into dir_to/cur/ under a fresh name (COPY:
 * Maildir files never change, so a link is a copy). */
int maildir_link(const char *dir_from, const char *name, const char *dir_to, uint32_t flags,
                 char **new_name);
/* Renames dir_from/cur/name_from to dir_to/cur/name_to (undoing a move). */
int maildir_rename(const char *dir_from, const char *name_from, const char *dir_to,
                   const char *name_to);
/* Reads the header block (up to and with the first empty line) of the file
 * at path; -1 if it is longer than cap or cannot be read. *out is malloc'd. */
int maildir_read_header(const char *path, size_t cap, char **out, size_t *len);
/* Opens cur/name for reading. */
int maildir_open(const char *dir, const char *name, int *fd, uint64_t *size);
char *maildir_cur_path(const char *dir, const char *name);
/* dir/sub: "new", "cur" or "tmp". */
char *maildir_sub(const char *dir, const char *sub);

/* The base of a file name: everything before the ":2," info part. */
size_t maildir_base_len(const char *name);
uint32_t maildir_info_flags(const char *name);
/* Orders file names by their base (the name before the info suffix), which
 * stays the same when a file's flags change. */
int maildir_base_cmp(const char *a, const char *b);

#endif
