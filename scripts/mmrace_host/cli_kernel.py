"""`mmrace fetch KERNEL`, `mmrace buildkernel NAME` and `mmrace build-module KERNEL`."""

import sys
from pathlib import Path

from . import buglab, kernels, modbuild

REPO = Path(__file__).resolve().parents[2]


def cmd_fetch(args) -> int:
    for name in args.kernel:
        k = kernels.fetch(name, refresh=args.refresh)
        print(f"{k.name}\t{k.release}\t{k.version}\t{k.root}")
    return 0


def cmd_buildkernel(args) -> int:
    if args.list:
        for name, sp in buglab.load().items():
            print(f"{name}\t{sp.source}\t{','.join(p.name for p in sp.patches) or '-'}"
                  f"\t{sp.about}")
        return 0
    known = buglab.names()
    bad = [n for n in args.kernel if n not in known]
    if bad or not args.kernel:
        print(f"mmrace buildkernel: name bug-lab kernels ({' | '.join(known)}) or --list"
              + (f"; unknown: {' '.join(bad)}" if bad else ""), file=sys.stderr)
        return 2
    for name in args.kernel:
        k = buglab.build(name, force=args.force, refresh=args.refresh, jobs=args.jobs)
        print(f"{k.name}\t{k.release}\t{k.version}\t{k.root}")
    return 0


def cmd_build_module(args) -> int:
    k = kernels.fetch(args.kernel)
    res = modbuild.build_module(k, Path(args.src) if args.src else REPO, force=args.force)
    for w in res.warnings:
        print(f"warning: {w}")
    print(res.ko)
    return 1 if (args.werror and res.warnings) else 0


def register(sub):
    p = sub.add_parser("fetch", help="download and unpack a test kernel (once)")
    p.add_argument("kernel", nargs="+", choices=kernels.names(), metavar="KERNEL",
                   help=" | ".join(kernels.names()))
    p.add_argument("--refresh", action="store_true", help="fetch again (newest ABI)")
    p.set_defaults(func=cmd_fetch)

    b = sub.add_parser("buildkernel", help="build a bug-lab kernel (Debian source + patches)",
                       description="Build bug-lab kernels from scripts/buglab/kernels.toml "
                       "(also built on first use by --kernel NAME).")
    b.add_argument("kernel", nargs="*", metavar="NAME", help=" | ".join(buglab.names()))
    b.add_argument("--list", action="store_true", help="list the bug-lab kernels")
    b.add_argument("--force", action="store_true", help="rebuild even if already built")
    b.add_argument("--refresh", action="store_true",
                   help="take the newest source version of the suite")
    b.add_argument("-j", "--jobs", type=int, help="make -j (default: number of CPUs)")
    b.set_defaults(func=cmd_buildkernel)

    q = sub.add_parser("build-module", help="build mmrace.ko for a test kernel")
    q.add_argument("kernel", choices=kernels.names(), metavar="KERNEL")
    q.add_argument("--src", help="tree holding Kbuild + module/ (default: this repo)")
    q.add_argument("--force", action="store_true", help="rebuild even if sources unchanged")
    q.add_argument("--werror", action="store_true", help="exit 1 on compiler warnings")
    q.set_defaults(func=cmd_build_module)
    return [p, b, q]
