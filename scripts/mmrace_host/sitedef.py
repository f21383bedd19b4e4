"""Site definitions, checked on the host before a guest boots.

The module's definition language (module/site_def.c, docs/sites.md):

    p:NAME SYMBOL[|SYMBOL...][+OFFS] [FIELD=VALUE ...] [# WINDOW]
    r:NAME SYMBOL[|SYMBOL...] [FIELD=VALUE ...] [# WINDOW]

parse() applies the module's rules and gives the same reasons, so a bad
definition in a scenario file is a one-line error here rather than a refused
write in the guest.  What only the guest kernel can tell (does the symbol
exist, can it be probed) the guest tells: the job fails with the module's
reason from the kernel log.
"""

import re
from dataclasses import dataclass

MAX_ALTS = 4
MAX_CALLERS = 4
NAME_LEN = 48
DEF_MAX = 480           # bytes of one write(2) to site_defs, newline included
MAX_ARG = 6
KSYM_NAME_LEN = 512
FIELDS = ("caller", "object", "scope", "overlap", "overlap_caller", "key")
INO = "MMRACE_F_INO"
KEY = "MMRACE_F_KEY"

_SYMBOL = re.compile(r"^[A-Za-z0-9_.]+$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class SiteDef:
    name: str
    text: str
    at_return: bool
    filters: frozenset      # MMRACE_F_* names the definition's types allow


def _symbol(s: str):
    if not _SYMBOL.match(s) or len(s) >= KSYM_NAME_LEN:
        raise ValueError("bad symbol name")


def _alts(s: str):
    syms = s.split("|")
    for sym in syms:
        _symbol(sym)
    if len(syms) > MAX_ALTS:
        raise ValueError("too many alternatives for one symbol")


def _callers(s: str):
    groups = s.split(",")
    if len(groups) > MAX_CALLERS:
        raise ValueError("too many callers")
    for g in groups:
        _alts(g)


def _fetch(s: str, types: dict):
    """(arg, type filters) of "$argN:TYPE" / "$retval:TYPE" (arg 0)."""
    loc, sep, tname = s.partition(":")
    why = "a value is $argN:TYPE or $retval:TYPE"
    if not sep:
        raise ValueError(why)
    if loc == "$retval":
        arg = 0
    elif re.fullmatch(r"\$arg[0-9]+", loc) and 1 <= int(loc[4:]) <= MAX_ARG:
        arg = int(loc[4:])
    else:
        raise ValueError(why)
    if tname not in types:
        raise ValueError(f"unknown type (one of {', '.join(types)})")
    return arg, types[tname]


def _probe_fetch(s: str, types: dict):
    sym, sep, rest = s.partition(":")
    _alts(sym)
    if not sep:
        return None
    arg, filters = _fetch(rest, types)
    if not arg:
        raise ValueError("scope and overlap probes are at entry: no $retval")
    return filters


def parse(text: str, types: dict) -> SiteDef:
    """The definition @text, checked as the module checks it; ValueError
    with the module's reason if bad.  @types: type name -> its filters."""
    if len(text.encode()) + 1 > DEF_MAX:
        raise ValueError(f"longer than {DEF_MAX - 1} characters")
    if any(not (c.isprintable() or c == "\t") or ord(c) > 126 for c in text):
        raise ValueError("one line of printable text")
    body, _, _ = text.partition("#")
    toks = body.split()
    if not toks or toks[0][:2] not in ("p:", "r:"):
        raise ValueError("expected p:NAME or r:NAME")
    at_return, name = toks[0][0] == "r", toks[0][2:]
    if not _NAME.match(name) or "." not in name or name[0] == "." \
            or len(name) >= NAME_LEN:
        raise ValueError("a site name is NAME.POINT of letters, digits, '_', '-', '.'")
    if len(toks) < 2:
        raise ValueError("expected the probe symbol")
    probe, plus, off = toks[1].partition("+")
    if plus:
        try:
            offset = int(off, 0)
        except ValueError:
            raise ValueError("bad offset") from None
        if "|" in probe:
            raise ValueError("an offset belongs to one symbol, not alternatives")
    else:
        offset = 0
    _alts(probe)
    seen, obj, scope = {}, None, None
    for tok in toks[2:]:
        field, eq, val = tok.partition("=")
        if not eq:
            raise ValueError("expected FIELD=VALUE")
        if field not in FIELDS:
            raise ValueError(f"unknown field (one of {', '.join(FIELDS)})")
        if field in seen:
            raise ValueError("field given twice")
        seen[field] = val
        if field in ("caller", "overlap_caller"):
            _callers(val)
        elif field == "object":
            obj = _fetch(val, types)
        elif field == "key":
            if val != "ino":
                raise ValueError("the only key= is ino")
        else:
            f = _probe_fetch(val, types)
            if field == "scope":
                scope = f
                if f is None:
                    raise ValueError("scope= needs $argN:TYPE")
    if at_return and offset:
        raise ValueError("r: probes a function's return: no offset")
    if offset and ("caller" in seen or obj):
        raise ValueError("an offset probe has no caller or arguments to read")
    if obj and not obj[0] and not at_return:
        raise ValueError("$retval needs an r: probe")
    if scope is not None and INO not in scope:
        raise ValueError("scope= needs a type that gives an inode")
    if "overlap_caller" in seen and "overlap" not in seen:
        raise ValueError("overlap_caller= without overlap=")
    if "key" in seen and scope is None and not (obj and INO in obj[1]):
        raise ValueError("key=ino needs an object= or scope= that gives an inode")
    filters = set(obj[1]) if obj else set()
    if scope is not None:
        filters.add(INO)
    if "key" in seen:
        filters.add(KEY)
    return SiteDef(name=name, text=text.strip(), at_return=at_return,
                   filters=frozenset(filters))
