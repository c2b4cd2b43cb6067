/* Who touches the mail. Mail is never read or written as root: a gannet
 * started as root binds its ports and reads the TLS key as root (the master
 * stays root for SIGHUP), but every worker, and every other subcommand,
 * first becomes the mail user: the one named by --user, or else the owner
 * of the data directory. When that would be root, gannet refuses to run.
 * Started as anyone else, gannet runs as that user and changes nothing. */
#ifndef GANNET_SERVER_PRIVS_H
#define GANNET_SERVER_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

struct privs {
	bool change; /* started as root: become uid/gid */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Decides the mail user; false (with a message on stderr and in the log)
 * when there is none that is not root, or run_as is unknown, or the data
 * directory belongs to someone else. */
bool privs_resolve(const char *run_as, const char *data_dir, struct privs *out);
/* Becomes the mail user for good; false (logged) on any failure. */
bool privs_drop(const struct privs *p);

#endif
