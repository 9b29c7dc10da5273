// SPDX-License-Identifier: GPL-2.0
/*
 * uptr tracepoints: their one definition (see uptr_trace.h).
 */

#define CREATE_TRACE_POINTS
#include "uptr_trace.h"
