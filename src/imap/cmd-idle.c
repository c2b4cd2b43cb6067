/* IDLE (RFC 2177): the client waits and the server pushes what changes in
 * the selected mailbox, as another session, `gannet deliver` or an MTA
 * changes it. The store's watcher (store/pool.h) wakes the session; no
 * session polls. */
#include <event2/buffer.h>
#include <stdlib.h>

#include "imap/cmd.h"
#include "store/pool.h"
#include "util/log.h"

/* While a client that does not read has this much waiting, its updates
 * wait in the view instead; idle_catch_up sends them once it has read. */
#define IDLE_OUT_MAX (256 * 1024)

/* A change may have happened: report it now. Expunges are allowed while
 * idling (RFC 9051 7.5.1: no command is in progress). */
static void idle_wake(void *arg)
{
	struct session *s = arg;
	if (s->idle_tag && s->view && evbuffer_get_length(s->out) < IDLE_OUT_MAX) {
		s->expunge_ok = true;
		sess_sync(s);
	}
}

void idle_catch_up(struct session *s)
{
	idle_wake(s);
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
