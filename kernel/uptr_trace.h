/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr tracepoints: events/uptr/ in tracefs.
 *
 * A userptr is named by its kernel address (printed hashed, the same for
 * one userptr from create to destroy), a job by its fence's context and
 * seqno, as the dma_fence events name it.  Durations are in nanoseconds.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM uptr

#if !defined(_UPTR_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _UPTR_TRACE_H_

#include <linux/mmu_notifier.h>
#include <linux/tracepoint.h>
#include <linux/types.h>

#include "uptr_userptr.h"

DECLARE_EVENT_CLASS(uptr_userptr_class,
		    TP_PROTO(const struct uptr_userptr *up),
		    TP_ARGS(up),
		    TP_STRUCT__entry(__field(const void *, up)
				     __field(u64, start)
				     __field(u64, end)
				     __field(u32, flags)),
		    TP_fast_assign(__entry->up = up;
				   __entry->start = uptr_userptr_start(up);
				   __entry->end = uptr_userptr_end(up);
				   __entry->flags = up->flags;),
		    TP_printk("userptr=%p start=0x%llx end=0x%llx kind=%s access=%s",
			      __entry->up, __entry->start, __entry->end,
			      __entry->flags & UPTR_USERPTR_PINNED ? "pinned" : "coherent",
			      __entry->flags & UPTR_USERPTR_READ_ONLY ? "ro" : "rw")
);

/* A userptr was created: its range and kind. */
DEFINE_EVENT(uptr_userptr_class, uptr_userptr_create,
	     TP_PROTO(const struct uptr_userptr *up),
	     TP_ARGS(up)
);

/* A userptr is being destroyed (its pages given back). */
DEFINE_EVENT(uptr_userptr_class, uptr_userptr_destroy,
	     TP_PROTO(const struct uptr_userptr *up),
	     TP_ARGS(up)
);

DECLARE_EVENT_CLASS(uptr_userptr_fault_class,
		    TP_PROTO(const struct uptr_userptr *up, unsigned long first,
			     unsigned long count, bool write, int ret, u64 ns),
		    TP_ARGS(up, first, count, write, ret, ns),
		    TP_STRUCT__entry(__field(const void *, up)
				     __field(u64, start)
				     __field(u64, pages)
				     __field(u64, ns)
				     __field(int, ret)
				     __field(bool, write)),
		    TP_fast_assign(__entry->up = up;
				   __entry->start = uptr_userptr_start(up) + (first << PAGE_SHIFT);
				   __entry->pages = count;
				   __entry->ns = ns;
				   __entry->ret = ret;
				   __entry->write = write;),
		    TP_printk("userptr=%p start=0x%llx pages=%llu write=%d ret=%d ns=%llu",
			      __entry->up, __entry->start, __entry->pages, __entry->write,
			      __entry->ret, __entry->ns)
);

/*
 * Pages of a coherent userptr faulted in before device work uses them
 * (uptr_userptr_fault()): the range asked for, of which only the pages
 * not valid yet are faulted, the result and the time it took.
 */
DEFINE_EVENT(uptr_userptr_fault_class, uptr_userptr_fault,
	     TP_PROTO(const struct uptr_userptr *up, unsigned long first,
		      unsigned long count, bool write, int ret, u64 ns),
	     TP_ARGS(up, first, count, write, ret, ns)
);

/*
 * A replayable fault of running device work (uptr_userptr_replay()): the
 * page the work found invalid and the pages after it faulted with it.
 */
DEFINE_EVENT(uptr_userptr_fault_class, uptr_userptr_replay,
	     TP_PROTO(const struct uptr_userptr *up, unsigned long first,
		      unsigned long count, bool write, int ret, u64 ns),
	     TP_ARGS(up, first, count, write, ret, ns)
);

/*
 * A prefetch of a coherent userptr (uptr_userptr_prefetch()): the range
 * asked for, of which only the pages not valid yet are faulted (or, with
 * no_fault, taken if the CPU maps them), the result and the time it took.
 */
TRACE_EVENT(uptr_userptr_prefetch,
	    TP_PROTO(const struct uptr_userptr *up, unsigned long first,
		     unsigned long count, unsigned int flags, int ret, u64 ns),
	    TP_ARGS(up, first, count, flags, ret, ns),
	    TP_STRUCT__entry(__field(const void *, up)
			     __field(u64, start)
			     __field(u64, pages)
			     __field(u64, ns)
			     __field(int, ret)
			     __field(u32, flags)),
	    TP_fast_assign(__entry->up = up;
			   __entry->start = uptr_userptr_start(up) + (first << PAGE_SHIFT);
			   __entry->pages = count;
			   __entry->ns = ns;
			   __entry->ret = ret;
			   __entry->flags = flags;),
	    TP_printk("userptr=%p start=0x%llx pages=%llu write=%d no_fault=%d ret=%d ns=%llu",
		      __entry->up, __entry->start, __entry->pages,
		      !!(__entry->flags & UPTR_PREFETCH_WRITE),
		      !!(__entry->flags & UPTR_PREFETCH_NO_FAULT),
		      __entry->ret, __entry->ns)
);

TRACE_DEFINE_ENUM(MMU_NOTIFY_UNMAP);
TRACE_DEFINE_ENUM(MMU_NOTIFY_CLEAR);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_VMA);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_PAGE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_SOFT_DIRTY);
TRACE_DEFINE_ENUM(MMU_NOTIFY_RELEASE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_MIGRATE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_EXCLUSIVE);

/*
 * The MMU notifier of a coherent userptr ran: the part of the userptr's
 * range the CPU changed, why (the notifier event), whether it could
 * sleep, and the time spent in the callback.
 */
TRACE_EVENT(uptr_userptr_invalidate,
	    TP_PROTO(const struct uptr_userptr *up,
		     const struct mmu_notifier_range *range, u64 ns),
	    TP_ARGS(up, range, ns),
	    TP_STRUCT__entry(__field(const void *, up)
			     __field(u64, start)
			     __field(u64, end)
			     __field(u64, ns)
			     __field(u32, event)
			     __field(bool, blockable)),
	    TP_fast_assign(__entry->up = up;
			   __entry->start = max(range->start, uptr_userptr_start(up));
			   __entry->end = min(range->end, uptr_userptr_end(up));
			   __entry->ns = ns;
			   __entry->event = range->event;
			   __entry->blockable = mmu_notifier_range_blockable(range);),
	    TP_printk("userptr=%p start=0x%llx end=0x%llx event=%s blockable=%d ns=%llu",
		      __entry->up, __entry->start, __entry->end,
		      __print_symbolic(__entry->event,
				       { MMU_NOTIFY_UNMAP, "unmap" },
				       { MMU_NOTIFY_CLEAR, "clear" },
				       { MMU_NOTIFY_PROTECTION_VMA, "protection_vma" },
				       { MMU_NOTIFY_PROTECTION_PAGE, "protection_page" },
				       { MMU_NOTIFY_SOFT_DIRTY, "soft_dirty" },
				       { MMU_NOTIFY_RELEASE, "release" },
				       { MMU_NOTIFY_MIGRATE, "migrate" },
				       { MMU_NOTIFY_EXCLUSIVE, "exclusive" }),
		      __entry->blockable, __entry->ns)
);

DECLARE_EVENT_CLASS(uptr_job_class,
		    TP_PROTO(u64 context, u64 seqno, u32 engine),
		    TP_ARGS(context, seqno, engine),
		    TP_STRUCT__entry(__field(u64, context)
				     __field(u64, seqno)
				     __field(u32, engine)),
		    TP_fast_assign(__entry->context = context;
				   __entry->seqno = seqno;
				   __entry->engine = engine;),
		    TP_printk("context=%llu seqno=%llu engine=%u",
			      __entry->context, __entry->seqno, __entry->engine)
);

/* A job was queued on an engine (its fence's context and seqno). */
DEFINE_EVENT(uptr_job_class, uptr_job_queue,
	     TP_PROTO(u64 context, u64 seqno, u32 engine),
	     TP_ARGS(context, seqno, engine)
);

/* An engine started running a job. */
DEFINE_EVENT(uptr_job_class, uptr_job_start,
	     TP_PROTO(u64 context, u64 seqno, u32 engine),
	     TP_ARGS(context, seqno, engine)
);

/* A job ended: 0, or the error its fence is signalled with. */
TRACE_EVENT(uptr_job_end,
	    TP_PROTO(u64 context, u64 seqno, u32 engine, int error),
	    TP_ARGS(context, seqno, engine, error),
	    TP_STRUCT__entry(__field(u64, context)
			     __field(u64, seqno)
			     __field(u32, engine)
			     __field(int, error)),
	    TP_fast_assign(__entry->context = context;
			   __entry->seqno = seqno;
			   __entry->engine = engine;
			   __entry->error = error;),
	    TP_printk("context=%llu seqno=%llu engine=%u error=%d",
		      __entry->context, __entry->seqno, __entry->engine, __entry->error)
);

#endif /* _UPTR_TRACE_H_ */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE uptr_trace
#include <trace/define_trace.h>
