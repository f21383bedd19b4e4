"""Campaign plots: time to first detection as survival curves, and the
detection rate against a swept knob.

The curves are computed here from a campaign's summary (survival_curves(),
rate_series()) and drawn with matplotlib (Debian's python3-matplotlib, which
scripts/install-deps installs) into PNG and SVG files beside report.md.

A survival curve is the Kaplan-Meier share of runs that have not found the
race yet, against seconds of stress: runs that found nothing are censored
at their budget, so a curve that stays at 1 says "not found in that long",
not "absent".  Points are grouped by scenario, kernel and stressor
arguments; each group is one panel with injection on and off.
"""

from . import censored

FORMATS = ("png", "svg")


def _group(p) -> tuple:
    return p["scenario"], p["kernel"], tuple(p["args"])


def _title(group: tuple) -> str:
    name, kernel, args = group
    return f"{name} on {kernel}" + (f" ({' '.join(args)})" if args else "")


def _knobs(p) -> dict:
    """{"site.knob": value} of a point, in site then knob order."""
    return {f"{site}.{k}": v for site, kv in sorted(p["knobs"].items())
            for k, v in sorted(kv.items())}


def _label(p) -> str:
    knobs = ", ".join(f"{name}={v}" for name, v in _knobs(p).items())
    return ("injection on" if p["inject"] else "injection off") + (f", {knobs}" if knobs else "")


def _runs(p) -> list:
    return censored.of_summaries(p["runs"])


def survival_curves(points: list) -> dict:
    """{panel title: [(label, xs, ys)]}: a step curve per point from (0, 1)
    through each Kaplan-Meier step to the longest run, for points with
    any conclusive run."""
    panels = {}
    for p in points:
        runs = _runs(p)
        if not runs:
            continue
        xs, ys = [0.0], [1.0]
        for t, s in censored.kaplan_meier(runs):
            xs.append(t)
            ys.append(s)
        end = max(r.t for r in runs)
        if end > xs[-1]:
            xs.append(end)
            ys.append(ys[-1])
        panels.setdefault(_title(_group(p)), []).append((_label(p), xs, ys))
    return panels


def rate_series(points: list) -> dict:
    """{(panel title, "site.knob"): [(value, rate, lo, hi)]} in detections per
    stress minute, for each knob swept over two or more values among the
    injected points of a group while their other knobs stay the same."""
    out = {}
    groups = {}
    for p in points:
        if p["inject"]:
            groups.setdefault(_group(p), []).append(p)
    for group, ps in groups.items():
        flats = [_knobs(p) for p in ps]
        for name in dict.fromkeys(k for f in flats for k in f):
            if any(name not in f for f in flats) or len({f[name] for f in flats}) < 2:
                continue
            rest = {tuple((k, v) for k, v in f.items() if k != name) for f in flats}
            if len(rest) != 1:          # another knob varies too
                continue
            series = []
            for p, f in zip(ps, flats):
                runs = _runs(p)
                if sum(r.t for r in runs) > 0:
                    rt = censored.rate(runs)
                    series.append((f[name], 60 * rt["per_s"], 60 * rt["lo"], 60 * rt["hi"]))
            if len(series) >= 2:
                out[(_title(group), name)] = sorted(series)
    return out

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, out, stem: str) -> list:
    names = []
    for fmt in FORMATS:
        name = f"{stem}.{fmt}"
        fig.savefig(out / name, dpi=80, metadata={"Date": None} if fmt == "svg" else None)
        names.append(name)
    plt.close(fig)
    return names


def write(doc: dict, out) -> list:
    """Draw the campaign's plots into directory out; returns the file
    names, [] when there is nothing to draw.  Raises ImportError without
    matplotlib."""
    panels = survival_curves(doc["points"])
    series = rate_series(doc["points"])
    if not panels and not series:
        return []
    plt = _pyplot()
    names = []
    if panels:
        fig, axes = plt.subplots(len(panels), 1, figsize=(7, 3 * len(panels)), squeeze=False)
        for ax, (title, curves) in zip(axes[:, 0], panels.items()):
            for label, xs, ys in curves:
                ax.step(xs, ys, where="post", label=label)
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("seconds of stress")
            ax.set_ylabel("runs not yet detected")
            ax.set_ylim(-0.02, 1.02)
            ax.legend(fontsize=8)
        fig.tight_layout()
        names += _save(plt, fig, out, "survival")
    for i, ((title, knob), pts) in enumerate(series.items()):
        fig, ax = plt.subplots(figsize=(7, 3))
        xs = [x for x, _, _, _ in pts]
        ys = [y for _, y, _, _ in pts]
        err = [[y - lo for _, y, lo, _ in pts], [hi - y for _, y, _, hi in pts]]
        ax.errorbar(xs, ys, yerr=err, fmt="o-", capsize=3)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(knob)
        ax.set_ylabel("detections per stress minute (95 %)")
        fig.tight_layout()
        names += _save(plt, fig, out, f"rate-{i + 1}")
    return names
