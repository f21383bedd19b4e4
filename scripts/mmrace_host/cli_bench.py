"""`mmrace bench`: what an armed probe costs tasks the filters do not select.

Boots KERNEL once and runs scripts/bench/probe-cost.sh: MADV_DONTNEED-loop
throughput (mmrace-zapbench) with the module not loaded, loaded but idle, and
armed for another task, interleaved over several rounds.  Reports the
median of each state and the ratios idle/unloaded and armed/unloaded.
"""

import json
import statistics
import time
from pathlib import Path

from . import initramfs, qemu
from .cli_exec import prepare
from .cli_run import RESULTS, build_stressors

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "probe-cost.sh"


def ratios(rows: list) -> dict:
    per = {}
    for r in rows:
        per.setdefault(r["state"], []).append(r["bench"]["per_second"])
    med = {s: statistics.median(v) for s, v in per.items()}
    out = {"median_per_second": med, "samples": per}
    if med.get("unloaded"):
        out["idle_vs_unloaded"] = round(med.get("idle", 0) / med["unloaded"], 3)
        out["armed_vs_unloaded"] = round(med.get("armed", 0) / med["unloaded"], 3)
    return out


def cmd_bench(args) -> int:
    out = Path(args.out) if args.out else RESULTS / time.strftime("%Y%m%d-%H%M%S-bench")
    bins = build_stressors(["mmrace-zapbench"])
    k, base, _ = prepare(args.kernel, stressors=bins)
    job = f"ROUNDS={args.rounds} SECONDS_EACH={args.seconds} sh /job/probe-cost.sh\n"
    res = qemu.boot(k, [base, initramfs.job_cpio({"/job/run.sh": "#!/bin/sh\n" + job,
                                                  "/job/probe-cost.sh": SCRIPT.read_text()})],
                    cmdline_extra="transparent_hugepage=never", outdir=out,
                    timeout_s=240 + 3 * args.rounds * args.seconds * 2)
    log = res.guest_dir / "job.log"
    rows = [json.loads(line) for line in (log.read_text().splitlines() if log.is_file() else [])
            if line.startswith("{")]
    if not rows:
        print(f"mmrace bench: no measurements (guest {res.exit_reason}, see {res.console})")
        return 2
    doc = {"kernel": args.kernel, "kernel_release": k.release, **ratios(rows)}
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
    p.set_defaults(func=cmd_bench)
    return [p]
