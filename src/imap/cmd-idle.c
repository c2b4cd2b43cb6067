/* IDLE (RFC 2177): the client waits and the server pushes what changes in
 * the selected mailbox, as another session, `gannet deliver` or an MTA
 * changes it. The store's watcher (store/pool.h) wakes the session on the
 * loop, and the sync runs as the session's job on its user's queue; no
 * session polls. */
#include <event2/buffer.h>
#include <stdlib.h>

#include "imap/cmd.h"
#include "store/pool.h"
#include "util/log.h"

/* The watcher calls this on the loop: the session looks once it is free
 * and its client reads (session_wake). */
static void idle_wake(void *arg)
{
	session_wake(arg);
}

/* Expunges are allowed while idling (RFC 9051 7.5.1: no command is in
 * progress). */
void idle_sync(struct session *s)
{
	if (s->idle_tag && s->view) {
		s->expunge_ok = true;
		sess_sync(s);
	}
}

void cmd_idle(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "IDLE takes no arguments");
		return;
	}
	sess_continue(s, "idling");
	s->idle_tag = xstrdup(c->tag);
	parser_want_line(s->parser);
	/* RFC 2177: updates that are pending go out at once, and then as they come. */
	if (s->view) {
		sess_sync(s);
		s->watch = view_watch(s->view, idle_wake, s);
	}
}

/* RFC 2177: "The IDLE command is terminated by the receipt of a "DONE"
 * continuation from the client"; anything else ends it too, with BAD. */
void idle_line(struct session *s, const char *line)
{
	struct imap_command idle = {.tag = s->idle_tag, .name = "IDLE"};
	store_unwatch(s->watch);
	s->watch = NULL;
	s->cur = &idle;
	if (str_ieq(line, "DONE"))
		sess_tagged(s, "OK", "IDLE terminated");
	else
		sess_tagged(s, "BAD", "Expected DONE to end IDLE");
	s->cur = NULL;
	free(s->idle_tag);
	s->idle_tag = NULL;
}
