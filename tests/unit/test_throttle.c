#include "auth/throttle.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE 100
#define MAX 800

/* One whole attempt that fails; returns how long its answer waits. */
static int64_t fail_at(struct throttle *t, const char *addr, const char *user, int64_t now)
{
	int64_t slot;
	CHECK(throttle_begin(t, addr, user, now, &slot));
	return throttle_failed(t, addr, user, slot, now).answer_at - now;
}

/* Fails n times in a row, each attempt sent when the last was answered;
 * returns the time after the last answer. */
static int64_t fail_n(struct throttle *t, const char *addr, const char *user, int64_t now, int n)
{
	for (int i = 0; i < n; i++)
		now += fail_at(t, addr, user, now);
	return now;
}

static void test_doubling_and_cap(void)
{
	struct throttle *t = throttle_new(64, BASE, MAX);
	int64_t now = 1000;
	const int64_t want[] = {100, 200, 400, 800, 800, 800};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		int64_t d = fail_at(t, "192.0.2.1", "alice", now);
		CHECK(d == want[i]);
		now += d;
	}
	struct throttle_result r = throttle_peek(t, "192.0.2.1", "alice", now);
	CHECK(r.addr_failures == 6 && r.user_failures == 6);
	throttle_free(t);
}

static void test_first_attempt_is_free(void)
{
	struct throttle *t = throttle_new(64, BASE, MAX);
	int64_t slot;
	CHECK(throttle_begin(t, "192.0.2.1", "alice", 5000, &slot));
	CHECK(slot == 5000);
	throttle_succeeded(t, "alice", 5000);
	/* A success on a clean key leaves nothing behind. */
	CHECK(throttle_begin(t, "192.0.2.1", "alice", 5000, &slot));
	CHECK(slot == 5000);
	throttle_free(t);
}

static void test_quiet_period_forgets(void)
{
	struct throttle *t = throttle_new(64, BASE, MAX);
	int64_t now = fail_n(t, "192.0.2.1", "alice", 1000, 5);
	CHECK(throttle_peek(t, "192.0.2.1", "alice", now).addr_failures == 5);
	/* The quiet period runs from the last failure (answered MAX later).
	 * Just inside it the keys still count... */
	now = now - MAX + THROTTLE_QUIET_MS;
	CHECK(throttle_peek(t, "192.0.2.1", "alice", now).user_failures == 5);
	/* ...and once past it, the keys start again from nothing. */
	now += 1;
	struct throttle_result r = throttle_peek(t, "192.0.2.1", "alice", now);
	CHECK(r.addr_failures == 0 && r.user_failures == 0);
	int64_t slot;
	CHECK(throttle_begin(t, "192.0.2.1", "alice", now, &slot));
	CHECK(slot == now);
	CHECK(fail_at(t, "192.0.2.1", "alice", now) == BASE);
	throttle_free(t);
}

static void test_address_and_user_apart(void)
{
	struct throttle *t = throttle_new(64, BASE, MAX);
	int64_t now = fail_n(t, "192.0.2.1", "alice", 1000, 3); /* next delay 800 */
	struct throttle_result r = throttle_peek(t, "192.0.2.1", "bob", now);
	CHECK(r.addr_failures == 3 && r.user_failures == 0);
	r = throttle_peek(t, "192.0.2.2", "alice", now);
	CHECK(r.addr_failures == 0 && r.user_failures == 3);
	/* Another address, another user: no wait, and a failure there starts
	 * at the base delay. */
	CHECK(fail_at(t, "192.0.2.2", "bob", now) == BASE);
	/* The user's count follows it to another address, the address's to
	 * another user. */
	CHECK(fail_at(t, "192.0.2.3", "alice", now + 5000) == MAX);
	CHECK(fail_at(t, "192.0.2.1", "carol", now + 10000) == MAX);
	/* Without a valid user name only the address counts. */
	CHECK(fail_at(t, "192.0.2.9", NULL, now) == BASE);
	CHECK(throttle_peek(t, "192.0.2.9", NULL, now).addr_failures == 1);
	throttle_free(t);
}

static void test_success_clears_user_only(void)
{
	struct throttle *t = throttle_new(64, BASE, MAX);
	int64_t now = fail_n(t, "192.0.2.1", "alice", 1000, 3);
	int64_t slot;
	CHECK(throttle_begin(t, "192.0.2.1", "alice", now, &slot));
	throttle_succeeded(t, "alice", now);
	struct throttle_result r = throttle_peek(t, "192.0.2.1", "alice", now);
	CHECK(r.user_failures == 0);
	/* An attacker with a valid account must not reset its address's
	 * count by logging in between guesses. */
	CHECK(r.addr_failures == 3);
	CHECK(fail_at(t, "192.0.2.1", "bob", now + 10000) == MAX);
	/* Alice from elsewhere is not slowed any more. */
	CHECK(throttle_begin(t, "198.51.100.7", "alice", now + 10000, &slot));
	CHECK(slot == now + 10000);
	throttle_free(t);
}

/* Parallel attempts on one throttled key (in several workers, while the
 * first one's password is still being checked) are answered one delay
 * apart, and those that would wait more than the cap are refused. */
static void test_parallel_reservation_and_refusal(void)
{
	struct throttle *t = throttle_new(64, BASE, MAX);
	int64_t now = fail_n(t, "192.0.2.1", "alice", 1000, 2); /* next delay 400 */
	int64_t slot[4];
	bool ok[4];
	for (int i = 0; i < 4; i++)
		ok[i] = throttle_begin(t, "192.0.2.1", "alice", now, &slot[i]);
	CHECK(ok[0] && slot[0] == now);
	CHECK(ok[1] && slot[1] == now + 400);
	CHECK(ok[2] && slot[2] == now + 800);
	CHECK(!ok[3]); /* it would wait 1200 ms, more than MAX */
	/* A refused attempt took no slot: the next one queues where it would. */
	int64_t s;
	CHECK(!throttle_begin(t, "192.0.2.1", "alice", now, &s));
	CHECK(throttle_begin(t, "192.0.2.1", "alice", now + 1000, &s) && s == now + 1200);
	/* Each failure's answer waits for its slot plus the new delay. */
	int64_t a0 = throttle_failed(t, "192.0.2.1", "alice", slot[0], now + 50).answer_at;
	int64_t a1 = throttle_failed(t, "192.0.2.1", "alice", slot[1], now + 60).answer_at;
	CHECK(a0 == now + 50 + 400);
	CHECK(a1 == now + 400 + 800);
	/* Another user from the same address waits in the address's queue:
	 * here it is full. */
	CHECK(!throttle_begin(t, "192.0.2.1", "bob", now + 100, &s));
	CHECK(throttle_begin(t, "192.0.2.1", "bob", now + 1000, &s) && s == now + 1600);
	throttle_free(t);
}

static void test_eviction_when_full(void)
{
	struct throttle *t = throttle_new(4, BASE, MAX);
	/* Four addresses fill the table; the first failed longest ago. */
	for (int i = 0; i < 4; i++) {
		char addr[32];
		snprintf(addr, sizeof addr, "192.0.2.%d", i);
		fail_n(t, addr, NULL, 1000 + i * 10000, 2);
	}
	/* 192.0.2.0 failed again later than 192.0.2.1: 192.0.2.1 is oldest. */
	fail_at(t, "192.0.2.0", NULL, 50000);
	fail_at(t, "198.51.100.1", NULL, 60000);
	CHECK(throttle_peek(t, "192.0.2.1", NULL, 60000).addr_failures == 0);
	CHECK(throttle_peek(t, "192.0.2.0", NULL, 60000).addr_failures == 3);
	CHECK(throttle_peek(t, "192.0.2.2", NULL, 60000).addr_failures == 2);
	CHECK(throttle_peek(t, "192.0.2.3", NULL, 60000).addr_failures == 2);
	CHECK(throttle_peek(t, "198.51.100.1", NULL, 60000).addr_failures == 1);
	/* A failure with a user adds two keys and keeps both. */
	fail_at(t, "198.51.100.2", "alice", 70000);
	struct throttle_result r = throttle_peek(t, "198.51.100.2", "alice", 70000);
	CHECK(r.addr_failures == 1 && r.user_failures == 1);
	throttle_free(t);
}

static void check_addr(const char *peer, const char *want)
{
	char out[THROTTLE_ADDR_MAX];
	throttle_addr(peer, out, sizeof out);
	CHECK_STR(out, want);
}

static void test_addresses(void)
{
	check_addr("192.0.2.1:143", "192.0.2.1");
	check_addr("127.0.0.1:50000", "127.0.0.1");
	check_addr("2001:db8:1:2:3:4:5:6:993", "2001:db8:1:2::/64");
	check_addr("2001:db8::1:143", "2001:db8::/64");
	check_addr("[2001:db8::2]:143", "2001:db8::/64");
	check_addr("::ffff:192.0.2.7:143", "192.0.2.7");
	check_addr("stdio", "stdio");

	/* Two hosts of one /64 share a count; another /64 does not. */
	struct throttle *t = throttle_new(64, BASE, MAX);
	char a[THROTTLE_ADDR_MAX], b[THROTTLE_ADDR_MAX], c[THROTTLE_ADDR_MAX];
	throttle_addr("2001:db8:0:1::1:143", a, sizeof a);
	throttle_addr("2001:db8:0:1:ffff::9:143", b, sizeof b);
	throttle_addr("2001:db8:0:2::1:143", c, sizeof c);
	int64_t now = fail_n(t, a, NULL, 1000, 2);
	CHECK(fail_at(t, b, NULL, now) == 400);
	CHECK(fail_at(t, c, NULL, now) == BASE);
	throttle_free(t);
}

/* The master maps the table before forking: what a worker records, the
 * others see. */
static void test_fork_sharing(void)
{
	struct throttle *t = throttle_new(64, BASE, MAX);
	int64_t now = throttle_now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		fail_n(t, "192.0.2.1", "alice", now, 3);
		_exit(0);
	}
	int status;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	struct throttle_result r = throttle_peek(t, "192.0.2.1", "alice", now);
	CHECK(r.addr_failures == 3 && r.user_failures == 3);
	/* And the parent's own attempt queues behind the child's answers. */
	int64_t slot;
	CHECK(throttle_begin(t, "192.0.2.1", "alice", now, &slot));
	CHECK(slot == now + 100 + 200 + 400);
	throttle_free(t);
}

int main(void)
{
	test_doubling_and_cap();
	test_first_attempt_is_free();
	test_quiet_period_forgets();
	test_address_and_user_apart();
	test_success_clears_user_only();
	test_parallel_reservation_and_refusal();
	test_eviction_when_full();
	test_addresses();
	test_fork_sharing();
	UNIT_END();
}
