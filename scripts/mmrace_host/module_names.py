"""The module's user-facing names, read from its own C tables.

The host checks scenario files against these before any guest boots, so a
misspelled site, knob or counter is a one-line error instead of a job that
fails after a boot.  They come from the module's source, not from a second
list kept here by hand:

  module/site_table.c  mmrace_site_defs[]: .name and .filters of each site
  module/debugfs.c     knobs[]: KNOB(name, type, min, max, filter), and
                       mmrace_counter_names[]
  module/oracles.c     the "<oracle> <counter>=%lld ..." line of the oracles file
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parents[2] / "module"

_SITE = re.compile(r'\.name\s*=\s*"([^"]+)",(.*?)\n\t\}', re.S)
_FILTERS = re.compile(r"\.filters\s*=\s*([^,]+),")
_KNOB_TABLE = re.compile(r"knobs\[\]\s*=\s*\{(.*?)\};", re.S)
# KNOB(name, type, min, max, filter): the name and the last argument
_KNOB = re.compile(r"KNOB\(\s*(\w+)\s*,[^()]*,\s*(\w+)\s*\)")
_COUNTERS = re.compile(r"mmrace_counter_names\[[^]]*\]\s*=\s*\{(.*?)\};", re.S)
_ORACLE = re.compile(r'seq_printf\(m,\s*"(\w+) ((?:\w+=%\w+ ?)+)\\n"')


@dataclass(frozen=True)
class Names:
    sites: dict         # site name -> frozenset of its knob names
    counters: tuple     # per-site counters (debugfs stats)
    oracles: dict       # oracle name -> tuple of its counters


def _flags(expr: str) -> set:
    return {f.strip() for f in expr.split("|")} - {"0"}


def parse(module_dir: Path = MODULE_DIR) -> Names:
    site_src = (module_dir / "site_table.c").read_text()
    debugfs = (module_dir / "debugfs.c").read_text()
    oracles = (module_dir / "oracles.c").read_text()
    table = _KNOB_TABLE.search(debugfs)
    counters = _COUNTERS.search(debugfs)
    if not table or not counters:
        raise RuntimeError(f"{module_dir}/debugfs.c: knobs[] or "
                           f"mmrace_counter_names[] not found")
    knobs = [(n, _flags(f)) for n, f in _KNOB.findall(table.group(1))]
    sites = {}
    for name, body in _SITE.findall(site_src):
        m = _FILTERS.search(body)
        have = _flags(m.group(1)) if m else set()
        sites[name] = frozenset(k for k, need in knobs if need <= have)
    if not sites or not knobs:
        raise RuntimeError(f"{module_dir}: no sites or no knobs found")
    return Names(
        sites=sites,
        counters=tuple(re.findall(r'"(\w+)"', counters.group(1))),
        oracles={o: tuple(re.findall(r"(\w+)=", cs)) for o, cs in _ORACLE.findall(oracles)})


@lru_cache(maxsize=None)
def names() -> Names:
    return parse()
