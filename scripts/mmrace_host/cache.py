"""Where mmrace keeps downloaded kernels, module builds and initramfs images.

The cache lives outside the repository: $MMRACE_CACHE, else
${XDG_CACHE_HOME:-~/.cache}/mmrace.
"""

import hashlib
import os
from pathlib import Path


def root() -> Path:
    env = os.environ.get("MMRACE_CACHE")
    if env:
        base = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = Path(xdg) / "mmrace"
    base.mkdir(parents=True, exist_ok=True)
    return base.resolve()


def subdir(*parts: str) -> Path:
    """A directory below the cache root, created on demand."""
    d = root().joinpath(*parts)
    d.mkdir(parents=True, exist_ok=True)
    return d


def hash_files(paths, base: Path = None) -> str:
    """sha256 over (relative name, content) of the given files, in sorted order."""
    h = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        name = str(p.relative_to(base)) if base else str(p)
        h.update(name.encode() + b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()
