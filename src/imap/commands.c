/* The command table: each command, the states it is allowed in, its
 * handler (RFC 9051 section 6, where each command names its states),
 * whether it has a UID form, and whether its non-UID form must not be
 * answered with EXPUNGE responses (RFC 9051 7.5.1: FETCH, STORE, SEARCH),
 * and whether it is a barrier (cmd.h). */
#include <string.h>

#include "imap/cmd.h"

#define ANY (STATE_NOT_AUTH | STATE_AUTH | STATE_SELECTED)
#define AUTHED (STATE_AUTH | STATE_SELECTED)

static const struct command_def commands[] = {
    {"CAPABILITY", ANY, cmd_capability, false, false, false},
    {"NOOP", ANY, cmd_noop, false, false, false},
    {"LOGOUT", ANY, cmd_logout, false, false, true},
    {"ID", ANY, cmd_id, false, false, false},
    {"STARTTLS", STATE_NOT_AUTH, cmd_starttls, false, false, true},
    {"LOGIN", STATE_NOT_AUTH, cmd_login, false, false, true},
    {"AUTHENTICATE", STATE_NOT_AUTH, cmd_authenticate, false, false, true},
    {"ENABLE", STATE_AUTH, cmd_enable, false, false, true}, /* RFC 5161 3.1 */
    {"NAMESPACE", AUTHED, cmd_namespace, false, false, false},
    {"SELECT", AUTHED, cmd_select, false, false, false},
    {"EXAMINE", AUTHED, cmd_examine, false, false, false},
    {"CREATE", AUTHED, cmd_create, false, false, false},
    {"DELETE", AUTHED, cmd_delete, false, false, false},
    {"RENAME", AUTHED, cmd_rename, false, false, false},
    {"SUBSCRIBE", AUTHED, cmd_subscribe, false, false, false},
    {"UNSUBSCRIBE", AUTHED, cmd_unsubscribe, false, false, false},
    {"LIST", AUTHED, cmd_list, false, false, false},
    {"LSUB", AUTHED, cmd_lsub, false, false, false},
    {"STATUS", AUTHED, cmd_status, false, false, false},
    {"APPEND", AUTHED, cmd_append, false, false, false},
    {"CHECK", STATE_SELECTED, cmd_check, false, false, false},
    {"CLOSE", STATE_SELECTED, cmd_close, false, false, false},
    {"UNSELECT", STATE_SELECTED, cmd_unselect, false, false, false},
    {"EXPUNGE", STATE_SELECTED, cmd_expunge, true, false, false}, /* UID EXPUNGE: RFC 4315 */
    {"FETCH", STATE_SELECTED, cmd_fetch, true, true, false},
    {"STORE", STATE_SELECTED, cmd_store, true, true, false},
    {"SEARCH", STATE_SELECTED, cmd_search, true, true, false},
    {"COPY", STATE_SELECTED, cmd_copy, true, false, false},
    {"MOVE", STATE_SELECTED, cmd_move, true, false, false}, /* RFC 6851 */
    {"IDLE", AUTHED, cmd_idle, false, false, true},         /* RFC 2177 */
};

const struct command_def *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}
