/* SPDX-License-Identifier: MIT */
/*
 * What the sources of the uptr command share: its name, version, error
 * reporting and the common options.
 */
#ifndef UPTR_TOOLS_TOOL_H
#define UPTR_TOOLS_TOOL_H

#include <stdbool.h>
#include <stdio.h>

#include <uptr.h>

#define PROG			"uptr"
#define UPTR_TOOL_VERSION	"1.1"

/* --device PATH of the command line; NULL: the first uptr render node. */
extern const char *device_path;

/* Prints "uptr: WHAT: strerror(E)" on stderr (E either sign); returns 1. */
int tool_err(const char *what, int e);
/* Opens device_path into *@dev; on failure says why on stderr, returns 1. */
int tool_open_dev(struct uptr_dev **dev);
/* The version line of `uptr --version`, on stdout; returns 0. */
int tool_version(void);
/* CLOCK_MONOTONIC in seconds. */
double tool_now(void);
/* @s as a JSON string, quotes included, on @f. */
void tool_json_str(FILE *f, const char *s);
/* A positive number of seconds from @arg, at most @max; false if not one. */
bool tool_seconds(const char *arg, double max, double *v);

int cmd_top(int argc, char **argv);
int cmd_stress(int argc, char **argv);

#endif /* UPTR_TOOLS_TOOL_H */
