"""Write newc ("070701") cpio archives, the format the kernel's initramfs unpacker reads.

Deterministic: fixed mtime/uid/gid and inode numbers in insertion order, so equal
contents give equal bytes (and equal cache keys). Concatenated archives are fine:
the kernel unpacks one after another.
"""

import stat
from dataclasses import dataclass


@dataclass
class Entry:
    path: str            # absolute guest path, e.g. "/usr/bin/trace-cmd"
    mode: int            # full st_mode (type + permissions)
    data: bytes = b""    # file contents, or the symlink target


def file(path: str, data: bytes, perm: int = 0o644) -> Entry:
    return Entry(path, stat.S_IFREG | perm, data)


def directory(path: str, perm: int = 0o755) -> Entry:
    return Entry(path, stat.S_IFDIR | perm)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, stat.S_IFLNK | 0o777, target.encode())


def _pad(n: int, align: int = 4) -> bytes:
    return b"\0" * (-n % align)


def _header(ino: int, mode: int, nlink: int, size: int, namesize: int) -> bytes:
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, namesize, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def with_parents(entries: list) -> list:
    """Entries with a directory entry for every missing parent, parents first."""
    have = {e.path for e in entries}
    out = []
    for e in entries:
        parts = e.path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in have:
                have.add(d)
                out.append(directory(d))
        out.append(e)
    return out


def archive(entries: list, block: int = 512) -> bytes:
    """newc cpio of entries (parents added), padded to `block` bytes."""
    chunks = []
    size = 0
    for ino, e in enumerate(with_parents(entries) + [Entry("TRAILER!!!", 0)], start=1):
        name = e.path.lstrip("/").encode() + b"\0" if e.path != "TRAILER!!!" else b"TRAILER!!!\0"
        nlink = 2 if stat.S_ISDIR(e.mode) else 1
        if e.path == "TRAILER!!!":
            ino, nlink = 0, 1
        hdr = _header(ino, e.mode, nlink, len(e.data), len(name))
        part = hdr + name + _pad(len(hdr) + len(name)) + e.data + _pad(len(e.data))
        chunks.append(part)
        size += len(part)
    chunks.append(_pad(size, block))
    return b"".join(chunks)
