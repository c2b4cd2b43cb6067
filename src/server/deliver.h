/* `gannet deliver USER --data DIR [--mailbox NAME] [--append-limit BYTES]`:
 * local delivery of one message read from stdin, for an MTA's
 * mailbox_command or a pipe(8) transport.
 *
 * Contract: the message is streamed into the user's Maildir tmp/ (never held
 * whole in memory) and handed to store_append, so exit status 0 means it is
 * on disk (fsync'd), has its UID, and sessions of a running server see it.
 * A leading mbox envelope line ("From sender date", as an MTA may prepend)
 * is dropped; nothing else of the message changes except that store_append
 * stores bare LFs as CRLF. A --mailbox that is invalid or does not exist
 * gets the message in INBOX instead, with a warning. INTERNALDATE is the
 * time of delivery; no flags are set.
 *
 * Exit status follows sysexits.h, which MTAs map to bounce or retry:
 * 0 delivered; EX_USAGE bad arguments; EX_NOUSER user not in DIR/passwd;
 * EX_DATAERR empty message or one over the append limit (a permanent
 * failure); EX_TEMPFAIL any store or I/O failure (the MTA retries later).
 * Errors go to syslog and, as one line, to stderr, which the MTA puts into
 * its bounce or defer notice. Message contents are never logged. */
#ifndef GANNET_SERVER_DELIVER_H
#define GANNET_SERVER_DELIVER_H

struct session_config;

/* argv[0] is "deliver"; cfg supplies the store limits and the default
 * append limit. Returns the process exit status. */
int deliver_main(int argc, char **argv, const struct session_config *cfg);

#endif
