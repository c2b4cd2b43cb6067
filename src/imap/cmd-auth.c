/* Commands of any state and of login: CAPABILITY, NOOP, LOGOUT, ID, LOGIN,
 * AUTHENTICATE, ENABLE, NAMESPACE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/passwd.h"
#include "auth/sasl.h"
#include "imap/cmd.h"
#include "imap/response.h"
#include "store/pool.h"
#include "util/log.h"

#include <event2/buffer.h>

/* May a password be sent on this connection? (RFC 9051 11.1, RFC 8314) */
static bool plaintext_ok(const struct session *s)
{
	switch (s->cfg->plaintext_auth) {
	case PLAINTEXT_ALWAYS:
		return true;
	case PLAINTEXT_LOCAL:
		return s->link & (LINK_TLS | LINK_LOCAL);
	case PLAINTEXT_NEVER:
		break;
	}
	return s->link & LINK_TLS;
}

const char *capabilities(const struct session *s)
{
	static char buf[512];
	const char *login = "";
	if (s->state == STATE_NOT_AUTH) {
		bool starttls = s->link & LINK_STARTTLS;
		if (plaintext_ok(s))
			login = starttls ? "STARTTLS AUTH=PLAIN " : "AUTH=PLAIN ";
		else
			login = starttls ? "STARTTLS LOGINDISABLED " : "LOGINDISABLED ";
	}
	snprintf(buf, sizeof buf,
	         "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE %s"
	         "NAMESPACE UNSELECT UIDPLUS MOVE BINARY ESEARCH SEARCHRES CHILDREN LIST-EXTENDED "
	         "LIST-STATUS "
	         "SPECIAL-USE STATUS=SIZE "
	         "UTF8=ACCEPT APPENDLIMIT=%llu",
	         login, s->cfg->append_limit);
	return buf;
}

/* RFC 9051 6.2.1: after the tagged OK the client starts the handshake. The
 * unread input is dropped by the network layer, so nothing sent in the
 * clear runs inside TLS (the STARTTLS injection of CVE-2011-0411's kind),
 * and the CAPABILITY learnt before is forgotten by the client. */
void cmd_starttls(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "STARTTLS takes no arguments");
		return;
	}
	if (!(s->link & LINK_STARTTLS)) {
		sess_tagged(s, "BAD", (s->link & LINK_TLS) ? "TLS is already active"
		                                           : "STARTTLS is not offered here");
		return;
	}
	sess_tagged(s, "OK", "Begin TLS negotiation now");
	s->starttls = true;
}

/* Refuses a password sent in the clear where that is not allowed. */
static bool privacy_ok(struct session *s)
{
	if (plaintext_ok(s))
		return true;
	sess_tagged(s, "NO", "[PRIVACYREQUIRED] Use TLS (STARTTLS or port 993) to log in");
	return false;
}

void cmd_capability(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "CAPABILITY takes no arguments");
		return;
	}
	sess_untagged(s, "CAPABILITY %s", capabilities(s));
	sess_tagged(s, "OK", "CAPABILITY completed");
}

void cmd_noop(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "NOOP takes no arguments");
		return;
	}
	sess_tagged(s, "OK", "NOOP completed");
}

void cmd_logout(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "LOGOUT takes no arguments");
		return;
	}
	/* RFC 9051 6.1.3: the BYE comes before the tagged OK. */
	sess_untagged(s, "BYE Logging out");
	sess_unselect(s);
	s->state = STATE_LOGOUT;
	s->closing = true;
	sess_tagged(s, "OK", "LOGOUT completed");
}

/* Checks the password; on success opens the user's store and moves to
 * Authenticated. A failure is answered only after a delay, so guessing
 * passwords is slow. The password itself is never logged. */
static void try_login(struct session *s, const char *user, const char *password, const char *mech)
{
	if (!user_name_valid(user) || passwd_verify(s->cfg->passwd_path, user, password) != 0) {
		log_info("login failed: user=%.64s mech=%s from=%s",
		         user_name_valid(user) ? user : "?", mech, s->peer);
		s->pause_ms = s->cfg->auth_fail_delay_ms;
		sess_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	if (s->cfg->admit_user && !s->cfg->admit_user(s->ctx, user)) {
		sess_untagged(s, "BYE [LIMIT] Too many connections for %s", user);
		s->closing = true;
		sess_tagged(s, "NO", "[LIMIT] Too many connections for %s", user);
		return;
	}
	enum store_rc rc = store_pool_open(s->cfg->pool, user, &s->store);
	if (rc != STORE_OK) {
		sess_tagged(s, "NO", "[UNAVAILABLE] Cannot open your mailboxes now; try later");
		return;
	}
	sess_login(s, user);
	log_info("login: user=%s mech=%s from=%s", user, mech, s->peer);
	sess_tagged(s, "OK", "[CAPABILITY %s] Logged in", capabilities(s));
}

void cmd_login(struct session *s, struct imap_command *c)
{
	if (c->nargs != 2 || !arg_is_astring(&c->args[0]) || !arg_is_astring(&c->args[1])) {
		sess_tagged(s, "BAD", "LOGIN needs a user name and a password");
		return;
	}
	if (!privacy_ok(s))
		return;
	try_login(s, c->args[0].str, c->args[1].str, "LOGIN");
}

static void sasl_plain(struct session *s, const char *b64)
{
	char *authz = NULL, *authc = NULL, *pw = NULL;
	if (strcmp(b64, "=") == 0 || sasl_plain_decode(b64, strlen(b64), &authz, &authc, &pw) < 0) {
		sess_tagged(s, "BAD", "Invalid SASL PLAIN response");
		return;
	}
	/* RFC 4616: logging in as someone else (an authzid that is not the
	 * authcid) would need proxy rights, which no one has here. */
	if (authz[0] && strcmp(authz, authc) != 0) {
		s->pause_ms = s->cfg->auth_fail_delay_ms;
		sess_tagged(s, "NO", "[AUTHORIZATIONFAILED] Cannot log in as another user");
	} else {
		try_login(s, authc, pw, "PLAIN");
	}
	free(authz);
	free(authc);
	explicit_bzero(pw, strlen(pw));
	free(pw);
}

void cmd_authenticate(struct session *s, struct imap_command *c)
{
	if (c->nargs < 1 || c->nargs > 2 || c->args[0].type != ARG_ATOM ||
	    (c->nargs == 2 && c->args[1].type != ARG_ATOM)) {
		sess_tagged(s, "BAD", "AUTHENTICATE needs a mechanism name");
		return;
	}
	if (!str_ieq(c->args[0].str, "PLAIN")) {
		sess_tagged(s, "NO", "Unsupported authentication mechanism");
		return;
	}
	if (!privacy_ok(s))
		return;
	if (c->nargs == 2) { /* SASL-IR, RFC 4959 */
		sasl_plain(s, c->args[1].str);
		return;
	}
	free(s->sasl_tag);
	s->sasl_tag = xstrdup(c->tag);
	parser_want_line(s->parser);
	sess_continue(s, "");
}

void auth_sasl_response(struct session *s, const char *line)
{
	struct imap_command fake = {.tag = s->sasl_tag, .name = "AUTHENTICATE"};
	s->cur = &fake;
	if (strcmp(line, "*") == 0)
		sess_tagged(s, "BAD", "Authentication cancelled");
	else if (line[0] == '\0')
		sess_tagged(s, "BAD", "Invalid SASL PLAIN response");
	else
		sasl_plain(s, line);
	s->cur = NULL;
	free(s->sasl_tag);
	s->sasl_tag = NULL;
}

void cmd_enable(struct session *s, struct imap_command *c)
{
	if (c->nargs == 0) {
		sess_tagged(s, "BAD", "ENABLE needs at least one capability");
		return;
	}
	struct sbuf enabled = {0};
	for (size_t i = 0; i < c->nargs; i++) {
		if (c->args[i].type != ARG_ATOM) {
			sbuf_free(&enabled);
			sess_tagged(s, "BAD", "ENABLE takes capability names");
			return;
		}
		/* RFC 5161: unknown capabilities are ignored; each one enabled
		 * by this command is listed once. */
		if (str_ieq(c->args[i].str, "UTF8=ACCEPT") && !s->utf8) {
			s->utf8 = true;
			parser_set_utf8(s->parser, true);
			sbuf_adds(&enabled, " UTF8=ACCEPT");
		}
	}
	sess_untagged(s, "ENABLED%s", enabled.s ? enabled.s : "");
	sbuf_free(&enabled);
	sess_tagged(s, "OK", "ENABLE completed");
}

/* RFC 2971: the client's list is NIL or up to 30 field/value pairs. */
static bool id_args_valid(const struct imap_command *c)
{
	if (c->nargs != 1)
		return false;
	const struct imap_arg *a = &c->args[0];
	if (arg_is_word(a, "NIL"))
		return true;
	if (a->type != ARG_LIST || a->nlist % 2 || a->nlist > 60)
		return false;
	for (size_t i = 0; i < a->nlist; i++) {
		const struct imap_arg *f = &a->list[i];
		bool nil = arg_is_word(f, "NIL");
		if (f->type != ARG_STRING && !(nil && i % 2 == 1))
			return false;
	}
	return true;
}

void cmd_id(struct session *s, struct imap_command *c)
{
	if (!id_args_valid(c)) {
		sess_tagged(s, "BAD", "ID takes NIL or a list of field and value strings");
		return;
	}
	sess_untagged(s, "ID (\"name\" \"Gannet\" \"version\" \"0.1\")");
	sess_tagged(s, "OK", "ID completed");
}

void cmd_namespace(struct session *s, struct imap_command *c)
{
	if (c->nargs) {
		sess_tagged(s, "BAD", "NAMESPACE takes no arguments");
		return;
	}
	sess_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	sess_tagged(s, "OK", "NAMESPACE completed");
}
