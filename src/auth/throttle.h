/* Failed-login throttling, shared by every worker process.
 *
 * Contract: the master creates the table (shared memory) before it forks the
 * workers. A login attempt calls throttle_begin before checking the password,
 * then throttle_failed or throttle_succeeded, and answers the client no
 * earlier than the time those return. Failures count against two keys, the
 * client address (an IPv6 client by its /64) and the user name; a key's
 * answers are spaced by its delay, base_ms doubled per failure up to max_ms,
 * whatever the number of connections, and an attempt that would wait longer
 * than max_ms is refused unchecked. A key is forgotten THROTTLE_QUIET_MS after
 * its last failure; a full table forgets the key that failed longest ago.
 * Times are CLOCK_MONOTONIC milliseconds (throttle_now_ms), passed in by the
 * caller so tests can drive the clock. */
#ifndef GANNET_AUTH_THROTTLE_H
#define GANNET_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key without a failure for this long starts again from nothing. */
#define THROTTLE_QUIET_MS (15 * 60 * 1000)
/* Room for throttle_addr's output. */
#define THROTTLE_ADDR_MAX 64

struct throttle;

/* slots: keys remembered (4096 take about 400 KB). NULL if the mapping or
 * the lock cannot be made. */
struct throttle *throttle_new(unsigned slots, unsigned base_ms, unsigned max_ms);
void throttle_free(struct throttle *t);

/* The key for a peer "ADDR:PORT" (the port follows the last ':', so an
 * unbracketed IPv6 address works): IPv4 as is, IPv4-mapped IPv6 as IPv4,
 * other IPv6 as its /64 ("2001:db8::/64"), since one host usually owns a
 * whole /64 and could otherwise change address per guess. Anything else
 * ("stdio") is used whole. */
void throttle_addr(const char *peer, char *out, size_t size);

int64_t throttle_now_ms(void);

/* Before the password is checked. user is NULL when the name is not a valid
 * user name (only the address counts then). Returns false if the attempt must
 * be refused without checking: its answer would wait more than max_ms.
 * Otherwise *slot is when the answer may be given (now_ms if neither key has
 * failed recently), and the slot is taken: a parallel attempt on the same
 * key gets a later one. */
bool throttle_begin(struct throttle *t, const char *addr, const char *user, int64_t now_ms,
                    int64_t *slot);

struct throttle_result {
	unsigned addr_failures, user_failures; /* counts after this failure */
	int64_t answer_at;                     /* not before: slot plus the new delay */
};

/* The password was wrong (or the user unknown): counts one failure against
 * each key. slot is throttle_begin's, now_ms the time after checking. */
struct throttle_result throttle_failed(struct throttle *t, const char *addr, const char *user,
                                       int64_t slot, int64_t now_ms);

/* The password was right: forgets user's failures, so the owner is not kept
 * waiting by someone else's guesses once they have logged in. The address
 * keeps its count, or an attacker with one valid account could reset it
 * between guesses. The answer still waits for throttle_begin's slot. */
void throttle_succeeded(struct throttle *t, const char *user, int64_t now_ms);

/* Failures counted now against addr and user (either may be NULL); for
 * tests and logs. */
struct throttle_result throttle_peek(struct throttle *t, const char *addr, const char *user,
                                     int64_t now_ms);

#endif
