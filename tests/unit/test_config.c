/* server/config: the file's lines, and where a malformed one is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "unit.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/gannet-config-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

static bool read_text(const char *text, struct config_file *c, char *err)
{
	char *path = write_tmp(text);
	bool ok = config_read(path, c, err, 256);
	unlink(path);
	free(path);
	return ok;
}

static void test_entries(void)
{
	struct config_file c;
	char err[256] = "";
	CHECK(read_text("# a comment\n\n  listen = 127.0.0.1:143  # trailing\n"
	                "workers=2\r\ncert = /a b/c.pem\n",
	                &c, err));
	CHECK(c.n == 3);
	CHECK(strcmp(c.entries[0].name, "listen") == 0);
	CHECK(strcmp(c.entries[0].value, "127.0.0.1:143") == 0 && c.entries[0].line == 3);
	CHECK(strcmp(c.entries[1].name, "workers") == 0 && strcmp(c.entries[1].value, "2") == 0);
	CHECK(strcmp(c.entries[2].value, "/a b/c.pem") == 0 && c.entries[2].line == 5);
	config_free(&c);
	CHECK(read_text("", &c, err) && c.n == 0);
	config_free(&c);
}

static void test_errors(void)
{
	struct config_file c;
	char err[256];
	CHECK(!read_text("listen = 1.2.3.4:143\njust words\n", &c, err));
	CHECK(strstr(err, ":2: expected name = value") != NULL);
	CHECK(!read_text("Listen = x\n", &c, err) && strstr(err, ":1: ") != NULL);
	CHECK(!read_text("listen =\n", &c, err) && strstr(err, "value is missing") != NULL);
	CHECK(!read_text(" = x\n", &c, err));
	char *big = malloc(10000);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	CHECK(!read_text(big, &c, err) && strstr(err, ":1: line too long") != NULL);
	free(big);
	CHECK(!config_read("/nonexistent/gannet.conf", &c, err, sizeof err));
	CHECK(strstr(err, "/nonexistent/gannet.conf: ") == err);
}

int main(void)
{
	test_entries();
	test_errors();
	UNIT_END();
}
