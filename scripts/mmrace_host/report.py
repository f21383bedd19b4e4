"""A run's verdict, summary.json and report.md, from what the guest brought back.

Guest files (see scenario.job_script): stressor.json, stressor.rc, stats.txt,
sites.txt, trace.dat, dmesg.txt; plus the host's console.log.
"""

import json
import re
import subprocess
from pathlib import Path

from . import health, timeline

# "inconclusive": clean, but the scenario's window evidence was not met.
EXIT = {"clean": 0, "corruption": 1, "reproduced": 1, "error": 2, "kernel-health": 3,
        "inconclusive": 4}
TRACE_HEAD, TRACE_TAIL, TRACE_AFTER = 20, 40, 5
BAD_MARK = re.compile(r"mmrace: bad page")
ROUND_START = re.compile(r"mmrace: round \d+ start")
# Recorded for trace-cmd users, but hundreds per round: left out of the excerpt.
NOISE = re.compile(r" (tlb_flush|writeback_dirty_folio): ")


def parse_stats(text: str) -> dict:
    """'name k=v k=v' lines (debugfs stats, oracles) -> {name: {k: int}}"""
    out = {}
    for line in text.splitlines():
        name, *pairs = line.split()
        out[name] = {k: int(v) for k, v in (p.split("=", 1) for p in pairs) if v.isdigit()}
    return out


def trace_text(guest: Path) -> Path:
    """trace-cmd report of the guest's trace.dat, written beside it; None if absent."""
    dat = guest / "trace.dat"
    if not dat.is_file() or dat.stat().st_size == 0:
        return None
    txt = guest / "trace.txt"
    with open(txt, "w") as f:
        p = subprocess.run(["trace-cmd", "report", "-i", str(dat)], stdout=f,
                           stderr=subprocess.DEVNULL)
    return txt if p.returncode == 0 else None


def first_bad_context(trace: Path) -> list:
    """The first bad round's trace, from its start marker to a few lines past the
    first bad page, TLB-flush and page-dirtying events left out."""
    if not trace:
        return []
    lines = [line for line in trace.read_text(errors="replace").splitlines()
             if not NOISE.search(line)]
    bad = next((i for i, line in enumerate(lines) if BAD_MARK.search(line)), None)
    if bad is None:
        return []
    start = next((i for i in range(bad, -1, -1) if ROUND_START.search(lines[i])), 0)
    ctx = lines[start:bad + TRACE_AFTER + 1]
    if len(ctx) > TRACE_HEAD + TRACE_TAIL:
        skipped = len(ctx) - TRACE_HEAD - TRACE_TAIL
        ctx = ctx[:TRACE_HEAD] + [f"  ... {skipped} lines ..."] + ctx[-TRACE_TAIL:]
    return ctx


def _read(path: Path, default=None):
    try:
        return path.read_text(errors="replace")
    except OSError:
        return default


def verdict(stress: dict, findings: list, evidence_met: bool) -> str:
    """kernel-health beats corruption (both are recorded); no workload result
    is an error; clean counts only where the competing path reached the window."""
    if findings:
        return "kernel-health"
    if stress is None:
        return "error"
    if stress.get("bad_pages", 0) > 0:
        return "corruption"
    if stress.get("reproduced"):
        return "reproduced"
    return "clean" if evidence_met else "inconclusive"


def workload_rc(guest: Path) -> int:
    """The workload's exit status (stressor.rc), -1 if it left none."""
    return int((_read(guest / "stressor.rc", "") or "-1").strip() or -1)


def command_result(guest: Path, rc: int):
    """A command workload's result: exit status 0, nothing found; 1, it
    reproduced the race; anything else (a crash, a set-up error) is no
    result.  Its time to first detection is its run time when it was asked
    to stop at the first (MMRACE_UNTIL_FIRST), else unknown."""
    times = (_read(guest / "workload.time", "") or "").split()
    seconds = round(float(times[1]) - float(times[0]), 2) if len(times) == 2 else None
    until_first = (guest / "workload.until_first").exists()
    if rc not in (0, 1):
        return None
    return {"workload": "command", "rc": rc, "reproduced": rc == 1,
            "stress_seconds": seconds,
            "time_to_first_detection_s": seconds if rc == 1 and until_first else None}


def evidence_counters(site_stats: dict, oracles: dict) -> dict:
    """Every name an evidence rule (scenario.Evidence) or the scenario's
    oracle can use, with its value: the sums over the sites,
    <site>.<counter> and <oracle>.<counter>."""
    c = {"overlaps": sum(x.get("overlaps", 0) for x in site_stats.values()),
         "injections": sum(x.get("injected", 0) for x in site_stats.values())}
    for name, counters in (*site_stats.items(), *oracles.items()):
        c.update({f"{name}.{k}": v for k, v in counters.items()})
    return c


def window_evidence(ev, counters: dict) -> dict:
    return {"rule": ev.rule, "value": ev.value(counters),
            "values": {n: counters.get(n) for n, _, _ in ev.terms},
            "met": ev.met(counters)}


def oracle_ok(expected: str, value) -> bool:
    if expected is None:
        return True
    return value is not None and (value > 0) == (expected == "nonzero")


def health_findings(res) -> list:
    """The console findings a report lists (health.keep), each with its call
    trace (health.stacks), its time since stress start and the injections
    just before it (timeline.annotate)."""
    text = _read(Path(res.console), "") if getattr(res, "console", None) else ""
    kept = health.keep(res.health)
    return timeline.annotate([{"kind": k, "line": line, "stack": st}
                              for (k, line), st in zip(kept, health.stacks(text, kept))], text)


def summarize(sc, kernel, inject: bool, res, guest: Path) -> dict:
    """summary.json content for one run."""
    rc = workload_rc(guest)
    if sc.command:
        stress = command_result(guest, rc)
    else:
        try:
            stress = json.loads(_read(guest / "stressor.json", ""))
        except ValueError:
            stress = None
    stats = parse_stats(_read(guest / "stats.txt", ""))
    site_stats = {s: stats.get(s, {}) for s in sc.sites}
    findings = [f for f in res.health if f[0] != "warning"]
    oracles = parse_stats(_read(guest / "oracles.txt", ""))
    counters = evidence_counters(site_stats, oracles)
    evidence = window_evidence(sc.evidence_for(kernel.name), counters)
    v = verdict(stress, findings, evidence["met"])
    s = stress or {}
    health_list = health_findings(res)
    ttfd, stressed = s.get("time_to_first_detection_s"), s.get("stress_seconds")
    if v == "kernel-health" and ttfd is None:
        # the first finding is the detection; a sick guest's stressor never
        # reported, so its stress ended there too (as far as anyone knows)
        ttfd = next((f["after_stress_s"] for f in health_list
                     if f["kind"] != "warning" and f.get("after_stress_s") is not None), None)
        stressed = stressed if stressed is not None else ttfd
    return {
        "scenario": sc.name,
        "race": sc.race,
        "kernel": kernel.name,
        "kernel_release": (_read(guest / "uname", "") or "").strip() or None,
        "inject": inject,
        "verdict": v,
        "expected": sc.expect.get(kernel.name),
        "bad_pages": s.get("bad_pages"),
        "bad_rounds": s.get("bad_rounds"),
        "rounds": s.get("rounds"),
        "classes": s.get("classes"),
        "time_to_first_detection_s": ttfd,
        "stress_seconds": stressed,
        "injections": counters["injections"],
        "overlaps": counters["overlaps"],
        "window_evidence": evidence,
        "sites": site_stats,
        "oracles": oracles,
        "oracle": sc.oracle or None,
        "oracle_value": counters.get(sc.oracle) if sc.oracle else None,
        "oracle_expected": sc.expect_oracle.get(kernel.name),
        "stressor": stress,
        "kernel_health": health_list,
        "kernel_health_counts": health.counts(res.health),
        "stressor_rc": rc,
        "job_error": (_read(guest / "job.error", "") or "").strip() or None,
        "guest_exit": res.exit_reason,
        "guest_wall_s": round(res.wall_s, 1),
        "accel": res.accel,
        "cmdline": res.cmdline,
    }


def _fmt(v):
    return "-" if v is None else v


def write(outdir: Path, summary: dict, guest: Path, workload: str) -> Path:
    """summary.json + report.md in outdir; returns the report path."""
    (outdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    context = first_bad_context(trace_text(guest))
    s = summary
    match = (s["expected"] is None or s["expected"] == s["verdict"]) and \
        oracle_ok(s["oracle_expected"], s["oracle_value"])
    md = [
        f"# mmrace run: {s['scenario']} on {s['kernel']} ({_fmt(s['kernel_release'])})",
        "",
        f"**Verdict: {s['verdict']}** (expected: {_fmt(s['expected'])}"
        f"{'' if match else ' -- MISMATCH'}); injection {'on' if s['inject'] else 'off'}.",
        "",
        "| | |", "|---|---|",
        f"| race | {s['race']} |",
        f"| workload | `{workload}` |",
        f"| stress seconds (in guest) | {_fmt(s['stress_seconds'])} |",
        f"| rounds / bad rounds | {_fmt(s['rounds'])} / {_fmt(s['bad_rounds'])} |",
        f"| bad pages | {_fmt(s['bad_pages'])} |",
        f"| time to first detection (s) | {_fmt(s['time_to_first_detection_s'])} |",
        f"| classes | {_fmt(s['classes'])} |",
        f"| injections | {s['injections']} |",
        f"| overlaps (competing path inside a delay) | {s['overlaps']} |",
        f"| window evidence `{s['window_evidence']['rule']}` | "
        f"{'met' if s['window_evidence']['met'] else 'NOT met'} "
        f"({', '.join(f'{k}={v}' for k, v in s['window_evidence']['values'].items())}) |",
        f"| oracle {_fmt(s['oracle'])} | {_fmt(s['oracle_value'])} "
        f"(expected: {_fmt(s['oracle_expected'])}) |",
        f"| kernel health | {health.describe(s.get('kernel_health_counts') or {})} |",
        f"| guest | {s['accel']}, {s['guest_wall_s']} s wall, exit {s['guest_exit']} |",
        "",
        "## Site counters", "",
        "| site | " + " | ".join(next(iter(s["sites"].values()), {}).keys()) + " |",
        "|---" * (1 + len(next(iter(s["sites"].values()), {}))) + "|",
    ]
    for name, c in s["sites"].items():
        md.append(f"| {name} | " + " | ".join(str(v) for v in c.values()) + " |")
    if any(s["oracles"].values()):
        md += ["", "## Kernel-side oracles", "", "```"]
        md += [f"{k} " + " ".join(f"{n}={v}" for n, v in c.items())
               for k, c in s["oracles"].items()]
        md.append("```")
    if s["stressor"]:
        md += ["", "## Stressor result", "", "```", json.dumps(s["stressor"], indent=1), "```"]
    if s["kernel_health"]:
        md += ["", "## Kernel health findings", "", "```"]
        for f in s["kernel_health"][:20]:
            at = f.get("after_stress_s")
            md.append(f"{f['kind']}: {f['line']}"
                      + (f"  ({at:+.3f} s after stress start" if at is not None else "")
                      + (f", stalled {f['stalled_s']} s" if "stalled_s" in f else "")
                      + (")" if at is not None else ""))
            md += [f"    {frame}" for frame in f.get("stack", [])]
            if "injections_before" in f:
                md.append(f"    mmrace injections in the {timeline.WINDOW_S:g} s before "
                          f"{'the stall began' if 'stalled_s' in f else 'it'}: "
                          f"{f['injections_before']}")
                md += [f"      {line}" for line in f["last_injections"]]
        md.append("```")
    if s["job_error"]:
        md += ["", f"Job error: `{s['job_error']}`"]
    md += ["", "## Trace around the first bad page", ""]
    if context:
        md += ["```", *context, "```"]
    else:
        md.append("(no bad page marker in the trace)")
    md += ["", "Files: `summary.json`, `guest/trace.dat` (`trace-cmd report -i guest/trace.dat`),",
           "`guest/trace.txt`, `guest/stressor.json`, `guest/stats.txt`, `guest/sites.txt`,",
           "`guest/dmesg.txt`, `console.log`.", ""]
    report = outdir / "report.md"
    report.write_text("\n".join(md))
    return report
