/* Connection accounting across workers: see conntable.h. */
#include "server/conntable.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

#include "util/log.h"

struct slot {
	_Atomic uint64_t addr, user; /* hashes; addr 0: free */
};

struct row {
	_Atomic unsigned high; /* slots at and above are free */
};

struct conn_table {
	unsigned rows, slots;
	size_t size;
	struct row *row; /* rows of them, then rows * slots slots */
	struct slot *slot;
};

/* FNV-1a; 0 means "none", so it is never a hash. */
static uint64_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

struct conn_table *conn_table_new(unsigned rows, unsigned slots)
{
	size_t size = rows * sizeof(struct row) + (size_t)rows * slots * sizeof(struct slot);
	size = (size + 63) & ~(size_t)63;
	void *m = mmap(NULL, size + sizeof(struct conn_table), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		log_error("cannot map the connection table (%zu bytes)", size);
		return NULL;
	}
	/* The descriptor lives in the mapping too: nothing to free per process. */
	struct conn_table *t = (struct conn_table *)((char *)m + size);
	t->rows = rows;
	t->slots = slots;
	t->size = size + sizeof *t;
	t->row = m;
	t->slot = (struct slot *)((char *)m + rows * sizeof(struct row));
	return t;
}

void conn_table_free(struct conn_table *t)
{
	if (t)
		munmap(t->row, t->size);
}

static struct slot *row_slots(const struct conn_table *t, unsigned row)
{
	return t->slot + (size_t)row * t->slots;
}

int conn_table_add(struct conn_table *t, unsigned row, const char *addr)
{
	struct slot *s = row_slots(t, row);
	unsigned high = atomic_load(&t->row[row].high);
	for (unsigned i = 0; i < t->slots; i++) {
		if (atomic_load(&s[i].addr) != 0)
			continue;
		atomic_store(&s[i].user, 0);
		atomic_store(&s[i].addr, hash(addr));
		if (i >= high)
			atomic_store(&t->row[row].high, i + 1);
		return (int)i;
	}
	return -1;
}

void conn_table_set_user(struct conn_table *t, unsigned row, int slot, const char *user)
{
	atomic_store(&row_slots(t, row)[slot].user, hash(user));
}

void conn_table_remove(struct conn_table *t, unsigned row, int slot)
{
	struct slot *s = row_slots(t, row);
	atomic_store(&s[slot].user, 0);
	atomic_store(&s[slot].addr, 0);
	unsigned high = atomic_load(&t->row[row].high);
	while (high > 0 && atomic_load(&s[high - 1].addr) == 0)
		high--;
	atomic_store(&t->row[row].high, high);
}

void conn_table_clear_row(struct conn_table *t, unsigned row)
{
	struct slot *s = row_slots(t, row);
	for (unsigned i = 0; i < t->slots; i++) {
		atomic_store(&s[i].user, 0);
		atomic_store(&s[i].addr, 0);
	}
	atomic_store(&t->row[row].high, 0);
}

struct conn_counts conn_table_count(const struct conn_table *t, const char *addr, const char *user)
{
	struct conn_counts c = {0};
	uint64_t ha = addr ? hash(addr) : 0, hu = user ? hash(user) : 0;
	for (unsigned r = 0; r < t->rows; r++) {
		const struct slot *s = row_slots(t, r);
		unsigned high = atomic_load(&t->row[r].high);
		for (unsigned i = 0; i < high && i < t->slots; i++) {
			uint64_t a = atomic_load(&s[i].addr);
			if (!a)
				continue;
			c.total++;
			c.addr += a == ha;
			c.user += hu && atomic_load(&s[i].user) == hu;
		}
	}
	return c;
}
