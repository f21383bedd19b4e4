"""`mmrace test`: the project's test suite, in TAP style, ending "N passed, N failed".

1. the stressors build warning-free, their unit tests (userspace/, make
   check) and the host unit tests (scripts/tests/);
2. the module builds warning-free against every kernel;
3. in-guest tests on every kernel: the module suite (guest-module.sh), the
   R2/R3 sites (guest-sites.sh), the stressors' selftest with the tests
   that change swap, mTHP and cgroups (guest-selftest.sh), and the governor
   under every site at its largest settings for 60 s (guest-hostile.sh);
4. faults: a forced panic (sysrq), a forced hung task (a writer on a
   frozen file system) and a forced oops (a test-only module, never part
   of mmrace.ko) on one kernel, each reported as a kernel-health finding
   of its kind with exit code 3 (scripts/tests/faults/);
5. controls: every expectation the scenario files state for the Debian
   kernels, with injection (pipeline.run_controls, as `mmrace controls`):
   positive controls must find their corruption, negative ones nothing, and
   a clean result counts only with the scenario's window evidence met;
6. peer-quick: the kernel's own mm selftests (peer.py) on one kernel, with
   the module idle and with every site armed at small delays: no test that
   passes idle may fail armed, unless the series names the kernel race that
   makes it (TAP TODO);
7. only with --stage buglab (make check-buglab): the same for the bug-lab
   kernels, and the test that a missing probe symbol disables its site only
   (guest-missing-symbol.sh on buglab-6.12-noswap, a kernel without swap);
8. only with --stage peer (make check-peer): the peer suites on every
   Debian kernel in every mode, idle, small and large delays, with the
   test x mode table in <results>/peer.md.
"""

import re
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from . import guest as guestcfg
from . import kernels, modbuild, peer, pipeline, report, scenario
from .tools import progress

REPO = pipeline.REPO
TESTS = REPO / "scripts" / "tests"
TAP = re.compile(r"^(not )?ok \d+ - (.*?)( # SKIP.*)?$")
DEBIAN_KERNELS = tuple(kernels.debian_names())


class Tap:
    def __init__(self, kernels=DEBIAN_KERNELS):
        self.n = self.failed = self.skipped = 0
        self.kernels = tuple(kernels)      # the Debian kernels the stages boot

    def ok(self, cond: bool, name: str, detail: str = ""):
        self.n += 1
        self.failed += not cond
        print(f"{'' if cond else 'not '}ok {self.n} - {name}"
              + (f" # {detail}" if detail else ""), flush=True)

    def skip(self, name: str, why: str):
        """Neither passed nor failed."""
        self.n += 1
        self.skipped += 1
        print(f"ok {self.n} - {name} {why.strip()}", flush=True)

    def todo(self, name: str, why: str):
        """A known failure (TAP's TODO): neither passed nor failed."""
        self.n += 1
        self.skipped += 1
        print(f"not ok {self.n} - {name} # TODO {why.strip()}", flush=True)

    def info(self, msg: str):
        print(f"# {msg}", flush=True)

    def tap_lines(self, text: str, prefix: str):
        """Re-number another suite's ok/not ok lines into this one."""
        seen = 0
        for line in text.splitlines():
            m = TAP.match(line.strip())
            if m and m.group(3) and m.group(1) is None:
                self.skip(f"{prefix}: {m.group(2)}", m.group(3))
            elif m:
                seen += 1
                self.ok(m.group(1) is None, f"{prefix}: {m.group(2)}")
        return seen


def unit_tests(tap: Tap, _outroot: Path):
    # A fresh build of every stressor and reproducer, apart from
    # userspace/build/ so that make's up-to-date check cannot hide a warning.
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run(["make", "-s", "-C", str(REPO / "userspace"), f"O={tmp}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    warnings = [line for line in p.stdout.splitlines() if "warning:" in line]
    tap.ok(p.returncode == 0 and not warnings,
           "userspace builds -Wall -Wextra warning-free",
           "; ".join(warnings[:3]) or p.stdout.strip()[-200:])
    p = subprocess.run(["make", "-s", "-C", str(REPO / "userspace"), "check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = tap.tap_lines(p.stdout, "userspace")
    tap.ok(p.returncode == 0 and seen > 0, "userspace unit tests ran and passed",
           f"rc={p.returncode}, {seen} tests")
    suite = unittest.defaultTestLoader.discover(str(TESTS), pattern="test_*.py")
    for case in _cases(suite):
        r = unittest.TestResult()
        case.run(r)
        tap.ok(r.wasSuccessful(), f"host: {case.id()}",
               "; ".join(str(e[1]).splitlines()[-1] for e in r.failures + r.errors))


def _cases(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _cases(t)
        else:
            yield t


def module_builds(tap: Tap, _outroot: Path):
    for name in tap.kernels:
        k = kernels.fetch(name)
        mb = modbuild.build_module(k, REPO)
        tap.ok(mb.ko.is_file() and not mb.warnings,
               f"module builds warning-free for {name} ({k.release})",
               "; ".join(mb.warnings[:3]))


GUEST_SCRIPTS = ("guest-module.sh", "guest-site-defs.sh", "guest-sites.sh",
                 "guest-selftest.sh", "guest-hostile.sh")
SUITE_GUEST = guestcfg.DEFAULT.replace(cmdline="transparent_hugepage=never zswap.enabled=0")


def guest_scripts(tap: Tap, outroot: Path, kname: str, scripts: tuple, bins: list,
                  what: str):
    """Boot kname once, run the in-guest TAP scripts one after the other and
    re-number their results into this suite."""
    files = {f"/job/{s}": (TESTS / s).read_text() for s in (*scripts, "guest-tap.sh")}
    files["/job/run.sh"] = "#!/bin/sh\nrc=0\n" + \
        "".join(f"sh /job/{s} || rc=1\n" for s in scripts) + "exit $rc\n"
    k, base, _ = pipeline.prepare(kname, SUITE_GUEST, bins)
    res = pipeline.boot_job(k, base, files, SUITE_GUEST,
                            outroot / f"guest-{what.replace(' ', '-')}-{kname}", 600)
    seen = tap.tap_lines(pipeline.job_output(res), f"guest {kname}")
    crashes = [f for f in res.health if f[0] != "warning"]
    tap.ok(res.exit_reason == "done" and res.job_rc == 0 and seen > 0 and not crashes,
           f"guest {kname}: {what} completed, kernel healthy",
           f"exit={res.exit_reason} rc={res.job_rc} tests={seen} health={crashes[:2]} "
           f"console={res.console}")


def guest_module_tests(tap: Tap, outroot: Path):
    # every stressor: the selftest checks each one's arguments and --help
    bins = pipeline.build_stressors(["mmrace-lostwrite", "mmrace-zapbench", "mmrace-swapin",
                                     "mmrace-folio", "mmrace-split", "mmrace-migrate",
                                     "mmrace-selftest"])
    for name in tap.kernels:
        guest_scripts(tap, outroot, name, GUEST_SCRIPTS, bins, "module suite")


# Deliberate faults, made by the kernel's own interfaces or a test-only
# module, never by mmrace (scripts/tests/faults/): each must come out as a
# kernel-health finding of its kind, exit code 3.  One kernel: the path
# through the harness is the same.  (scenario, kind, test module directory)
FAULT_KERNEL = "debian-6.12"
FAULTS = (("forced-panic.toml", "panic", None), ("forced-hang.toml", "hung_task", None),
          ("forced-oops.toml", "oops", "oops"))


def _fault_files(module_dir) -> dict:
    """The test-only module built for FAULT_KERNEL, as /job/<name>.ko."""
    if not module_dir:
        return {}
    mb = modbuild.build_module(kernels.fetch(FAULT_KERNEL), TESTS / "faults" / module_dir)
    return {f"/job/{mb.ko.name}": mb.ko.read_bytes()}


def forced_faults(tap: Tap, outroot: Path):
    for name, kind, module_dir in FAULTS:
        try:
            s = pipeline.run_scenario(str(TESTS / "faults" / name), FAULT_KERNEL,
                                      out=outroot / "faults" / name[:-5], quiet=True,
                                      files=_fault_files(module_dir))
        except Exception as e:
            tap.ok(False, f"{name}: reported", f"{type(e).__name__}: {e}")
            continue
        kinds = [f["kind"] for f in s.get("kernel_health") or []]
        tap.ok(s["verdict"] == "kernel-health" and kind in kinds
               and report.EXIT[s["verdict"]] == 3,
               f"{name[:-5]} on {FAULT_KERNEL}: kernel-health, {kind}, exit code 3",
               f"verdict={s['verdict']} kinds={kinds} guest={s.get('guest_exit')}")


def _controls(tap: Tap, outroot: Path, rows):
    def result(s):
        tap.ok(pipeline.control_ok(s),
               f"{s['race']} {s['scenario']} on {s['kernel']}: {s['expected']}"
               + (f", {s['oracle']} {s['oracle_expected']}" if s["oracle_expected"] else "")
               + ("" if s["expected"] != "clean" else ", window reached"),
               pipeline.control_detail(s))
    pipeline.run_controls(rows, outroot, on_result=result)


def controls(tap: Tap, outroot: Path):
    """Every Debian-kernel expectation of every scenario."""
    _controls(tap, outroot / "controls", pipeline.expectations(scenario.names(), False))


MISSING_SYMBOL_KERNEL = "buglab-6.12-noswap"


def missing_symbol(tap: Tap, outroot: Path):
    """On a kernel without swap_read_folio() the module loads, that one site
    is unresolved and cannot be enabled, the other sites work."""
    bins = pipeline.build_stressors(["mmrace-zapbench"])
    guest_scripts(tap, outroot, MISSING_SYMBOL_KERNEL, ("guest-missing-symbol.sh",),
                  bins, "missing-symbol test")


def buglab(tap: Tap, outroot: Path):
    """Controls on the bug-lab kernels (built from Debian's sources on first
    use, about 20 minutes each), then the missing-symbol test."""
    _controls(tap, outroot / "buglab", pipeline.expectations(scenario.names(), True, True))
    missing_symbol(tap, outroot)


PEER_GUEST = guestcfg.DEFAULT.replace(mem="3G")
PEER_QUICK_KERNEL = "debian-6.12"


def _peer_progress(line: str):
    if line.startswith("peer: "):       # a progress line per selftest
        progress(line[len("peer: "):])


def _peer(tap: Tap, outroot: Path, kernel_names, modes, quick: bool):
    """Boot each kernel once per mode, run its series' selftests; every test
    that passes idle must pass in the armed modes too."""
    table = peer.load()
    report = []
    for kname in kernel_names:
        s = peer.series_for(kname, table)
        tests = s.selection(quick)
        version, bins = peer.build(s)
        k, base, _ = pipeline.prepare(kname, PEER_GUEST, list(bins.values()))
        if version != k.version:
            tap.info(f"peer {kname}: selftests from {s.source} {version}, kernel {k.version}")
        by_mode = {}
        for mname in modes:
            mode = peer.MODES[mname]
            out = outroot / f"peer-{kname}-{mname}"
            progress(f"peer {kname} {mname}: {len(tests)} selftests, {mode.about}")
            res = pipeline.boot_job(k, base, peer.job_files(tests, mode), PEER_GUEST, out,
                                    peer.BOOT_TIMEOUT_S, _peer_progress)
            text = pipeline.job_output(res)
            rows = by_mode[mname] = peer.parse(text)
            crashes = [f for f in res.health if f[0] != "warning"]
            inj = sum(r["injected"] + r["waits"] for r in rows.values())
            tap.ok(res.exit_reason == "done" and len(rows) == len(tests) and not crashes
                   and (mode.delay_us == 0 or inj > 0),
                   f"peer {kname} {mname}: {len(rows)} of {len(tests)} selftests ran, "
                   f"kernel healthy" + (f", {inj} delays and waits" if mode.delay_us else ""),
                   f"exit={res.exit_reason} health={crashes[:2]} console={res.console}")
            for t in tests:
                r = rows.get(t)
                if mname == "idle" and r is not None:
                    if r["result"] == "skip":
                        tap.skip(f"peer {kname} idle: {t}", "# SKIP kselftest skip")
                    else:   # a test failing idle belongs in the table's excluded
                        tap.ok(r["result"] == "pass", f"peer {kname} idle: {t}",
                               "" if r["result"] == "pass" else f"{r['result']} rc={r['rc']}")
        for t, mname in peer.regressions(tests, by_mode):
            r = by_mode[mname].get(t) or {"result": "not run", "rc": "-"}
            name = f"peer {kname} {mname}: {t} passes idle, not armed"
            if t in s.findings:     # a kernel race found: reported, not a harness defect
                tap.todo(name, f"kernel finding: {s.findings[t]}")
            else:
                tap.ok(False, name, f"{r['result']} rc={r['rc']}")
        passed = sum(1 for t in tests if all(by_mode[m].get(t, {}).get("result") == "pass"
                                               for m in by_mode))
        tap.info(f"peer {kname}: {passed} of {len(tests)} selftests pass in every mode "
                 f"({', '.join(by_mode)})")
        report.append(peer.table(kname, s, tests, version, by_mode))
    outroot.mkdir(parents=True, exist_ok=True)
    (outroot / "peer.md").write_text("\n".join(report))
    tap.info(f"peer table: {outroot / 'peer.md'}")


def peer_quick(tap: Tap, outroot: Path):
    _peer(tap, outroot, (PEER_QUICK_KERNEL,), ("idle", "small"), quick=True)


def peer_all(tap: Tap, outroot: Path):
    _peer(tap, outroot, tap.kernels, tuple(peer.MODES), quick=False)


STAGES = {"unit": unit_tests, "build": module_builds, "guest": guest_module_tests,
          "faults": forced_faults, "controls": controls, "peer-quick": peer_quick, "buglab": buglab, "peer": peer_all}
DEFAULT_STAGES = ("unit", "build", "guest", "faults", "controls", "peer-quick")


def cmd_test(args) -> int:
    tap = Tap(args.kernel or DEBIAN_KERNELS)
    outroot = pipeline.RESULTS / time.strftime("%Y%m%d-%H%M%S-test")
    print("TAP version 13", flush=True)
    for stage in args.stage or DEFAULT_STAGES:
        t0 = time.monotonic()
        try:
            STAGES[stage](tap, outroot)
        except Exception as e:      # a broken stage is a failure, not a crash
            tap.ok(False, f"stage {stage} completed", f"{type(e).__name__}: {e}")
        tap.info(f"stage {stage}: {time.monotonic() - t0:.0f} s")
    print(f"1..{tap.n}")
    if tap.skipped:
        print(f"# {tap.skipped} skipped or TODO (neither passed nor failed)")
    print(f"{tap.n - tap.failed - tap.skipped} passed, {tap.failed} failed", flush=True)
    sys.stdout.flush()
    return 1 if tap.failed else 0


def register(sub):
    p = sub.add_parser("test", help="run the test suite (TAP, ends 'N passed, N failed')",
                       description=__doc__)
    p.add_argument("--stage", action="append", choices=list(STAGES),
                   help="run only this stage (repeatable); default: unit, build, guest, controls")
    p.add_argument("--kernel", action="append", choices=DEBIAN_KERNELS,
                   help="the build, guest and peer stages boot only this Debian kernel "
                        "(repeatable); default: every one")
    p.set_defaults(func=cmd_test)
    return [p]
