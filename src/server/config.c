#include "server/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

/* A line longer than this is surely not a setting. */
#define CONFIG_LINE_MAX 4096

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static bool name_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* One line: nothing to do (blank, comment), an entry, or an error. */
static const char *parse_line(char *line, struct config_file *c, unsigned lineno)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *s = trim(line);
	if (!*s)
		return NULL;
	char *eq = strchr(s, '=');
	if (!eq)
		return "expected name = value";
	*eq = '\0';
	char *name = trim(s), *value = trim(eq + 1);
	if (!name_valid(name))
		return "a setting's name is lower-case letters, digits and '-'";
	if (!*value)
		return "the value is missing";
	c->entries = xrealloc(c->entries, (c->n + 1) * sizeof *c->entries);
	c->entries[c->n++] =
	    (struct config_entry){.name = xstrdup(name), .value = xstrdup(value), .line = lineno};
	return NULL;
}

bool config_read(const char *path, struct config_file *out, char *err, size_t errlen)
{
	*out = (struct config_file){.path = xstrdup(path)};
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		config_free(out);
		return false;
	}
	char line[CONFIG_LINE_MAX];
	unsigned lineno = 0;
	const char *problem = NULL;
	while (!problem && fgets(line, sizeof line, f)) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f))
			problem = "line too long";
		else
			problem = parse_line(line, out, lineno);
	}
	if (!problem && ferror(f))
		snprintf(err, errlen, "%s: read error", path);
	else if (problem)
		snprintf(err, errlen, "%s:%u: %s", path, lineno, problem);
	bool ok = !problem && !ferror(f);
	fclose(f);
	if (!ok)
		config_free(out);
	return ok;
}

void config_free(struct config_file *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].name);
		free(c->entries[i].value);
	}
	free(c->entries);
	free(c->path);
	*c = (struct config_file){0};
}
