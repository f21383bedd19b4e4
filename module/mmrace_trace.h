/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmrace tracepoints: one event per injected delay (emitted when the delay
 * starts), one per overlap (the competing path ran inside a delay) and one
 * per rendezvous wait (emitted when it ends, met or alone), so "trace-cmd
 * record -e mmrace" orders them among the kernel's own events.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mmrace

#if !defined(_MMRACE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MMRACE_TRACE_H

#include <linux/tracepoint.h>

#define MMRACE_TRACE_SITE_LEN 48	/* MMRACE_NAME_LEN */

TRACE_EVENT(mmrace_inject,
	TP_PROTO(const char *site, u64 delay_ns, unsigned long caller,
		 unsigned long ino, unsigned long pfn),
	TP_ARGS(site, delay_ns, caller, ino, pfn),
	TP_STRUCT__entry(
		__array(char, site, MMRACE_TRACE_SITE_LEN)
		__field(u64, delay_ns)
		__field(unsigned long, caller)
		__field(unsigned long, ino)
		__field(unsigned long, pfn)
	),
	TP_fast_assign(
		strscpy(__entry->site, site, MMRACE_TRACE_SITE_LEN);
		__entry->delay_ns = delay_ns;
		__entry->caller = caller;
		__entry->ino = ino;
		__entry->pfn = pfn;
	),
	TP_printk("site=%s delay_us=%llu caller=%pS ino=%lu pfn=0x%lx",
		  __entry->site, __entry->delay_ns / 1000,
		  (void *)__entry->caller, __entry->ino, __entry->pfn)
);

TRACE_EVENT(mmrace_overlap,
	TP_PROTO(const char *site, unsigned long ino, unsigned long pfn),
	TP_ARGS(site, ino, pfn),
	TP_STRUCT__entry(
		__array(char, site, MMRACE_TRACE_SITE_LEN)
		__field(unsigned long, ino)
		__field(unsigned long, pfn)
	),
	TP_fast_assign(
		strscpy(__entry->site, site, MMRACE_TRACE_SITE_LEN);
		__entry->ino = ino;
		__entry->pfn = pfn;
	),
	TP_printk("site=%s ino=%lu pfn=0x%lx",
		  __entry->site, __entry->ino, __entry->pfn)
);

TRACE_EVENT(mmrace_rendezvous,
	TP_PROTO(const char *site, unsigned long key, u64 waited_ns, bool met),
	TP_ARGS(site, key, waited_ns, met),
	TP_STRUCT__entry(
		__array(char, site, MMRACE_TRACE_SITE_LEN)
		__field(unsigned long, key)
		__field(u64, waited_ns)
		__field(bool, met)
	),
	TP_fast_assign(
		strscpy(__entry->site, site, MMRACE_TRACE_SITE_LEN);
		__entry->key = key;
		__entry->waited_ns = waited_ns;
		__entry->met = met;
	),
	TP_printk("site=%s key=0x%lx waited_us=%llu %s",
		  __entry->site, __entry->key, __entry->waited_ns / 1000,
		  __entry->met ? "met" : "alone")
);

#endif /* _MMRACE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE mmrace_trace
#include <trace/define_trace.h>
