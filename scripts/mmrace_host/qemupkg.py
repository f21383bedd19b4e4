"""The QEMU that boots the test guests: bookworm-backports' qemu-system-x86.

Debian 12's own QEMU (7.2) runs stale translated code under multi-threaded
TCG after the guest rewrites its kernel text.  Linux patches live text with
text_poke_bp(): int3 first, then the new bytes, an IPI-and-serialise between
each step.  Under QEMU 7.2 a vCPU still executes the int3 after the last step
(the console shows the new bytes at the trapping address), which is an
"Oops: int3" or a jump to garbage.  Every ftrace, jump-label and kprobe
(un)registration does this, at boot, when trace-cmd starts, when mmrace arms
a site, at rmmod.  Measured with stock Debian 6.12, no mmrace module,
toggling the function tracer on three mm functions under mmrace-lostwrite:
QEMU 7.2 crashed 3 of 3 guests within 6 s; QEMU 10.0 survived 3 of 3 whole
runs (results/README.md, "Guest QEMU: 7.2 against 10.0").  Single-threaded
TCG is no way out: it runs one vCPU at a time, so an injected busy-wait
would mostly stall the other vCPUs instead of racing with them.

QEMU is fetched like the Debian kernels (kernels.PrivateApt): downloaded,
unpacked into <cache>/qemu/VERSION/root, never installed.  Its libraries are
those of Debian 12's QEMU, which scripts/install-deps installs, together with
SeaBIOS (/usr/share/seabios), which the unpacked QEMU loads its firmware from.
"""

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .kernels import PrivateApt, _unpack, _version_key
from .tools import need, progress, run

SUITE = "bookworm-backports"
PACKAGES = ["qemu-system-x86", "qemu-system-common", "qemu-system-data"]
SEABIOS = Path("/usr/share/seabios")
MIN_MAJOR = 8   # 7.2 shows the stale-code crashes; 10.0 is what was measured


@dataclass(frozen=True)
class Qemu:
    version: str
    root: Path

    @property
    def binary(self) -> Path:
        return self.root / "usr/bin/qemu-system-x86_64"

    def argv(self) -> list:
        """The binary and its firmware search path (its own ROMs, then SeaBIOS)."""
        return [str(self.binary), "-L", str(self.root / "usr/share/qemu"),
                "-L", str(SEABIOS)]

    def env(self) -> dict:
        """Environment for the QEMU process: its own loadable modules."""
        return {**os.environ,
                "QEMU_MODULE_DIR": str(self.root / "usr/lib/x86_64-linux-gnu/qemu")}


def _newest(apt: PrivateApt) -> str:
    versions = [v for pkg, v, suite in apt.madison([PACKAGES[0]])
                if suite == SUITE and int(re.match(r"(?:\d+:)?(\d+)", v).group(1)) >= MIN_MAJOR]
    if not versions:
        raise RuntimeError(f"no {PACKAGES[0]} >= {MIN_MAJOR} in {SUITE}")
    return max(versions, key=_version_key)


def _check(q: Qemu):
    """The unpacked binary runs: every library it needs is on this machine."""
    p = subprocess.run(["ldd", str(q.binary)], stdout=subprocess.PIPE, text=True)
    missing = [line.split()[0] for line in p.stdout.splitlines() if "not found" in line]
    if missing:
        raise RuntimeError(f"QEMU {q.version} needs libraries this machine lacks "
                           f"({', '.join(missing)}): run scripts/install-deps, then "
                           f"apt-get install the packages that provide them")
    if not (SEABIOS / "bios-256k.bin").exists():
        raise RuntimeError(f"no {SEABIOS}/bios-256k.bin: apt-get install seabios")
    run([q.binary, "--version"])


def get() -> Qemu:
    """The guest QEMU, fetched and unpacked on first use."""
    base = cache.subdir("qemu")
    marker = base / "qemu.json"
    if marker.exists():
        meta = json.loads(marker.read_text())
        q = Qemu(version=meta["version"], root=Path(meta["root"]))
        if q.binary.exists():
            return q
    for t in ("apt-get", "dpkg-deb", "ldd"):
        need(t)
    apt = PrivateApt(cache.subdir("apt"))
    apt.update()
    version = _newest(apt)
    progress(f"guest QEMU: {PACKAGES[0]} {version} from {SUITE}")
    debs = apt.download(PACKAGES, version)
    root = base / re.sub(r"[^\w.+-]", "_", version) / "root"
    _unpack(debs, root)
    q = Qemu(version=version, root=root)
    _check(q)
    marker.write_text(json.dumps({"version": version, "root": str(root)}, indent=1) + "\n")
    for d in debs:
        d.unlink(missing_ok=True)
    progress(f"guest QEMU {version} ready in {root}")
    return q
