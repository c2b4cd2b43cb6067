/* A worker's execution model (design.md section 4, doc/architecture.md):
 * the event loop moves bytes and parses; everything that may wait runs
 * here, on a small pool of threads, and comes back to the loop when done.
 *
 * Jobs go into queues. A queue runs one job at a time, in the order they
 * were submitted, so everything one user does (keyed queue, key = the user)
 * stays in order and touches that user's store from one thread at a time,
 * without locks; different queues run in parallel. A queue belongs to a
 * lane: the store lane runs mail work, the auth lane password hashing, on
 * threads of its own (at a lower CPU priority), so a storm of logins
 * cannot take the threads mail needs.
 *
 * Threads: jobs_new, jobs_queue, job_queue_release, jobs_submit,
 * jobs_dispatch, jobs_drain and jobs_free are for the loop's thread only;
 * a job's run() is called on a pool thread, its done() on the loop's
 * thread (from jobs_dispatch) after run() returned JOB_DONE. Everything a
 * job touches belongs to it from jobs_submit until its done() is called. */
#ifndef GANNET_UTIL_JOBS_H
#define GANNET_UTIL_JOBS_H

#include <stddef.h>

struct jobs;
struct job_queue;
struct job;

enum job_next {
	JOB_DONE,  /* call done() on the loop */
	JOB_AGAIN, /* run again later, after the jobs queued behind it in its queue */
};

typedef enum job_next job_run_fn(struct job *j);
typedef void job_done_fn(struct job *j);

/* Embedded in its owner (container_of style); run and done are set by the
 * owner, the rest by jobs_submit. */
struct job {
	job_run_fn *run;
	job_done_fn *done;
	struct job_queue *q;
	struct job *next;
};

enum job_lane { LANE_STORE, LANE_AUTH, NLANES };

/* threads[lane]: how many threads run each lane (at least 1). */
struct jobs *jobs_new(const unsigned threads[NLANES]);
/* Waits for every submitted job to be done (jobs_drain), then stops the
 * threads. Every queue must have been released. */
void jobs_free(struct jobs *js);

/* The queue for key (a user name) in lane, shared by every caller asking
 * for the same key, or with key NULL a queue of the caller's own. Counted:
 * each call needs a job_queue_release. */
struct job_queue *jobs_queue(struct jobs *js, const char *key, enum job_lane lane);
void job_queue_release(struct job_queue *q);

/* Queues j behind the jobs already in q. */
void jobs_submit(struct job_queue *q, struct job *j);

/* For a long job, between two of its steps (store/ calls it between the
 * committed slices of a big COPY): runs, on this thread, the jobs waiting
 * behind it in its queue, so the same user's other sessions are not held
 * for the whole operation. The caller must hold nothing they could touch
 * half-done (no open transaction). Does nothing off a job thread or inside
 * another jobs_yield. */
void jobs_yield(void);

/* Readable when finished jobs wait for jobs_dispatch. */
int jobs_fd(const struct jobs *js);
/* Calls done() of every finished job, in the order they finished. */
void jobs_dispatch(struct jobs *js);
/* Jobs submitted whose done() has not been called yet. */
size_t jobs_pending(const struct jobs *js);
/* Blocks, dispatching, until no job is pending (done() may submit more,
 * which are waited for too). For a stopping worker. */
void jobs_drain(struct jobs *js);

#endif
