/* loadgen: latency samples, error counts and samples, and the JSON report. */
#include "loadgen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 5
#define SAMPLE_LEN 200

static float *lat; /* every measured latency, in milliseconds */
static size_t nlat, caplat;
static long errors, unsupported;
static char *err_samples[MAX_SAMPLES], *unsup_samples[MAX_SAMPLES];
static int nerr, nunsup;

void stats_latency(uint64_t ns)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		lat = realloc(lat, caplat * sizeof *lat);
		if (!lat)
			abort();
	}
	lat[nlat++] = (float)((double)ns / 1e6);
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

/* Nearest-rank percentile of the sorted samples. */
static double percentile(double p)
{
	if (!nlat)
		return 0;
	double exact = p * (double)nlat;
	size_t rank = (size_t)exact;
	if ((double)rank < exact)
		rank++;
	return lat[rank ? rank - 1 : 0];
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

static const char *script_name(enum script s)
{
	static const char *const names[] = {"login", "select", "command", "mixed", "idle"};
	return names[s];
}

void stats_print(double seconds)
{
	if (nlat)
		qsort(lat, nlat, sizeof *lat, cmp_float);
	printf("{\"script\": \"%s\", \"clients\": %ld, \"commands\": %zu, \"errors\": %ld, "
	       "\"unsupported\": %ld, \"seconds\": %.3f, \"cps\": %.1f, ",
	       script_name(g.o.script), g.o.clients, nlat, errors, unsupported, seconds,
	       seconds > 0 ? (double)nlat / seconds : 0.0);
	printf("\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, ",
	       percentile(0.50), percentile(0.90), percentile(0.99), nlat ? lat[nlat - 1] : 0.0);
	printf("\"connected\": %ld", g.ever_authed);
	json_list("error_samples", err_samples, nerr);
	json_list("unsupported_samples", unsup_samples, nunsup);
	printf(", \"ramp_seconds\": %.3f}\n", g.ramp_seconds);
	fflush(stdout);
}
