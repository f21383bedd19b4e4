"""Scenarios: one TOML file per race reproduction (docs/scenarios.md).

A scenario names its workload (one of the project's stressors with its
arguments, or any guest command), the sites it defines at run time, the
guest kernel command line, the module knobs per site, the trace events, and
the verdict expected on each kernel.  job_script() turns it into the guest's
/job/run.sh.
"""

import dataclasses
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import guest as guestcfg
from . import kernels, module_names, sitedef, timeline
from .tools import ToolError, toml_file, toml_names

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
VERDICTS = ("clean", "corruption", "reproduced", "kernel-health")
TARGET = "@target"          # knob value: inode number of target_file
SUMS = ("overlaps", "injections")   # evidence names summed over the scenario's sites
_COMPARISON = re.compile(r"^\s*([\w.]+)\s*(>=|>)\s*(\d+)\s*$")


@dataclass(frozen=True)
class Evidence:
    """That the competing path reached the window: comparisons that must all
    hold, e.g. "overlaps > 0" or "unmap_incomplete.large_unmaps > 0 and
    change_pte_range.after_clear.rv_meetings > 0".  A clean run without it is
    inconclusive: nothing raced, so nothing was shown."""
    rule: str
    terms: tuple            # ((name, op, n), ...)

    def value(self, counters: dict):
        """The first term's value (what reports show), None if unknown."""
        return counters.get(self.terms[0][0])

    def met(self, counters: dict) -> bool:
        for name, op, n in self.terms:
            v = counters.get(name)
            if v is None or not (v >= n if op == ">=" else v > n):
                return False
        return True


@dataclass
class Scenario:
    name: str
    description: str
    race: str
    stressor: str                   # a userspace/build/ binary, or "" with command
    args: list
    duration: float
    sites: dict                     # site name -> {knob: value}
    expect: dict                    # kernel name -> verdict
    evidence: dict                  # "default" or kernel name -> Evidence
    command: str = ""               # the workload: a guest shell command
    binaries: list = field(default_factory=list)    # userspace/build/ names
    files: list = field(default_factory=list)       # host paths, to /usr/bin
    site_defs: list = field(default_factory=list)   # sitedef.SiteDef
    site_knobs: dict = field(default_factory=dict)  # site -> its knob names
    guest: guestcfg.Guest = guestcfg.DEFAULT
    path: Path = None
    target_file: str = ""
    trace_events: list = field(default_factory=list)
    oracle: str = ""                # "<oracle>.<counter>" reported beside the verdict
    expect_oracle: dict = field(default_factory=dict)   # kernel -> "zero" | "nonzero"
    module: dict = field(default_factory=dict)  # [module]: global knob -> value

    def with_extra_args(self, extra) -> "Scenario":
        """The scenario with more stressor arguments after its own: the
        stressor takes the last value of an option, so they override."""
        if extra and self.command:
            raise ToolError(f"{self.name}: stressor arguments need a stressor; "
                            f"this scenario's workload is a command")
        return dataclasses.replace(self, args=[*self.args, *extra])

    def with_knobs(self, overrides: dict) -> "Scenario":
        """The scenario with some of its sites' knobs set to other values
        ({site: {knob: value}}, sites it already has)."""
        sites = {s: dict(k) for s, k in self.sites.items()}
        for site, knobs in overrides.items():
            sites[site].update(knobs)
        return dataclasses.replace(self, sites=sites)

    def evidence_for(self, kernel: str) -> Evidence:
        return self.evidence.get(kernel) or self.evidence["default"]

    def workload(self) -> str:
        """The workload as a shell command line, for reports."""
        return self.command or shlex.join([self.stressor, *self.args])

    def stressor_names(self) -> list:
        """userspace/build/ binaries the guest needs."""
        return ([self.stressor] if self.stressor else []) + self.binaries


# key -> (type, required)
KEYS = {
    "description": (str, True), "race": (str, True), "stressor": (str, False),
    "command": (str, False), "binaries": (list, False), "site_defs": (list, False),
    "cmdline": (str, False), "args": (list, False), "duration": ((int, float), False),
    "target_file": (str, False), "trace_events": (list, False), "oracle": (str, False),
    "sites": (dict, True), "expect": (dict, False), "expect_oracle": (dict, False),
    "evidence": (dict, True), "guest": (dict, False), "module": (dict, False),
}


def names() -> list:
    return toml_names(SCENARIO_DIR)


def resolve(spec: str) -> Path:
    """A scenario's file: a path (has a '/' or ends in .toml) or a name in
    scripts/scenarios/."""
    return toml_file(spec, SCENARIO_DIR, "scenario")


def _evidence_names(sites) -> set:
    mn = module_names.names()
    return ({*SUMS} | {f"{s}.{c}" for s in sites for c in mn.counters}
            | {f"{o}.{c}" for o, cs in mn.oracles.items() for c in cs})


def parse_evidence(rule, sites, where: str) -> Evidence:
    if not isinstance(rule, str) or not rule.strip():
        raise ToolError(f"{where}: an evidence rule is a string like 'overlaps > 0'")
    known = _evidence_names(sites)
    terms = []
    for part in rule.split(" and "):
        m = _COMPARISON.match(part)
        if not m:
            raise ToolError(f"{where}: bad evidence term '{part.strip()}' "
                            f"(NAME > N or NAME >= N, joined by ' and ')")
        if m.group(1) not in known:
            raise ToolError(f"{where}: unknown evidence counter '{m.group(1)}' (one of "
                            f"{', '.join(sorted(known))})")
        terms.append((m.group(1), m.group(2), int(m.group(3))))
    return Evidence(rule.strip(), tuple(terms))


def _check(d: dict, where: str):
    """Everything in the file, before any guest boots."""
    for k, v in d.items():
        if k not in KEYS:
            raise ToolError(f"{where}: unknown key '{k}' (known: {', '.join(KEYS)})")
        if not isinstance(v, KEYS[k][0]):
            raise ToolError(f"{where}: '{k}' has the wrong type")
    missing = [k for k, (_, req) in KEYS.items() if req and k not in d]
    if missing:
        raise ToolError(f"{where}: missing key '{missing[0]}'")
    if ("stressor" in d) == ("command" in d):
        raise ToolError(f"{where}: the workload is either 'stressor' or 'command', "
                        f"exactly one of them")
    if "args" in d and "command" in d:
        raise ToolError(f"{where}: 'args' are a stressor's; a command holds its own")
    for k, v in d.get("guest", {}).items():
        if k not in guestcfg.FIELDS:
            raise ToolError(f"{where}: [guest] unknown key '{k}' "
                            f"(known: {', '.join(guestcfg.FIELDS)})")
        if not isinstance(v, guestcfg.FIELDS[k]):
            raise ToolError(f"{where}: [guest] '{k}' has the wrong type")
    for fs in d.get("guest", {}).get("filesystems", []):
        why = guestcfg.check_filesystem(str(fs))
        if why:
            raise ToolError(f"{where}: [guest] {why}")
    if "swap" in d.get("guest", {}):
        why = guestcfg.check_swap(d["guest"]["swap"])
        if why:
            raise ToolError(f"{where}: [guest] {why}")
    # [module]: the module's global knobs (docs/knobs.md), accepted from 1 to
    # their largest value; job_script() writes them before any site's knobs
    limits = module_names.names().limits
    for k, v in d.get("module", {}).items():
        if k not in limits:
            raise ToolError(f"{where}: [module] unknown knob '{k}' "
                            f"(known: {', '.join(limits)})")
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= limits[k]:
            raise ToolError(f"{where}: [module] {k} must be an integer from 1 to {limits[k]}")
    site_knobs = all_site_knobs(site_definitions(d, where))
    for site, knobs in d["sites"].items():
        if site not in site_knobs:
            raise ToolError(f"{where}: unknown site '{site}' (built in or in site_defs: "
                            f"{', '.join(site_knobs)})")
        if not isinstance(knobs, dict):
            raise ToolError(f"{where}: [sites.\"{site}\"] must be a table of knobs")
        for knob in knobs:
            if knob == "enable":
                raise ToolError(f"{where}: {site}: 'enable' is set by mmrace run "
                                f"(--no-inject leaves it 0)")
            if knob not in site_knobs[site]:
                raise ToolError(f"{where}: {site}: unknown knob '{knob}' (this site has: "
                                f"{', '.join(sorted(site_knobs[site] - {'enable'}))})")
    for b in d.get("binaries", []):
        if not isinstance(b, str) or not b:
            raise ToolError(f"{where}: 'binaries' is a list of names or paths")
    known_k = set(kernels.names())
    for table in ("expect", "expect_oracle", "evidence"):
        for k in d.get(table, {}):
            if k not in known_k and not (table == "evidence" and k == "default"):
                raise ToolError(f"{where}: [{table}] names unknown kernel '{k}' "
                                f"(known: {', '.join(sorted(known_k))})")
    if "default" not in d["evidence"]:
        raise ToolError(f"{where}: [evidence] needs a 'default' rule")
    bad = {k: v for k, v in d.get("expect", {}).items() if v not in VERDICTS}
    if bad:
        raise ToolError(f"{where}: bad expected verdict {bad} (one of {', '.join(VERDICTS)})")
    oracle, eo = d.get("oracle", ""), d.get("expect_oracle", {})
    mn = module_names.names()
    if oracle:
        o, _, c = oracle.partition(".")
        if c not in mn.oracles.get(o, ()):
            raise ToolError(f"{where}: unknown oracle counter '{oracle}' (known: " + ", ".join(
                f"{n}.{x}" for n, cs in mn.oracles.items() for x in cs) + ")")
    if eo and (not oracle or any(v not in ("zero", "nonzero") for v in eo.values())):
        raise ToolError(f"{where}: expect_oracle needs oracle = '<oracle>.<counter>' "
                        f"and values zero or nonzero")
    if any(v == TARGET for knobs in d["sites"].values() for v in knobs.values()) \
            and not d.get("target_file"):
        raise ToolError(f"{where}: a knob uses {TARGET} but target_file is not set")


def site_definitions(d: dict, where: str) -> list:
    """The scenario's site_defs, each checked as the module checks it."""
    mn = module_names.names()
    defs = []
    for text in d.get("site_defs", []):
        if not isinstance(text, str):
            raise ToolError(f"{where}: site_defs is a list of definition strings")
        try:
            sd = sitedef.parse(text, mn.types)
        except ValueError as e:
            raise ToolError(f"{where}: site_defs: {e}: {text}") from None
        if sd.name in mn.sites or sd.name in (x.name for x in defs):
            raise ToolError(f"{where}: site_defs: a site named {sd.name} exists")
        defs.append(sd)
    return defs


def all_site_knobs(defs: list) -> dict:
    """site name -> knob names, for the built-in sites and @defs."""
    mn = module_names.names()
    return {**mn.sites, **{sd.name: mn.knobs_of(sd) for sd in defs}}


def _binaries(d: dict, path: Path) -> tuple:
    """(userspace/build/ names, host files): an entry with a '/' is a file
    relative to the scenario's directory and must exist."""
    names, files = [], []
    for b in d.get("binaries", []):
        if "/" not in b:
            names.append(b)
            continue
        f = (path.parent / b).resolve()
        if not f.is_file():
            raise ToolError(f"{path}: binaries: {b}: no such file ({f})")
        files.append(f)
    return names, files


def load(spec: str) -> Scenario:
    """A scenario by name or path, checked as a whole; ToolError if bad."""
    path = resolve(spec)
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ToolError(f"{path}: {e}") from None
    _check(d, str(path))
    sites = d["sites"]
    defs = site_definitions(d, str(path))
    names, files = _binaries(d, path)
    return Scenario(name=path.stem, description=d["description"], race=d["race"],
                    stressor=d.get("stressor", ""), command=d.get("command", ""),
                    binaries=names, files=files, site_defs=defs,
                    site_knobs=all_site_knobs(defs),
                    args=[str(a) for a in d.get("args", [])],
                    duration=float(d.get("duration", 20)), sites=sites,
                    expect=d.get("expect", {}),
                    evidence={k: parse_evidence(v, sites, f"{path}: [evidence] {k}")
                              for k, v in d["evidence"].items()},
                    guest=guestcfg.from_table(d.get("guest", {}).copy()).replace(
                        cmdline=_cmdline(d)),
                    path=path, target_file=d.get("target_file", ""),
                    trace_events=d.get("trace_events", []), oracle=d.get("oracle", ""),
                    expect_oracle=d.get("expect_oracle", {}), module=d.get("module", {}))


# A scenario that expects kernel-health on some kernel boots every guest,
# on every kernel (its controls keep the same settings), so that the first
# sign of damage panics and the panic dumps the trace buffer to the console
# (a sick kernel never reaches trace-cmd extract; timeline.py reads the
# dump): a WARN, a bad page (taint B, 0x20), a soft lockup, an RCU stall,
# a hung task.
STOP_AT_DAMAGE = ("ftrace_dump_on_oops panic_on_warn=1 panic_on_taint=0x20 softlockup_panic=1 "
                  "sysctl.kernel.panic_on_rcu_stall=1 hung_task_panic=1")


def _cmdline(d: dict) -> str:
    extra = [STOP_AT_DAMAGE] if "kernel-health" in d.get("expect", {}).values() else []
    return " ".join([d.get("cmdline", ""), *extra]).strip()


def _knob_value(v) -> str:
    if v == TARGET:
        return '"$TARGET_INO"'
    if isinstance(v, bool):
        return "1" if v else "0"
    return shlex.quote(str(v))


# The stress starts: a kernel log line and a trace marker at the same moment
# (timeline.py puts findings and dumped trace events on one clock with them).
_STRESS_START = [
    f'echo "{timeline.MARK}" > /dev/kmsg',
    f'echo "{timeline.MARK}" > $T/trace_marker 2>/dev/null',
]


def job_script(sc: Scenario, inject: bool, until_first: bool, duration: float) -> str:
    """The guest job: set knobs, start tracing, stress, collect into /out."""
    q = shlex.quote
    lines = [
        "#!/bin/sh",
        f"# generated by mmrace from {sc.path.name if sc.path else sc.name}",
        "D=/sys/kernel/debug/mmrace",
        "T=/sys/kernel/tracing",
        'say() { echo "mmrace-job: $*"; }',
        'fail() { say "error: $*"; echo "$*" > /out/job.error; exit 2; }',
        'knob() { echo "$3" > "$D/$1/$2" || fail "knob $1/$2 rejected \'$3\'"; }',
        '[ -d "$D" ] || fail "mmrace.ko is not loaded (see /out/insmod.log)"',
    ]
    # a refused definition: the module says why in the kernel log
    for sd in sc.site_defs:
        lines.append(f'echo {q(sd.text)} > "$D/site_defs" || fail "site_defs refused '
                     f'{sd.name}: $(dmesg | grep "site_defs: refused" | tail -1 | '
                     f'sed "s/.*refused //")"')
    lines += [
        'cat "$D/sites" > /out/sites.txt',
        'echo 1 > "$D/reset"',
        # when an RCU stall is first reported (timeline.py)
        f'say "{timeline.RCU_TIMEOUT[len("mmrace-job: "):]}$(cat '
        '/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout 2>/dev/null)"',
    ]
    if sc.target_file:
        lines += [f": > {q(sc.target_file)} || fail 'cannot create {sc.target_file}'",
                  f"TARGET_INO=$(stat -c %i {q(sc.target_file)})"]
    for k, v in sc.module.items():
        lines.append(f'echo {v} > "$D/{k}" || fail "module knob {k} rejected {v}"')
    for site, knobs in sc.sites.items():
        lines.append(f'grep -q "^{site} state=idle" /out/sites.txt || '
                     f'fail "site {site} is not resolved on this kernel"')
        for k, v in knobs.items():
            lines.append(f"knob {q(site)} {q(k)} {_knob_value(v)}")
        if inject:
            lines.append(f"knob {q(site)} enable 1")
    lines += [
        'EV=""',
        f"for e in {' '.join(q(e) for e in sc.trace_events)}; do",
        '\tcase "$e" in *:*) p="$T/events/${e%%:*}/${e#*:}" ;; *) p="$T/events/$e" ;; esac',
        '\t[ -d "$p" ] && EV="$EV -e $e"',
        "done",
        'trace-cmd start -b 4096 $EV > /out/trace-cmd.log 2>&1 || say "trace-cmd start failed"',
    ]
    if sc.command:
        # any command: its exit status is the result, its output a log
        lines += [
            f"say {q('workload: ' + sc.command)}",
            *_STRESS_START,
            "cut -d' ' -f1 /proc/uptime > /out/workload.time",
            *(["touch /out/workload.until_first"] if until_first else []),
            f"MMRACE_DURATION={duration:g} {'MMRACE_UNTIL_FIRST=1 ' if until_first else ''}"
            f"sh -c {q(sc.command)} > /out/workload.log 2>&1",
            "echo $? > /out/stressor.rc",
            "cut -d' ' -f1 /proc/uptime >> /out/workload.time",
        ]
    else:
        cmd = [sc.stressor, *sc.args, "--duration", f"{duration:g}", "--json"]
        if until_first:
            cmd.append("--until-first")
        lines += [
            f"say {q('stress: ' + ' '.join(cmd))}",
            *_STRESS_START,
            f"{' '.join(q(c) for c in cmd)} > /out/stressor.json",
            "echo $? > /out/stressor.rc",
        ]
    lines.append("echo 0 > $T/tracing_on")
    for site in sc.sites:
        lines.append(f"echo 0 > \"$D/{site}/enable\"")
    lines += [
        'cat "$D/stats" > /out/stats.txt',
        'cat "$D/oracles" > /out/oracles.txt',
    ]
    for sd in sc.site_defs:
        lines.append(f'echo {q("-:" + sd.name)} > "$D/site_defs" || say "cannot delete {sd.name}"')
    lines += [
        "trace-cmd extract -o /out/trace.dat >> /out/trace-cmd.log 2>&1 "
        '|| say "trace-cmd extract failed"',
        'say "done: stressor rc=$(cat /out/stressor.rc)"',
    ]
    return "\n".join(lines) + "\n"
