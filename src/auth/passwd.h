/* The password file: one "name:hash" line per user.
 *
 * Hashes are crypt(3) strings from libxcrypt. New ones are yescrypt; any
 * "$id$..." hash crypt_r understands verifies (yescrypt, bcrypt $2b$,
 * SHA-512-crypt $6$), so existing Dovecot or shadow hashes can be pasted in.
 * Anything after a second ':' on a line is ignored (so shadow(5) lines work)
 * and dropped when that user's line is rewritten. Hashes not in "$id$" form
 * (traditional DES, empty, locked "!..." or "*...") never verify.
 * Blank lines and lines starting with '#' are kept as they are and ignored.
 * If a name appears twice, the first line counts; a change or delete
 * removes the later ones too.
 *
 * Writers take flock on "PATH.lock" (left in place: removing a lock file
 * races with the next locker) and replace PATH by renaming "PATH.tmp" over
 * it, so readers never lock and always see a whole file. Passwords are never
 * logged or printed. */
#ifndef GANNET_AUTH_PASSWD_H
#define GANNET_AUTH_PASSWD_H

#include <stdbool.h>

/* Longest password passwd_set accepts and passwd_verify checks, in bytes:
 * libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE less its NUL. */
#define PASSWD_MAX 511

enum passwd_mode {
	PASSWD_ADD,    /* the user must not exist yet */
	PASSWD_CHANGE, /* the user must exist */
};

/* Return codes of passwd_set and passwd_delete. */
enum {
	PASSWD_OK = 0,
	PASSWD_EIO = -1,    /* I/O error; errno says why */
	PASSWD_EEXIST = -2, /* PASSWD_ADD of an existing user */
	PASSWD_ENOENT = -3, /* PASSWD_CHANGE or delete of a missing user */
	PASSWD_EINVAL = -4, /* invalid name, or empty or over-long password */
};

/* 1..64 characters of [A-Za-z0-9._@+-], not starting with '.' or '-'. The
 * name is used as a directory name, so "." and ".." must be impossible. */
bool user_name_valid(const char *name);

/* Returns 0 if user has a line in the file at path and password matches its
 * hash, -1 otherwise. An unknown or invalid user costs the same crypt_r work
 * as a known one. On -1, errno is 0 if the credentials were simply wrong, or
 * says why the file could not be read (worth logging: every login fails). */
int passwd_verify(const char *path, const char *user, const char *password);

/* Adds or changes user's password (see enum passwd_mode), creating the file
 * (mode 0600) if it is missing. Returns a PASSWD_* code. */
int passwd_set(const char *path, const char *user, const char *password, enum passwd_mode mode);

/* Removes user's line(s). Returns PASSWD_OK, PASSWD_ENOENT, PASSWD_EINVAL
 * or PASSWD_EIO. */
int passwd_delete(const char *path, const char *user);

/* Calls cb once per line with a valid user name, in file order. A missing
 * file lists nobody. Returns 0, or -1 if the file could not be read. */
int passwd_list(const char *path, void (*cb)(const char *user, void *arg), void *arg);
/* 1 if user has a line in the file, 0 if not, -1 if it cannot be read. */
int passwd_has_user(const char *path, const char *user);

#endif
