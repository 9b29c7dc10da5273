// SPDX-License-Identifier: GPL-2.0
/*
 * Description: `uptr bench`: the scale curves at tiny counts, as JSON
 * and as SVG.  The SVG must be one svg root element with one chart per
 * curve, one polyline per series with as many points as the JSON has for
 * it, and balanced elements; the seed's case in --json at a tiny time.
 */
#include "tool_test.h"

/*
 * At most 4 userptrs over the same pages: the debug kernel's DMA-API
 * checker warns (once) past 8 live device-writable mappings of one
 * cacheline, which the munmap curve's overlapping userptrs reach at 16.
 */
#define MAX_COUNT	"4"
#define NR_CURVES	3
#define NR_SERIES	2

/* The points of each series, in the order of --json: counts 1, 4 and 0, 1, 4. */
static const unsigned int want_points[NR_CURVES * NR_SERIES] = { 2, 2, 2, 2, 3, 3 };

static char *read_file(const char *path)
{
	static char buf[512 * 1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Pairs in a points="x,y x,y ..." attribute. */
static unsigned int svg_points(const char *attr)
{
	unsigned int n = 0;
	double x, y;
	int used;

	while (sscanf(attr, " %lf,%lf%n", &x, &y, &used) == 2) {
		n++;
		attr += used;
	}
	return n;
}

/* --svg writes a well-formed chart of every series; --json has the same points. */
TEST(bench_curves_svg)
{
	static struct tt_run r;
	char path[128];
	const char *svg, *p;
	unsigned int i;
	int fd = ut_make_tmpfile(path, sizeof(path));

	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, tt_run(&r, 120, "bench", "--only", "curves", "--max-count", MAX_COUNT,
			    "--json", "--svg", path, NULL));
	ASSERT_EQ(0, r.status) {
		TH_LOG("stderr: %s", r.err);
	}
	svg = read_file(path);
	unlink(path);
	ASSERT_NE(NULL, svg);
	/* One root: the XML declaration, <svg ...>, and </svg> last. */
	EXPECT_EQ(0, strncmp(svg, "<?xml ", 6));
	EXPECT_EQ(1u, tt_count(svg, "<svg "));
	EXPECT_EQ(1u, tt_count(svg, "</svg>"));
	p = strstr(svg, "</svg>");
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("</svg>\n", p);
	EXPECT_NE(NULL, strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
	/* A chart per curve; elements balanced. */
	EXPECT_EQ((unsigned int)NR_CURVES, tt_count(svg, "<g class=\"chart\""));
	EXPECT_EQ(tt_count(svg, "<g "), tt_count(svg, "</g>"));
	EXPECT_EQ(tt_count(svg, "<text"), tt_count(svg, "</text>"));
	EXPECT_EQ(tt_count(svg, "<title>"), tt_count(svg, "</title>"));
	/* One polyline per series, each with its points. */
	ASSERT_EQ((unsigned int)(NR_CURVES * NR_SERIES), tt_count(svg, "<polyline "));
	EXPECT_EQ(tt_count(svg, "<polyline "), tt_count(svg, "</polyline>"));
	p = svg;
	for (i = 0; i < NR_CURVES * NR_SERIES; i++) {
		p = strstr(p, "<polyline ");
		ASSERT_NE(NULL, p);
		p = strstr(p, "points=\"");
		ASSERT_NE(NULL, p);
		p += strlen("points=\"");
		EXPECT_EQ(want_points[i], svg_points(p)) {
			TH_LOG("polyline %u", i);
		}
	}
	/* The JSON has the same series and points. */
	EXPECT_EQ(1u, tt_count(r.out, "\"name\": \"create_cost\""));
	EXPECT_EQ(1u, tt_count(r.out, "\"name\": \"memory_per_userptr\""));
	EXPECT_EQ(1u, tt_count(r.out, "\"name\": \"munmap_cost\""));
	p = r.out;
	for (i = 0; i < NR_CURVES * NR_SERIES; i++) {
		const char *end;

		p = strstr(p, "\"points\": [");
		ASSERT_NE(NULL, p);
		end = strstr(p, "] }");
		ASSERT_NE(NULL, end);
		p += strlen("\"points\": [");
		EXPECT_EQ(want_points[i], tt_count(p, "[") - tt_count(end, "[")) {
			TH_LOG("series %u of the JSON", i);
		}
	}
	EXPECT_EQ(NULL, strstr(r.out, "seed_case"));
}

/* The seed's case in --json, at a tiny time per case: every case there, a cache hit measured. */
TEST(bench_seed_json)
{
	static struct tt_run r;

	ASSERT_EQ(0, tt_run(&r, 240, "bench", "--only", "seed", "--seconds", "0.02", "--json",
			    NULL));
	ASSERT_EQ(0, r.status) {
		TH_LOG("stderr: %s", r.err);
	}
	EXPECT_EQ(6u, tt_count(r.out, "\"per_iteration_us\": "));
	EXPECT_LT(0.0, tt_json_num(r.out, "cache_hit_ns", NULL));
	EXPECT_EQ(NULL, strstr(r.out, "\"curves\""));
	EXPECT_EQ(0u, (unsigned int)r.err_len);
}

TEST_HARNESS_MAIN
