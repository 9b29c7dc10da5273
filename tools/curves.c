// SPDX-License-Identifier: MIT
/*
 * The scale curves of `uptr bench`, measured, as JSON and as SVG drawn
 * by hand (no library: a few elements of SVG 1.1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "curves.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "tool.h"

#define MUNMAP_PAGES	16	/* the range the overlapping userptrs cover */
#define MUNMAP_REPS	5	/* munmaps per point: the median is kept */
#define MAX_OVERLAP	256

static const uint32_t kinds[CURVE_MAX_SERIES] = { 0, DRM_UPTR_USERPTR_PINNED };

/* Slab of /proc/meminfo in bytes; -1 if it cannot be read. */
static long long slab_bytes(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Slab:", 5)) {
			kb = strtoll(line + 5, NULL, 10);
			break;
		}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static void *map_pages(size_t len)
{
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < len; i += 4096)
		p[i] = 1;
	return p;
}

/* Out of memlock or memory: the series stops where it is, not the bench. */
static bool series_limit(int ret)
{
	return ret == -ENOMEM || ret == -EPERM || ret == -EAGAIN;
}

/*
 * Curves 1 and 2 in one pass per kind: userptrs of one page each over
 * distinct pages, created in batches up to 1, 4, 16, ... @max_count; the
 * time of each batch per create, and the Slab growth since none per
 * userptr held.
 */
static int measure_create(struct uptr_dev *dev, unsigned int max_count,
			  struct curve *cost, struct curve *mem)
{
	size_t page = uptr_page_size(dev);
	unsigned int k, have, target, i;
	int ret = 0;

	for (k = 0; k < CURVE_MAX_SERIES && !ret; k++) {
		struct curve_series *cs = &cost->series[k], *ms = &mem->series[k];
		unsigned char *region = map_pages((size_t)max_count * page);
		uint32_t *h = calloc(max_count, sizeof(*h));
		long long slab0 = slab_bytes();

		if (!region || !h) {
			free(h);
			if (region)
				munmap(region, (size_t)max_count * page);
			return -ENOMEM;
		}
		/* One create and destroy first: the first point is not a cold start. */
		ret = uptr_userptr_create(dev, region, page, kinds[k], &h[0]);
		if (!ret)
			uptr_userptr_destroy(dev, h[0]);
		else if (series_limit(ret))
			ret = 0;
		have = 0;
		for (target = 1; !ret && target <= max_count && cs->n < CURVE_MAX_POINTS;
		     target *= 4) {
			double t0 = tool_now(), t;
			long long slab;

			for (i = have; i < target; i++) {
				ret = uptr_userptr_create(dev, region + (size_t)i * page, page,
							  kinds[k], &h[i]);
				if (ret)
					break;
			}
			t = tool_now() - t0;
			if (ret) {
				have = i;
				if (series_limit(ret))
					ret = 0;
				break;
			}
			cs->x[cs->n] = target;
			cs->y[cs->n++] = t / (target - have) * 1e6;
			have = target;
			slab = slab_bytes();
			if (slab0 >= 0 && slab >= 0) {
				ms->x[ms->n] = target;
				ms->y[ms->n++] = (double)(slab - slab0) / target;
			}
		}
		for (i = 0; i < have; i++)
			uptr_userptr_destroy(dev, h[i]);
		free(h);
		munmap(region, (size_t)max_count * page);
	}
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One munmap of a fresh range under @n userptrs of kind @flags; its seconds in *@t. */
static int munmap_once(struct uptr_dev *dev, uint32_t res, uint32_t flags,
		       unsigned int n, uint32_t *h, double *t)
{
	size_t len = MUNMAP_PAGES * uptr_page_size(dev);
	unsigned int maxc = uptr_max_commands(dev), i, made = 0, c;
	struct drm_uptr_cmd cmds[64];
	unsigned char *p = map_pages(len);
	double t0;
	int ret = 0;

	if (!p)
		return -ENOMEM;
	if (maxc > 64)
		maxc = 64;
	for (; made < n; made++) {
		ret = uptr_userptr_create(dev, p, len, flags, &h[made]);
		if (ret)
			goto out;
	}
	/* Every userptr used once: coherent ones have their pages faulted in. */
	for (i = 0; i < n; i += c) {
		for (c = 0; c < maxc && i + c < n; c++)
			cmds[c] = uptr_cmd_checksum(res, 0, h[i + c], 0, len);
		ret = uptr_submit_cmds(dev, cmds, c);
		if (ret)
			goto out;
	}
	t0 = tool_now();
	if (munmap(p, len))
		ret = -errno;
	*t = tool_now() - t0;
	p = NULL;
out:
	for (i = 0; i < made; i++)
		uptr_userptr_destroy(dev, h[i]);
	if (p)
		munmap(p, len);
	return ret;
}

/* Curve 3: munmap of a range against the userptrs over it (0, 1, 4, ...). */
static int measure_munmap(struct uptr_dev *dev, uint32_t res, unsigned int max_count,
			  struct curve *c)
{
	unsigned int max = max_count < MAX_OVERLAP ? max_count : MAX_OVERLAP;
	uint32_t *h = calloc(max ? max : 1, sizeof(*h));
	unsigned int k, n, r;
	int ret = 0;

	if (!h)
		return -ENOMEM;
	for (k = 0; k < CURVE_MAX_SERIES && !ret; k++) {
		struct curve_series *s = &c->series[k];

		for (n = 0; n <= max && s->n < CURVE_MAX_POINTS; n = n ? n * 4 : 1) {
			double t[MUNMAP_REPS];

			for (r = 0; r < MUNMAP_REPS && !ret; r++)
				ret = munmap_once(dev, res, kinds[k], n, h, &t[r]);
			if (ret) {
				if (series_limit(ret))
					ret = 0;
				break;
			}
			qsort(t, MUNMAP_REPS, sizeof(double), cmp_double);
			s->x[s->n] = n;
			s->y[s->n++] = t[MUNMAP_REPS / 2] * 1e6;
		}
	}
	free(h);
	return ret;
}

int curves_measure(struct uptr_dev *dev, uint32_t res, unsigned int max_count,
		   void (*progress)(unsigned int i, const char *title),
		   struct curve c[NR_CURVES])
{
	static const char *const names[CURVE_MAX_SERIES] = { "coherent", "pinned" };
	unsigned int i, k;
	int ret;

	memset(c, 0, NR_CURVES * sizeof(*c));
	c[0] = (struct curve){
		.key = "create_cost",
		.title = "Cost of creating a userptr against the userptrs already held",
		.x_label = "userptrs held (one page each)",
		.y_label = "us per create",
	};
	c[1] = (struct curve){
		.key = "memory_per_userptr",
		.title = "Kernel memory per userptr (Slab growth; coarse at small counts)",
		.x_label = "userptrs held (one page each, never used; system-wide Slab)",
		.y_label = "bytes per userptr",
	};
	c[2] = (struct curve){
		.key = "munmap_cost",
		.title = "munmap of 16 pages against the userptrs over them (each used once)",
		.x_label = "userptrs over the range",
		.y_label = "us per munmap (median of 5)",
	};
	for (i = 0; i < NR_CURVES; i++) {
		c[i].nr_series = CURVE_MAX_SERIES;
		for (k = 0; k < CURVE_MAX_SERIES; k++)
			c[i].series[k].name = names[k];
	}
	if (!max_count)
		return -EINVAL;
	if (progress)
		progress(1, "create cost and memory per userptr");
	ret = measure_create(dev, max_count, &c[0], &c[1]);
	if (ret)
		return ret;
	if (progress)
		progress(3, "munmap cost against overlapping userptrs");
	return measure_munmap(dev, res, max_count, &c[2]);
}

void curves_json(FILE *f, const struct curve *c, unsigned int n)
{
	unsigned int i, k, p;

	fprintf(f, "\"curves\": [");
	for (i = 0; i < n; i++) {
		fprintf(f, "%s\n    { \"name\": \"%s\", \"title\": ", i ? "," : "", c[i].key);
		tool_json_str(f, c[i].title);
		fprintf(f, ",\n      \"x\": ");
		tool_json_str(f, c[i].x_label);
		fprintf(f, ", \"y\": ");
		tool_json_str(f, c[i].y_label);
		fprintf(f, ",\n      \"series\": [");
		for (k = 0; k < c[i].nr_series; k++) {
			const struct curve_series *s = &c[i].series[k];

			fprintf(f, "%s\n        { \"name\": ", k ? "," : "");
			tool_json_str(f, s->name);
			fprintf(f, ", \"points\": [");
			for (p = 0; p < s->n; p++)
				fprintf(f, "%s[%g, %.3f]", p ? ", " : "", s->x[p], s->y[p]);
			fprintf(f, "] }");
		}
		fprintf(f, "\n      ] }");
	}
	fprintf(f, "\n  ]");
}

/* ---- SVG ---- */

#define SVG_W		760
#define SVG_H		420	/* one chart */
#define PLOT_L		90
#define PLOT_R		(SVG_W - 170)
#define PLOT_T		50
#define PLOT_B		(SVG_H - 70)

static const char *const colour[CURVE_MAX_SERIES] = { "#1f77b4", "#d62728" };

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A step of 1, 2 or 5 times a power of ten, about @span / 5. */
static double nice_step(double span)
{
	double raw = span / 5, mag = pow(10, floor(log10(raw))), r = raw / mag;

	return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

/* The x axis is logarithmic in 1 + x, so that a count of 0 has a place. */
static double lx(double x)
{
	return log10(1 + (x > 0 ? x : 0));
}

static void svg_chart(FILE *f, const struct curve *c, double oy)
{
	double xmin = INFINITY, xmax = -INFINITY, ymin = 0, ymax = -INFINITY;
	double ticks[CURVE_MAX_SERIES * CURVE_MAX_POINTS], step, y;
	unsigned int k, p, nt = 0, i;

	for (k = 0; k < c->nr_series; k++)
		for (p = 0; p < c->series[k].n; p++) {
			double x = c->series[k].x[p], v = c->series[k].y[p];

			xmin = fmin(xmin, lx(x));
			xmax = fmax(xmax, lx(x));
			ymin = fmin(ymin, v);
			ymax = fmax(ymax, v);
			for (i = 0; i < nt && ticks[i] != x; i++)
				;
			if (i == nt)
				ticks[nt++] = x;
		}
	if (!nt) {
		xmin = 0;
		xmax = 1;
		ymax = 1;
	}
	if (xmax - xmin < 1e-9) {
		xmin -= 0.5;
		xmax += 0.5;
	}
	if (ymax - ymin < 1e-9)
		ymax = ymin + 1;
	step = nice_step(ymax - ymin);
	ymin = floor(ymin / step) * step;
	ymax = ceil(ymax / step) * step;

#define PX(x)	(PLOT_L + (lx(x) - xmin) / (xmax - xmin) * (PLOT_R - PLOT_L))
#define PY(v)	(oy + PLOT_B - ((v) - ymin) / (ymax - ymin) * (PLOT_B - PLOT_T))

	fprintf(f, "<g class=\"chart\" id=\"%s\">\n", c->key);
	fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"15\" font-weight=\"bold\">",
		PLOT_L, oy + 28);
	xml_text(f, c->title);
	fprintf(f, "</text>\n");
	/* Horizontal grid lines and the y ticks. */
	for (y = ymin; y <= ymax + step / 2; y += step) {
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			PLOT_L, PY(y), PLOT_R, PY(y));
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\"/>\n",
			PLOT_L - 5, PY(y), PLOT_L, PY(y));
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
			PLOT_L - 8, PY(y) + 4, fabs(y) < step / 1e6 ? 0 : y);
	}
	/* The x ticks: the counts measured. */
	for (i = 0; i < nt; i++) {
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"black\"/>\n",
			PX(ticks[i]), oy + PLOT_B, PX(ticks[i]), oy + PLOT_B + 5);
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n",
			PX(ticks[i]), oy + PLOT_B + 18, ticks[i]);
	}
	/* The axes. */
	fprintf(f, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\" stroke=\"black\"/>\n",
		PLOT_L, oy + PLOT_B, PLOT_R, oy + PLOT_B);
	fprintf(f, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\" stroke=\"black\"/>\n",
		PLOT_L, oy + PLOT_T, PLOT_L, oy + PLOT_B);
	fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\">",
		(PLOT_L + PLOT_R) / 2, oy + PLOT_B + 40);
	xml_text(f, c->x_label);
	fprintf(f, " (log scale)</text>\n");
	fprintf(f, "<text transform=\"translate(%d %.0f) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">",
		22, oy + (PLOT_T + PLOT_B) / 2.0);
	xml_text(f, c->y_label);
	fprintf(f, "</text>\n");
	/* One polyline per series, and its legend. */
	for (k = 0; k < c->nr_series; k++) {
		const struct curve_series *s = &c->series[k];

		fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			colour[k]);
		for (p = 0; p < s->n; p++)
			fprintf(f, "%s%.1f,%.1f", p ? " " : "", PX(s->x[p]), PY(s->y[p]));
		fprintf(f, "\"><title>");
		xml_text(f, s->name);
		fprintf(f, "</title></polyline>\n");
		for (p = 0; p < s->n; p++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
				PX(s->x[p]), PY(s->y[p]), colour[k]);
		fprintf(f, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
			PLOT_R + 15, oy + PLOT_T + 10 + 20 * k, PLOT_R + 40,
			oy + PLOT_T + 10 + 20 * k, colour[k]);
		fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"12\">", PLOT_R + 46,
			oy + PLOT_T + 14 + 20 * k);
		xml_text(f, s->name);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</g>\n");
#undef PX
#undef PY
}

int curves_svg(FILE *f, const struct curve *c, unsigned int n)
{
	unsigned int i;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%u\" "
		"viewBox=\"0 0 %d %u\" font-family=\"sans-serif\">\n"
		"<title>uptr bench: scale curves</title>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		SVG_W, n * SVG_H, SVG_W, n * SVG_H);
	for (i = 0; i < n; i++)
		svg_chart(f, &c[i], (double)i * SVG_H);
	fprintf(f, "</svg>\n");
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
