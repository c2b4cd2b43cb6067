#include "server/privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

static bool refuse(const char *fmt, const char *a, const char *b)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, a, b);
	fprintf(stderr, "gannet: %s\n", msg);
	log_error("%s", msg);
	return false;
}

static bool lookup(const char *name, uid_t uid, struct privs *out)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = name ? getpwnam_r(name, &pw, buf, sizeof buf, &res)
	              : getpwuid_r(uid, &pw, buf, sizeof buf, &res);
	if (rc != 0 || !res)
		return false;
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	snprintf(out->name, sizeof out->name, "%s", pw.pw_name);
	return true;
}

bool privs_resolve(const char *run_as, const char *data_dir, struct privs *out)
{
	*out = (struct privs){0};
	struct stat st;
	bool have_dir = data_dir && stat(data_dir, &st) == 0;
	if (geteuid() != 0) {
		if (run_as && (!lookup(run_as, 0, out) || out->uid != geteuid()))
			return refuse("--user %s: only root can become another user%s", run_as, "");
		return true;
	}
	if (run_as && !lookup(run_as, 0, out))
		return refuse("--user %s: no such user%s", run_as, "");
	if (!run_as && (!have_dir || !lookup(NULL, st.st_uid, out)))
		return refuse("refusing to touch mail as root: give --user NAME, or make %s "
		              "belong to the mail user%s",
		              data_dir ? data_dir : "the data directory", "");
	if (out->uid == 0)
		return refuse("refusing to touch mail as root (%s): make %s belong to another user",
		              out->name, data_dir ? data_dir : "the data directory");
	if (have_dir && st.st_uid != out->uid)
		return refuse("%s belongs to another user than %s", data_dir, out->name);
	out->change = true;
	return true;
}

bool privs_drop(const struct privs *p)
{
	if (!p->change)
		return true;
	if (setgroups(0, NULL) != 0 || initgroups(p->name, p->gid) != 0 || setgid(p->gid) != 0 ||
	    setuid(p->uid) != 0) {
		log_error("cannot become %s: %s", p->name, strerror(errno));
		return false;
	}
	/* setuid from root drops the saved uid too; make sure there is no way back. */
	if (setuid(0) == 0 || geteuid() != p->uid) {
		log_error("still able to become root after switching to %s", p->name);
		return false;
	}
	return true;
}
