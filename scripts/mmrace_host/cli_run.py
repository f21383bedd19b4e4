"""`mmrace run`, `mmrace list` and `mmrace controls`.

run SCENARIO --kernel KERNEL [--no-inject] [--until-first] [--duration S] [--out DIR]
    [--stressor-arg ARG ...]
  SCENARIO is a name in scripts/scenarios/ or a path to a .toml file.
  exit 0 clean (window evidence met), 1 corruption, 2 harness/usage error,
  3 kernel-health (wins over 1), 4 inconclusive (clean, evidence not met).
controls [SCENARIO ...] [--buglab]: every (scenario, kernel) expectation the
  scenario files state, with injection; exit 0 when every verdict (and
  oracle) matches, 1 otherwise.
"""

import time
from pathlib import Path

from . import kernels, options, pipeline, report, scenario


def cmd_run(args) -> int:
    s = pipeline.run_scenario(args.scenario, args.kernel, not args.no_inject,
                              args.until_first, args.duration, args.out, args.accel,
                              extra_args=args.stressor_arg)
    return report.EXIT[s["verdict"]]


def cmd_list(args) -> int:
    print("scenarios:")
    for n in scenario.names():
        sc = scenario.load(n)
        exp = ", ".join(f"{k}={v}" for k, v in sc.expect.items())
        print(f"  {n:28} {sc.race}  {sc.description}  [{exp}]")
    print("kernels:")
    for n in kernels.names():
        print(f"  {n}")
    return 0


def _row(s: dict) -> str:
    ttfd = s["time_to_first_detection_s"]
    ev = s["window_evidence"]
    return (f"{s['scenario']:28} {s['kernel']:26} {s['expected']:11} {s['verdict']:13} "
            f"{s['bad_pages'] if s['bad_pages'] is not None else '-':>5} "
            f"{ttfd if ttfd is not None else '-':>7} {s['injections']:>6} "
            f"{'met' if ev['met'] else 'NOT':>4} {ev['rule']} = {ev['value']}"
            + (f"; {s['oracle']}={s['oracle_value']} (expected {s['oracle_expected']})"
               if s["oracle"] else ""))


def cmd_controls(args) -> int:
    """Positive and negative controls: every expectation of the scenarios
    on the Debian kernels, and with --buglab on the bug-lab kernels too."""
    camp = Path(args.out) if args.out else \
        pipeline.RESULTS / time.strftime("%Y%m%d-%H%M%S-controls")
    # loads, and so checks, every file before any guest boots
    rows = pipeline.expectations(args.scenario or scenario.names(), args.buglab)
    if not rows:
        print("mmrace controls: no expectations to check (a scenario's [expect] table "
              "names kernels and verdicts)")
        return 2
    runs = pipeline.run_controls(rows, camp, args.accel)
    lines = [f"{'scenario':28} {'kernel':26} {'expected':11} {'verdict':13} "
             f"{'bad':>5} {'ttfd_s':>7} {'inj':>6} window evidence"]
    lines += [_row(s) for s in runs]
    ok = all(pipeline.control_ok(s) for s in runs)
    table = "\n".join(lines)
    pipeline.write_json(camp / "summary.json", runs)
    index = ["# mmrace controls", "", "```", table, "```", ""]
    index += [f"- [{s['scenario']} on {s['kernel']}]({Path(s['report']).relative_to(camp)})"
              for s in runs]
    (camp / "report.md").write_text("\n".join(index) + "\n")
    print(table)
    bad = [f"{s['scenario']} on {s['kernel']}" for s in runs if not pipeline.control_ok(s)]
    print(f"{'all outcomes as expected' if ok else 'MISMATCH: ' + ', '.join(bad)}; "
          f"report: {camp / 'report.md'}")
    return 0 if ok else 1


def register(sub):
    p = sub.add_parser("run", help="run one scenario on one kernel", description=__doc__)
    p.add_argument("scenario", metavar="SCENARIO",
                   help=" | ".join(scenario.names()) + " | PATH.toml")
    p.add_argument("--kernel", required=True, metavar="KERNEL", help=" | ".join(kernels.names()))
    p.add_argument("--no-inject", action="store_true", help="load the module but arm no site")
    p.add_argument("--until-first", action="store_true", help="stop at the first bad page")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stress time in the guest (default: the scenario's)")
    p.add_argument("--out", metavar="DIR", help="run directory (default results/<run-id>)")
    options.add_accel(p)
    options.add_stressor_arg(p)
    p.set_defaults(func=cmd_run)
    lp = sub.add_parser("list", help="list scenarios and kernels")
    lp.set_defaults(func=cmd_list)
    cp = sub.add_parser("controls", help="run every scenario's positive and negative controls",
                        description=__doc__)
    cp.add_argument("scenario", nargs="*", metavar="SCENARIO",
                    help="scenario names or .toml paths (default: every scenario)")
    cp.add_argument("--out", metavar="DIR", help="campaign directory (default results/<id>-controls)")
    cp.add_argument("--buglab", action="store_true",
                    help="also the bug-lab kernels (built from source on first use)")
    options.add_accel(cp)
    cp.set_defaults(func=cmd_controls)
    return [p, lp, cp]
