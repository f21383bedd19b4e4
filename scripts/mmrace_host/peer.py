"""Peer suites: the kernel's own mm selftests, run in the guest under mmrace.

  load()       the table, scripts/peer/mm-selftests.toml (series -> tests)
  build()      the series' tests, static, from Debian's linux-source of it
               (uapi headers from `make O=... headers` of that tree; the
               pristine tree is never written to)
  job_files()  the guest job for one mode (scripts/tests/guest-peer.sh)
  parse()      the per-test lines the guest prints
  table()      test x mode results, and which tests an armed mode broke

A mode is the module's state while the tests run: idle (loaded, nothing
armed), small or large delays at every site for every task.  A test that
passes idle and fails armed is a kernel race found or a harness defect.
"""

import hashlib
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import buglab, cache
from .tools import ToolError, need, progress, run

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "scripts" / "peer" / "mm-selftests.toml"
RUNNER = REPO / "scripts" / "tests" / "guest-peer.sh"
TAP_LIB = REPO / "scripts" / "tests" / "guest-tap.sh"
CFLAGS = ["-static", "-O2", "-Wall", "-U_FORTIFY_SOURCE"]
LIBS = ["-lrt", "-lpthread", "-lm", "-ldl"]
BUILD_RECIPE = "peer build v2"
# one boot runs a whole series in one mode; guest-peer.sh kills a test at 300 s
BOOT_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Mode:
    name: str
    delay_us: int          # 0: nothing armed
    probability: int
    rendezvous: bool       # rendezvous_us = delay_us where a site has one
    about: str


MODES = {m.name: m for m in (
    Mode("idle", 0, 0, False, "module loaded, nothing armed"),
    Mode("small", 50, 20, False, "every site armed for every task, 50 us at probability 20"),
    Mode("large", 2000, 100, True,
         "every site armed for every task, 2 ms delays and rendezvous waits at probability 100"),
)}


@dataclass(frozen=True)
class Series:
    name: str
    source: str
    suite: str
    dir: str
    common: tuple
    extra: dict
    cflags: dict
    kernels: tuple
    tests: tuple           # "bin arg ...", the test's name too
    slow: tuple            # test names the quick stage leaves out
    excluded: dict
    findings: dict         # test -> the kernel race that makes it fail armed

    def selection(self, quick: bool) -> tuple:
        return tuple(t for t in self.tests if not (quick and t in self.slow))


def load(path: Path = TABLE) -> dict:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    out = {}
    for name, e in data.get("series", {}).items():
        where = f"{path}: series.{name}"
        known = {"source", "suite", "dir", "common", "extra", "cflags", "kernels",
                 "tests", "slow", "excluded", "findings"}
        if set(e) - known:
            raise ToolError(f"{where}: unknown keys {sorted(set(e) - known)}")
        tests = tuple(e.get("tests", ()))
        bins = {t.split()[0] for t in tests}
        clash = bins & set(e.get("excluded", {}))
        if clash:
            raise ToolError(f"{where}: both run and excluded: {sorted(clash)}")
        if set(e.get("slow", ())) - set(tests):
            raise ToolError(f"{where}: slow names no test: {sorted(set(e['slow']) - set(tests))}")
        if set(e.get("findings", {})) - set(tests):
            raise ToolError(f"{where}: findings name no test: "
                            f"{sorted(set(e['findings']) - set(tests))}")
        out[name] = Series(name=name, source=e["source"], suite=e["suite"], dir=e["dir"],
                           common=tuple(e.get("common", ())), extra=dict(e.get("extra", {})),
                           cflags=dict(e.get("cflags", {})), kernels=tuple(e["kernels"]),
                           tests=tests, slow=tuple(e.get("slow", ())),
                           excluded=dict(e.get("excluded", {})),
                           findings=dict(e.get("findings", {})))
    return out


def series_for(kernel_name: str, table: dict) -> Series:
    for s in table.values():
        if kernel_name in s.kernels:
            return s
    raise ToolError(f"no peer suite for kernel '{kernel_name}' in {TABLE}")


def _headers(tree: Path, key: str) -> Path:
    """The uapi headers of tree, built once into the cache."""
    out = cache.subdir("peer", f"headers-{key}")
    inc = out / "usr" / "include"
    if not (out / "ok").exists():
        progress(f"peer: make headers for {key}")
        run([need("make"), "-s", "-C", tree, f"O={out}", "ARCH=x86", "headers"])
        (out / "ok").write_text("ok\n")
    return inc


def build(s: Series) -> tuple:
    """(source version, {binary name: host path}) for the series' tests."""
    version, tree = buglab.pristine(s.source, s.suite)
    inc = _headers(tree, f"{s.source}_{version}")
    src = tree / s.dir
    gcc = need("gcc")
    gcc_version = run([gcc, "-dumpfullversion"]).stdout.strip()
    key = hashlib.sha256(json.dumps([BUILD_RECIPE, s.source, version, s.dir, s.common,
                                     s.extra, s.cflags, sorted({t.split()[0] for t in s.tests}),
                                     gcc_version, CFLAGS, LIBS]).encode()).hexdigest()[:16]
    out = cache.subdir("peer", f"{s.name}-{key}")
    # local_config.h is check_config.sh's output: empty means built without liburing
    (out / "local_config.h").touch()
    bins = {}
    for b in dict.fromkeys(t.split()[0] for t in s.tests):
        path = out / b
        if not path.exists():
            # relative names, compiled in src: a test that opens __FILE__".tmp"
            # (pagemap_ioctl) then writes to its working directory
            srcs = [f"{b}.c", *s.common, *s.extra.get(b, ())]
            argv = [gcc, *CFLAGS, *s.cflags.get(b, ()), f"-I{tree / 'tools/testing/selftests'}",
                    f"-I{inc}", f"-I{src}", f"-I{out}", f"-I{tree / 'tools/include'}",
                    f"-I{tree}", *srcs, *LIBS, "-o", f"{path}.tmp"]
            run(argv, cwd=src)
            Path(f"{path}.tmp").rename(path)
        bins[b] = path
    progress(f"peer: {len(bins)} selftests of {s.source} {version} ready in {out}")
    return version, bins


def job_files(tests, mode: Mode) -> dict:
    """Guest path -> text for one boot running the tests in one mode."""
    return {
        "/job/guest-peer.sh": RUNNER.read_text(),
        "/job/guest-tap.sh": TAP_LIB.read_text(),
        "/job/peer.list": "".join(t + "\n" for t in tests),
        "/job/run.sh": "#!/bin/sh\nexec sh /job/guest-peer.sh " + shlex.join(
            [mode.name, str(mode.delay_us), str(mode.probability),
             "1" if mode.rendezvous else "0"]) + "\n",
    }


LINE = re.compile(r"^peer: mode=(\S+) rc=(\S+) s=(\d+) injected=(\d+)(?: waits=(\d+))? "
                  r"throttled=(\d+) test=(.+)$")


def result(rc: str) -> str:
    return {"0": "pass", "4": "skip"}.get(rc, "timeout" if rc == "timeout" else "fail")


def parse(text: str) -> dict:
    """test name -> {result, rc, s, injected, waits, throttled} from
    guest-peer.sh's lines (waits: rendezvous waits, absent before 2026-12-02)."""
    rows = {}
    for line in text.splitlines():
        m = LINE.match(line.strip())
        if m:
            rows[m.group(7)] = {"result": result(m.group(2)), "rc": m.group(2),
                                "s": int(m.group(3)), "injected": int(m.group(4)),
                                "waits": int(m.group(5) or 0),
                                "throttled": int(m.group(6))}
    return rows


def regressions(tests, by_mode: dict) -> list:
    """(test, mode) where the test passed idle and did not pass armed."""
    out = []
    for t in tests:
        if by_mode.get("idle", {}).get(t, {}).get("result") != "pass":
            continue
        for mode, rows in by_mode.items():
            if mode != "idle" and rows.get(t, {}).get("result") != "pass":
                out.append((t, mode))
    return out


def table(kernel: str, s: Series, tests, version: str, by_mode: dict) -> str:
    """Markdown: one row per test, per mode its result, seconds and injections."""
    modes = [m for m in MODES if m in by_mode]
    head = f"### {kernel}: {s.dir} of {s.source} {version}\n\n"
    head += "| test | " + " | ".join(modes) + " |\n|---|" + "---|" * len(modes) + "\n"
    rows = []
    for t in tests:
        cells = []
        for m in modes:
            r = by_mode[m].get(t)
            if r is None:
                cells.append("not run")
            elif m == "idle":
                cells.append(f"{r['result']} {r['s']} s")
            else:
                cells.append(f"{r['result']} {r['s']} s, {r['injected']} delays, "
                             f"{r['waits']} waits, {r['throttled']} throttled")
        rows.append(f"| `{t}` | " + " | ".join(cells) + " |")
    left = [t for t in s.tests if t not in tests]
    excl = "\n".join([f"- `{t}`: slow, left to `make check-peer`" for t in left]
                     + [f"- `{b}`: {why}" for b, why in s.excluded.items()])
    found = "".join(f"- `{t}`: {why}\n" for t, why in s.findings.items() if t in tests)
    return (head + "\n".join(rows) + "\n\n"
            + (f"Kernel findings (a failure armed is expected):\n\n{found}\n" if found else "")
            + "Not run:\n\n" + excl + "\n")
