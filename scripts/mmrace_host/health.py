"""Kernel-health scan of a guest console log.

Only kernel printk lines are scanned (they start with a "[   12.345678]" time stamp;
the guest boots with printk.time=1), so a job that echoes "BUG:" is not a finding.
One finding per report line, most specific kind first; a line seen again with
the same time stamp (a job that runs dmesg onto the console) is the same
message, not a second finding.  Tested on recorded consoles in
scripts/tests/test_data/.
"""

import re

PRINTK = re.compile(r"^\s*(?:<\d+>)?\[\s*\d+\.\d+\]")

# (kind, pattern), first match wins
PATTERNS = [
    ("panic", re.compile(r"Kernel panic - not syncing")),
    ("soft_lockup", re.compile(r"soft lockup - CPU#\d+ stuck|BUG: soft lockup")),
    ("rcu_stall", re.compile(r"rcu_sched self-detected stall|rcu: INFO: rcu_\w+ (?:self-)?detected stall")),
    ("hung_task", re.compile(r"INFO: task .* blocked for more than \d+ seconds")),
    ("oops", re.compile(r"Oops: |general protection fault|BUG: unable to handle")),
    # the page allocator's and rmap's struct page checks (mm/page_alloc.c
    # bad_page(), mm/memory.c print_bad_pte(), kernel/fork.c check_mm())
    ("bad_page", re.compile(r"BUG: Bad (?:page state|page map|rss-counter state)")),
    # lib/list_debug.c (CONFIG_DEBUG_LIST): a list whose neighbours disagree
    ("list_corruption", re.compile(r"\blist_(?:add|del) corruption")),
    ("bug", re.compile(r"\bBUG: |kernel BUG at ")),
    ("warning", re.compile(r"WARNING: CPU: \d+ PID: \d+|WARNING: at ")),
]

CRASH_KINDS = {"panic", "oops", "bug"}

# a call-trace frame, "[ 12.3] ? func+0x16/0x20 [module]"; "?" marks a guess
FRAME = re.compile(r"^\s*(?:<\d+>)?\[\s*\d+\.\d+\]\s+(\?\s+)?([\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+)")


def scan(text: str) -> list:
    """[(kind, line)] for every kernel line matching a health pattern."""
    out, seen = [], set()
    for line in text.splitlines():
        line = line.strip()
        if not PRINTK.match(line) or line in seen:
            continue
        seen.add(line)
        for kind, rx in PATTERNS:
            if rx.search(line):
                out.append((kind, line))
                break
    return out


def stacks(text: str, findings, limit: int = 12) -> list:
    """For each (kind, line) finding, the frames of the first call trace
    printed after its line (within 120 lines), without the unreliable "?"
    ones, at most `limit`; [] if none."""
    lines = [ln.strip() for ln in text.splitlines()]
    first = {}
    for i, ln in enumerate(lines):
        first.setdefault(ln, i)
    return [_trace(lines, first[line.strip()] + 1, limit) if line.strip() in first else []
            for _, line in findings]


def _trace(lines: list, start: int, limit: int) -> list:
    frames, inside = [], False
    for ln in lines[start:start + 120]:
        if "Call Trace:" in ln:
            inside = True
        elif inside and ("</TASK>" in ln or len(frames) == limit):
            break
        elif inside:
            m = FRAME.match(ln)
            if m and not m.group(1):
                frames.append(m.group(2))
    return frames


def keep(findings, limit: int = 32) -> list:
    """The findings a report lists: the first `limit`, and after them the
    first of each kind not seen yet.  A kernel stuck in a loop of reports
    prints tens of thousands (a corrupt free list: one per allocation)."""
    out, kinds = [], set()
    for f in findings:
        if len(out) < limit or f[0] not in kinds:
            out.append(f)
            kinds.add(f[0])
    return out


def counts(findings) -> dict:
    """{kind: number of findings}, in order of first appearance."""
    out = {}
    for k, _ in findings:
        out[k] = out.get(k, 0) + 1
    return out


def has_crash(findings) -> bool:
    return any(k in CRASH_KINDS for k, _ in findings)


def summary(findings) -> str:
    return describe(counts(findings))


def describe(kind_counts: dict) -> str:
    """"bug x2, warning x5", or "clean"."""
    return ", ".join(f"{k} x{n}" for k, n in kind_counts.items()) or "clean"
