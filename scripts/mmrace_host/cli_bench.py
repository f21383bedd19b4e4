"""`mmrace bench`: what an armed probe costs tasks the filters do not select.

Boots KERNEL once and runs scripts/bench/probe-cost.sh: MADV_DONTNEED-loop
throughput (mmrace-zapbench) with the module not loaded, loaded but idle, and
armed for another task, interleaved over several rounds.  Reports the
median of each state and the per-round ratios idle/unloaded and
armed/unloaded.  By default the guest runs with QEMU's -icount, where guest
time counts executed instructions: the ratio is the probe's instruction
cost, repeatable on a loaded 2-core host.
"""

import json
import statistics
import time
from pathlib import Path

from . import guest as guestcfg
from . import pipeline

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "probe-cost.sh"


def ratios(rows: list) -> dict:
    """Medians per state, and per-round ratios to the unloaded run of the same
    round (median, min, max), so slow drift cancels."""
    per, rounds = {}, {}
    for r in rows:
        per.setdefault(r["state"], []).append(r["bench"]["per_second"])
        rounds.setdefault(r["round"], {})[r["state"]] = r["bench"]["per_second"]
    out = {"median_per_second": {s: statistics.median(v) for s, v in per.items()},
           "samples": per}
    for state in ("idle", "armed"):
        rs = sorted(v[state] / v["unloaded"] for v in rounds.values()
                    if v.get("unloaded") and state in v)
        if rs:
            out[f"{state}_vs_unloaded"] = {"median": round(statistics.median(rs), 4),
                                           "min": round(rs[0], 4), "max": round(rs[-1], 4)}
    return out


def cmd_bench(args) -> int:
    out = Path(args.out) if args.out else \
        pipeline.RESULTS / time.strftime("%Y%m%d-%H%M%S-bench")
    guest = guestcfg.DEFAULT.replace(accel=args.accel, cmdline="transparent_hugepage=never",
                                     smp=1 if args.accel == "icount" else guestcfg.DEFAULT.smp)
    k, base, _ = pipeline.prepare(args.kernel, guest, pipeline.build_stressors(["mmrace-zapbench"]))
    job = f"ROUNDS={args.rounds} SECONDS_EACH={args.seconds} sh /job/probe-cost.sh\n"
    res = pipeline.boot_job(k, base, {"/job/run.sh": "#!/bin/sh\n" + job,
                                      "/job/probe-cost.sh": SCRIPT.read_text()},
                            guest, out, 600 + 30 * args.rounds * args.seconds)
    log = res.guest_dir / "job.log"
    rows = [json.loads(line) for line in (log.read_text().splitlines() if log.is_file() else [])
            if line.startswith("{")]
    if not rows:
        print(f"mmrace bench: no measurements (guest {res.exit_reason}, see {res.console})")
        return 2
    doc = {"kernel": args.kernel, "kernel_release": k.release, "accel": args.accel,
           **ratios(rows)}
    (out / "bench.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps({key: doc[key] for key in doc if key != "samples"}, indent=2))
    print(f"results: {out / 'bench.json'}")
    return 0


def register(sub):
    p = sub.add_parser("bench", help="probe cost for unselected tasks (armed vs not loaded)",
                       description=__doc__)
    p.add_argument("--kernel", default="debian-6.1", metavar="KERNEL")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--out", metavar="DIR")
    p.add_argument("--accel", choices=("icount", "tcg"), default="icount",
                   help="icount (default): guest time counts instructions, so the "
                   "ratios do not depend on host load (1 vCPU: an icount SMP guest "
                   "hangs bringing up CPUs); tcg: wall-clock guest, 4 vCPUs")
    p.set_defaults(func=cmd_bench)
    return [p]
