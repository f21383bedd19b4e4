"""The one pipeline every command uses: fetch the kernel, build the module
and the stressors, build the initramfs, boot, collect, summarize.

  prepare()        kernel (kernels.py, buglab.py) + mmrace.ko (modbuild.py)
                   + base initramfs (initramfs.py) for a guest (guest.py)
  boot_job()       one guest running one job (qemu.py)
  run_scenario()   a scenario's job, its verdict and report (scenario.py, report.py)
  export_scenario(), collect_scenario()
                   the same run booted by another machine's runner (qemu.export)
  run_controls()   every expectation a scenario file states, as controls

The cli_* modules are thin commands on top of this; none imports another.
"""

import json
import sys
import threading
import time
from pathlib import Path

from . import guest as guestcfg
from . import health, initramfs, kernels, modbuild, qemu, report, scenario
from .tools import ToolError, progress, run as run_cmd

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results"


def build_stressors(names) -> list:
    """Host paths of the static stressors (userspace/build/), built on demand."""
    run_cmd(["make", "-s", "-C", REPO / "userspace"])
    bins = [REPO / "userspace" / "build" / n for n in names]
    missing = [str(b) for b in bins if not b.is_file()]
    if missing:
        raise ToolError(f"stressor not built: {', '.join(missing)}")
    return bins


def prepare(kernel_name: str, guest=guestcfg.DEFAULT, stressors=(), module_src=None,
            with_module=True):
    """(Kernel, base initramfs path, ModuleBuild or None) for a guest boot."""
    if kernel_name not in kernels.names():
        raise ToolError(f"unknown kernel '{kernel_name}' (known: {', '.join(kernels.names())})")
    k = kernels.fetch(kernel_name)
    mb = None
    if with_module:
        src = Path(module_src) if module_src else REPO
        if not (src / "Kbuild").is_file():
            raise ToolError(f"no Kbuild in {src}")
        mb = modbuild.build_module(k, src)
        for w in mb.warnings:
            progress(f"module warning: {w}")
    base = initramfs.build_base(k, guest, mb.ko if mb else None, stressors)
    return k, base, mb


class ConsolePrinter:
    """on_line callback: the job's part of the console (or all of it) to stderr."""

    def __init__(self, verbose: bool = False, quiet: bool = False):
        self.verbose, self.quiet = verbose, quiet
        self.in_job = False

    def __call__(self, line: str):
        if line.startswith(qemu.JOB_BEGIN):
            self.in_job = True
        show = self.verbose or self.in_job or line.startswith("mmrace-init:") \
            or (health.PRINTK.match(line) and health.scan(line))
        if line.startswith(qemu.JOB_END):
            self.in_job = False
        if show and not self.quiet:
            sys.stderr.write(f"guest| {line}\n")
            sys.stderr.flush()


def boot_job(k, base: Path, files: dict, guest, outdir: Path, timeout_s: float,
             on_line=None) -> qemu.BootResult:
    """Boot the prepared kernel with the job files (guest path -> text; the
    job is /job/run.sh) appended to the base initramfs."""
    return qemu.boot(k, [base, initramfs.job_cpio(files)], guest, outdir,
                     timeout_s=timeout_s, on_line=on_line)


def job_output(res: qemu.BootResult) -> str:
    """The job's output: /out/job.log, else the job section of the console."""
    log = res.guest_dir / "job.log"
    if log.exists():
        return log.read_text(errors="replace")
    return qemu.job_section(res.console.read_text(errors="replace"))


def run_id(sc_name: str, kernel: str, inject: bool) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{sc_name}-{kernel}-{'inject' if inject else 'noinject'}"


# Building stressors, module and initramfs writes the cache: one thread at a
# time (campaign -j N boots its guests in threads).
_PREPARING = threading.Lock()


def _scenario_job(sc_spec: str, kernel_name: str, inject: bool, until_first: bool,
                  duration: float, accel: str, extra_args, knobs):
    """(scenario with its overrides, guest, duration, kernel, base, job script)."""
    sc = scenario.load(sc_spec).with_extra_args(extra_args).with_knobs(knobs or {})
    guest = sc.guest if accel is None else sc.guest.replace(accel=accel)
    duration = sc.duration if duration is None else duration
    bins = build_stressors(sc.stressor_names()) + list(sc.files)
    k, base, _ = prepare(kernel_name, guest, bins)
    return sc, guest, duration, k, base, scenario.job_script(sc, inject, until_first, duration)


def _summary(sc, k, inject: bool, res, out: Path, extra_args, knobs) -> dict:
    summary = report.summarize(sc, k, inject, res, res.guest_dir)
    summary["stressor_extra_args"] = list(extra_args)
    summary["knob_overrides"] = knobs or {}
    if extra_args or knobs:     # the scenario's expectations are for its own settings
        summary["expected"] = summary["oracle_expected"] = None
    path = report.write(out, summary, res.guest_dir, sc.workload())
    ev = summary["window_evidence"]
    progress(f"{summary['verdict']} (expected {summary['expected']}): "
             f"bad pages {summary['bad_pages']}, injections {summary['injections']}, "
             f"window evidence {ev['rule']}: {'met' if ev['met'] else 'NOT met'} "
             f"({ev['value']}); report: {path}")
    summary["report"] = str(path)
    return summary


def run_scenario(sc_spec: str, kernel_name: str, inject: bool = True,
                 until_first: bool = False, duration: float = None, out: Path = None,
                 accel: str = None, quiet: bool = False, extra_args: list = (),
                 knobs: dict = None, files: dict = None) -> dict:
    """Run one scenario (name or path) in one guest; returns the summary (also
    written to out).  extra_args override the scenario's stressor arguments,
    knobs ({site: {knob: value}}) its knob values; files (guest path ->
    bytes) go into the job's archive beside the job."""
    with _PREPARING:
        sc, guest, duration, k, base, job = _scenario_job(sc_spec, kernel_name, inject,
                                                          until_first, duration, accel,
                                                          extra_args, knobs)
    out = Path(out) if out else RESULTS / run_id(sc.name, kernel_name, inject)
    out.mkdir(parents=True, exist_ok=True)
    (out / "job.sh").write_text(job)
    progress(f"run {sc.name} on {k.name} ({k.release}), injection "
             f"{'on' if inject else 'off'}, {duration:g} s{' until first' if until_first else ''}"
             f" -> {out}")
    res = boot_job(k, base, {**(files or {}), "/job/run.sh": job}, guest, out,
                   duration + guest.timeout_slack_s, ConsolePrinter(False, quiet))
    return _summary(sc, k, inject, res, out, extra_args, knobs)


EXPORT_FILE = "export.json"     # what collect_scenario() needs to judge the run


def export_scenario(sc_spec: str, kernel_name: str, inject: bool, until_first: bool,
                    duration: float, out: Path, accel: str = None, extra_args=(),
                    knobs: dict = None) -> Path:
    """The run that run_scenario() would make, as out/run.sh for another
    runner (qemu.export); returns the script."""
    sc, guest, duration, k, base, job = _scenario_job(sc_spec, kernel_name, inject,
                                                      until_first, duration, accel,
                                                      extra_args, knobs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "job.sh").write_text(job)
    timeout_s = duration + guest.timeout_slack_s
    write_json(out / EXPORT_FILE, {
        "scenario": sc_spec, "kernel": kernel_name, "inject": inject,
        "extra_args": list(extra_args), "knobs": knobs or {}, "timeout_s": timeout_s,
        "accel": qemu.exported_accel(guest)})
    return qemu.export(k, [base, initramfs.job_cpio({"/job/run.sh": job})], guest, out,
                       timeout_s)


def collect_scenario(out: Path) -> dict:
    """The summary of a run exported by export_scenario() and finished by its
    runner (qemu.rc present), written to out as run_scenario() writes it."""
    e = json.loads((Path(out) / EXPORT_FILE).read_text())
    sc = scenario.load(e["scenario"]).with_extra_args(e["extra_args"]).with_knobs(e["knobs"])
    k = kernels.fetch(e["kernel"])
    res = qemu.collect(out, e["timeout_s"], e["accel"])
    return _summary(sc, k, e["inject"], res, Path(out), e["extra_args"], e["knobs"])


def expectations(sc_specs, with_buglab: bool, only_buglab: bool = False) -> list:
    """(scenario, kernel, expected verdict) for every expectation the
    scenario files state; bug-lab kernels only if asked for."""
    rows = []
    for spec in sc_specs:
        sc = scenario.load(spec)
        for kname, expected in sc.expect.items():
            bl = kname.startswith("buglab-")
            if (bl and not with_buglab) or (only_buglab and not bl):
                continue
            rows.append((spec, kname, expected))
    return rows


def control_ok(s: dict) -> bool:
    """A control passes when its verdict is the expected one (a clean run
    without window evidence is 'inconclusive', never 'clean') and so is its
    oracle."""
    return s["verdict"] == s["expected"] and \
        report.oracle_ok(s["oracle_expected"], s["oracle_value"])


def control_detail(s: dict) -> str:
    """One line of facts about a control run, for TAP and tables."""
    ev = s["window_evidence"]
    findings = "".join(f" {f['kind']}={f['line']!r}" for f in s["kernel_health"][:2])
    return (f"verdict={s['verdict']} bad={s['bad_pages']} "
            f"ttfd={s['time_to_first_detection_s']} injections={s['injections']} "
            f"evidence='{ev['rule']}' {ev['values']} met={ev['met']}"
            + (f" oracle={s['oracle']}={s['oracle_value']}" if s["oracle"] else "")
            + f" report={s['report']}" + findings)


def run_controls(rows, outroot: Path, accel: str = None, on_result=None) -> list:
    """Run every (scenario, kernel, expected) row with injection: positive
    controls until the first bad page, negative ones for the scenario's
    whole duration.  on_result(summary) after each; returns the summaries."""
    out = []
    for spec, kname, expected in rows:
        s = run_scenario(spec, kname, True, expected in ("corruption", "reproduced"), None,
                         outroot / f"{Path(spec).stem}-{kname}", accel, quiet=True)
        out.append(s)
        if on_result:
            on_result(s)
    return out


def write_json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
