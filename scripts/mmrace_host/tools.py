"""Small helpers: required host tools, running commands, progress lines,
TOML files given by name or path."""

import shutil
import subprocess
import sys
from pathlib import Path

# tool -> Debian package that provides it
PACKAGES = {
    "apt-get": "apt",
    "apt-cache": "apt",
    "dpkg-deb": "dpkg",
    "depmod": "kmod",
    "modprobe": "kmod",
    "make": "make",
    "gcc": "gcc",
    "xz": "xz-utils",
    "busybox": "busybox-static",
    "trace-cmd": "trace-cmd",
    "mke2fs": "e2fsprogs",
    "ldd": "libc-bin",
    "pahole": "dwarves",
    "cpio": "cpio",
}


class ToolError(RuntimeError):
    pass


def need(tool: str) -> str:
    """Absolute path of a host tool, or a ToolError naming the package to install."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if not path:
        pkg = PACKAGES.get(tool, tool)
        raise ToolError(f"'{tool}' not found: apt-get install {pkg}")
    return path


def progress(msg: str) -> None:
    print(f"mmrace: {msg}", file=sys.stderr, flush=True)


def run(argv, **kw) -> subprocess.CompletedProcess:
    """Run a command, raising with its captured output when it fails."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    kw.setdefault("text", True)
    p = subprocess.run([str(a) for a in argv], **kw)
    if p.returncode != 0:
        out = p.stdout if isinstance(p.stdout, str) else ""
        tail = "\n".join(out.splitlines()[-30:])
        raise RuntimeError(f"command failed (rc={p.returncode}): {' '.join(map(str, argv))}\n{tail}")
    return p


def toml_names(directory: Path) -> list:
    """The names of the .toml files in directory (scenarios, campaigns)."""
    return sorted(p.stem for p in directory.glob("*.toml"))


def toml_file(spec: str, directory: Path, what: str) -> Path:
    """A file given as a path (has a '/' or ends in .toml) or as a name in
    directory; ToolError naming the known ones if there is none."""
    if "/" in spec or spec.endswith(".toml"):
        path = Path(spec)
        if not path.is_file():
            raise ToolError(f"{what} file '{spec}' not found")
        return path.resolve()
    path = directory / f"{spec}.toml"
    if not path.is_file():
        raise ToolError(f"unknown {what} '{spec}' (known: "
                        f"{', '.join(toml_names(directory)) or 'none'}; "
                        f"or give a path to a .toml file)")
    return path
