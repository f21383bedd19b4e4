"""`mmrace exec --kernel K -- 'shell command'`: run one command in a test guest.

Boots the kernel with the module loaded, runs the command as /job/run.sh, brings
/out back to OUT/guest/ and prints the command's output (stdout) after progress
and the guest's console lines (stderr).
"""

import os
import sys
import time
from pathlib import Path

from . import cache, guest as guestcfg, health, kernels, options, pipeline
from .tools import progress

# exit codes when the job did not finish normally
RC_TIMEOUT = 124
RC_CRASHED = 125


def default_outdir(tag: str) -> Path:
    return cache.subdir("runs") / f"{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def cmd_exec(args) -> int:
    command = " ".join(args.command).strip()
    if not command:
        print("mmrace exec: no command given (mmrace exec --kernel K -- 'cmd')", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    guest = guestcfg.DEFAULT.replace(
        smp=args.smp, mem=args.mem, accel=args.accel or guestcfg.DEFAULT.accel,
        cmdline=(args.cmdline or "") + (" mmrace.nomod=1" if args.no_module else ""))
    k, base, _ = pipeline.prepare(args.kernel, guest, args.stressor, args.module_src,
                                  not args.no_module)
    out = Path(args.out) if args.out else default_outdir(f"exec-{k.name}")
    progress(f"boot {k.name} {k.release} accel={guest.accel} "
             f"(prep {time.monotonic() - t0:.1f} s), out: {out}")
    res = pipeline.boot_job(k, base, {"/job/run.sh": "#!/bin/sh\n" + command + "\n"},
                            guest, out, args.timeout,
                            pipeline.ConsolePrinter(args.verbose, args.quiet))
    sys.stdout.write(pipeline.job_output(res))
    sys.stdout.flush()
    btj = "n/a"
    if res.boot_to_job_s is not None:
        btj = (f"{res.boot_to_job_s:.1f} s (kernel up at {res.kernel_up_s or 0:.1f} s, "
               f"guest uptime {res.guest_job_uptime_s} s)")
    progress(f"{res.exit_reason}: job rc={res.job_rc} accel={res.accel} "
             f"boot-to-job={btj} wall={res.wall_s:.1f} s health={health.summary(res.health)}")
    for kind, line in res.health[:10]:
        progress(f"  {kind}: {line}")
    for n in res.notes:
        progress(f"note: {n}")
    progress(f"console: {res.console}  guest files: {res.guest_dir}")
    if res.exit_reason == "timeout":
        return RC_TIMEOUT
    if res.exit_reason != "done" or res.job_rc is None:
        return RC_CRASHED
    return res.job_rc


def register(sub):
    p = sub.add_parser("exec", help="boot a test kernel and run a shell command in it",
                       description=__doc__)
    p.add_argument("--kernel", required=True, choices=kernels.names(), metavar="KERNEL",
                   help=" | ".join(kernels.names()))
    options.add_accel(p)
    p.add_argument("--timeout", type=float, default=300, help="guest time-out in s (300)")
    p.add_argument("--cmdline", help="extra kernel command line")
    p.add_argument("--out", help="output dir (default: <cache>/runs/exec-...)")
    p.add_argument("--smp", type=int, default=guestcfg.DEFAULT.smp)
    p.add_argument("--mem", default=guestcfg.DEFAULT.mem)
    p.add_argument("--module-src", help="tree with Kbuild + module/ (default: this repo)")
    p.add_argument("--no-module", action="store_true", help="do not load mmrace.ko")
    p.add_argument("--stressor", action="append", default=[], metavar="BIN",
                   help="static binary to install as /usr/bin/NAME (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the whole console")
    p.add_argument("-q", "--quiet", action="store_true", help="show no console lines")
    p.add_argument("command", nargs="*", help="shell command (after --)")
    p.set_defaults(func=cmd_exec)
    return [p]
