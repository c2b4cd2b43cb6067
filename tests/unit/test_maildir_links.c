/* maildir.c never follows a symlink planted in a Maildir: a folder that is a
 * link (or whose tmp/ new/ cur/ is one) is refused, DELETE removes the link
 * and not its target, and a message file that is a link is not opened. */
#include "store/maildir.h"
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/gannet-unit-links-XXXXXX";

static char *path(const char *rel)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
	return buf[k];
}

static bool exists(const char *rel)
{
	struct stat st;
	return lstat(path(rel), &st) == 0;
}

static void touch(const char *rel)
{
	int fd = open(path(rel), O_WRONLY | O_CREAT, 0600);
	if (fd >= 0) {
		CHECK(write(fd, "Subject: x\r\n\r\nsecret\r\n", 22) == 22);
		close(fd);
	}
}

static void test_folder_link(void)
{
	/* Maildir/.evil -> outside */
	mkdir(path("outside"), 0700);
	CHECK(symlink(path("outside"), path("Maildir/.evil")) == 0);
	CHECK(maildir_create(path("Maildir/.evil"), true) < 0);
	CHECK(!exists("outside/cur") && !exists("outside/maildirfolder"));
	int fd;
	char *tmp = NULL;
	CHECK(maildir_tmpfile(path("Maildir/.evil"), &fd, &tmp) < 0);
	int64_t mt[2];
	CHECK(maildir_dir_mtimes(path("Maildir/.evil"), mt) < 0);
	/* DELETE removes the link only */
	mkdir(path("outside/cur"), 0700);
	touch("outside/cur/1:2,");
	CHECK(maildir_remove(path("Maildir/.evil")) == 0);
	CHECK(!exists("Maildir/.evil") && exists("outside/cur/1:2,"));
}

static void test_subdir_link(void)
{
	CHECK(maildir_create(path("Maildir/.Box"), true) == 0);
	mkdir(path("outside2"), 0700);
	CHECK(rmdir(path("Maildir/.Box/cur")) == 0);
	CHECK(symlink(path("outside2"), path("Maildir/.Box/cur")) == 0);
	CHECK(maildir_create(path("Maildir/.Box"), true) < 0);
	int64_t mt[2];
	CHECK(maildir_dir_mtimes(path("Maildir/.Box"), mt) < 0);
	struct maildir_file *files;
	size_t n;
	CHECK(maildir_list(path("Maildir/.Box"), &files, &n) < 0);
	touch("outside2/2:2,");
	CHECK(maildir_unlink(path("Maildir/.Box"), "2:2,") < 0);
	CHECK(maildir_remove(path("Maildir/.Box")) == 0);
	CHECK(exists("outside2/2:2,") && !exists("Maildir/.Box"));
}

static void test_message_link(void)
{
	touch("secret");
	CHECK(symlink(path("secret"), path("Maildir/cur/3:2,")) == 0);
	int fd = -1;
	uint64_t size;
	CHECK(maildir_open(path("Maildir"), "3:2,", &fd, &size) < 0);
	char *hdr;
	size_t len;
	CHECK(maildir_read_header(path("Maildir/cur/3:2,"), 1024, &hdr, &len) < 0);
	time_t mtime;
	CHECK(maildir_crlf(path("Maildir"), path("Maildir/cur/3:2,"), &size, &mtime) < 0);
	char *name = NULL;
	CHECK(maildir_create(path("Maildir/.Sent"), true) == 0);
	CHECK(maildir_link(path("Maildir"), "3:2,", path("Maildir/.Sent"), 0, &name) < 0);
	free(name);
	/* a real message still works */
	touch("Maildir/cur/4:2,");
	CHECK(maildir_open(path("Maildir"), "4:2,", &fd, &size) == 0 && size == 22);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK(maildir_create(path("Maildir"), false) == 0);
	test_folder_link();
	test_subdir_link();
	test_message_link();
	char *cmd = NULL;
	if (asprintf(&cmd, "rm -rf %s", root) > 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	free(cmd);
	UNIT_END();
}
