"""When each kernel-health finding happened, and what mmrace did just before.

The guest job marks the start of the stress twice at the same moment: a
kernel log line ("mmrace-job: stress start", through /dev/kmsg, so it has a
printk time stamp) and an ftrace marker with the same text.  A finding's
printk time minus the first gives its seconds since stress start.

A guest that panics never reaches `trace-cmd extract`, so scenarios that
expect kernel-health boot with ftrace_dump_on_oops (scenario.STOP_AT_DAMAGE):
the panic prints the trace buffer to the console, in the latency format,
time stamps in microseconds since the buffer was reset.  The marker's own
time stamp there puts the dumped events on the stress clock, and the
mmrace_inject events in the seconds before a finding are the delays that
preceded it.

A stall is reported long after it began: a soft lockup and a hung task say
for how long ("stuck for 22s!", "blocked for more than 5 seconds"), and an
RCU stall is first reported at rcu_cpu_stall_timeout, which the job prints
("mmrace-job: rcu_cpu_stall_timeout=21").  The injections counted are those
before the stall began.  Tested on recorded consoles in
scripts/tests/test_data/.
"""

import re

MARK = "mmrace-job: stress start"
WINDOW_S = 5.0          # "just before": the injections this long before a finding
SHOWN = 3               # the last few of them, as dumped

RCU_TIMEOUT = "mmrace-job: rcu_cpu_stall_timeout="
_STALLED = {
    "soft_lockup": re.compile(r"stuck for (\d+)s"),
    "hung_task": re.compile(r"blocked for more than (\d+) seconds"),
}
_RCU_TIMEOUT = re.compile(re.escape(RCU_TIMEOUT) + r"(\d+)")
_PRINTK_TS = re.compile(r"^\s*(?:<\d+>)?\[\s*(\d+\.\d+)\]")
# the job's own line, also when the serial console glued it to the end of
# another; not the marker's copy in a trace dump ("tracing_mark_write: ...")
_START = re.compile(r"\[\s*(\d+\.\d+)\]\s+" + re.escape(MARK) + r"\s*$")
_DUMP_BEGIN = re.compile(r"Dumping ftrace (?:buffer|instance \S+ buffer):")
# "[  5.1] mmrace-s-112     3d..1. 4347823us : mmrace_inject: site=..."
_DUMP_LINE = re.compile(r"^\s*(?:<\d+>)?\[\s*\d+\.\d+\]\s+(\S+)\s+(\d+)\S*\s+(\d+)us.?:\s+"
                        r"(\w+):\s?(.*)$")


def _printk_ts(line: str):
    m = _PRINTK_TS.match(line)
    return float(m.group(1)) if m else None


def stress_start(text: str):
    """Printk time of the job's stress-start line; None without one."""
    for line in text.splitlines():
        m = _START.search(line)
        if m:
            return float(m.group(1))
    return None


def dumped_events(text: str) -> list:
    """[(seconds since stress start, event, text)] of the ftrace dumps on
    the console; [] if there is none or it has no stress-start marker."""
    events, inside = [], False
    for line in text.splitlines():
        if _DUMP_BEGIN.search(line):
            inside = True
            continue
        m = _DUMP_LINE.match(line) if inside else None
        if m:
            events.append((int(m.group(3)), m.group(4), m.group(5).strip(), m.group(1)))
    marks = [us for us, ev, body, _ in events
             if ev in ("tracing_mark_write", "print") and body.endswith(MARK)]
    if not marks:
        return []
    zero = marks[0]
    return [((us - zero) / 1e6, ev, f"{comm} {ev}: {body}") for us, ev, body, comm in events]


def stalled_for(kind: str, line: str, text: str):
    """Seconds a stall had lasted when it was reported; None for other kinds
    or when the console does not say."""
    if kind == "rcu_stall":
        m = _RCU_TIMEOUT.search(text)
        return int(m.group(1)) if m else None
    rx = _STALLED.get(kind)
    m = rx.search(line) if rx else None
    return int(m.group(1)) if m else None


def annotate(findings: list, text: str) -> list:
    """Each finding dict with `after_stress_s` (None if unknown), for a
    stall also `stalled_s`, and, when the trace was dumped,
    `injections_before` (mmrace_inject events in the WINDOW_S seconds up to
    the finding, or up to the stall's start) and `last_injections` (the
    last SHOWN of them)."""
    start = stress_start(text)
    dumped = dumped_events(text)
    events = [e for e in dumped if e[1] == "mmrace_inject"]
    out = []
    for f in findings:
        ts = _printk_ts(f["line"])
        at = round(ts - start, 3) if ts is not None and start is not None else None
        g = dict(f, after_stress_s=at)
        stalled = stalled_for(f["kind"], f["line"], text)
        if stalled is not None:
            g["stalled_s"] = stalled
        if dumped and at is not None:
            until = at - (stalled or 0)
            before = [e for e in events if until - WINDOW_S <= e[0] <= until]
            g["injections_before"] = len(before)
            g["last_injections"] = [f"{t:+.3f} s {line}" for t, _, line in before[-SHOWN:]]
        out.append(g)
    return out
