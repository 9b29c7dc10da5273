/* SPDX-License-Identifier: MIT */
/*
 * The scale curves of `uptr bench`: a measurement that sweeps a count,
 * one series per kind of userptr, written as JSON or drawn as SVG.
 */
#ifndef UPTR_TOOLS_CURVES_H
#define UPTR_TOOLS_CURVES_H

#include <stdint.h>
#include <stdio.h>

#include <uptr.h>

#define CURVE_MAX_SERIES	2
#define CURVE_MAX_POINTS	12

struct curve_series {
	const char *name;
	unsigned int n;				/* points measured */
	double x[CURVE_MAX_POINTS], y[CURVE_MAX_POINTS];
};

struct curve {
	const char *key;			/* JSON name */
	const char *title;
	const char *x_label, *y_label;		/* units included */
	unsigned int nr_series;
	struct curve_series series[CURVE_MAX_SERIES];
};

#define NR_CURVES	3

/*
 * Measures the three curves on @dev into @c: cost per create against
 * userptrs already held, kernel memory per userptr against userptrs
 * held (Slab of /proc/meminfo: system-wide, so read it on a quiet
 * machine), and munmap cost against userptrs overlapping the range.
 * Counts sweep by 4x up to @max_count (overlaps: up to 256).  @progress
 * is called before each curve with its number (1 to NR_CURVES) and
 * title.  @res is a device BO of one page for the jobs' results.
 * Returns 0 or -errno.
 */
int curves_measure(struct uptr_dev *dev, uint32_t res, unsigned int max_count,
		   void (*progress)(unsigned int i, const char *title),
		   struct curve c[NR_CURVES]);

/* "curves": [...] as one JSON member (no trailing comma or newline). */
void curves_json(FILE *f, const struct curve *c, unsigned int n);

/*
 * One SVG document with a chart per curve, stacked: axes with ticks and
 * labels, one polyline per series, a title and a legend.  Returns 0 or
 * -errno of writing.
 */
int curves_svg(FILE *f, const struct curve *c, unsigned int n);

#endif /* UPTR_TOOLS_CURVES_H */
