"""Kernel packs: a table of test kernels and how to fetch them.

A Debian kernel is fetched with `apt-get download` through a private apt state
under the cache (own sources.list, lists and archive cache; the system's apt
configuration is never read or written), unpacked with `dpkg-deb -x` into
<cache>/kernels/<name>/root, its headers made usable from there, and depmod'ed.
A marker file records a complete fetch; later calls reuse it.
"""

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .tools import need, progress, run

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"

# bookworm-security carries the newest 6.1 ABIs before they reach a point release.
SOURCES = f"""\
deb [signed-by={KEYRING}] {MIRROR} bookworm main
deb [signed-by={KEYRING}] {MIRROR} bookworm-updates main
deb [signed-by={KEYRING}] {SECURITY} bookworm-security main
deb [signed-by={KEYRING}] {MIRROR} bookworm-backports main
"""


@dataclass(frozen=True)
class DebianSpec:
    """How to find a Debian kernel line in the archive.

    image_re matches the unsigned image package name; its group 'abi' is the
    ABI stem ("6.1.0-50", "6.12.95+deb12"); the newest one wins.
    """
    image_re: str
    kbuild: str            # format string with {abi}
    suite: str = None      # only versions from this suite (None: any configured)
    flavour: str = "amd64"

    def packages(self, abi: str) -> list:
        return [
            f"linux-image-{abi}-{self.flavour}-unsigned",
            f"linux-headers-{abi}-{self.flavour}",
            f"linux-headers-{abi}-common",
            self.kbuild.format(abi=abi),
        ]


KERNELS = {
    # newest bookworm 6.1 ABI
    "debian-6.1": DebianSpec(
        image_re=r"^linux-image-(?P<abi>6\.1\.0-\d+)-amd64-unsigned$",
        kbuild="linux-kbuild-6.1"),
    # newest 6.12 of bookworm-backports (named 6.12.N+bpo or, lately, 6.12.N+deb12;
    # bookworm-security also carries 6.12.N+deb12 ~deb12uN builds: not these)
    "debian-6.12": DebianSpec(
        image_re=r"^linux-image-(?P<abi>6\.12\.\d+\+(?:bpo|deb12))-amd64-unsigned$",
        kbuild="linux-kbuild-{abi}",
        suite="bookworm-backports"),
}


@dataclass
class Kernel:
    name: str
    release: str          # uname -r
    version: str          # Debian package version
    root: Path            # private root the packages were unpacked into

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules_dir(self) -> Path:
        return self.root / "lib" / "modules" / self.release

    @property
    def kbuild_dir(self) -> Path:
        """Headers build dir, usable as `make -C KDIR M=...`."""
        return self.root / "usr" / "src" / f"linux-headers-{self.release}"

    @property
    def config(self) -> Path:
        return self.root / "boot" / f"config-{self.release}"


def names() -> list:
    """Every kernel name: the Debian ones, then the bug-lab ones (buglab.py)."""
    from . import buglab
    return sorted(KERNELS) + buglab.names()


def debian_names() -> list:
    return sorted(KERNELS)


# ---------------------------------------------------------------- private apt

class PrivateApt:
    def __init__(self, base: Path):
        self.base = base
        for d in ("etc/sources.list.d", "etc/preferences.d", "lists/partial",
                  "cache/archives/partial", "debs"):
            (base / d).mkdir(parents=True, exist_ok=True)
        (base / "etc/sources.list").write_text(SOURCES)
        status = base / "status"
        if not status.exists():
            status.write_text("")

    def opts(self) -> list:
        b = self.base
        o = {
            "Dir::Etc::SourceList": b / "etc/sources.list",
            "Dir::Etc::SourceParts": b / "etc/sources.list.d",
            "Dir::Etc::Preferences": b / "etc/preferences",
            "Dir::Etc::PreferencesParts": b / "etc/preferences.d",
            "Dir::State::Lists": b / "lists",
            "Dir::State::status": b / "status",
            "Dir::Cache": b / "cache",
            "APT::Sandbox::User": "root",
            "Acquire::Languages": "none",
        }
        argv = []
        for k, v in o.items():
            argv += ["-o", f"{k}={v}"]
        return argv

    def update(self):
        progress("apt-get update (private apt state)")
        run([need("apt-get"), "-q", *self.opts(), "update"])

    def pkgnames(self, prefix: str) -> list:
        p = run([need("apt-cache"), *self.opts(), "pkgnames", prefix], stderr=None)
        return p.stdout.split()

    def madison(self, pkgs: list) -> list:
        """[(package, version, suite)] for every version the archive offers."""
        p = run([need("apt-cache"), *self.opts(), "madison", *pkgs], stderr=None)
        out = []
        for line in p.stdout.splitlines():
            f = [x.strip() for x in line.split("|")]
            if len(f) >= 3 and f[2].endswith("Packages"):
                out.append((f[0], f[1], f[2].split()[1].split("/")[0]))
        return out

    def download(self, pkgs: list, version: str) -> list:
        dest = self.base / "debs"
        progress(f"apt-get download {' '.join(pkgs)} (={version})")
        run([need("apt-get"), "-q", *self.opts(), "download",
             *[f"{p}={version}" for p in pkgs]], cwd=dest)
        out = []
        for p in pkgs:
            found = sorted(dest.glob(f"{p}_*.deb"))
            found = [f for f in found if _deb_version(f) == version]
            if not found:
                raise RuntimeError(f"download of {p} produced no .deb")
            out.append(found[0])
        return out


def _deb_version(deb: Path) -> str:
    # name_version_arch.deb, with ':' of an epoch quoted as %3a
    return deb.name.split("_")[1].replace("%3a", ":")


def _version_key(s: str):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", s)]


def _newest(apt: PrivateApt, spec: DebianSpec, name: str):
    """(abi, version) of the newest image matching spec (in spec.suite if set)."""
    rx = re.compile(spec.image_re)
    imgs = [n for n in apt.pkgnames("linux-image-") if rx.match(n)]
    best = None
    for pkg, version, suite in apt.madison(imgs) if imgs else []:
        if spec.suite and suite != spec.suite:
            continue
        key = _version_key(version)
        if best is None or key > best[0]:
            best = (key, rx.match(pkg).group("abi"), version)
    if best is None:
        where = f" in {spec.suite}" if spec.suite else ""
        raise RuntimeError(f"{name}: no package matching {spec.image_re}{where}")
    return best[1], best[2]


# ---------------------------------------------------------------- unpacking

def _fix_headers(root: Path, release: str):
    """Make the headers work from the private root instead of /usr/src."""
    kdir = root / "usr/src" / f"linux-headers-{release}"
    for mk in [kdir / "Makefile"]:
        text = mk.read_text()
        new = re.sub(r"(?<![\w/])/usr/src/", f"{root}/usr/src/", text)
        if new != text:
            mk.write_text(new)
    # absolute symlinks pointing at the real /usr/src or /usr/lib
    # (lib/modules/REL/source, build) are re-pointed into the private root
    moddir = root / "lib/modules" / release
    for d in [moddir, *(root / "usr/src").iterdir()]:
        for link in [p for p in d.iterdir() if p.is_symlink()]:
            target = Path(link.readlink())
            if target.is_absolute() and not str(target).startswith(str(root)):
                link.unlink()
                link.symlink_to(root / target.relative_to("/"))
    build = moddir / "build"
    if not build.exists():
        build.unlink(missing_ok=True)
        build.symlink_to(kdir)


def _release_of(root: Path) -> str:
    rels = [p.name for p in (root / "lib/modules").iterdir() if (p / "kernel").is_dir()]
    if len(rels) != 1:
        raise RuntimeError(f"expected one kernel release in {root}/lib/modules, got {rels}")
    return rels[0]


def _unpack(debs: list, root: Path):
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for deb in debs:
        progress(f"unpack {deb.name}")
        run([need("dpkg-deb"), "-x", deb, root])


# ---------------------------------------------------------------- entry

def _load(kdir: Path) -> Kernel:
    meta = json.loads((kdir / "kernel.json").read_text())
    return Kernel(name=meta["name"], release=meta["release"], version=meta["version"],
                  root=kdir / "root")


def is_cached(name: str) -> bool:
    """Whether fetch(name) would return at once: fetched, or built and
    up to date with its patches and config."""
    from . import buglab
    if name.startswith(buglab.PREFIX):
        return buglab.is_built(name)
    return (cache.root() / "kernels" / name / "kernel.json").exists()


def fetch(name: str, refresh: bool = False) -> Kernel:
    """Fetch kernel `name` on first use; reuse the cached copy afterwards.

    Bug-lab kernels (buglab-*) are built from source on first use instead.
    """
    from . import buglab
    if name.startswith(buglab.PREFIX):
        return buglab.get(name, refresh=refresh)
    if name not in KERNELS:
        raise KeyError(f"unknown kernel '{name}' (known: {', '.join(names())})")
    kdir = cache.subdir("kernels", name)
    marker = kdir / "kernel.json"
    if marker.exists() and not refresh:
        return _load(kdir)
    for t in ("apt-get", "dpkg-deb", "depmod"):
        need(t)
    spec = KERNELS[name]
    apt = PrivateApt(cache.subdir("apt"))
    apt.update()
    abi, version = _newest(apt, spec, name)
    pkgs = spec.packages(abi)
    progress(f"{name}: newest is {pkgs[0]} {version}")
    debs = apt.download(pkgs, version)
    root = kdir / "root"
    marker.unlink(missing_ok=True)
    _unpack(debs, root)
    release = _release_of(root)
    _fix_headers(root, release)
    progress(f"depmod {release}")
    run([need("depmod"), "-b", root, release])
    k = Kernel(name=name, release=release, version=version, root=root)
    if not k.vmlinuz.exists():
        raise RuntimeError(f"{name}: no {k.vmlinuz}")
    marker.write_text(json.dumps({"name": name, "release": release, "version": version,
                                  "packages": [d.name for d in debs]}, indent=1) + "\n")
    # drop the .debs: the unpacked root is what we keep
    for d in debs:
        d.unlink(missing_ok=True)
    progress(f"{name}: {release} ready in {root}")
    return k
