"""The module's user-facing names, read from its own C tables.

The host checks scenario files against these before any guest boots, so a
misspelled site, knob or counter is a one-line error instead of a job that
fails after a boot.  They come from the module's source, not from a second
list kept here by hand:

  module/site_table.c  mmrace_builtin_defs[]: the built-in site definitions
  module/extract.c     types[]: { "name", filters, fetch } of each value type
  module/debugfs.c     knobs[]: KNOB(name, type, min, max, filter) and
                       CHOICE_KNOB(name, filter), mmrace_counter_names[],
                       and limits[]: the global knobs' largest values, each
                       named by the debugfs_create_file() that takes it
  module/mmrace.h      the #define a limit's largest value names
  module/oracles.c     oracles[]: { .name = "...", .counter = { "...", ... } }
                       of each oracle; its line in the oracles file adds missed=

A site's knobs follow from its definition (sitedef.py): those whose filter
the definition's types allow.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import sitedef

MODULE_DIR = Path(__file__).resolve().parents[2] / "module"

_DEFS = re.compile(r"mmrace_builtin_defs\[\]\s*=\s*\{(.*?)\};", re.S)
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ENTRY = re.compile(r'((?:\s*"(?:[^"\\]|\\.)*")+)\s*,')
_TYPES = re.compile(r"types\[\]\s*=\s*\{(.*?)\};", re.S)
_TYPE = re.compile(r'\{\s*"(\w+)",\s*(\w+),\s*\w+\s*\}')
_FLAG_MACRO = re.compile(r"#define\s+(F_\w+)\s+\(([^)]*)\)")
_KNOB_TABLE = re.compile(r"knobs\[\]\s*=\s*\{(.*?)\};", re.S)
# KNOB(name, type, min, max, filter) and CHOICE_KNOB(name, filter): the name
# and the last argument
_KNOB = re.compile(r"KNOB\(\s*(\w+)\s*,(?:[^()]*,)?\s*(\w+)\s*\)")
_LIMITS = re.compile(r"struct limit limits\[\]\s*=\s*\{(.*?)\};", re.S)
_LIMIT = re.compile(r"\{\s*&\w+,\s*(\w+),\s*\w+\s*\}")
_LIMIT_FILE = re.compile(r'debugfs_create_file\("(\w+)",[^;]*?&limits\[(\d+)\]')
# the one kernel constant a limit names
_KERNEL_CONSTANTS = {"USEC_PER_SEC": 1000000}
_COUNTERS = re.compile(r"mmrace_counter_names\[[^]]*\]\s*=\s*\{(.*?)\};", re.S)
_ORACLES = re.compile(r"struct oracle oracles\[\]\s*=\s*\{(.*?)\n\};", re.S)
_ORACLE = re.compile(r'\.name\s*=\s*"(\w+)",.*?\.counter\s*=\s*\{([^}]*)\}', re.S)


@dataclass(frozen=True)
class Names:
    sites: dict         # built-in site name -> frozenset of its knob names
    counters: tuple     # per-site counters (debugfs stats)
    oracles: dict       # oracle name -> tuple of its counters
    types: dict         # value type -> frozenset of the MMRACE_F_* it allows
    knobs: tuple        # ((knob, frozenset of the MMRACE_F_* it needs), ...)
    limits: dict        # global knob (max_delay_us, ...) -> its largest value; 1 is the least

    def knobs_of(self, d: sitedef.SiteDef) -> frozenset:
        """The knob files a site of definition @d has."""
        return frozenset(k for k, need in self.knobs if need <= d.filters)


def _flags(expr: str) -> set:
    """The names in "(A | B | \\\n C)"; a macro may continue on the next line."""
    return {f.strip() for f in expr.replace("\\", " ").strip("() ").split("|")} - {"0"}


def _types(extract: str) -> dict:
    macros = {m: _flags(v) for m, v in _FLAG_MACRO.findall(extract)}
    table = _TYPES.search(extract)
    if not table:
        raise RuntimeError("module/extract.c: types[] not found")
    return {n: frozenset(macros.get(f, _flags(f))) for n, f in _TYPE.findall(table.group(1))}


def _limits(debugfs: str, header: str) -> dict:
    """limits[] of debugfs.c: each debugfs file name -> its row's largest value."""
    table = _LIMITS.search(debugfs)
    if not table:
        raise RuntimeError("module/debugfs.c: limits[] not found")
    values = {**_KERNEL_CONSTANTS,
              **{m: int(v) for m, v in re.findall(r"#define\s+(\w+)\s+(\d+)\b", header)}}
    rows = [int(t) if t.isdigit() else values[t] for t in _LIMIT.findall(table.group(1))]
    return {name: rows[int(i)] for name, i in _LIMIT_FILE.findall(debugfs)}


def builtin_defs(site_src: str) -> list:
    """The definitions in mmrace_builtin_defs[], adjacent literals joined."""
    table = _DEFS.search(site_src)
    if not table:
        raise RuntimeError("module/site_table.c: mmrace_builtin_defs[] not found")
    body = _COMMENT.sub("", table.group(1))
    return ["".join(_STRING.findall(entry)) for entry in _ENTRY.findall(body)]


def parse(module_dir: Path = MODULE_DIR) -> Names:
    site_src = (module_dir / "site_table.c").read_text()
    debugfs = (module_dir / "debugfs.c").read_text()
    oracles = _ORACLES.search((module_dir / "oracles.c").read_text())
    types = _types((module_dir / "extract.c").read_text())
    table = _KNOB_TABLE.search(debugfs)
    counters = _COUNTERS.search(debugfs)
    if not oracles:
        raise RuntimeError(f"{module_dir}/oracles.c: oracles[] not found")
    if not table or not counters:
        raise RuntimeError(f"{module_dir}/debugfs.c: knobs[] or "
                           f"mmrace_counter_names[] not found")
    knobs = tuple((n, frozenset(_flags(f))) for n, f in _KNOB.findall(table.group(1)))
    limits = _limits(debugfs, (module_dir / "mmrace.h").read_text())
    partial = Names(sites={}, counters=(), oracles={}, types=types, knobs=knobs, limits=limits)
    sites = {}
    for text in builtin_defs(site_src):
        d = sitedef.parse(text, types)
        sites[d.name] = partial.knobs_of(d)
    if not sites or not knobs:
        raise RuntimeError(f"{module_dir}: no sites or no knobs found")
    return Names(
        sites=sites,
        counters=tuple(re.findall(r'"(\w+)"', counters.group(1))),
        oracles={o: (*re.findall(r'"(\w+)"', cs), "missed")
                 for o, cs in _ORACLE.findall(oracles.group(1))},
        types=types, knobs=knobs, limits=limits)


@lru_cache(maxsize=None)
def names() -> Names:
    return parse()
