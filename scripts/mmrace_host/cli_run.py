"""`mmrace run`, `mmrace list` and `mmrace controls`.

run SCENARIO --kernel KERNEL [--no-inject] [--until-first] [--duration S] [--out DIR]
    [--stressor-arg ARG ...]
  exit 0 clean, 1 corruption, 3 kernel-health (wins over 1), 2 harness/usage error.
controls: every (scenario, kernel) pair with an expected verdict, with injection;
  exit 0 when every verdict matches its expectation.
"""

import json
import shlex
import time
from pathlib import Path

from . import initramfs, kernels, qemu, report, scenario
from .cli_exec import ConsolePrinter, prepare
from .tools import ToolError, progress, run as run_cmd

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results"
BOOT_SLACK_S = 240          # boot, mkfs, trace extraction under TCG


def build_stressors(names) -> list:
    run_cmd(["make", "-s", "-C", REPO / "userspace"])
    bins = [REPO / "userspace" / "build" / n for n in names]
    missing = [str(b) for b in bins if not b.is_file()]
    if missing:
        raise ToolError(f"stressor not built: {', '.join(missing)}")
    return bins


def run_id(sc_name: str, kernel: str, inject: bool) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{sc_name}-{kernel}-{'inject' if inject else 'noinject'}"


def run_scenario(sc_name: str, kernel_name: str, inject: bool = True,
                 until_first: bool = False, duration: float = None, out: Path = None,
                 accel: str = "tcg", quiet: bool = False, extra_args: list = ()) -> dict:
    """Run one scenario in one guest; returns the summary (also written to out).
    extra_args override the scenario's stressor arguments."""
    sc = scenario.load(sc_name).with_extra_args(extra_args)
    if kernel_name not in kernels.names():
        raise ToolError(f"unknown kernel '{kernel_name}' (known: {', '.join(kernels.names())})")
    duration = sc.duration if duration is None else duration
    out = Path(out) if out else RESULTS / run_id(sc.name, kernel_name, inject)
    out.mkdir(parents=True, exist_ok=True)
    bins = build_stressors([sc.stressor])
    k, base, _ = prepare(kernel_name, stressors=bins)
    job = scenario.job_script(sc, inject, until_first, duration)
    (out / "job.sh").write_text(job)
    progress(f"run {sc.name} on {k.name} ({k.release}), injection "
             f"{'on' if inject else 'off'}, {duration:g} s{' until first' if until_first else ''}"
             f" -> {out}")
    res = qemu.boot(k, [base, initramfs.job_cpio({"/job/run.sh": job})],
                    cmdline_extra=sc.cmdline, outdir=out,
                    timeout_s=duration + BOOT_SLACK_S, accel=accel,
                    on_line=ConsolePrinter(False, quiet))
    summary = report.summarize(sc, k, inject, res, res.guest_dir)
    summary["stressor_extra_args"] = list(extra_args)
    if extra_args:      # the scenario's expectations are for its own arguments
        summary["expected"] = summary["oracle_expected"] = None
    cmd = shlex.join([sc.stressor, *sc.args])
    path = report.write(out, summary, res.guest_dir, cmd)
    progress(f"{summary['verdict']} (expected {summary['expected']}): "
             f"bad pages {summary['bad_pages']}, injections {summary['injections']}, "
             f"overlaps {summary['overlaps']}; report: {path}")
    summary["report"] = str(path)
    return summary


def cmd_run(args) -> int:
    s = run_scenario(args.scenario, args.kernel, not args.no_inject, args.until_first,
                     args.duration, args.out, args.accel, extra_args=args.stressor_arg)
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


def cmd_controls(args) -> int:
    """Positive and negative controls: every expectation of every scenario on
    the Debian kernels, and with --buglab on the bug-lab kernels too."""
    camp = Path(args.out) if args.out else RESULTS / time.strftime("%Y%m%d-%H%M%S-controls")
    rows = []
    for n in scenario.names():
        sc = scenario.load(n)
        for kname, expected in sc.expect.items():
            if kname.startswith("buglab-") and not args.buglab:
                continue
            s = run_scenario(n, kname, True, expected == "corruption", None,
                             camp / f"{n}-{kname}", args.accel, quiet=True)
            rows.append(s)
    lines = [f"{'scenario':28} {'kernel':26} {'expected':11} {'verdict':11} "
             f"{'bad':>5} {'ttfd_s':>7} {'inj':>6} {'ovl':>6} oracle"]
    for s in rows:
        ttfd = s["time_to_first_detection_s"]
        lines.append(f"{s['scenario']:28} {s['kernel']:26} {s['expected']:11} {s['verdict']:11} "
                     f"{s['bad_pages'] if s['bad_pages'] is not None else '-':>5} "
                     f"{ttfd if ttfd is not None else '-':>7} {s['injections']:>6} {s['overlaps']:>6} "
                     + (f"{s['oracle']}={s['oracle_value']} (expected {s['oracle_expected']})"
                        if s["oracle"] else "-"))
    ok = all(s["verdict"] == s["expected"] and
             report.oracle_ok(s["oracle_expected"], s["oracle_value"]) for s in rows)
    table = "\n".join(lines)
    camp.mkdir(parents=True, exist_ok=True)
    (camp / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    index = ["# mmrace controls", "", "```", table, "```", ""]
    index += [f"- [{s['scenario']} on {s['kernel']}]({Path(s['report']).relative_to(camp)})"
              for s in rows]
    (camp / "report.md").write_text("\n".join(index) + "\n")
    print(table)
    print(f"{'all outcomes as expected' if ok else 'MISMATCH'}; report: {camp / 'report.md'}")
    return 0 if ok else 1


def add_stressor_arg(p):
    p.add_argument("--stressor-arg", action="append", default=[], metavar="ARG",
                   help="one more stressor argument after the scenario's (repeat it; "
                        "the last value of an option wins), e.g. --stressor-arg=--swap=zram:64M")


def register(sub):
    p = sub.add_parser("run", help="run one scenario on one kernel", description=__doc__)
    p.add_argument("scenario", metavar="SCENARIO", help=" | ".join(scenario.names()))
    p.add_argument("--kernel", required=True, metavar="KERNEL", help=" | ".join(kernels.names()))
    p.add_argument("--no-inject", action="store_true", help="load the module but arm no site")
    p.add_argument("--until-first", action="store_true", help="stop at the first bad page")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stress time in the guest (default: the scenario's)")
    p.add_argument("--out", metavar="DIR", help="run directory (default results/<run-id>)")
    p.add_argument("--accel", choices=("kvm", "tcg", "auto"), default="tcg")
    add_stressor_arg(p)
    p.set_defaults(func=cmd_run)
    lp = sub.add_parser("list", help="list scenarios and kernels")
    lp.set_defaults(func=cmd_list)
    cp = sub.add_parser("controls", help="run every scenario's positive and negative controls")
    cp.add_argument("--out", metavar="DIR", help="campaign directory (default results/<id>-controls)")
    cp.add_argument("--buglab", action="store_true",
                    help="also the bug-lab kernels (built from source on first use)")
    cp.add_argument("--accel", choices=("kvm", "tcg", "auto"), default="tcg")
    cp.set_defaults(func=cmd_controls)
    return [p, lp, cp]

