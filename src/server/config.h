/* The configuration file: one setting per line, "name = value", where name
 * is a long option of `gannet serve` without its dashes; '#' starts a
 * comment, blank lines are ignored, and a value runs to the end of the line
 * (surrounding blanks dropped). This module only reads the lines and says
 * where a line is malformed; what each name means is main.c's, so a file and
 * the command line set the same things the same way. */
#ifndef GANNET_SERVER_CONFIG_H
#define GANNET_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config_entry {
	char *name, *value;
	unsigned line;
};

struct config_file {
	char *path;
	struct config_entry *entries;
	size_t n;
};

/* Reads path into *out (which then owns every string). False with a message
 * "PATH:LINE: what is wrong" (or "PATH: why it cannot be read") in err. */
bool config_read(const char *path, struct config_file *out, char *err, size_t errlen);
void config_free(struct config_file *c);

#endif
