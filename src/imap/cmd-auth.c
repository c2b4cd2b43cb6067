/* Commands of any state and of login: CAPABILITY, NOOP, LOGOUT, ID, LOGIN,
 * AUTHENTICATE, ENABLE, NAMESPACE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/passwd.h"
#include "auth/sasl.h"
#include "auth/throttle.h"
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

const char *capabilities(const struct session *s, struct caps *buf)
{
	const char *login = "";
	if (s->state == STATE_NOT_AUTH) {
		bool starttls = s->link & LINK_STARTTLS;
		if (plaintext_ok(s))
			login = starttls ? "STARTTLS AUTH=PLAIN " : "AUTH=PLAIN ";
		else
			login = starttls ? "STARTTLS LOGINDISABLED " : "LOGINDISABLED ";
	}
	snprintf(buf->s, sizeof buf->s,
	         "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE %s"
	         "NAMESPACE UNSELECT UIDPLUS MOVE BINARY ESEARCH SEARCHRES CHILDREN LIST-EXTENDED "
	         "LIST-STATUS "
	         "SPECIAL-USE STATUS=SIZE "
	         "UTF8=ACCEPT APPENDLIMIT=%llu",
	         login, s->cfg->append_limit);
	return buf->s;
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
		sess_tagged(s, "BAD",
		            (s->link & LINK_TLS) ? "TLS is already active"
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
	struct caps caps;
	sess_untagged(s, "CAPABILITY %s", capabilities(s, &caps));
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
	sess_close(s, "logout");
	sess_tagged(s, "OK", "LOGOUT completed");
}

/* Milliseconds from now until when, 0 if it has passed. */
static unsigned ms_until(int64_t when)
{
	int64_t d = when - throttle_now_ms();
	return d > 0 ? (unsigned)d : 0;
}

/* The user name for logs: only a valid one, since what a client sends there
 * may be anything, a password typed into the wrong field included. */
static const char *log_name(const char *name)
{
	return name ? name : "?";
}

/* The attempt would wait past the cap: it is refused without looking at
 * the password, so it teaches nothing and costs no hashing. It still
 * pauses, so a client retrying at once does not spin. */
static void login_refused(struct session *s, const char *name, const char *mech)
{
	log_info("login refused, too many failures: user=%s mech=%s from=%s", log_name(name), mech,
	         s->peer);
	s->pause_ms = s->cfg->auth_fail_delay_ms;
	sess_tagged(s, "NO", "[UNAVAILABLE] Too many failed logins; try again later");
}

/* Wrong password or unknown user: counts the failure against the address
 * and the user, and answers when the throttle says (without one, after the
 * fixed first delay). */
static void login_failed(struct session *s, const char *addr, const char *name, const char *mech,
                         int64_t slot)
{
	struct throttle *t = s->cfg->throttle;
	struct throttle_result r = {0};
	s->pause_ms = s->cfg->auth_fail_delay_ms;
	if (t) {
		r = throttle_failed(t, addr, name, slot, throttle_now_ms());
		s->pause_ms = ms_until(r.answer_at);
	}
	log_info("login failed: user=%s mech=%s from=%s failures=%u user_failures=%u delay=%ums",
	         log_name(name), mech, s->peer, r.addr_failures, r.user_failures, s->pause_ms);
	sess_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
}

/* Checks the password (on the password lane); on success login_finish
 * opens the user's store and moves to Authenticated. The answer, success or failure, waits for the
 * throttle's slot, so an attacker learns nothing sooner from many connections than from one, and a
 * failure waits a delay more. The password itself is never logged. */
static void try_login(struct session *s, const char *user, const char *password, const char *mech)
{
	struct throttle *t = s->cfg->throttle;
	const char *name = user_name_valid(user) ? user : NULL;
	char addr[THROTTLE_ADDR_MAX];
	int64_t slot = 0;
	throttle_addr(s->peer, addr, sizeof addr);
	if (t && !throttle_begin(t, addr, name, throttle_now_ms(), &slot)) {
		login_refused(s, name, mech);
		return;
	}
	errno = 0;
	if (!name || passwd_verify(s->cfg->passwd_path, name, password) != 0) {
		if (errno == 0) {
			login_failed(s, addr, name, mech, slot);
			return;
		}
		/* Not the client's fault: every login fails until it is fixed,
		 * and counting these would lock everyone out afterwards. */
		log_error("cannot read %s: %s", s->cfg->passwd_path, strerror(errno));
		sess_tagged(s, "NO", "[UNAVAILABLE] Cannot check passwords now; try later");
		return;
	}
	if (t) {
		throttle_succeeded(t, name, throttle_now_ms());
		s->pause_ms = ms_until(slot);
	}
	/* The store is the user's queue's to open (login_finish). */
	s->login_user = xstrdup(name);
	s->login_mech = mech;
	free(s->login_tag);
	s->login_tag = xstrdup(s->cur->tag);
}

/* PREAUTH has no command to answer: a greeting, or BYE. */
static void preauth_finish(struct session *s, const char *name, enum store_rc rc)
{
	struct caps caps;
	if (rc != STORE_OK) {
		sess_untagged(s, "BYE [UNAVAILABLE] Cannot open the mailboxes of %s", name);
		sess_close(s, "unavailable");
		return;
	}
	sess_login(s, name, "PREAUTH");
	sess_untagged(s, "PREAUTH [CAPABILITY %s] Logged in as %s", capabilities(s, &caps), name);
}

void login_finish(struct session *s)
{
	char *name = s->login_user;
	struct imap_command answer = {.tag = s->login_tag, .name = "LOGIN"};
	s->login_user = NULL;
	if (strcmp(s->login_mech, "PREAUTH") == 0) {
		preauth_finish(s, name, store_pool_open(s->cfg->pool, name, &s->store));
		free(name);
		return;
	}
	s->cur = &answer;
	if (s->cfg->admit_user && !s->cfg->admit_user(s->ctx, name)) {
		/* The session closes, and a closing session's deferred output
		 * is never sent: answer now (the answer tells anyway that the
		 * password was right). */
		s->pause_ms = 0;
		sess_untagged(s, "BYE [LIMIT] Too many connections for %s", name);
		sess_close(s, "limit");
		sess_tagged(s, "NO", "[LIMIT] Too many connections for %s", name);
	} else if (store_pool_open(s->cfg->pool, name, &s->store) != STORE_OK) {
		sess_tagged(s, "NO", "[UNAVAILABLE] Cannot open your mailboxes now; try later");
	} else {
		struct caps caps;
		sess_login(s, name, s->login_mech);
		sess_tagged(s, "OK", "[CAPABILITY %s] Logged in", capabilities(s, &caps));
	}
	s->cur = NULL;
	free(name);
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
		/* The password is not checked, so this teaches an attacker
		 * nothing and is not counted; it is paused like a failure. */
		log_info("login failed: user=%s mech=PLAIN from=%s: authzid is another user",
		         log_name(user_name_valid(authc) ? authc : NULL), s->peer);
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

/* The client's line after "+ ". RFC 9051 6.2.2: "If the client wishes to
 * cancel an authentication exchange, it issues a line consisting of a single
 * "*". If the server receives such a response, or if it receives an invalid
 * BASE64 string, it MUST reject the AUTHENTICATE command by sending a tagged
 * BAD response." Neither checks a password, so neither counts as a failed
 * login or waits. */
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

/* Enables one capability; false if it is unknown or already on. */
static bool enable_one(struct session *s, const char *name)
{
	bool *flag = str_ieq(name, "UTF8=ACCEPT") ? &s->utf8_accept
	             : str_ieq(name, "IMAP4rev2") ? &s->rev2
	                                          : NULL;
	if (!flag || *flag)
		return false;
	*flag = true;
	/* RFC 6855 3, and RFC 9051 5.1 for IMAP4rev2: mailbox names and
	 * quoted strings are UTF-8 from now on, not modified UTF-7. */
	s->utf8 = true;
	parser_set_utf8(s->parser, true);
	return true;
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
		if (enable_one(s, c->args[i].str))
			sbuf_printf(&enabled, " %s",
			            str_ieq(c->args[i].str, "IMAP4rev2") ? "IMAP4rev2"
			                                                 : "UTF8=ACCEPT");
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
