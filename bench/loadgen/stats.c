/* loadgen: latency samples, error counts and samples, the idle script's push rounds, and the JSON
 * report. */
#include "loadgen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 5
#define SAMPLE_LEN 200

/* Latencies in milliseconds. */
struct samples {
	float *v;
	size_t n, cap;
};

/* One push round, summarised when it ends. */
struct round {
	int round;
	long idling, received, missed;
	size_t appends;
	double append_p50, append_max, p50, p90, p99, max, last_after_ok;
};

static struct samples lat;              /* every measured latency */
static struct samples push_lat, app_lat; /* this round's EXISTS and APPEND latencies */
static struct round *rounds;
static size_t nrounds;
static long errors, unsupported;
static char *err_samples[MAX_SAMPLES], *unsup_samples[MAX_SAMPLES];
static int nerr, nunsup;

static void add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			abort();
	}
	s->v[s->n++] = (float)((double)ns / 1e6);
}

void stats_latency(uint64_t ns)
{
	add(&lat, ns);
}

/* Keep up to MAX_SAMPLES distinct texts. */
static void sample(char **arr, int *n, const char *text)
{
	if (*n >= MAX_SAMPLES)
		return;
	for (int i = 0; i < *n; i++)
		if (!strcmp(arr[i], text))
			return;
	arr[(*n)++] = strndup(text, SAMPLE_LEN);
}

void stats_error(const char *fmt, ...)
{
	errors++;
	if (nerr >= MAX_SAMPLES)
		return;
	char text[SAMPLE_LEN + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	sample(err_samples, &nerr, text);
}

long stats_errors(void)
{
	return errors;
}

void stats_unsupported(const char *text)
{
	unsupported++;
	sample(unsup_samples, &nunsup, text);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static void sort(struct samples *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_float);
}

/* Nearest-rank percentile of sorted samples. */
static double percentile(const struct samples *s, double p)
{
	if (!s->n)
		return 0;
	double exact = p * (double)s->n;
	size_t rank = (size_t)exact;
	if ((double)rank < exact)
		rank++;
	return s->v[rank ? rank - 1 : 0];
}

static double maximum(const struct samples *s)
{
	return s->n ? s->v[s->n - 1] : 0;
}

void stats_push_begin(void)
{
	push_lat.n = app_lat.n = 0;
}

/* An idling client's EXISTS, ns after t0: in the round and in the overall percentiles. */
void stats_push_exists(uint64_t ns)
{
	add(&push_lat, ns);
	add(&lat, ns);
}

void stats_push_append(uint64_t ns)
{
	add(&app_lat, ns);
}

void stats_push_end(int round, long idling, long missed, double last_after_ok_ms)
{
	sort(&push_lat);
	sort(&app_lat);
	rounds = realloc(rounds, (nrounds + 1) * sizeof *rounds);
	if (!rounds)
		abort();
	rounds[nrounds++] = (struct round){
	    .round = round,
	    .idling = idling,
	    .received = (long)push_lat.n,
	    .missed = missed,
	    .appends = app_lat.n,
	    .append_p50 = percentile(&app_lat, 0.50),
	    .append_max = maximum(&app_lat),
	    .p50 = percentile(&push_lat, 0.50),
	    .p90 = percentile(&push_lat, 0.90),
	    .p99 = percentile(&push_lat, 0.99),
	    .max = maximum(&push_lat),
	    .last_after_ok = last_after_ok_ms,
	};
}

/* A JSON string; bytes outside printable ASCII become \u00XX so the output is always valid. */
static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void json_list(const char *key, char **arr, int n)
{
	printf(", \"%s\": [", key);
	for (int i = 0; i < n; i++) {
		if (i)
			printf(", ");
		json_str(arr[i]);
	}
	putchar(']');
}

static void json_rounds(void)
{
	printf(", \"push\": [");
	for (size_t i = 0; i < nrounds; i++) {
		const struct round *r = &rounds[i];
		printf("%s{\"round\": %d, \"idling\": %ld, \"received\": %ld, \"missed\": %ld, "
		       "\"appends\": %zu, \"append_p50_ms\": %.3f, \"append_max_ms\": %.3f, ",
		       i ? ", " : "", r->round, r->idling, r->received, r->missed, r->appends,
		       r->append_p50, r->append_max);
		printf("\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
		       "\"last_after_ok_ms\": %.3f}",
		       r->p50, r->p90, r->p99, r->max, r->last_after_ok);
	}
	putchar(']');
}

static const char *script_name(enum script s)
{
	static const char *const names[] = {"login", "select", "command", "mixed", "idle"};
	return names[s];
}

void stats_print(double seconds)
{
	sort(&lat);
	printf("{\"script\": \"%s\", \"clients\": %ld, \"commands\": %zu, \"errors\": %ld, "
	       "\"unsupported\": %ld, \"seconds\": %.3f, \"cps\": %.1f, ",
	       script_name(g.o.script), g.o.clients, lat.n, errors, unsupported, seconds,
	       seconds > 0 ? (double)lat.n / seconds : 0.0);
	printf("\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, ",
	       percentile(&lat, 0.50), percentile(&lat, 0.90), percentile(&lat, 0.99), maximum(&lat));
	printf("\"connected\": %ld", g.ever_authed);
	json_list("error_samples", err_samples, nerr);
	json_list("unsupported_samples", unsup_samples, nunsup);
	if (g.o.script == SCRIPT_IDLE)
		json_rounds();
	printf(", \"ramp_seconds\": %.3f}\n", g.ramp_seconds);
	fflush(stdout);
}
