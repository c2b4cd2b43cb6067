/* Thread pool and ordered queues: see jobs.h.
 *
 * One mutex guards what threads share: each queue's list of jobs and its
 * running mark, the lanes' lists of ready queues, and the list of finished
 * jobs. Critical sections are a few pointer moves, so one lock is enough.
 * The table of keyed queues, the queues' reference counts and the count of
 * pending jobs are the loop's alone. */
#include "util/jobs.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"

/* Password hashing is CPU-bound by design (yescrypt): its threads yield
 * the CPU to the loop and the mail threads whenever both want it. */
#define AUTH_NICE 10
#define NBUCKETS 1024

struct job_queue {
	struct jobs *js;
	char *key; /* NULL: a private queue, not in the table */
	enum job_lane lane;
	unsigned refs;           /* loop: holders, plus jobs not yet done() */
	struct job *head, *tail; /* lock: waiting to run */
	bool running;            /* lock: a thread runs its head job */
	bool ready;              /* lock: in its lane's ready list */
	struct job_queue *next_ready;
	struct job_queue *hnext; /* loop: the table's chain */
};

struct lane {
	pthread_cond_t cond;
	struct job_queue *head, *tail; /* queues with a job to run, none running */
	pthread_t *threads;
	unsigned nthreads;
};

struct thread_arg {
	struct jobs *js;
	enum job_lane lane;
};

struct jobs {
	pthread_mutex_t lock;
	struct lane lanes[NLANES];
	struct job *done_head, *done_tail; /* lock: finished, for jobs_dispatch */
	bool stopping;                     /* lock */
	int efd;
	size_t pending; /* loop */
	struct job_queue *table[NBUCKETS];
	struct thread_arg args[NLANES];
};

/* The thread's own context, for jobs_yield: the job it runs (NULL on the
 * loop's thread), and whether it is inside a jobs_yield already. */
static _Thread_local struct job *running_job;
static _Thread_local bool in_yield;

static uint64_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Under the lock: q has a job to run and no thread runs it. */
static void make_ready(struct job_queue *q)
{
	struct lane *ln = &q->js->lanes[q->lane];
	if (q->ready || q->running || !q->head)
		return;
	q->ready = true;
	q->next_ready = NULL;
	if (ln->tail)
		ln->tail->next_ready = q;
	else
		ln->head = q;
	ln->tail = q;
	pthread_cond_signal(&ln->cond);
}

static void append(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

/* Under the lock: j is finished; the loop learns it through the eventfd,
 * written only when the list was empty (jobs_dispatch reads the eventfd
 * before it takes the list, so no finished job is left unannounced). */
static void finished(struct jobs *js, struct job *j)
{
	bool was_empty = js->done_head == NULL;
	append(&js->done_head, &js->done_tail, j);
	uint64_t one = 1;
	if (was_empty && write(js->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_error("jobs: cannot wake the event loop: %s", strerror(errno));
}

/* Under the lock: j of queue q has run; it goes behind q's other jobs or
 * to the loop. */
static void settle(struct jobs *js, struct job_queue *q, struct job *j, enum job_next next)
{
	if (next == JOB_AGAIN)
		append(&q->head, &q->tail, j);
	else
		finished(js, j);
}

static struct job_queue *next_queue(struct jobs *js, struct lane *ln)
{
	while (!js->stopping && !ln->head)
		pthread_cond_wait(&ln->cond, &js->lock);
	struct job_queue *q = ln->head;
	if (!q)
		return NULL;
	ln->head = q->next_ready;
	if (!ln->head)
		ln->tail = NULL;
	q->ready = false;
	return q;
}

static void *lane_main(void *arg)
{
	const struct thread_arg *ta = arg;
	struct jobs *js = ta->js;
	struct lane *ln = &js->lanes[ta->lane];
	if (ta->lane == LANE_AUTH && setpriority(PRIO_PROCESS, (id_t)gettid(), AUTH_NICE) < 0)
		log_debug("jobs: cannot lower the auth threads' priority: %s", strerror(errno));
	pthread_mutex_lock(&js->lock);
	struct job_queue *q;
	while ((q = next_queue(js, ln))) {
		struct job *j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		q->running = true;
		pthread_mutex_unlock(&js->lock);
		running_job = j;
		enum job_next next = j->run(j);
		running_job = NULL;
		pthread_mutex_lock(&js->lock);
		q->running = false;
		settle(js, q, j, next);
		make_ready(q);
	}
	pthread_mutex_unlock(&js->lock);
	return NULL;
}

void jobs_yield(void)
{
	struct job *self = running_job;
	if (!self || in_yield)
		return;
	struct job_queue *q = self->q;
	struct jobs *js = q->js;
	/* Those waiting now; what comes meanwhile waits for the next step.
	 * The queue stays marked running, so no other thread takes it. */
	pthread_mutex_lock(&js->lock);
	struct job *j = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&js->lock);
	in_yield = true;
	while (j) {
		struct job *next = j->next;
		running_job = j;
		enum job_next r = j->run(j);
		pthread_mutex_lock(&js->lock);
		settle(js, q, j, r);
		pthread_mutex_unlock(&js->lock);
		j = next;
	}
	in_yield = false;
	running_job = self;
}

struct jobs *jobs_new(const unsigned threads[NLANES])
{
	struct jobs *js = xcalloc(1, sizeof *js);
	js->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (js->efd < 0) {
		log_error("jobs: eventfd: %s", strerror(errno));
		free(js);
		return NULL;
	}
	pthread_mutex_init(&js->lock, NULL);
	/* Signals are the loop's (libevent's handlers): block them in the pool. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int l = 0; l < NLANES; l++) {
		struct lane *ln = &js->lanes[l];
		pthread_cond_init(&ln->cond, NULL);
		js->args[l] = (struct thread_arg){js, (enum job_lane)l};
		unsigned n = threads[l] ? threads[l] : 1;
		ln->threads = xcalloc(n, sizeof *ln->threads);
		for (; ln->nthreads < n; ln->nthreads++) {
			int rc = pthread_create(&ln->threads[ln->nthreads], NULL, lane_main,
			                        &js->args[l]);
			if (rc != 0) {
				log_error("jobs: cannot start a thread: %s", strerror(rc));
				break;
			}
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int l = 0; l < NLANES; l++)
		if (js->lanes[l].nthreads == 0) {
			jobs_free(js);
			return NULL;
		}
	return js;
}

void jobs_free(struct jobs *js)
{
	if (!js)
		return;
	jobs_drain(js);
	pthread_mutex_lock(&js->lock);
	js->stopping = true;
	for (int l = 0; l < NLANES; l++)
		pthread_cond_broadcast(&js->lanes[l].cond);
	pthread_mutex_unlock(&js->lock);
	for (int l = 0; l < NLANES; l++) {
		struct lane *ln = &js->lanes[l];
		for (unsigned i = 0; i < ln->nthreads; i++)
			pthread_join(ln->threads[i], NULL);
		free(ln->threads);
		pthread_cond_destroy(&ln->cond);
	}
	for (size_t b = 0; b < NBUCKETS; b++)
		if (js->table[b])
			log_error("jobs: freed with queues still held");
	pthread_mutex_destroy(&js->lock);
	close(js->efd);
	free(js);
}

struct job_queue *jobs_queue(struct jobs *js, const char *key, enum job_lane lane)
{
	size_t b = key ? hash(key) % NBUCKETS : 0;
	for (struct job_queue *q = key ? js->table[b] : NULL; q; q = q->hnext)
		if (q->lane == lane && strcmp(q->key, key) == 0) {
			q->refs++;
			return q;
		}
	struct job_queue *q = xcalloc(1, sizeof *q);
	q->js = js;
	q->lane = lane;
	q->refs = 1;
	if (key) {
		q->key = xstrdup(key);
		q->hnext = js->table[b];
		js->table[b] = q;
	}
	return q;
}

void job_queue_release(struct job_queue *q)
{
	if (!q || --q->refs > 0)
		return;
	if (q->key) {
		struct job_queue **p = &q->js->table[hash(q->key) % NBUCKETS];
		while (*p != q)
			p = &(*p)->hnext;
		*p = q->hnext;
	}
	free(q->key);
	free(q);
}

void jobs_submit(struct job_queue *q, struct job *j)
{
	struct jobs *js = q->js;
	q->refs++; /* the queue lives until j is done */
	js->pending++;
	j->q = q;
	pthread_mutex_lock(&js->lock);
	append(&q->head, &q->tail, j);
	make_ready(q);
	pthread_mutex_unlock(&js->lock);
}

int jobs_fd(const struct jobs *js)
{
	return js->efd;
}

void jobs_dispatch(struct jobs *js)
{
	uint64_t n;
	if (read(js->efd, &n, sizeof n) < 0 && errno != EAGAIN)
		log_error("jobs: reading the eventfd: %s", strerror(errno));
	pthread_mutex_lock(&js->lock);
	struct job *j = js->done_head;
	js->done_head = js->done_tail = NULL;
	pthread_mutex_unlock(&js->lock);
	while (j) {
		struct job *next = j->next;
		struct job_queue *q = j->q; /* done() may free j's owner */
		js->pending--;
		j->done(j);
		job_queue_release(q);
		j = next;
	}
}

size_t jobs_pending(const struct jobs *js)
{
	return js->pending;
}

void jobs_drain(struct jobs *js)
{
	while (js->pending > 0) {
		struct pollfd p = {.fd = js->efd, .events = POLLIN};
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			log_error("jobs: poll: %s", strerror(errno));
		jobs_dispatch(js);
	}
}
