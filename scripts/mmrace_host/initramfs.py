"""Guest initramfs: a cached base archive per (kernel, guest, module, stressors) and a small
per-run job archive appended after it (the kernel unpacks concatenated cpio archives).

Base contents:
  /init                      scripts/guest/init (busybox sh)
  /bin/busybox + applet links
  /lib/modules/REL/...ko     guest kernel modules, decompressed, dependencies resolved
                             on the host; /etc/mmrace/modules lists them in load order
  /mmrace/mmrace.ko          the module under test (optional)
  /usr/bin/<stressor>        static stressor binaries
  the guest's host tools (guest.Guest.tools(): trace-cmd, the mkfs of each file
  system) and every library ldd lists
  /out                       empty; tarred onto the output disk at the end
"""

import hashlib
import lzma
import re
import subprocess
from pathlib import Path

from . import cache, cpio
from .guest import Guest
from .kernels import Kernel
from .tools import need, progress, run

GUEST_INIT = Path(__file__).resolve().parents[1] / "guest" / "init"

# Guest paths of a host tool where they are not /usr/bin/<tool>.
TOOL_PATHS = {
    "mke2fs": ["/sbin/mke2fs", "/sbin/mkfs.ext4", "/sbin/mkfs.ext2"],
    "mkfs.xfs": ["/sbin/mkfs.xfs"],
}
# Configuration files a tool reads, shipped with it when the host has them.
TOOL_FILES = {"mke2fs": ["/etc/mke2fs.conf"]}
TRACEEVENT_PLUGINS = Path("/usr/lib/x86_64-linux-gnu/traceevent/plugins")


# ---------------------------------------------------------------- kernel modules

def module_load_order(kernel: Kernel, names) -> list:
    """Host paths of the modules `names` need, dependencies first, no duplicates.

    Built-in modules are skipped; so are unknown ones (with a progress note).
    """
    modprobe = need("modprobe")
    order, seen = [], set()
    for name in names:
        p = subprocess.run([modprobe, "-d", str(kernel.root), "-S", kernel.release,
                            "--show-depends", name], capture_output=True, text=True)
        if p.returncode != 0:
            progress(f"{kernel.name}: module {name} not found, skipped ({p.stderr.strip()})")
            continue
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) >= 2 and f[0] == "insmod":
                path = Path(f[1])
                if path not in seen:
                    seen.add(path)
                    order.append(path)
            # "builtin NAME": nothing to load
    return order


def _ko_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(data)
    if path.suffix == ".zst":
        raise RuntimeError(f"{path}: zstd-compressed modules are not supported yet")
    return data


def _guest_ko_path(kernel: Kernel, host: Path) -> str:
    rel = host.relative_to(kernel.modules_dir)
    name = str(rel)
    for suf in (".xz", ".gz"):
        if name.endswith(suf):
            name = name[: -len(suf)]
    return f"/lib/modules/{kernel.release}/{name}"


# ---------------------------------------------------------------- host binaries

_LDD = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def shared_libs(binary: str) -> list:
    """Absolute paths of the shared libraries `ldd binary` lists (loader included)."""
    p = run([need("ldd"), binary])
    libs = []
    for line in p.stdout.splitlines():
        m = _LDD.search(line)
        if m:
            libs.append(m.group(1))
    return libs


def _host_tool_entries(tools) -> list:
    entries, libs = [], []
    for tool in tools:
        host = need(tool)
        data = Path(host).read_bytes()
        for gp in TOOL_PATHS.get(tool, [f"/usr/bin/{tool}"]):
            entries.append(cpio.file(gp, data, 0o755))
        libs += shared_libs(host)
        entries += [cpio.file(f, Path(f).read_bytes())
                    for f in TOOL_FILES.get(tool, []) if Path(f).exists()]
    if TRACEEVENT_PLUGINS.is_dir():
        for so in sorted(TRACEEVENT_PLUGINS.glob("*.so")):
            entries.append(cpio.file(str(so), so.read_bytes(), 0o755))
            libs += shared_libs(str(so))
    for lib in dict.fromkeys(libs):
        entries.append(cpio.file(lib, Path(lib).resolve().read_bytes(), 0o755))
    return entries


def _busybox_entries() -> list:
    bb = need("busybox")
    entries = [cpio.file("/bin/busybox", Path(bb).read_bytes(), 0o755)]
    p = run([bb, "--list-full"])
    for applet in p.stdout.split():
        if applet == "bin/busybox":
            continue
        entries.append(cpio.symlink("/" + applet, "/bin/busybox"))
    return entries


# ---------------------------------------------------------------- archives

def _stressor_entries(stressors) -> list:
    if isinstance(stressors, dict):
        items = stressors.items()
    else:
        items = [(f"/usr/bin/{Path(s).name}", s) for s in stressors]
    return [cpio.file(g, Path(h).read_bytes(), 0o755) for g, h in items]


def base_entries(kernel: Kernel, guest: Guest, module_ko=None, stressors=()) -> list:
    if not GUEST_INIT.is_file():
        raise RuntimeError(f"{GUEST_INIT} missing")
    ents = {}

    def add(es):
        for e in es:
            ents[e.path] = e        # later wins: real tools override busybox applets

    add(_busybox_entries())
    add([cpio.directory(d) for d in ("/dev", "/proc", "/sys", "/tmp", "/run", "/mnt",
                                     "/out", "/job", "/root", "/etc/mmrace")])
    add(_host_tool_entries(guest.tools()))
    order = module_load_order(kernel, guest.modules)
    lines = []
    for host in order:
        gp = _guest_ko_path(kernel, host)
        add([cpio.file(gp, _ko_bytes(host))])
        lines.append(gp)
    add([cpio.file("/etc/mmrace/modules", ("\n".join(lines) + "\n").encode()),
         cpio.file("/etc/mmrace/kernel", f"{kernel.name} {kernel.release} {kernel.version}\n".encode())])
    if module_ko:
        add([cpio.file("/mmrace/mmrace.ko", Path(module_ko).read_bytes())])
    add(_stressor_entries(stressors))
    add([cpio.file("/init", GUEST_INIT.read_bytes(), 0o755)])
    add([cpio.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
         cpio.file("/etc/group", b"root:x:0:\n")])
    return list(ents.values())


def build_base(kernel: Kernel, guest: Guest, module_ko=None, stressors=()) -> Path:
    """Base initramfs for (kernel, guest, module, stressors); cached by content hash.

    stressors: iterable of host paths (installed as /usr/bin/<name>) or a dict
    guest path -> host path.
    """
    data = cpio.archive(base_entries(kernel, guest, module_ko, stressors))
    h = hashlib.sha256(data).hexdigest()[:24]
    d = cache.subdir("initramfs")
    out = d / f"{kernel.name}-{h}.cpio"
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.rename(out)
        progress(f"initramfs {out.name} ({len(data) >> 20} MiB)")
    return out


def job_cpio(files: dict) -> bytes:
    """Per-run archive: guest path -> bytes | str | (data, mode).

    Text starting with '#!' and *.sh files are made executable.
    """
    entries = []
    for path, v in files.items():
        mode = None
        if isinstance(v, tuple):
            v, mode = v
        data = v.encode() if isinstance(v, str) else bytes(v)
        if mode is None:
            mode = 0o755 if (data.startswith(b"#!") or path.endswith(".sh")) else 0o644
        entries.append(cpio.file(path, data, mode))
    return cpio.archive(entries)

