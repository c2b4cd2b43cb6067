/* Connection accounting across worker processes, for the connection caps:
 * in total, per client address and per user.
 *
 * The master maps the table (shared memory) before it forks; each worker
 * writes only its own row of slots, one slot per connection holding hashes
 * of the peer address and, after login, the user name. A cap is checked by
 * counting over every row, so no lock is needed; two workers admitting at
 * the same instant can each let one connection past a cap, which bounds the
 * overshoot by the number of workers. The master clears a dead worker's row. */
#ifndef GANNET_SERVER_CONNTABLE_H
#define GANNET_SERVER_CONNTABLE_H

#include <stdbool.h>
#include <stdint.h>

struct conn_table;

/* rows: worker processes that may live at once; slots: connections per row. */
struct conn_table *conn_table_new(unsigned rows, unsigned slots);
void conn_table_free(struct conn_table *t);

/* Takes a free slot of row for a connection from addr (the peer without its
 * port); -1 when the row is full. */
int conn_table_add(struct conn_table *t, unsigned row, const char *addr);
void conn_table_set_user(struct conn_table *t, unsigned row, int slot, const char *user);
void conn_table_remove(struct conn_table *t, unsigned row, int slot);
void conn_table_clear_row(struct conn_table *t, unsigned row);

struct conn_counts {
	unsigned total, addr, user;
};
/* Connections now, over all rows: in total, from addr, and logged in as
 * user (either may be NULL). */
struct conn_counts conn_table_count(const struct conn_table *t, const char *addr, const char *user);

#endif
