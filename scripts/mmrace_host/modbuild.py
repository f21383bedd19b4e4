"""Build mmrace.ko for one test kernel, out of tree, in its own copy of the sources.

Never builds in the repository: `M=$PWD` would mix objects of two kernels, and
`make M=... clean` deletes every *.ko/*.o below M. Kbuild and module/ are copied to
<cache>/modbuild/<kernel>-<release>/src and built there with
`make -C KDIR M=<that dir>`; a rebuild happens only when the sources' hash changed.
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import cache
from .kernels import Kernel
from .tools import need, progress

SOURCES = ("Kbuild", "module")     # what is copied from the repo, generically
MODULE = "mmrace.ko"
_WARN = re.compile(r"warning:", re.IGNORECASE)


@dataclass
class ModuleBuild:
    ko: Path                 # the built module
    log: Path                # full build log
    warnings: list = field(default_factory=list)   # lines containing "warning:"
    rebuilt: bool = False    # False when the cached build was reused
    src_hash: str = ""


class BuildError(RuntimeError):
    pass


def _source_files(repo: Path) -> list:
    files = []
    for name in SOURCES:
        p = repo / name
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += [f for f in p.rglob("*") if f.is_file() and not _is_build_output(f)]
    return files


def _is_build_output(f: Path) -> bool:
    n = f.name
    return (n.endswith((".o", ".ko", ".mod", ".mod.c", ".cmd", ".symvers", ".order", ".a"))
            or n.startswith(".") or n == "modules.order")


def make_flags(kernel: Kernel) -> list:
    """Extra make variables for this kernel's headers."""
    flags = []
    if shutil.which("pahole") is None:
        # headers of BTF-enabled kernels want pahole for BTF of modules
        flags.append("CONFIG_DEBUG_INFO_BTF_MODULES=")
    return flags


def build_module(kernel: Kernel, repo: Path, force: bool = False, jobs: int = None) -> ModuleBuild:
    """Build (or reuse) mmrace.ko for `kernel` from repo's Kbuild + module/."""
    need("make")
    need("gcc")
    repo = Path(repo).resolve()
    if not (repo / "Kbuild").is_file():
        raise BuildError(f"{repo}/Kbuild not found")
    files = _source_files(repo)
    flags = make_flags(kernel)
    h = cache.hash_files(files, base=repo)
    h = f"{h}-{kernel.release}-{kernel.version}-{' '.join(flags)}"

    bdir = cache.subdir("modbuild", f"{kernel.name}-{kernel.release}")
    src = bdir / "src"
    stamp = bdir / "hash"
    log = bdir / "build.log"
    ko = src / MODULE
    if not force and ko.exists() and stamp.exists() and stamp.read_text() == h:
        return ModuleBuild(ko=ko, log=log, warnings=_warnings(log), rebuilt=False, src_hash=h)

    progress(f"build {MODULE} for {kernel.name} ({kernel.release})")
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in files:
        dst = src / f.relative_to(repo)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dst)
    stamp.unlink(missing_ok=True)

    argv = [need("make"), "-C", str(kernel.kbuild_dir), f"M={src}",
            f"-j{jobs or os.cpu_count() or 1}", *flags, "modules"]
    with open(log, "w") as lf:
        lf.write("$ " + " ".join(argv) + "\n")
        lf.flush()
        rc = subprocess.run(argv, stdout=lf, stderr=subprocess.STDOUT).returncode
    if rc != 0 or not ko.exists():
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise BuildError(f"module build failed for {kernel.name} (log: {log}):\n{tail}")
    stamp.write_text(h)
    warns = _warnings(log)
    progress(f"built {ko} ({len(warns)} warnings)")
    return ModuleBuild(ko=ko, log=log, warnings=warns, rebuilt=True, src_hash=h)


def _warnings(log: Path) -> list:
    if not log.exists():
        return []
    return [l.rstrip() for l in log.read_text(errors="replace").splitlines() if _WARN.search(l)]
