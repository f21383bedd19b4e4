"""`mmrace exec --kernel K -- 'shell command'`: run one command in a test guest.

Boots the kernel with the module loaded, runs the command as /job/run.sh, brings
/out back to OUT/guest/ and prints the command's output (stdout) after progress
and the guest's console lines (stderr).
"""

import os
import sys
import time
from pathlib import Path

from . import cache, health, initramfs, kernels, modbuild, qemu
from .tools import progress

REPO = Path(__file__).resolve().parents[2]

# exit codes when the job did not finish normally
RC_TIMEOUT = 124
RC_CRASHED = 125


def prepare(kernel_name: str, module_src=None, with_module=True, stressors=()):
    """(Kernel, base initramfs path, ModuleBuild or None) for a guest boot."""
    k = kernels.fetch(kernel_name)
    mb = None
    if with_module:
        src = Path(module_src) if module_src else REPO
        if (src / "Kbuild").is_file():
            mb = modbuild.build_module(k, src)
            for w in mb.warnings:
                progress(f"module warning: {w}")
        else:
            progress(f"no Kbuild in {src}: booting without mmrace.ko")
    base = initramfs.build_base(k, mb.ko if mb else None, stressors)
    return k, base, mb


def job_script(command: str) -> str:
    return "#!/bin/sh\n" + command.rstrip("\n") + "\n"


def default_outdir(tag: str) -> Path:
    return cache.subdir("runs") / f"{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


class ConsolePrinter:
    """on_line callback: the job's part of the console (or all of it) to stderr."""

    def __init__(self, verbose: bool, quiet: bool):
        self.verbose, self.quiet = verbose, quiet
        self.in_job = False

    def __call__(self, line: str):
        if line.startswith(qemu.JOB_BEGIN):
            self.in_job = True
        show = self.verbose or self.in_job or line.startswith("mmrace-init:") \
            or (health.PRINTK.match(line) and health.scan(line))
        if line.startswith("MMRACE-JOB-END"):
            self.in_job = False
        if show and not self.quiet:
            sys.stderr.write(f"guest| {line}\n")
            sys.stderr.flush()


def job_output(res: qemu.BootResult) -> str:
    """The job's output: /out/job.log, else the job section of the console."""
    log = res.guest_dir / "job.log"
    if log.exists():
        return log.read_text(errors="replace")
    lines, inside = [], False
    for line in res.console.read_text(errors="replace").splitlines():
        if line.startswith(qemu.JOB_BEGIN):
            inside = True
            continue
        if line.startswith("MMRACE-JOB-END"):
            break
        if inside and not health.PRINTK.match(line):
            lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


def cmd_exec(args) -> int:
    command = " ".join(args.command).strip()
    if not command:
        print("mmrace exec: no command given (mmrace exec --kernel K -- 'cmd')", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    k, base, mb = prepare(args.kernel, args.module_src, not args.no_module, args.stressor)
    out = Path(args.out) if args.out else default_outdir(f"exec-{k.name}")
    cmdline = args.cmdline or ""
    if args.no_module:
        cmdline += " mmrace.nomod=1"
    prep_s = time.monotonic() - t0
    progress(f"boot {k.name} {k.release} accel={args.accel} (prep {prep_s:.1f} s), out: {out}")
    res = qemu.boot(k, [base, initramfs.job_cpio({"/job/run.sh": job_script(command)})],
                    cmdline_extra=cmdline, outdir=out, timeout_s=args.timeout,
                    accel=args.accel, smp=args.smp, mem=args.mem,
                    on_line=ConsolePrinter(args.verbose, args.quiet))
    sys.stdout.write(job_output(res))
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
    p.add_argument("--accel", choices=("kvm", "tcg", "auto"), default="tcg",
                   help="default tcg; kvm falls back to tcg if the kernel does not start")
    p.add_argument("--timeout", type=float, default=300, help="guest time-out in s (300)")
    p.add_argument("--cmdline", help="extra kernel command line")
    p.add_argument("--out", help="output dir (default: <cache>/runs/exec-...)")
    p.add_argument("--smp", type=int, default=4)
    p.add_argument("--mem", default="2G")
    p.add_argument("--module-src", help="tree with Kbuild + module/ (default: this repo)")
    p.add_argument("--no-module", action="store_true", help="do not load mmrace.ko")
    p.add_argument("--stressor", action="append", default=[], metavar="BIN",
                   help="static binary to install as /usr/bin/NAME (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the whole console")
    p.add_argument("-q", "--quiet", action="store_true", help="show no console lines")
    p.add_argument("command", nargs="*", help="shell command (after --)")
    p.set_defaults(func=cmd_exec)
    return [p]
