"""`mmrace campaign`: one scenario on one kernel, repeated, with statistics.

campaign SCENARIO --kernel K [--repeats N] [--no-inject] [--until-first]
         [--duration S] [--out DIR] [--stressor-arg ARG ...]
Writes DIR/campaign.json (every run's summary plus the aggregate) and
DIR/report.md; each run keeps its own directory DIR/run-NN/.
"""

import json
import statistics
import time
from pathlib import Path

from . import censored, options, pipeline, scenario


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


def censored_runs(runs: list) -> list:
    """Each conclusive run as detected at its time to first detection, or
    censored at its stress time; inconclusive runs say nothing either way."""
    return [censored.Run(r["time_to_first_detection_s"], True)
            if r["time_to_first_detection_s"] is not None
            else censored.Run(r["stress_seconds"] or 0, False)
            for r in runs if r["verdict"] != "inconclusive"]


def survival(runs: list) -> dict:
    """Detections per run (Wilson 95 %), the Kaplan-Meier median time to
    first detection, and detections per stress minute (exact Poisson 95 %),
    with the runs that found nothing counted as censored."""
    cr = censored_runs(runs)
    det = sum(1 for r in cr if r.detected)
    lo, hi = censored.wilson(det, len(cr))
    out = {"conclusive_runs": len(cr), "detected": det,
           "detected_share_ci95": [round(lo, 4), round(hi, 4)],
           "ttfd_km_median_s": censored.km_median(cr)}
    if sum(r.t for r in cr) > 0:
        rt = censored.rate(cr)
        out["detections_per_min"] = {k: round(60 * rt[k], 4) for k in ("per_s", "lo", "hi")}
    return out


def aggregate(runs: list) -> dict:
    """Detection rate, time-to-first-detection spread, totals."""
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
        "survival": survival(runs),
        "sites": _totals(runs, "sites"),
        "oracles": _totals(runs, "oracles"),
    }


def cmd_campaign(args) -> int:
    inject = not args.no_inject
    scenario.load(args.scenario)        # a bad file is an error before any boot
    tag = f"{Path(args.scenario).stem}-{args.kernel}-{'inject' if inject else 'noinject'}"
    out = Path(args.out) if args.out else pipeline.RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-campaign-{tag}"
    runs = []
    for i in range(args.repeats):
        s = pipeline.run_scenario(args.scenario, args.kernel, inject, args.until_first,
                         args.duration, out / f"run-{i + 1:02d}", args.accel, quiet=True,
                         extra_args=args.stressor_arg)
        runs.append(s)
        print(f"run {i + 1}/{args.repeats}: {s['verdict']} bad={s['bad_pages']} "
              f"ttfd={s['time_to_first_detection_s']} inj={s['injections']} "
              f"ovl={s['overlaps']}", flush=True)
    agg = aggregate(runs)
    doc = {"scenario": args.scenario, "kernel": args.kernel, "inject": inject,
           "until_first": args.until_first, "duration": args.duration,
           "stressor_extra_args": args.stressor_arg,
           "kernel_release": runs[0]["kernel_release"], "aggregate": agg, "runs": runs}
    (out / "campaign.json").write_text(json.dumps(doc, indent=2) + "\n")
    md = [f"# mmrace campaign: {tag}", "",
          f"{agg['runs']} runs on {doc['kernel_release']}, "
          f"{'until first detection, ' if args.until_first else ''}"
          f"budget {args.duration or 'scenario default'} s each"
          + (f", stressor arguments added: `{' '.join(args.stressor_arg)}`" if args.stressor_arg else "")
          + ".", "",
          "```", json.dumps(agg, indent=2), "```", "",
          "| run | verdict | bad pages | ttfd s | stress s | injections | overlaps |",
          "|---|---|---|---|---|---|---|"]
    md += [f"| {i + 1} | {r['verdict']} | {r['bad_pages']} | {r['time_to_first_detection_s']} "
           f"| {r['stress_seconds']} | {r['injections']} | {r['overlaps']} |"
           for i, r in enumerate(runs)]
    (out / "report.md").write_text("\n".join(md) + "\n")
    print(json.dumps(agg))
    print(f"report: {out / 'report.md'}")
    return 0


def register(sub):
    p = sub.add_parser("campaign", help="repeat one scenario and aggregate", description=__doc__)
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--kernel", required=True, metavar="KERNEL")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--no-inject", action="store_true")
    p.add_argument("--until-first", action="store_true")
    p.add_argument("--duration", type=float, metavar="SECONDS")
    p.add_argument("--out", metavar="DIR")
    options.add_accel(p)
    options.add_stressor_arg(p)
    p.set_defaults(func=cmd_campaign)
    return [p]
