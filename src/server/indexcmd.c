#include "server/indexcmd.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"

static void print_line(void *arg, const char *line)
{
	printf("%s: %s\n", (const char *)arg, line);
}

/* The USER argument: the first word that is not an option or its value. */
static const char *user_arg(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 || strcmp(argv[i], "--config") == 0)
			i++;
		else if (argv[i][0] != '-')
			return argv[i];
	}
	return NULL;
}

int indexcmd_main(int argc, char **argv, const char *data_dir)
{
	const char *what = argc > 1 ? argv[1] : "", *user = user_arg(argc, argv);
	bool check = strcmp(what, "check") == 0, rebuild = strcmp(what, "rebuild") == 0;
	if ((!check && !rebuild) || !user || !data_dir || strchr(user, '/') || user[0] == '.')
		return 2;
	if (rebuild) {
		enum store_rc rc = store_rebuild(data_dir, user);
		if (rc == STORE_OK)
			printf("gannet: index of %s rebuilt (the log says what was kept)\n", user);
		else
			fprintf(stderr, "gannet: %s: %s\n", user,
			        rc == STORE_NONEXISTENT ? "no such user (no Maildir)"
			                                : "the rebuild failed; the log says why");
		return rc == STORE_OK ? 0 : 3;
	}
	size_t differences = 0;
	enum store_rc rc = store_check(data_dir, user, print_line, (void *)user, &differences);
	if (rc != STORE_OK) {
		fprintf(stderr, "gannet: %s: no such user (no Maildir)\n", user);
		return 3;
	}
	if (differences == 0)
		printf("%s: the index and the Maildir agree\n", user);
	return differences ? 1 : 0;
}
