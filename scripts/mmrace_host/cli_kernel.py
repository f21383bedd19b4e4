"""`mmrace fetch KERNEL` and `mmrace build-module KERNEL`."""

from pathlib import Path

from . import kernels, modbuild

REPO = Path(__file__).resolve().parents[2]


def cmd_fetch(args) -> int:
    for name in args.kernel:
        k = kernels.fetch(name, refresh=args.refresh)
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

    q = sub.add_parser("build-module", help="build mmrace.ko for a test kernel")
    q.add_argument("kernel", choices=kernels.names(), metavar="KERNEL")
    q.add_argument("--src", help="tree holding Kbuild + module/ (default: this repo)")
    q.add_argument("--force", action="store_true", help="rebuild even if sources unchanged")
    q.add_argument("--werror", action="store_true", help="exit 1 on compiler warnings")
    q.set_defaults(func=cmd_build_module)
    return [p, q]
