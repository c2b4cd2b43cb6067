/* util/jobs: one queue runs in order, different queues in parallel, a
 * JOB_AGAIN job lets the others in its queue go first, done() comes on the
 * caller's thread, and a drain waits for jobs that done() submits. Also
 * built with ThreadSanitizer (make tsan), which must find no race. */
#include "unit.h"
#include "util/jobs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct task {
	struct job job;
	int id;
	int *log; /* the queue's own log: only the queue's jobs write it */
	size_t *nlog;
	int again; /* times to answer JOB_AGAIN before DONE */
	bool done;
	pthread_t ran_on, done_on;
	unsigned sleep_ms;
	struct jobs *js;     /* done(): submit follow, once */
	struct task *follow; /* ... this one */
};

static _Atomic int running, most_running;

static enum job_next task_run(struct job *j)
{
	struct task *t = (struct task *)j;
	int now = atomic_fetch_add(&running, 1) + 1;
	int seen = atomic_load(&most_running);
	while (now > seen && !atomic_compare_exchange_weak(&most_running, &seen, now))
		;
	if (t->sleep_ms) {
		struct timespec ts = {0, (long)t->sleep_ms * 1000000};
		nanosleep(&ts, NULL);
	}
	t->ran_on = pthread_self();
	t->log[(*t->nlog)++] = t->id;
	atomic_fetch_sub(&running, 1);
	return t->again-- > 0 ? JOB_AGAIN : JOB_DONE;
}

static void task_done(struct job *j)
{
	struct task *t = (struct task *)j;
	t->done = true;
	t->done_on = pthread_self();
	if (t->follow) {
		struct task *f = t->follow;
		t->follow = NULL;
		jobs_submit(j->q, &f->job);
	}
}

static void task_init(struct task *t, int id, int *log, size_t *nlog)
{
	*t = (struct task){
	    .job = {.run = task_run, .done = task_done}, .id = id, .log = log, .nlog = nlog};
}

static void test_order_in_a_queue(void)
{
	unsigned threads[NLANES] = {4, 1};
	struct jobs *js = jobs_new(threads);
	struct job_queue *q = jobs_queue(js, "alice", LANE_STORE);
	int log[64];
	size_t nlog = 0;
	struct task t[20];
	for (int i = 0; i < 20; i++) {
		task_init(&t[i], i, log, &nlog);
		jobs_submit(q, &t[i].job);
	}
	CHECK(jobs_pending(js) == 20);
	jobs_drain(js);
	CHECK(jobs_pending(js) == 0);
	CHECK(nlog == 20);
	bool ordered = true, all_done = true, done_here = true;
	for (int i = 0; i < 20; i++) {
		ordered &= log[i] == i;
		all_done &= t[i].done;
		done_here &= pthread_equal(t[i].done_on, pthread_self()) != 0;
	}
	CHECK(ordered);
	CHECK(all_done);
	CHECK(done_here);
	job_queue_release(q);
	jobs_free(js);
}

/* The same key gives the same queue; another key another one. */
static void test_keyed_queues(void)
{
	unsigned threads[NLANES] = {2, 1};
	struct jobs *js = jobs_new(threads);
	struct job_queue *a = jobs_queue(js, "alice", LANE_STORE);
	struct job_queue *a2 = jobs_queue(js, "alice", LANE_STORE);
	struct job_queue *b = jobs_queue(js, "bob", LANE_STORE);
	struct job_queue *p1 = jobs_queue(js, NULL, LANE_AUTH);
	struct job_queue *p2 = jobs_queue(js, NULL, LANE_AUTH);
	CHECK(a == a2);
	CHECK(a != b);
	CHECK(p1 != p2);
	job_queue_release(a);
	job_queue_release(a2);
	job_queue_release(b);
	job_queue_release(p1);
	job_queue_release(p2);
	jobs_free(js);
}

/* A slow queue does not hold up another: four queues, four threads, each
 * job 50 ms: they overlap. */
static void test_queues_run_in_parallel(void)
{
	unsigned threads[NLANES] = {4, 1};
	struct jobs *js = jobs_new(threads);
	const char *users[] = {"u1", "u2", "u3", "u4"};
	struct job_queue *q[4];
	int log[4][4];
	size_t nlog[4] = {0};
	struct task t[4];
	atomic_store(&most_running, 0);
	for (int i = 0; i < 4; i++) {
		q[i] = jobs_queue(js, users[i], LANE_STORE);
		task_init(&t[i], i, log[i], &nlog[i]);
		t[i].sleep_ms = 50;
		jobs_submit(q[i], &t[i].job);
	}
	jobs_drain(js);
	CHECK(atomic_load(&most_running) >= 2);
	for (int i = 0; i < 4; i++)
		job_queue_release(q[i]);
	jobs_free(js);
}

/* One queue never runs two of its jobs at once, however many threads. */
static void test_one_at_a_time_per_queue(void)
{
	unsigned threads[NLANES] = {4, 1};
	struct jobs *js = jobs_new(threads);
	struct job_queue *q = jobs_queue(js, "alice", LANE_STORE);
	int log[8];
	size_t nlog = 0;
	struct task t[8];
	atomic_store(&most_running, 0);
	for (int i = 0; i < 8; i++) {
		task_init(&t[i], i, log, &nlog);
		t[i].sleep_ms = 5;
		jobs_submit(q, &t[i].job);
	}
	jobs_drain(js);
	CHECK(atomic_load(&most_running) == 1);
	CHECK(nlog == 8);
	job_queue_release(q);
	jobs_free(js);
}

/* JOB_AGAIN: the job goes behind the others of its queue. */
static void test_again_goes_behind(void)
{
	unsigned threads[NLANES] = {1, 1};
	struct jobs *js = jobs_new(threads);
	struct job_queue *q = jobs_queue(js, "alice", LANE_STORE);
	int log[16];
	size_t nlog = 0;
	struct task a, b;
	task_init(&a, 1, log, &nlog);
	task_init(&b, 2, log, &nlog);
	a.again = 2;
	jobs_submit(q, &a.job);
	jobs_submit(q, &b.job);
	jobs_drain(js);
	CHECK(nlog == 4);
	CHECK(log[0] == 1 && log[1] == 2 && log[2] == 1 && log[3] == 1);
	CHECK(a.done && b.done);
	job_queue_release(q);
	jobs_free(js);
}

/* A done() that submits more: the drain waits for that one too, and the
 * queue outlives its last holder until its jobs are done. */
static void test_drain_follows_done(void)
{
	unsigned threads[NLANES] = {2, 1};
	struct jobs *js = jobs_new(threads);
	struct job_queue *q = jobs_queue(js, NULL, LANE_AUTH);
	int log[4];
	size_t nlog = 0;
	struct task a, b;
	task_init(&a, 1, log, &nlog);
	task_init(&b, 2, log, &nlog);
	a.follow = &b;
	jobs_submit(q, &a.job);
	job_queue_release(q); /* the job holds it */
	jobs_free(js);        /* drains first */
	CHECK(a.done && b.done);
	CHECK(nlog == 2 && log[0] == 1 && log[1] == 2);
}

/* The loop's side: jobs_fd is readable once a job is done. */
static void test_fd_wakes(void)
{
	unsigned threads[NLANES] = {1, 1};
	struct jobs *js = jobs_new(threads);
	struct job_queue *q = jobs_queue(js, "alice", LANE_STORE);
	int log[2];
	size_t nlog = 0;
	struct task a;
	task_init(&a, 1, log, &nlog);
	jobs_submit(q, &a.job);
	uint64_t n = 0;
	for (int i = 0; i < 2000 && read(jobs_fd(js), &n, sizeof n) < 0; i++)
		usleep(1000);
	CHECK(n >= 1);
	CHECK(!a.done); /* not before jobs_dispatch */
	jobs_dispatch(js);
	CHECK(a.done);
	CHECK(jobs_pending(js) == 0);
	job_queue_release(q);
	jobs_free(js);
}

int main(void)
{
	test_order_in_a_queue();
	test_keyed_queues();
	test_queues_run_in_parallel();
	test_one_at_a_time_per_queue();
	test_again_goes_behind();
	test_drain_follows_done();
	test_fd_wakes();
	UNIT_END();
}
