"""Campaign files: which runs a campaign makes, checked before any boot.

A campaign file (TOML, in scripts/campaigns/ or anywhere by path) lists
cells; each cell is a scenario on some kernels, with injection on and/or
off, and optional knob sweeps.  Expanded, a campaign is a list of points
(scenario, kernel, injection, knob values), each repeated `repeats` times:

    description = "R1 on and off"
    repeats = 20                # runs per point
    until_first = true          # each run stops at its first detection
    duration = 20               # optional: per-run budget, s (else the scenario's)

    [[cell]]
    scenario = "zap-lostwrite"  # a name in scripts/scenarios/ or a path
    kernels = ["debian-6.1", "debian-6.12"]
    inject = [true, false]      # default [true, false]
    args = ["--pages", "1024"]  # optional: stressor arguments added
    if_cached = true            # optional: leave out kernels not fetched or built yet
    [cell.sweep]                # optional: "site.knob" = [values]; injected points only
    "zap_pte_range.before_flush.delay_us" = [1000, 3000]

A sweep multiplies the injected points (every combination of its lists);
the points without injection do not depend on knobs and are made once.
Every point has a stable directory name, so a campaign run again into the
same directory finds the runs it already finished (cli_campaign.py).
"""

import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import kernels, scenario
from .tools import ToolError, toml_file, toml_names

CAMPAIGN_DIR = Path(__file__).resolve().parents[1] / "campaigns"
KEYS = {"description": str, "repeats": int, "until_first": bool, "duration": (int, float),
        "cell": list}
CELL_KEYS = {"scenario": str, "kernels": list, "inject": list, "args": list, "sweep": dict,
             "if_cached": bool}


@dataclass(frozen=True)
class Point:
    scenario: str           # spec: name or path
    name: str               # the scenario's name
    kernel: str
    inject: bool
    knobs: tuple = ()       # ((site, knob, value), ...)
    args: tuple = ()        # stressor arguments added

    def key(self) -> str:
        """Directory name, stable across runs of the campaign."""
        parts = [self.name, self.kernel, "on" if self.inject else "off"]
        parts += [f"{s}.{k}={v}" for s, k, v in self.knobs]
        if self.args:
            parts.append("args=" + "_".join(self.args))
        return re.sub(r"[^\w.=+-]", "_", "-".join(parts))

    def knob_overrides(self) -> dict:
        out = {}
        for site, knob, value in self.knobs:
            out.setdefault(site, {})[knob] = value
        return out


@dataclass(frozen=True)
class Campaign:
    name: str
    description: str
    repeats: int
    until_first: bool
    duration: float         # None: each scenario's own
    points: tuple
    skipped: tuple = ()     # "scenario on kernel" left out by if_cached cells


def names() -> list:
    return toml_names(CAMPAIGN_DIR)


def resolve(spec: str) -> Path:
    return toml_file(spec, CAMPAIGN_DIR, "campaign")


def _typed(d: dict, keys: dict, where: str):
    for k, v in d.items():
        if k not in keys:
            raise ToolError(f"{where}: unknown key '{k}' (known: {', '.join(keys)})")
        if not isinstance(v, keys[k]) or isinstance(v, bool) and keys[k] is int:
            raise ToolError(f"{where}: '{k}' has the wrong type")


def _sweep(sc, sweep: dict, where: str) -> list:
    """[((site, knob, value), ...)] for every combination of the lists."""
    axes = []
    for name, values in sweep.items():
        site, _, knob = name.rpartition(".")
        if site not in sc.sites:
            raise ToolError(f"{where}: sweep '{name}': site '{site}' is not one of the "
                            f"scenario's ({', '.join(sc.sites)})")
        if knob not in sc.site_knobs.get(site, ()) or knob == "enable":
            raise ToolError(f"{where}: sweep '{name}': unknown knob '{knob}'")
        if not isinstance(values, list) or not values:
            raise ToolError(f"{where}: sweep '{name}' needs a non-empty list of values")
        axes.append([(site, knob, v) for v in values])
    return [tuple(c) for c in itertools.product(*axes)] if axes else [()]


def cell_points(cell: dict, where: str) -> list:
    _typed(cell, CELL_KEYS, where)
    if "scenario" not in cell or not cell.get("kernels"):
        raise ToolError(f"{where}: a cell needs 'scenario' and a non-empty 'kernels'")
    sc = scenario.load(cell["scenario"])
    known = set(kernels.names())
    for k in cell["kernels"]:
        if k not in known:
            raise ToolError(f"{where}: unknown kernel '{k}' (known: {', '.join(sorted(known))})")
    inject = cell.get("inject", [True, False])
    if not inject or any(not isinstance(v, bool) for v in inject):
        raise ToolError(f"{where}: 'inject' is a list of true and/or false")
    args = tuple(str(a) for a in cell.get("args", ()))
    combos = _sweep(sc, cell.get("sweep", {}), where)
    return [Point(cell["scenario"], sc.name, k, on, knobs if on else (), args)
            for k in cell["kernels"] for on in dict.fromkeys(inject)
            for knobs in (combos if on else [()])]


def cached_only(points: list) -> tuple:
    """(points whose kernel is already fetched or built, "scenario on kernel"
    for the kernels left out)."""
    have = {p.kernel: kernels.is_cached(p.kernel) for p in points}
    left = dict.fromkeys(f"{p.name} on {p.kernel}" for p in points if not have[p.kernel])
    return [p for p in points if have[p.kernel]], list(left)


def from_table(d: dict, name: str, where: str) -> Campaign:
    _typed(d, KEYS, where)
    if not d.get("cell"):
        raise ToolError(f"{where}: no [[cell]]")
    repeats = d.get("repeats", 20)
    if repeats < 1:
        raise ToolError(f"{where}: repeats must be at least 1")
    points, skipped = [], []
    for i, c in enumerate(d["cell"]):
        ps = cell_points(c, f"{where}: cell {i + 1}")
        if c.get("if_cached"):
            ps, left = cached_only(ps)
            skipped += left
        points += ps
    if not points:
        raise ToolError(f"{where}: no cell has a kernel in the cache")
    dup = {p.key() for p in points if sum(q.key() == p.key() for q in points) > 1}
    if dup:
        raise ToolError(f"{where}: the same point twice: {sorted(dup)[0]}")
    duration = d.get("duration")
    return Campaign(name=name, description=d.get("description", ""), repeats=repeats,
                    until_first=d.get("until_first", False),
                    duration=None if duration is None else float(duration),
                    points=tuple(points), skipped=tuple(skipped))


def load(spec: str) -> Campaign:
    """A campaign by name or path, checked as a whole; ToolError if bad."""
    path = resolve(spec)
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ToolError(f"{path}: {e}") from None
    return from_table(d, path.stem, str(path))
