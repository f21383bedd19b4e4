"""Boot a test kernel in QEMU, stream its serial console, bring /out back.

Results come back as a tar that the guest's /init writes onto a raw virtio disk
(/dev/vda in the guest); the console log is kept whatever happens.
"""

import contextlib
import fcntl
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import health, qemupkg
from .guest import Guest
from .kernels import Kernel
from .tools import progress

OUT_DISK_MB = 256
KVM_BOOT_TIMEOUT_S = 20      # no "Linux version" line within this => KVM is stuck
# /init starts 3-10 s after QEMU under TCG; a TCG guest now and then hangs in
# early boot (seen: 6.1 after "pnp: PnP ACPI"), and is booted again.
INIT_TIMEOUT_S = 180

DONE_RE = re.compile(r"MMRACE-DONE rc=(-?\d+)")
JOB_BEGIN = "MMRACE-JOB-BEGIN"
JOB_END = "MMRACE-JOB-END"
CPU_STUCK = "MMRACE-CPU-STUCK"     # /init: a CPU fired no timer (scripts/guest/init)
KERNEL_ALIVE = "Linux version"


@dataclass
class BootResult:
    console: Path                 # full serial console log
    guest_dir: Path               # /out of the guest (extracted tar), may be empty
    exit_reason: str              # 'done' | 'timeout' | 'crashed'
    job_rc: int = None            # from /out/status; None if missing
    health: list = field(default_factory=list)   # [(kind, line)]
    wall_s: float = 0.0           # QEMU wall time (the successful attempt)
    boot_to_job_s: float = None   # QEMU start -> MMRACE-JOB-BEGIN seen (host clock)
    kernel_up_s: float = None     # QEMU start -> first kernel line (firmware+decompress)
    guest_job_uptime_s: float = None  # guest /proc/uptime at MMRACE-JOB-BEGIN
    accel: str = "tcg"            # accelerator actually used
    qemu_rc: int = None
    cmdline: str = ""
    notes: list = field(default_factory=list)    # e.g. KVM fall-back

    @property
    def ok(self) -> bool:
        return self.exit_reason == "done" and not self.health


def _accel_args(accel: str) -> list:
    if accel == "kvm":
        return ["-accel", "kvm", "-cpu", "host"]
    if accel == "icount":
        # Guest time counts instructions (1 ns each), not host time: timings
        # inside the guest repeat whatever the host is doing.  One TCG
        # thread for all vCPUs, so for benchmarks, not for races.
        return ["-accel", "tcg", "-cpu", "max", "-icount", "shift=0,sleep=off"]
    return ["-accel", "tcg,thread=multi", "-cpu", "max"]


def job_timeout(timeout_s: float) -> float:
    """The guest's own job time-out: 25 s before the host's kill, so /out is
    still shipped (none for host time-outs under 45 s)."""
    return timeout_s - 25 if timeout_s >= 45 else 0


def exported_accel(guest: Guest) -> str:
    """The accelerator an exported run uses: the guest's, "auto" as TCG (the
    runner's machine is not known here)."""
    return "tcg" if guest.accel == "auto" else guest.accel


def machine_args(guest: Guest, accel: str, vmlinuz, initrd, disk, cmdline: str) -> list:
    """QEMU's arguments after the binary: the machine, the kernel and its
    initramfs, the console on stdio and the output disk."""
    return ["-nographic", "-no-reboot", "-monitor", "none", "-serial", "stdio",
            *_accel_args(accel), "-smp", str(guest.smp), "-m", guest.mem, *guest.qemu_args,
            "-kernel", str(vmlinuz), "-initrd", str(initrd), "-append", cmdline,
            "-drive", f"file={disk},if=virtio,format=raw,cache=unsafe", "-nic", "none"]


def _write_initrd(parts, path: Path):
    with open(path, "wb") as f:
        for p in parts:
            if isinstance(p, (bytes, bytearray)):
                f.write(p)
            else:
                with open(p, "rb") as src:
                    while chunk := src.read(1 << 20):
                        f.write(chunk)
            pad = -f.tell() % 512
            f.write(b"\0" * pad)


def _make_disk(path: Path, mb: int):
    path.unlink(missing_ok=True)
    with open(path, "wb") as f:
        f.truncate(mb << 20)


class Markers:
    """What /init's console markers (scripts/guest/init) said so far.  Fed
    line by line while the guest runs, and used on a recorded console log
    alike (outcome())."""

    def __init__(self):
        self.kernel_alive = False
        self.init_seen = False
        self.cpu_stuck = None
        self.job_begun = False
        self.job_uptime = None
        self.job_timed_out = False
        self.done_rc = None

    def feed(self, line: str) -> str:
        """Update from one console line; the marker it held ('' if none)."""
        if KERNEL_ALIVE in line and not self.kernel_alive:
            self.kernel_alive = True
            return KERNEL_ALIVE
        if line.startswith("MMRACE-INIT"):
            self.init_seen = True
            return "MMRACE-INIT"
        if line.startswith(CPU_STUCK):
            self.cpu_stuck = line
            return CPU_STUCK
        if line.startswith(JOB_BEGIN) and not self.job_begun:
            self.job_begun = True
            m = re.search(r"uptime=([\d.]+)", line)
            self.job_uptime = float(m.group(1)) if m else None
            return JOB_BEGIN
        if line.startswith("MMRACE-JOB-TIMEOUT"):
            self.job_timed_out = True
            return "MMRACE-JOB-TIMEOUT"
        m = DONE_RE.search(line)
        if m:
            self.done_rc = int(m.group(1))
            return "MMRACE-DONE"
        return ""

    @classmethod
    def of(cls, console: str) -> "Markers":
        m = cls()
        for line in console.splitlines():
            m.feed(line)
        return m


def outcome(console: str, host_timeout_s: float = None, job_timeout_s: float = 0,
            qemu_rc: int = None) -> tuple:
    """(exit reason, health findings) of a finished guest, from its console
    log alone.  host_timeout_s: the host killed the guest after that long.

    'done': /init finished the job and shipped /out (findings may still say
    the kernel is sick); 'timeout': the host or the guest killed the job;
    'crashed': the guest died without MMRACE-DONE."""
    findings = health.scan(console)
    m = Markers.of(console)
    if host_timeout_s is not None:
        findings.append(("hang", f"time-out after {host_timeout_s:.0f} s"))
        return "timeout", findings
    if m.job_timed_out:
        findings.append(("hang", f"job killed by the guest after {job_timeout_s:.0f} s"))
        return "timeout", findings
    if m.done_rc is not None:
        return "done", findings
    if m.cpu_stuck:
        findings.append(("hang", m.cpu_stuck))
    elif not health.has_crash(findings):
        findings.append(("hang", f"QEMU exited (rc={qemu_rc}) without MMRACE-DONE"))
    return "crashed", findings


class _Run:
    """One QEMU process: reader thread -> console log + callback, time-outs."""

    def __init__(self, argv, console: Path, on_line, env=None):
        self.argv = argv
        self.env = env
        self.console = console
        self.on_line = on_line
        self.start = time.monotonic()
        self.markers = Markers()
        self.first_kernel_line = None   # host seconds from QEMU start
        self.job_begin = None

    def _reader(self, proc, logf):
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            logf.write(line + "\n")
            logf.flush()
            seen = self.markers.feed(line)
            if seen == KERNEL_ALIVE:
                self.first_kernel_line = time.monotonic() - self.start
            elif seen == JOB_BEGIN:
                self.job_begin = time.monotonic() - self.start
            if self.on_line:
                try:
                    self.on_line(line)
                except Exception:       # a broken callback must not kill the log
                    pass

    def run(self, timeout_s: float, alive_timeout_s: float = None,
            init_timeout_s: float = INIT_TIMEOUT_S):
        """-> ('exited'|'timeout'|'stuck'|'boot-hang', rc, wall_s)"""
        with open(self.console, "w") as logf:
            proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, env=self.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            t = threading.Thread(target=self._reader, args=(proc, logf), daemon=True)
            t.start()
            how = "exited"
            try:
                while proc.poll() is None:
                    el = time.monotonic() - self.start
                    if alive_timeout_s and self.first_kernel_line is None and el > alive_timeout_s:
                        how = "stuck"
                        break
                    if not self.markers.init_seen and el > min(init_timeout_s, timeout_s):
                        how = "boot-hang"
                        break
                    if el > timeout_s:
                        how = "timeout"
                        break
                    time.sleep(0.1)
            finally:
                if proc.poll() is None:
                    proc.kill()          # our own child, by PID
                rc = proc.wait()
                t.join(timeout=5)
        return how, rc, time.monotonic() - self.start


def _last_line(path: Path) -> str:
    lines = [l for l in path.read_text(errors="replace").splitlines() if l.strip()]
    return lines[-1][:160] if lines else "(no output)"


def _extract_out(disk: Path, dest: Path) -> list:
    """Untar the output disk into dest; an empty (all-zero) disk yields nothing."""
    dest.mkdir(parents=True, exist_ok=True)
    notes = []
    if not disk.is_file():
        return ["no output disk"]
    with open(disk, "rb") as f:
        head = f.read(512)
    if not head.strip(b"\0"):
        return ["output disk empty (guest never wrote /out)"]
    try:
        with tarfile.open(disk, "r:") as tf:
            # Regular files and directories below dest only: the checks
            # tarfile's filter="data" makes, which Debian 12's Python
            # 3.11.2 lacks (3.11.4+).
            members = [m for m in tf.getmembers()
                       if (m.isfile() or m.isdir()) and not
                       (m.name.startswith("/") or ".." in Path(m.name).parts)]
            for m in members:
                m.mode = (m.mode | 0o600) & 0o755 if m.isfile() else 0o755
            tf.extractall(dest, members=members)
    except (tarfile.TarError, OSError) as e:
        notes.append(f"output disk unreadable: {e}")
    return notes


def job_section(console: str) -> str:
    """The job's lines of a console log (between the job markers), kernel
    messages left out."""
    lines, inside = [], False
    for line in console.splitlines():
        if line.startswith(JOB_BEGIN):
            inside = True
        elif line.startswith(JOB_END):
            break
        elif inside and not health.PRINTK.match(line):
            lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


# Not in the cache: runs with different MMRACE_CACHE dirs must wait too.
LOCK = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / "mmrace-guest.lock"
# Guests this process lets run at once on the machine (`campaign -j N`).
GUEST_SLOTS = 1


def _slot(i: int) -> Path:
    return LOCK if i == 0 else LOCK.with_name(f"{LOCK.name}.{i}")


@contextlib.contextmanager
def _guest_slot():
    """Guests share the host's cores: a second guest would skew every timing
    and race rate, so boots from any process wait for each other: for the
    one slot, or for one of GUEST_SLOTS when a campaign allows more."""
    waited = False
    while True:
        for i in range(GUEST_SLOTS):
            lock = open(_slot(i), "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            with lock:
                yield
            return
        if not waited:
            progress("another mmrace guest is running: waiting for it")
            waited = True
        time.sleep(0.5)


def boot(*args, **kw) -> BootResult:
    """Boot a guest (see _boot) in a guest slot: one at a time on this
    machine, unless a campaign's -j N allows more."""
    with _guest_slot():
        return _boot(*args, **kw)


def _boot(kernel: Kernel, initrd_parts, guest: Guest, outdir, timeout_s: float = 300,
          on_line=None, out_disk_mb: int = OUT_DISK_MB,
          kvm_boot_timeout_s: float = KVM_BOOT_TIMEOUT_S, boot_retries: int = 1,
          job_timeout_s: float = None) -> BootResult:
    """Boot `kernel` with the concatenated initrd parts (paths or bytes) as
    `guest` says (machine, command line, file systems: guest.py).

    guest.accel: 'tcg' | 'kvm' | 'auto' (kvm if /dev/kvm exists) | 'icount'. A KVM guest that prints
    no kernel line within kvm_boot_timeout_s is killed and rebooted under TCG.
    on_line(str) is called for every console line as it arrives.
    job_timeout_s: the guest kills the job after this long and still ships /out
    (exit_reason 'timeout', job rc 124); default timeout_s - 25 s (none if timeout_s
    < 45 s). The host kill at timeout_s stays the backstop for a hung kernel.
    A guest that dies before its /init starts (seen under QEMU 7.2's TCG: an int3 Oops
    while the kernel patches its own text at boot, see qemupkg.py), or whose /init
    finds a CPU that fires no timer (MMRACE-CPU-STUCK, seen once under QEMU 10.0), is
    booted again, up to boot_retries times; the earlier console is kept as
    console.bootfail-N.log. Nothing of the test (module, job) has run at that point.
    """
    qemu = qemupkg.get()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    initrd = outdir / "initrd.cpio"
    _write_initrd(initrd_parts, initrd)
    disk = outdir / "out.img"
    console = outdir / "console.log"
    if job_timeout_s is None:
        job_timeout_s = job_timeout(timeout_s)
    cmdline = guest.kernel_cmdline(job_timeout_s)
    accel = guest.accel
    if accel == "auto":
        accel = "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
    notes = []
    while True:
        _make_disk(disk, out_disk_mb)
        argv = [*qemu.argv(), *machine_args(guest, accel, kernel.vmlinuz, initrd, disk, cmdline)]
        (outdir / "qemu.argv").write_text(" ".join(argv) + "\n")
        r = _Run(argv, console, on_line, qemu.env())
        how, rc, wall = r.run(timeout_s, kvm_boot_timeout_s if accel == "kvm" else None)
        if accel == "kvm" and r.first_kernel_line is None and how != "timeout":
            if how == "stuck":
                why = (f"no kernel output within {kvm_boot_timeout_s:.0f} s "
                       f"(known: KVM hangs after decompression here)")
            else:
                why = f"QEMU exited (rc={rc}) before the kernel started: {_last_line(console)}"
            msg = f"KVM: {why}; falling back to TCG"
            progress(msg)
            notes.append(msg)
            os.replace(console, outdir / "console.kvm.log")
            accel = "tcg"
            continue
        if how in ("exited", "boot-hang") and not r.markers.init_seen and boot_retries > 0:
            boot_retries -= 1
            kept = outdir / f"console.bootfail-{len(notes) + 1}.log"
            os.replace(console, kept)
            first = health.scan(kept.read_text(errors="replace"))[:1]
            what = ("hung" if how == "boot-hang" else
                    "stopped" if r.markers.cpu_stuck else "died")
            why = r.markers.cpu_stuck or (first[0][1] if first else "no kernel message")
            msg = f"guest {what} before /init ({why}); rebooting"
            progress(msg)
            notes.append(f"{msg}; console kept in {kept.name}")
            continue
        break
    if how == "boot-hang":
        how = "timeout"

    initrd.unlink(missing_ok=True)    # rebuilt from the cache and the job on demand
    return _result(outdir, how, rc, timeout_s, job_timeout_s, notes, wall_s=wall,
                   boot_to_job_s=r.job_begin, accel=accel, kernel_up_s=r.first_kernel_line,
                   guest_job_uptime_s=r.markers.job_uptime, cmdline=cmdline)


def _result(outdir: Path, how: str, rc, timeout_s: float, job_timeout_s: float, notes: list,
            **timing) -> BootResult:
    """The finished guest's result from what it left in outdir: console.log
    and the output disk out.img (unpacked into guest/, then removed)."""
    console, disk, guest = outdir / "console.log", outdir / "out.img", outdir / "guest"
    notes = notes + _extract_out(disk, guest)
    disk.unlink(missing_ok=True)      # sparse, but no need to keep it
    job_rc = None
    status = guest / "status"
    if status.exists():
        try:
            job_rc = int(status.read_text().strip())
        except ValueError:
            notes.append(f"bad /out/status: {status.read_text()[:40]!r}")

    reason, findings = outcome(console.read_text(errors="replace"),
                               timeout_s if how == "timeout" else None, job_timeout_s, rc)
    return BootResult(console=console, guest_dir=guest, exit_reason=reason, job_rc=job_rc,
                      health=findings, qemu_rc=rc, notes=notes, **timing)


# An exported run (export()): a directory that boots with nothing but a
# POSIX shell, coreutils and QEMU >= 8, on any machine.
EXPORT_SCRIPT = """#!/bin/sh
# mmrace run, exported: boots the guest and leaves console.log and out.img
# here for `mmrace campaign ... --collect`.  Needs QEMU >= 8 (QEMU= overrides
# the binary) and coreutils.
cd "$(dirname "$0")" || exit 1
rm -f out.img console.log qemu.rc
dd if=/dev/zero of=out.img bs=1M count=0 seek={disk_mb} 2> /dev/null || exit 1
timeout -s KILL {timeout} "${{QEMU:-qemu-system-x86_64}}" {args} > console.log 2>&1
echo $? > qemu.rc
"""


def export(kernel: Kernel, initrd_parts, guest: Guest, outdir, timeout_s: float = 300,
           out_disk_mb: int = OUT_DISK_MB) -> Path:
    """Write outdir/run.sh with the kernel and initramfs beside it: the boot
    _boot() would make, for another machine's runner.  collect() reads it."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    _write_initrd(initrd_parts, outdir / "initrd.cpio")
    shutil.copyfile(kernel.vmlinuz, outdir / "vmlinuz")
    args = machine_args(guest, exported_accel(guest), "vmlinuz", "initrd.cpio", "out.img",
                        guest.kernel_cmdline(job_timeout(timeout_s)))
    script = outdir / "run.sh"
    script.write_text(EXPORT_SCRIPT.format(disk_mb=out_disk_mb, timeout=int(timeout_s),
                                           args=shlex.join(args)))
    script.chmod(0o755)
    return script


def collect(outdir, timeout_s: float, accel: str) -> BootResult:
    """The result of an exported run that its runner finished (qemu.rc
    written); the kit (kernel, initramfs) is removed."""
    outdir = Path(outdir)
    rc = int((outdir / "qemu.rc").read_text().strip())
    how = "timeout" if rc == 137 else "exited"     # timeout -s KILL: 128 + 9
    for f in ("vmlinuz", "initrd.cpio"):
        (outdir / f).unlink(missing_ok=True)
    console = (outdir / "console.log").read_text(errors="replace")
    return _result(outdir, how, rc, timeout_s, job_timeout(timeout_s),
                   ["exported run, collected"], accel=accel,
                   guest_job_uptime_s=Markers.of(console).job_uptime)
