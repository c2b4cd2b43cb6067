/* Failed-login throttling across workers: see throttle.h.
 *
 * The table is a fixed array of entries in a MAP_SHARED mapping, searched
 * whole under one process-shared mutex: a login costs a crypt_r of tens of
 * milliseconds, next to which scanning 4096 hashes (32 KB, contiguous) is
 * nothing, and a whole scan lets a full table evict the entry that failed
 * longest ago instead of whatever shares a bucket with the newcomer. Keys
 * are stored whole, so two names with the same hash never share a count.
 * The mutex is robust: a worker that dies holding it (a crash, a sanitizer
 * abort) must not stop every other worker's logins. */
#include "auth/throttle.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "util/log.h"

#define KEY_MAX 72 /* "u:" and a 64-byte user name, or "i:" and an address */
#define FAILURES_MAX 1000000u

struct entry {
	int64_t last_ms;    /* the last failure */
	int64_t next_ok_ms; /* no answer on this key before this time */
	uint32_t failures;  /* 0: the entry is free */
	char key[KEY_MAX];
};

struct throttle {
	pthread_mutex_t lock;
	unsigned slots, base_ms, max_ms;
	size_t size;
	/* Then slots hashes (0: free) and slots entries, in the same mapping. */
};

static uint64_t *hashes(struct throttle *t)
{
	return (uint64_t *)(t + 1);
}

static struct entry *entries(struct throttle *t)
{
	return (struct entry *)(hashes(t) + t->slots);
}

/* FNV-1a; 0 means "free", so it is never a hash. Only a filter before the
 * key comparison, so a collision costs a strcmp and nothing else. */
static uint64_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

static bool init_lock(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	if (pthread_mutexattr_init(&a) != 0)
		return false;
	bool ok = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0 &&
	          pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0 &&
	          pthread_mutex_init(m, &a) == 0;
	pthread_mutexattr_destroy(&a);
	return ok;
}

struct throttle *throttle_new(unsigned slots, unsigned base_ms, unsigned max_ms)
{
	if (slots < 2)
		slots = 2; /* a failure adds two keys; the second must not evict the first */
	size_t size =
	    sizeof(struct throttle) + (size_t)slots * (sizeof(uint64_t) + sizeof(struct entry));
	/* The mapping is zeroed: every entry starts free. */
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		log_error("cannot map the failed-login table (%zu bytes)", size);
		return NULL;
	}
	struct throttle *t = m;
	t->slots = slots;
	t->base_ms = base_ms;
	t->max_ms = max_ms;
	t->size = size;
	if (!init_lock(&t->lock)) {
		log_error("cannot make the failed-login table's lock");
		munmap(m, size);
		return NULL;
	}
	return t;
}

void throttle_free(struct throttle *t)
{
	if (t)
		munmap(t, t->size);
}

static void lock(struct throttle *t)
{
	/* EOWNERDEAD: the holder died mid-update. At worst one entry is half
	 * written, which costs one key's count, not the table. */
	if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&t->lock);
}

static void unlock(struct throttle *t)
{
	pthread_mutex_unlock(&t->lock);
}

int64_t throttle_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Strips the port; "[V6]:PORT" loses its brackets too. */
static void strip_port(const char *peer, char *out, size_t size)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
	if (peer[0] == '[' && n >= 2 && peer[n - 1] == ']') {
		peer++;
		n -= 2;
	}
	snprintf(out, size, "%.*s", (int)n, peer);
}

void throttle_addr(const char *peer, char *out, size_t size)
{
	char addr[THROTTLE_ADDR_MAX];
	struct in6_addr a6;
	strip_port(peer, addr, sizeof addr);
	if (inet_pton(AF_INET6, addr, &a6) != 1) {
		snprintf(out, size, "%s", addr);
		return;
	}
	char text[INET6_ADDRSTRLEN];
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof text);
		snprintf(out, size, "%s", text);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	inet_ntop(AF_INET6, &a6, text, sizeof text);
	snprintf(out, size, "%s/64", text);
}

/* base_ms doubled per failure after the first, up to max_ms. */
static int64_t delay(const struct throttle *t, uint32_t failures)
{
	if (failures == 0)
		return 0;
	uint64_t d = t->base_ms;
	for (uint32_t i = 1; i < failures && d < t->max_ms; i++)
		d <<= 1;
	return (int64_t)(d < t->max_ms ? d : t->max_ms);
}

static void make_key(char *key, char kind, const char *name)
{
	snprintf(key, KEY_MAX, "%c:%s", kind, name);
}

static bool expired(const struct entry *e, int64_t now_ms)
{
	return e->failures && now_ms - e->last_ms > THROTTLE_QUIET_MS;
}

static void clear(struct throttle *t, size_t i)
{
	hashes(t)[i] = 0;
	memset(&entries(t)[i], 0, sizeof(struct entry));
}

/* The entry for key, or NULL. An entry past its quiet period is freed. */
static struct entry *find(struct throttle *t, const char *key, int64_t now_ms)
{
	uint64_t h = hash(key);
	for (size_t i = 0; i < t->slots; i++) {
		if (hashes(t)[i] != h || strcmp(entries(t)[i].key, key) != 0)
			continue;
		if (!expired(&entries(t)[i], now_ms))
			return &entries(t)[i];
		clear(t, i);
		return NULL;
	}
	return NULL;
}

/* A slot for a new key: a free or forgotten one, else the one whose last
 * failure is the oldest (a key under attack keeps failing, so it stays). */
static size_t victim(struct throttle *t, int64_t now_ms)
{
	size_t best = 0;
	for (size_t i = 0; i < t->slots; i++) {
		const struct entry *e = &entries(t)[i];
		if (!e->failures || expired(e, now_ms))
			return i;
		if (e->last_ms < entries(t)[best].last_ms)
			best = i;
	}
	log_debug("failed-login table full: forgetting %s", entries(t)[best].key);
	return best;
}

static struct entry *find_or_add(struct throttle *t, const char *key, int64_t now_ms)
{
	struct entry *e = find(t, key, now_ms);
	if (e)
		return e;
	size_t i = victim(t, now_ms);
	clear(t, i);
	hashes(t)[i] = hash(key);
	e = &entries(t)[i];
	snprintf(e->key, sizeof e->key, "%s", key);
	return e;
}

/* The two keys of an attempt; k[1] is empty without a user. */
struct keys {
	char k[2][KEY_MAX];
};

static struct keys keys_of(const char *addr, const char *user)
{
	struct keys ks = {0};
	make_key(ks.k[0], 'i', addr);
	if (user)
		make_key(ks.k[1], 'u', user);
	return ks;
}

bool throttle_begin(struct throttle *t, const char *addr, const char *user, int64_t now_ms,
                    int64_t *slot)
{
	struct keys ks = keys_of(addr, user);
	struct entry *e[2] = {0};
	int64_t at = now_ms;
	lock(t);
	for (int k = 0; k < 2; k++) {
		e[k] = ks.k[k][0] ? find(t, ks.k[k], now_ms) : NULL;
		if (e[k] && e[k]->next_ok_ms > at)
			at = e[k]->next_ok_ms;
	}
	bool ok = at - now_ms <= (int64_t)t->max_ms;
	/* Take the slot as if this attempt will fail, before anyone knows: a
	 * parallel attempt on the same key is then answered one delay later,
	 * so many connections guess no faster than one. An unthrottled key is
	 * left alone, or every login from a busy address would queue. */
	for (int k = 0; k < 2 && ok; k++)
		if (e[k])
			e[k]->next_ok_ms = at + delay(t, e[k]->failures + 1);
	unlock(t);
	*slot = at;
	return ok;
}

struct throttle_result throttle_failed(struct throttle *t, const char *addr, const char *user,
                                       int64_t slot, int64_t now_ms)
{
	struct keys ks = keys_of(addr, user);
	struct entry *e[2] = {0};
	int64_t d = 0;
	lock(t);
	for (int k = 0; k < 2; k++) {
		if (!ks.k[k][0])
			continue;
		e[k] = find_or_add(t, ks.k[k], now_ms);
		if (e[k]->failures < FAILURES_MAX)
			e[k]->failures++;
		e[k]->last_ms = now_ms;
		if (delay(t, e[k]->failures) > d)
			d = delay(t, e[k]->failures);
	}
	/* The delay starts once the password was checked (now_ms), as the
	 * first failure's always did, or from the slot if that is later. */
	struct throttle_result r = {.answer_at = (slot > now_ms ? slot : now_ms) + d};
	for (int k = 0; k < 2; k++) {
		if (!e[k])
			continue;
		if (e[k]->next_ok_ms < r.answer_at)
			e[k]->next_ok_ms = r.answer_at;
		*(k ? &r.user_failures : &r.addr_failures) = e[k]->failures;
	}
	unlock(t);
	return r;
}

void throttle_succeeded(struct throttle *t, const char *user, int64_t now_ms)
{
	char key[KEY_MAX];
	make_key(key, 'u', user);
	lock(t);
	struct entry *e = find(t, key, now_ms);
	if (e)
		clear(t, (size_t)(e - entries(t)));
	unlock(t);
}

struct throttle_result throttle_peek(struct throttle *t, const char *addr, const char *user,
                                     int64_t now_ms)
{
	struct keys ks = keys_of(addr ? addr : "", user);
	struct throttle_result r = {0};
	lock(t);
	for (int k = 0; k < 2; k++) {
		if (k == 0 && !addr)
			continue;
		struct entry *e = ks.k[k][0] ? find(t, ks.k[k], now_ms) : NULL;
		if (!e)
			continue;
		*(k ? &r.user_failures : &r.addr_failures) = e->failures;
		if (e->next_ok_ms > r.answer_at)
			r.answer_at = e->next_ok_ms;
	}
	unlock(t);
	return r;
}
