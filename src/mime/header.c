#include "mime/header.h"

#include <fcntl.h>
#include <unistd.h>

/* Scans for 8-bit bytes until the blank line that ends the header. The
 * state (bytes since the last LF, ignoring CR) carries across buffers. */
struct hdr_scan {
	size_t line_len;
	bool done, found;
};

static void scan(struct hdr_scan *st, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !st->done; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			if (st->line_len == 0)
				st->done = true;
			st->line_len = 0;
		} else if (c != '\r') {
			st->line_len++;
			if (c >= 0x80) {
				st->found = true;
				st->done = true;
			}
		}
	}
}

bool mime_header_has_8bit(const char *data, size_t len)
{
	struct hdr_scan st = {0};
	scan(&st, data, len);
	return st.found;
}

int mime_file_header_has_8bit(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct hdr_scan st = {0};
	char buf[16384];
	ssize_t n;
	while (!st.done && (n = read(fd, buf, sizeof buf)) > 0)
		scan(&st, buf, (size_t)n);
	close(fd);
	return st.found;
}
