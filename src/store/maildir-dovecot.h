/* Dovecot's own files in a Maildir++ tree, read when Gannet imports one
 * (store/rebuild.c), so clients keep their UIDs and need not download
 * everything again. Read only: Gannet never writes them.
 *
 * dovecot-uidlist (per folder): UIDVALIDITY, the next UID and each file's
 * UID. dovecot-keywords (per folder): which keyword each of the info
 * suffix's letters a-z stands for. subscriptions (in the root): the
 * subscribed names. */
#ifndef GANNET_STORE_MAILDIR_DOVECOT_H
#define GANNET_STORE_MAILDIR_DOVECOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dovecot_uid {
	char *base; /* file name up to its ':' */
	uint32_t uid;
};

struct dovecot_uidlist {
	uint32_t uidvalidity, nextuid;
	struct dovecot_uid *uids; /* sorted by base */
	size_t n;
};

/* dir/dovecot-uidlist: 0 read, 1 there is none, -1 unreadable or not one
 * Gannet understands (then nothing of it is used). */
int dovecot_uidlist_read(const char *dir, struct dovecot_uidlist *out);
/* The UIDVALIDITY in dir/dovecot-uidlist's header (its first line only), or
 * 0 when there is none. */
uint32_t dovecot_uidlist_uidvalidity(const char *dir);
/* The UID the list gives the file name (any info suffix ignored), or 0. */
uint32_t dovecot_uidlist_find(const struct dovecot_uidlist *l, const char *name);
void dovecot_uidlist_free(struct dovecot_uidlist *l);

/* Once Gannet has imported a folder, its dovecot-uidlist is history: Gannet
 * gives UIDs past it that the list does not know, so a later rebuild must
 * not take them from it again (it could give an expunged UID to another
 * message). The mark is the file gannet-imported in the folder. */
int dovecot_mark_imported(const char *dir);
bool dovecot_imported(const char *dir);

#define DOVECOT_KEYWORDS 26
/* dir/dovecot-keywords: kw[i] is the keyword of letter 'a' + i, or NULL. */
void dovecot_keywords_read(const char *dir, char *kw[DOVECOT_KEYWORDS]);
void dovecot_keywords_free(char *kw[DOVECOT_KEYWORDS]);
/* The keywords of a file name's info letters, space-separated; caller frees. */
char *dovecot_name_keywords(const char *name, char *const kw[DOVECOT_KEYWORDS]);

/* root/subscriptions as mailbox names with '/' between levels: 0 read, 1
 * there is none, -1 unreadable. */
int dovecot_subscriptions_read(const char *root, char ***names, size_t *n);

#endif
