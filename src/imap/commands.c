/* The command table: each command, the states it is allowed in, and its
 * handler (RFC 9051 section 6, where each command names its states). */
#include <string.h>

#include "imap/cmd.h"

#define ANY (STATE_NOT_AUTH | STATE_AUTH | STATE_SELECTED)
#define AUTHED (STATE_AUTH | STATE_SELECTED)

static const struct command_def commands[] = {
    {"CAPABILITY", ANY, cmd_capability},
    {"NOOP", ANY, cmd_noop},
    {"LOGOUT", ANY, cmd_logout},
    {"ID", ANY, cmd_id},
    {"LOGIN", STATE_NOT_AUTH, cmd_login},
    {"AUTHENTICATE", STATE_NOT_AUTH, cmd_authenticate},
    {"ENABLE", STATE_AUTH, cmd_enable}, /* RFC 5161 3.1 */
    {"NAMESPACE", AUTHED, cmd_namespace},
    {"SELECT", AUTHED, cmd_select},
    {"EXAMINE", AUTHED, cmd_examine},
    {"CREATE", AUTHED, cmd_create},
    {"DELETE", AUTHED, cmd_delete},
    {"RENAME", AUTHED, cmd_rename},
    {"SUBSCRIBE", AUTHED, cmd_subscribe},
    {"UNSUBSCRIBE", AUTHED, cmd_unsubscribe},
    {"LIST", AUTHED, cmd_list},
    {"LSUB", AUTHED, cmd_lsub},
    {"STATUS", AUTHED, cmd_status},
    {"APPEND", AUTHED, cmd_append},
    {"CHECK", STATE_SELECTED, cmd_check},
    {"CLOSE", STATE_SELECTED, cmd_close},
    {"UNSELECT", STATE_SELECTED, cmd_unselect},
};

const struct command_def *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}
