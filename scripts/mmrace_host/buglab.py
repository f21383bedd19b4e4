"""Bug-lab kernels: Debian's linux-source with named patches and a small guest config.

The table is scripts/buglab/kernels.toml (name -> source package, suite, patches,
config fragments). Everything else lives under <cache>/buglab:

  src/<package>@<suite>.json   source version picked on first use (kept until
                               --refresh: old versions leave the archive)
  src/<package>_<version>/tree pristine extracted source, never written to
  build/<package>_<version>-<config key>/tree
                               build tree: a copy of the source, configured once
                               (tinyconfig + kvm_guest.config + fragments);
                               state.json lists the files the current patch set
                               changed. Switching patch sets rewrites only the files
                               whose content differs, so make recompiles only those.
  out/<name>-<key>/root        artifacts, laid out like an unpacked Debian kernel:
                               boot/{vmlinuz,config,System.map}-REL, lib/modules/REL
                               (modules_install + depmod), usr/src/linux-headers-REL
                               (kbuild dir for `make -C KDIR M=...`)
  out/<name>-<key>/kernel.json marks a complete build (build.log beside it)

The key hashes the source version, config key, patch names and contents and the
release: any change means a new build. The compiler is ccache (<cache>/ccache).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .kernels import Kernel, PrivateApt, _version_key
from .tools import ToolError, need, progress, run

BUGLAB = Path(__file__).resolve().parents[1] / "buglab"
TABLE = BUGLAB / "kernels.toml"
PREFIX = "buglab-"
# bump RECIPE to rebuild every build tree, BUILDER to rebuild every artifact
RECIPE = "tinyconfig + kvm_guest.config + fragments, CC=ccache gcc, v1"
BUILDER = "buglab builder v1"
CCACHE_MAXSIZE = "8G"
PROGRESS_EVERY_S = 30
ARCH = "x86"
_STEP = re.compile(r"^\s+(CC|AS|LD|AR|HOSTCC|HOSTLD|OBJCOPY|GEN|CALL|MODPOST|BTF)\b")
_CONFIG_LINE = re.compile(r"^(?:(CONFIG_\w+)=(.*)|# (CONFIG_\w+) is not set)$")
_KCONFIG_SYM = re.compile(r"^\s*(?:menu)?config\s+(\w+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Spec:
    name: str
    source: str            # Debian package: linux-source-6.1 | linux-source-6.12
    suite: str             # None: newest in any configured suite
    patches: tuple         # Paths, applied in order
    config: tuple          # Paths of config fragments, merged in order
    about: str = ""

    @property
    def series(self) -> str:
        return self.source.rsplit("-", 1)[-1]          # "6.1"

    @property
    def localversion(self) -> str:
        """-buglab-<name without 'buglab-' and the series>: 6.1.192-buglab-base."""
        rest = self.name[len(PREFIX):]
        if rest.startswith(self.series + "-"):
            rest = rest[len(self.series) + 1:]
        return "-buglab-" + rest


# ---------------------------------------------------------------- the table

def load(table: Path = TABLE) -> dict:
    """name -> Spec from the table; patches and fragments resolved next to it."""
    table = Path(table)
    with open(table, "rb") as f:
        data = tomllib.load(f)
    base, out = table.parent, {}
    for name, e in data.get("kernel", {}).items():
        where = f"{table}: kernel.{name}"
        if not name.startswith(PREFIX):
            raise ToolError(f"{where}: bug-lab kernel names start with '{PREFIX}'")
        unknown = set(e) - {"source", "suite", "patches", "config", "about"}
        if unknown:
            raise ToolError(f"{where}: unknown keys {sorted(unknown)}")
        if not re.fullmatch(r"linux-source-\d+\.\d+", str(e.get("source", ""))):
            raise ToolError(f"{where}: source must be linux-source-X.Y")
        if not e.get("config"):
            raise ToolError(f"{where}: no config fragment")
        out[name] = Spec(name=name, source=e["source"], suite=e.get("suite"),
                         patches=tuple(base / "patches" / p for p in e.get("patches", [])),
                         config=tuple(base / c for c in e["config"]),
                         about=e.get("about", ""))
    return out


_warned = []


def names() -> list:
    try:
        return sorted(load())
    except (OSError, ValueError, ToolError) as e:     # never break the whole CLI
        if not _warned:
            progress(f"warning: bug-lab kernels unusable: {e}")
            _warned.append(e)
        return []


def spec(name: str, table: Path = TABLE) -> Spec:
    specs = load(table)
    if name not in specs:
        raise KeyError(f"unknown bug-lab kernel '{name}' (known: {', '.join(sorted(specs))})")
    return specs[name]


def parse_config(text: str) -> dict:
    """CONFIG_X -> value ('n' for 'is not set') of a .config or fragment."""
    out = {}
    for line in text.splitlines():
        m = _CONFIG_LINE.match(line.strip())
        if m:
            out[m.group(1) or m.group(3)] = m.group(2) if m.group(1) else "n"
    return out


def patch_targets(patch: Path) -> list:
    """Files (relative, -p1) a unified diff touches, in order of appearance."""
    out, old = [], None
    for line in Path(patch).read_text(errors="replace").splitlines():
        if line.startswith("--- "):
            old = line[4:].split("\t")[0].strip()
        elif line.startswith("+++ ") and old is not None:
            new = line[4:].split("\t")[0].strip()
            path = old if new == "/dev/null" else new
            rel = path.split("/", 1)[1] if "/" in path else path
            if rel not in out:
                out.append(rel)
            old = None
    if not out:
        raise ToolError(f"{patch}: no '--- a/...' / '+++ b/...' lines: not a unified diff")
    return out


def config_key(sp: Spec) -> str:
    h = hashlib.sha256(f"{RECIPE}\0{sp.source}\0".encode())
    for frag in sp.config:
        h.update(frag.name.encode() + b"\0" + frag.read_bytes() + b"\0")
    return h.hexdigest()


def artifact_key(sp: Spec, version: str) -> str:
    """Hash of everything a built kernel depends on."""
    h = hashlib.sha256(f"{BUILDER}\0{sp.source}\0{version}\0{config_key(sp)}\0"
                       f"{sp.localversion}\0".encode())
    for p in sp.patches:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


# ---------------------------------------------------------------- sources

def _pin_file(sp: Spec) -> Path:
    return cache.subdir("buglab", "src") / f"{sp.source}@{sp.suite or 'any'}.json"


def pinned_version(sp: Spec):
    """The source version this cache uses for sp, or None before first use."""
    pin = _pin_file(sp)
    return json.loads(pin.read_text())["version"] if pin.exists() else None


def _src_dir(sp: Spec, version: str) -> Path:
    return cache.subdir("buglab", "src") / f"{sp.source}_{version}"


def source_tree(sp: Spec):
    """The extracted pristine tree for sp if it is in the cache (no download), else None."""
    version = pinned_version(sp)
    if version and (_src_dir(sp, version) / "ok").exists():
        return _src_dir(sp, version) / "tree"
    return None


def _resolve(sp: Spec, refresh: bool) -> str:
    version = pinned_version(sp)
    if version and not refresh:
        return version
    apt = PrivateApt(cache.subdir("apt"))
    if refresh or not any((apt.base / "lists").glob("*Packages*")):
        apt.update()
    for attempt in (0, 1):
        cands = [v for p, v, s in apt.madison([sp.source])
                 if p == sp.source and (not sp.suite or s == sp.suite)]
        if cands or attempt or refresh:
            break
        apt.update()
    if not cands:
        raise ToolError(f"{sp.name}: no {sp.source} in {sp.suite or 'the archive'}")
    version = max(cands, key=_version_key)
    _pin_file(sp).write_text(json.dumps({"package": sp.source, "suite": sp.suite,
                                         "version": version}, indent=1) + "\n")
    progress(f"{sp.name}: source {sp.source} {version}")
    return version


def _extract(sp: Spec, version: str) -> Path:
    d = _src_dir(sp, version)
    tree, marker = d / "tree", d / "ok"
    if marker.exists():
        return tree
    apt = PrivateApt(cache.subdir("apt"))
    deb = apt.download([sp.source], version)[0]
    tmp = d / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    progress(f"unpack {deb.name}")
    run([need("dpkg-deb"), "-x", deb, tmp / "deb"])
    tars = sorted((tmp / "deb/usr/src").glob("linux-source-*.tar*"))
    if len(tars) != 1:
        raise RuntimeError(f"{deb.name}: expected one source tarball, got {tars}")
    progress(f"extract {tars[0].name}")
    run([need("tar"), "-xf", tars[0], "-C", tmp])
    top = tmp / tars[0].name.split(".tar")[0]
    shutil.rmtree(tree, ignore_errors=True)
    top.rename(tree)
    shutil.rmtree(tmp)
    deb.unlink(missing_ok=True)
    marker.write_text(version + "\n")
    return tree


def pristine(source: str, suite: str) -> tuple:
    """(version, extracted pristine tree) of Debian's `source` package from
    `suite`, downloaded on first use and pinned like a bug-lab kernel's
    source (the peer suites build the kernel's own selftests from it)."""
    sp = Spec(name=source, source=source, suite=suite, patches=(), config=())
    with _lock():
        version = _resolve(sp, False)
        return version, _extract(sp, version)


def kernel_version(tree: Path) -> str:
    """VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION] from the top Makefile."""
    v = {}
    for line in (tree / "Makefile").read_text().splitlines()[:10]:
        m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)", line)
        if m:
            v[m.group(1)] = m.group(2)
    return f"{v['VERSION']}.{v['PATCHLEVEL']}.{v['SUBLEVEL']}{v.get('EXTRAVERSION', '')}"


# ---------------------------------------------------------------- make

def _env() -> dict:
    env = dict(os.environ, LC_ALL="C")
    env["CCACHE_DIR"] = str(cache.subdir("ccache"))
    env["CCACHE_MAXSIZE"] = CCACHE_MAXSIZE
    env["CCACHE_BASEDIR"] = str(cache.subdir("buglab", "build"))
    return env


def _make_argv(tree: Path, targets: list, jobs: int = 1, localversion: str = None) -> list:
    cc = f"{need('ccache')} gcc"
    argv = [need("make"), "-C", tree, f"-j{jobs}", f"CC={cc}", f"HOSTCC={cc}",
            "KBUILD_BUILD_USER=mmrace", "KBUILD_BUILD_HOST=buglab"]
    if localversion is not None:
        argv.append(f"LOCALVERSION={localversion}")
    return argv + list(targets)


def _run_make(argv: list, log: Path, label: str) -> tuple:
    """Run make with its output in log and a progress line every 30 s: (steps, s)."""
    t0 = last = time.monotonic()
    steps = 0
    with open(log, "a") as lf:
        lf.write("$ " + " ".join(map(str, argv)) + "\n")
        lf.flush()
        p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace", env=_env())
        for line in p.stdout:
            lf.write(line)
            steps += bool(_STEP.match(line))
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S:
                progress(f"{label}: {steps} steps, {now - t0:.0f} s")
                last = now
        rc = p.wait()
    if rc != 0:
        lines = log.read_text(errors="replace").splitlines()
        errs = [l for l in lines if "error" in l.lower()][-10:]
        raise RuntimeError(f"{label} failed (rc={rc}), log: {log}\n"
                           + "\n".join(errs or lines[-20:]))
    return steps, time.monotonic() - t0


# ---------------------------------------------------------------- build tree

def _kconfig_symbols(tree: Path) -> set:
    syms = set()
    for kc in tree.rglob("Kconfig*"):
        if kc.is_file():
            syms.update(_KCONFIG_SYM.findall(kc.read_text(errors="replace")))
    return syms


def check_config(tree: Path, sp: Spec) -> tuple:
    """(errors, warnings): fragment lines the final .config does not have."""
    final = parse_config((tree / ".config").read_text())
    want = {}
    for frag in sp.config:
        want.update(parse_config(frag.read_text()))
    bad = {s: (w, final.get(s, "n")) for s, w in want.items() if final.get(s, "n") != w}
    if not bad:
        return [], []
    known = _kconfig_symbols(tree)
    errors = [f"{s}={w} (got {g})" for s, (w, g) in bad.items() if s[7:] in known]
    warns = [f"{s}: not in this kernel" for s in bad if s[7:] not in known]
    return errors, warns


def _prepare_tree(sp: Spec, version: str, src: Path) -> Path:
    """The configured build tree for (source version, config); created on demand."""
    bdir = cache.subdir("buglab", "build") / f"{sp.source}_{version}-{config_key(sp)[:12]}"
    tree, state, log = bdir / "tree", bdir / "state.json", bdir / "config.log"
    if state.exists():
        return tree
    progress(f"{sp.name}: new build tree {bdir}")
    shutil.rmtree(bdir, ignore_errors=True)
    bdir.mkdir(parents=True)
    log.unlink(missing_ok=True)
    try:
        run(["cp", "-a", src, tree])
        frags = []
        for f in sp.config:
            shutil.copy2(f, bdir / f.name)
            frags.append(bdir / f.name)
        label = f"{sp.name}: configure"
        _run_make(_make_argv(tree, ["tinyconfig"]), log, label)
        _run_make(_make_argv(tree, ["kvm_guest.config"]), log, label)
        run([tree / "scripts/kconfig/merge_config.sh", "-m", "-O", tree, tree / ".config", *frags],
            cwd=tree)
        _run_make(_make_argv(tree, ["olddefconfig"]), log, label)
        errors, warns = check_config(tree, sp)
        for w in warns:
            progress(f"{sp.name}: config: {w}")
        if errors:
            raise ToolError(f"{sp.name}: config fragment values did not stick "
                            f"(missing dependency?): {'; '.join(errors)}")
    except BaseException:
        shutil.rmtree(bdir, ignore_errors=True)
        raise
    state.write_text(json.dumps({"touched": [], "patches": []}) + "\n")
    return tree


def _desired(src: Path, patches) -> dict:
    """rel path -> content (None: deleted) of every file the patches touch."""
    targets = []
    for p in patches:
        targets += [t for t in patch_targets(p) if t not in targets]
    with tempfile.TemporaryDirectory(prefix="mmrace-buglab-") as stage:
        stage = Path(stage)
        for t in targets:
            if (src / t).is_file():
                (stage / t).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src / t, stage / t)
        for p in patches:
            r = subprocess.run([need("patch"), "-p1", "--fuzz=0", "--batch", "--forward",
                                "--no-backup-if-mismatch", "-d", stage, "-i", p],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise ToolError(f"{p.name} does not apply to {src.parent.name}:\n"
                                + (r.stdout + r.stderr).strip())
        return {t: (stage / t).read_bytes() if (stage / t).is_file() else None
                for t in targets}


def sync_patches(tree: Path, src: Path, patches, state: Path) -> list:
    """Make tree = src + patches for every file any patch set touched; returns the
    files rewritten (only those whose content differs, so make rebuilds only them)."""
    st = json.loads(state.read_text())
    want = _desired(src, patches)
    new_touched = sorted(want)
    for t in st.get("touched", []):
        if t not in want:
            want[t] = (src / t).read_bytes() if (src / t).is_file() else None
    changed = []
    for t, data in sorted(want.items()):
        cur = tree / t
        if (cur.read_bytes() if cur.is_file() else None) == data:
            continue
        if data is None:
            cur.unlink()
        else:
            cur.parent.mkdir(parents=True, exist_ok=True)
            tmp = cur.with_name(cur.name + ".mmrace-tmp")
            tmp.write_bytes(data)
            if (src / t).is_file():
                shutil.copymode(src / t, tmp)
            os.replace(tmp, cur)
        changed.append(t)
    st.update(touched=new_touched, patches=[p.name for p in patches])
    state.write_text(json.dumps(st, indent=1) + "\n")
    return changed


# ---------------------------------------------------------------- artifacts

def _is_build_junk(p: Path) -> bool:
    return p.suffix == ".o" or (p.name.startswith(".") and p.name.endswith(".cmd"))


def kbuild_files(tree: Path) -> list:
    """Relative paths an external-module build needs (what Debian's builddeb and
    6.12's install-extmod-build ship): Makefiles, include/, scripts/ (host tools
    built), arch/x86 include + scripts dirs, .config, Module.symvers, objtool."""
    sel = set()

    def add_dir(d: Path):
        for p in d.rglob("*"):
            if (p.is_file() or p.is_symlink()) and not _is_build_junk(p):
                sel.add(p.relative_to(tree))

    arch = tree / "arch" / ARCH
    sel.update(p.relative_to(tree) for p in [*tree.glob("Makefile*"), *arch.glob("Makefile*")])
    add_dir(tree / "include")
    add_dir(tree / "scripts")
    for p in arch.rglob("*"):
        if p.name in ("Kbuild.platforms", "Platform") and p.is_file():
            sel.add(p.relative_to(tree))
        elif p.name in ("include", "scripts") and p.is_dir() and not p.is_symlink():
            add_dir(p)
    for extra in (".config", "Module.symvers", "tools/objtool/objtool"):
        if (tree / extra).is_file():
            sel.add(Path(extra))
    return sorted(sel)


def _install_kbuild(tree: Path, kdir: Path):
    for rel in kbuild_files(tree):
        src, dst = tree / rel, kdir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)


def _install(tree: Path, sp: Spec, release: str, root: Path, log: Path):
    boot = root / "boot"
    boot.mkdir(parents=True)
    shutil.copy2(tree / "arch" / ARCH / "boot/bzImage", boot / f"vmlinuz-{release}")
    shutil.copy2(tree / ".config", boot / f"config-{release}")
    shutil.copy2(tree / "System.map", boot / f"System.map-{release}")
    _run_make(_make_argv(tree, ["modules_install", f"INSTALL_MOD_PATH={root}", "DEPMOD=true"],
                         localversion=sp.localversion), log, f"{sp.name}: modules_install")
    moddir = root / "lib/modules" / release
    moddir.mkdir(parents=True, exist_ok=True)
    for link in ("build", "source"):
        if (moddir / link).is_symlink() or (moddir / link).exists():
            (moddir / link).unlink()
    kdir = root / "usr/src" / f"linux-headers-{release}"
    _install_kbuild(tree, kdir)
    (moddir / "build").symlink_to(os.path.relpath(kdir, moddir))
    run([need("depmod"), "-b", root, release])
    if not (moddir / "modules.builtin.bin").exists():
        raise RuntimeError(f"{sp.name}: depmod wrote no modules.builtin.bin in {moddir}")


def _out_dir(name: str, key: str) -> Path:
    return cache.subdir("buglab", "out") / f"{name}-{key[:16]}"


def _load(out: Path) -> Kernel:
    meta = json.loads((out / "kernel.json").read_text())
    return Kernel(name=meta["name"], release=meta["release"], version=meta["version"],
                  root=out / "root")


@contextlib.contextmanager
def _lock():
    with open(cache.subdir("buglab") / "lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("waiting for another bug-lab build to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _check_tools():
    for t in ("make", "gcc", "ccache", "flex", "bison", "bc", "patch", "tar",
              "dpkg-deb", "apt-get", "depmod"):
        need(t)


def build(name: str, force: bool = False, refresh: bool = False, jobs: int = None) -> Kernel:
    """Build bug-lab kernel `name` (or reuse the cached artifacts); returns the Kernel."""
    sp = spec(name)
    _check_tools()
    with _lock():
        version = _resolve(sp, refresh)
        key = artifact_key(sp, version)
        out = _out_dir(name, key)
        if (out / "kernel.json").exists() and not force:
            return _load(out)
        t0 = time.monotonic()
        src = _extract(sp, version)
        release = kernel_version(src) + sp.localversion
        tree = _prepare_tree(sp, version, src)
        bdir = tree.parent
        changed = sync_patches(tree, src, sp.patches, bdir / "state.json")
        patches = ", ".join(p.name for p in sp.patches) or "no patch"
        progress(f"{name}: {release} from {sp.source} {version} + {patches}; "
                 f"rewrote {len(changed)} file(s){': ' + ' '.join(changed) if changed else ''}")
        jobs = jobs or os.cpu_count() or 1
        log = bdir / "build.log"
        log.write_text("")
        progress(f"{name}: make -j{jobs} bzImage modules (log: {log})")
        steps, make_s = _run_make(_make_argv(tree, ["bzImage", "modules"], jobs, sp.localversion),
                                  log, f"{name}: make")
        got = (tree / "include/config/kernel.release").read_text().strip()
        if got != release:
            raise RuntimeError(f"{name}: built release {got!r}, expected {release!r}")
        stage = out.with_name(out.name + ".tmp")
        shutil.rmtree(stage, ignore_errors=True)
        _install(tree, sp, release, stage / "root", log)
        meta = {"name": name, "release": release, "version": f"{version}+buglab.{key[:12]}",
                "source": sp.source, "source_version": version, "suite": sp.suite,
                "patches": [p.name for p in sp.patches], "config": [c.name for c in sp.config],
                "key": key, "build_tree": str(tree), "rewritten": changed,
                "make_steps": steps, "make_s": round(make_s, 1),
                "total_s": round(time.monotonic() - t0, 1), "jobs": jobs,
                "built": time.strftime("%Y-%m-%dT%H:%M:%S")}
        meta["warnings"] = [l for l in log.read_text(errors="replace").splitlines()
                            if "warning:" in l]
        (stage / "kernel.json").write_text(json.dumps(meta, indent=1) + "\n")
        shutil.copy2(log, stage / "build.log")
        shutil.rmtree(out, ignore_errors=True)
        stage.rename(out)
        mine = re.compile(re.escape(name) + r"-[0-9a-f]{16}(\.tmp)?")
        for old in out.parent.iterdir():                # older builds of this name
            if old != out and mine.fullmatch(old.name):
                shutil.rmtree(old, ignore_errors=True)
        progress(f"{name}: {release} ready in {out} (make {make_s:.0f} s, {steps} steps, "
                 f"total {meta['total_s']:.0f} s)")
        return _load(out)


def is_built(name: str) -> bool:
    """Whether get(name) would build nothing."""
    sp = spec(name)
    version = pinned_version(sp)
    return bool(version) and (_out_dir(name, artifact_key(sp, version)) / "kernel.json").exists()


def get(name: str, refresh: bool = False) -> Kernel:
    """The Kernel for `name`, built on first use (or after the table changed it)."""
    sp = spec(name)
    version = None if refresh else pinned_version(sp)
    if version:
        out = _out_dir(name, artifact_key(sp, version))
        if (out / "kernel.json").exists():
            return _load(out)
    progress(f"{name}: not built yet (or its patches/config changed): building it now "
             f"(first build of a tree ~10 min at -j2, a patch switch a few minutes)")
    return build(name, refresh=refresh)
