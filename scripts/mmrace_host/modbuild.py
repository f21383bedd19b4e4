"""Build mmrace.ko for one test kernel, out of tree, in its own copy of the sources.

Never builds in the repository: `M=$PWD` would mix objects of two kernels, and
`make M=... clean` deletes every *.ko/*.o below M. Kbuild and module/ are copied to
<cache>/modbuild/<kernel>-<release>/src and built there with
`make -C KDIR M=<that dir>`; a rebuild happens only when the sources' hash changed.
Any other directory with a Kbuild of one `obj-m` module (the test-only module of
scripts/tests/faults/oops/) builds the same way, in a cache directory of its own.
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
_OBJ_M = re.compile(r"^obj-m\s*\+?=\s*(\w+)\.o\s*$", re.M)
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


def module_name(kbuild: Path) -> str:
    """The .ko a Kbuild file builds: its one obj-m line."""
    names = _OBJ_M.findall(kbuild.read_text())
    if len(names) != 1:
        raise BuildError(f"{kbuild}: not one 'obj-m += NAME.o' line")
    return names[0] + ".ko"


def build_module(kernel: Kernel, repo: Path, force: bool = False, jobs: int = None) -> ModuleBuild:
    """Build (or reuse) mmrace.ko for `kernel` from repo's Kbuild + module/,
    or the module of another directory's Kbuild from every file there."""
    need("make")
    need("gcc")
    repo = Path(repo).resolve()
    if not (repo / "Kbuild").is_file():
        raise BuildError(f"{repo}/Kbuild not found")
    name = module_name(repo / "Kbuild")
    if name == MODULE:
        files = _source_files(repo)
    else:
        files = [f for f in repo.rglob("*") if f.is_file() and not _is_build_output(f)]
    flags = make_flags(kernel)
    h = cache.hash_files(files, base=repo)
    h = f"{h}-{kernel.release}-{kernel.version}-{' '.join(flags)}"

    tag = "" if name == MODULE else "-" + name[:-3]
    bdir = cache.subdir("modbuild", f"{kernel.name}-{kernel.release}{tag}")
    src = bdir / "src"
    stamp = bdir / "hash"
    log = bdir / "build.log"
    ko = src / name
    if not force and ko.exists() and stamp.exists() and stamp.read_text() == h:
        return ModuleBuild(ko=ko, log=log, warnings=_warnings(log), rebuilt=False, src_hash=h)

    progress(f"build {name} for {kernel.name} ({kernel.release})")
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
