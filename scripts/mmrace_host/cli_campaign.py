"""`mmrace campaign`: repeated runs with statistics that respect censoring.

campaign FILE [--out DIR] [-j N] [--accel A]
    every point of a campaign file (campaign.py: scenarios x kernels x
    injection on/off x knob sweeps, `repeats` runs each);
campaign FILE --export DIR [--accel A]
    write every run as DIR/<point>/run-NN/run.sh, which needs only QEMU,
    with DIR/jobs.txt and DIR/parallel.sh (GNU parallel, here or --sshlogin);
campaign FILE --collect DIR
    read the runs a runner finished there into the report (boots nothing);
campaign SCENARIO --kernel K [--repeats N] [--no-inject] [--until-first]
         [--duration S] [--stressor-arg ARG ...] [--out DIR] [--accel A]
    one scenario on one kernel: a campaign of one point.

Runs go one guest at a time, or N with -j N (the guest slots of
qemu.GUEST_SLOTS; other mmrace processes still wait).  DIR/<point>/run-NN/ is each run's directory;
a run whose summary.json exists is not made again, so the same command
with the same --out resumes an interrupted campaign.  A run whose guest
fails is recorded as an error and the campaign goes on.  Writes
DIR/summary.json (every point's runs and aggregate, and the speed-up of
each injected point over its kernel's uninjected one), DIR/report.md and
its plots (plots.py: survival.png/.svg, rate-N.png/.svg for swept knobs).
"""

import argparse
import concurrent.futures
import json
import statistics
import threading
import time
from pathlib import Path

from . import campaign, censored, options, pipeline, plots, qemu, scenario
from .tools import ToolError, progress


def _totals(runs: list, key: str) -> dict:
    """{group: {counter: sum over runs}} of a summary's nested counters
    (key "sites" or "oracles")."""
    out = {}
    for r in runs:
        for group, counters in (r.get(key) or {}).items():
            acc = out.setdefault(group, {})
            for c, v in counters.items():
                if isinstance(v, int):
                    acc[c] = acc.get(c, 0) + v
    return out


def survival(runs: list) -> dict:
    """Detections per run (Wilson 95 %), the Kaplan-Meier median time to
    first detection, and detections per stress minute (exact Poisson 95 %),
    with the runs that found nothing counted as censored."""
    cr = censored.of_summaries(runs)
    det = sum(1 for r in cr if r.detected)
    lo, hi = censored.wilson(det, len(cr))
    out = {"conclusive_runs": len(cr), "detected": det,
           "detected_share_ci95": [round(lo, 4), round(hi, 4)],
           "ttfd_km_median_s": censored.km_median(cr)}
    if sum(r.t for r in cr) > 0:
        rt = censored.rate(cr)
        out["detections_per_min"] = {k: round(60 * rt[src], 4) for k, src in
                                     (("rate", "per_s"), ("lo", "lo"), ("hi", "hi"))}
    return out


def aggregate(all_runs: list) -> dict:
    """Detection rate, time-to-first-detection spread, totals; runs whose
    guest failed are only counted."""
    runs = [r for r in all_runs if r["verdict"] != "error"]
    ttfd = sorted(r["time_to_first_detection_s"] for r in runs
                  if r["time_to_first_detection_s"] is not None)
    stress = sum(r["stress_seconds"] or 0 for r in runs)
    bad = sum(r["bad_pages"] or 0 for r in runs)
    return {
        "runs": len(runs),
        "detected": sum(1 for r in runs if (r["bad_pages"] or 0) > 0),
        "verdicts": {v: sum(1 for r in runs if r["verdict"] == v)
                     for v in sorted({r["verdict"] for r in runs})},
        "ttfd_s": {"median": statistics.median(ttfd), "min": ttfd[0], "max": ttfd[-1],
                   "p90": ttfd[min(len(ttfd) - 1, int(0.9 * len(ttfd)))]} if ttfd else None,
        "bad_pages": bad,
        "stress_seconds": round(stress, 3),
        "bad_pages_per_minute": round(60 * bad / stress, 2) if stress else None,
        "injections": sum(r["injections"] for r in runs),
        "overlaps": sum(r["overlaps"] for r in runs),
        "runs_with_overlaps": sum(1 for r in runs if r["overlaps"] > 0),
        "runs_with_window_evidence": sum(1 for r in runs if r["window_evidence"]["met"]),
        "inconclusive": sum(1 for r in runs if r["verdict"] == "inconclusive"),
        "errors": len(all_runs) - len(runs),
        "survival": survival(runs),
        "sites": _totals(runs, "sites"),
        "oracles": _totals(runs, "oracles"),
    }


def _one_point(args) -> campaign.Campaign:
    sc = scenario.load(args.scenario)   # a bad file is an error before any boot
    repeats = 20 if args.repeats is None else args.repeats
    if repeats < 1:
        raise ToolError("--repeats must be at least 1")
    point = campaign.Point(args.scenario, sc.name, args.kernel, not args.no_inject,
                           (), tuple(args.stressor_arg))
    return campaign.Campaign(name=point.key(), description=sc.description,
                             repeats=repeats, until_first=args.until_first,
                             duration=args.duration, points=(point,))


def _run(c: campaign.Campaign, point: campaign.Point, d: Path, accel, collect: bool) -> dict:
    done = d / "summary.json"
    if done.is_file():                  # resume: finished before
        return json.loads(done.read_text())
    try:
        if collect:
            if not (d / "qemu.rc").is_file():
                return {"verdict": "error", "error": "not run by the runner"}
            return pipeline.collect_scenario(d)
        return pipeline.run_scenario(point.scenario, point.kernel, point.inject, c.until_first,
                                     c.duration, d, accel, quiet=True,
                                     extra_args=list(point.args),
                                     knobs=point.knob_overrides())
    except Exception as e:              # a broken guest costs one run, not the campaign
        return {"verdict": "error", "error": f"{type(e).__name__}: {e}"}


PARALLEL_SCRIPT = """#!/bin/sh
# Boot every exported run with GNU parallel (Debian: apt-get install parallel),
# then collect on the machine that exported: mmrace campaign FILE --collect DIR
#   sh parallel.sh                 here, JOBS guests at a time (default 1)
#   HOSTS=h1,h2 sh parallel.sh     over ssh (parallel --sshlogin); this directory
#                                  must have the same path there (NFS, or rsync)
cd "$(dirname "$0")" || exit 1
if [ -n "${HOSTS:-}" ]; then
	exec parallel --sshlogin "$HOSTS" --workdir "$PWD" -j 1 sh {} :::: jobs.txt
fi
exec parallel -j "${JOBS:-1}" sh {} :::: jobs.txt
"""


def export(c: campaign.Campaign, out: Path, accel) -> int:
    jobs = []
    for point in c.points:
        for i in range(c.repeats):
            d = out / point.key() / f"run-{i + 1:02d}"
            pipeline.export_scenario(point.scenario, point.kernel, point.inject,
                                     c.until_first, c.duration, d, accel, list(point.args),
                                     point.knob_overrides())
            jobs.append(f"{point.key()}/run-{i + 1:02d}/run.sh")
            progress(f"campaign {c.name}: exported {len(jobs)}/{len(c.points) * c.repeats} {d}")
    (out / "jobs.txt").write_text("".join(j + "\n" for j in jobs))
    (out / "parallel.sh").write_text(PARALLEL_SCRIPT)
    print(f"{len(jobs)} runs in {out}; run them with: sh {out / 'parallel.sh'}")
    return 0


def speedups(points: list) -> list:
    """Each injected point against the uninjected point of the same
    scenario, kernel and stressor arguments: the ratio of detection rates."""
    off = {(p["scenario"], p["kernel"], tuple(p["args"])): p for p in points if not p["inject"]}
    out = []
    for p in points:
        o = off.get((p["scenario"], p["kernel"], tuple(p["args"])))
        if not p["inject"] or o is None:
            continue
        on_runs = censored.of_summaries(p["runs"])
        off_runs = censored.of_summaries(o["runs"])
        if sum(r.t for r in on_runs) <= 0 or sum(r.t for r in off_runs) <= 0:
            continue
        sp = censored.speedup(on_runs, off_runs)
        out.append({"on": p["key"], "off": o["key"],
                    **{k: None if v is None else round(v, 3) for k, v in sp.items()}})
    return out


def _fmt(v):
    return "-" if v is None else f"{v:g}"


def report_md(c: campaign.Campaign, doc: dict) -> str:
    md = [f"# mmrace campaign: {c.name}", "", c.description, "",
          f"{c.repeats} runs per point, "
          f"{'until first detection, ' if c.until_first else ''}"
          + (f"budget {c.duration:g} s each." if c.duration else
             "each run's budget is its scenario's duration."), ""]
    if c.skipped:
        md += ["Left out, their kernels not built or fetched yet (`if_cached`): "
               + "; ".join(c.skipped) + ".", ""]
    md += ["| point | runs | detected (95 % CI) | KM median ttfd s | p90 ttfd s | "
           "detections/min (95 %) | inconclusive | errors | window evidence |",
           "|---|---|---|---|---|---|---|---|---|"]
    for p in doc["points"]:
        a, sv = p["aggregate"], p["aggregate"]["survival"]
        lo, hi = sv["detected_share_ci95"]
        rate = sv.get("detections_per_min")
        md.append(f"| `{p['key']}` | {a['runs']} | {sv['detected']}/{sv['conclusive_runs']} "
                  f"({lo:.2f}-{hi:.2f}) | {_fmt(sv['ttfd_km_median_s'])} | "
                  f"{_fmt((a['ttfd_s'] or {}).get('p90'))} | "
                  + (f"{rate['rate']:g} ({rate['lo']:g}-{rate['hi']:g})" if rate else "-")
                  + f" | {a['inconclusive']} | {a['errors']} | "
                  f"{a['runs_with_window_evidence']}/{a['runs']} |")
    if doc["speedups"]:
        md += ["", "Speed-up of injection (ratio of detection rates, exact 95 % bounds; "
               "no upper bound when nothing was found without injection):", "",
               "| injected | against | speed-up | lower | upper |", "|---|---|---|---|---|"]
        md += [f"| `{s['on']}` | `{s['off']}` | {_fmt(s['estimate'])} | {_fmt(s['lo'])} | "
               f"{_fmt(s['hi'])} |" for s in doc["speedups"]]
    pngs = [f for f in doc.get("plots", []) if f.endswith(".png")]
    if pngs:
        md += ["", "Time to first detection (Kaplan-Meier: runs that found nothing are "
               "censored at their budget) and, for swept knobs, the detection rate "
               "(SVG beside each PNG):", ""]
        md += [f"![{f[:-4]}]({f})" for f in pngs]
    for p in doc["points"]:
        md += ["", f"### `{p['key']}`", "",
               "| run | verdict | bad pages | ttfd s | stress s | injections | overlaps |",
               "|---|---|---|---|---|---|---|"]
        md += [f"| {i + 1} | {r['verdict']} | " + (
               f"{r['bad_pages']} | {_fmt(r['time_to_first_detection_s'])} | "
               f"{r['stress_seconds']} | {r['injections']} | {r['overlaps']} |"
               if r["verdict"] != "error" else f"{r['error']} | | | | |")
               for i, r in enumerate(p["runs"])]
    return "\n".join(md) + "\n"


ONE_POINT_ONLY = ("repeats", "no_inject", "until_first", "duration", "stressor_arg")


def cmd_campaign(args) -> int:
    if not args.kernel:
        given = [o for o in ONE_POINT_ONLY if getattr(args, o)]
        if given:
            raise ToolError(f"--{given[0].replace('_', '-')} needs --kernel: "
                            f"a campaign file sets it per file")
    if args.export and args.collect:
        raise ToolError("--export and --collect are two steps: give one")
    c = _one_point(args) if args.kernel else campaign.load(args.scenario)
    if args.export:
        return export(c, Path(args.export), args.accel)
    out = Path(args.collect or args.out or
               pipeline.RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-campaign-{c.name}")
    if args.collect and not out.is_dir():
        raise ToolError(f"--collect: no directory {out}")
    if args.jobs < 1:
        raise ToolError("-j/--jobs must be at least 1")
    qemu.GUEST_SLOTS = args.jobs
    for left in c.skipped:
        progress(f"campaign {c.name}: left out, kernel not built or fetched yet: {left}")
    jobs = [(point, i) for point in c.points for i in range(c.repeats)]
    done, t0, lock = [0], time.monotonic(), threading.Lock()

    def one(job):
        point, i = job
        s = _run(c, point, out / point.key() / f"run-{i + 1:02d}", args.accel,
                 bool(args.collect))
        with lock:
            done[0] += 1
            eta = (time.monotonic() - t0) / done[0] * (len(jobs) - done[0])
            progress(f"campaign {c.name}: {done[0]}/{len(jobs)} {point.key()} run "
                     f"{i + 1}/{c.repeats}: {s['verdict']} "
                     f"ttfd={s.get('time_to_first_detection_s')} ETA {eta / 60:.0f} min")
        return s

    if args.jobs == 1:
        summaries = [one(job) for job in jobs]
    else:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
            summaries = list(ex.map(one, jobs))
    points = []
    for n, point in enumerate(c.points):
        runs = summaries[n * c.repeats:(n + 1) * c.repeats]
        points.append({"key": point.key(), "scenario": point.name, "kernel": point.kernel,
                       "inject": point.inject, "knobs": point.knob_overrides(),
                       "args": list(point.args), "aggregate": aggregate(runs), "runs": runs})
    doc = {"campaign": c.name, "description": c.description, "repeats": c.repeats,
           "until_first": c.until_first, "duration": c.duration, "skipped": list(c.skipped),
           "points": points, "speedups": speedups(points)}
    out.mkdir(parents=True, exist_ok=True)
    try:
        doc["plots"] = plots.write(doc, out)
    except ImportError:
        doc["plots"] = []
        progress("campaign: no plots: python3-matplotlib is not installed "
                 "(run scripts/install-deps)")
    (out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out / "report.md").write_text(report_md(c, doc))
    print(f"report: {out / 'report.md'}")
    return 0


def register(sub):
    p = sub.add_parser("campaign", help="repeated runs with statistics", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", metavar="FILE|SCENARIO",
                   help="a campaign file; with --kernel, a scenario")
    p.add_argument("--kernel", metavar="KERNEL", help="one scenario on this kernel")
    p.add_argument("--repeats", type=int, help="with --kernel: runs (20)")
    p.add_argument("--no-inject", action="store_true", help="with --kernel: injection off")
    p.add_argument("--until-first", action="store_true",
                   help="with --kernel: stop each run at its first detection")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="with --kernel: per-run budget (the scenario's)")
    p.add_argument("--out", metavar="DIR", help="campaign directory; an existing one resumes")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                   help="N guests at once (1): only on a machine with cores to spare, "
                        "since guests sharing cores skew every timing")
    p.add_argument("--export", metavar="DIR",
                   help="write the runs as scripts for another runner, boot nothing")
    p.add_argument("--collect", metavar="DIR", help="report the runs a runner finished in DIR")
    options.add_accel(p)
    options.add_stressor_arg(p)
    p.set_defaults(func=cmd_campaign)
    return [p]
