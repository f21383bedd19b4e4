"""Statistics of repeated runs that may end without a detection.

A run either detects (at time t, its time to first detection) or is
censored at its budget: it says only "nothing before t".  Counting censored
runs as clean, or dropping them, biases every figure; these helpers keep
them:

- wilson(k, n): detections per run, with Wilson's score interval;
- kaplan_meier(runs): the survival curve S(t) = P(no detection by t) and
  its median, which exists only when S falls to 1/2 or below;
- rate(runs): detections per second of exposure under an exponential
  model (constant hazard), exposure summing every run's time to detection
  or censoring, with the exact Poisson (Garwood) interval;
- speedup(on, off): the ratio of the two rates with the exact conditional
  interval (given d_on + d_off detections, d_on is binomial); with no
  detection "off" only the lower bound is finite, the "found in N s vs not
  in M min" case.

Quantiles come from exact identities on integer parameters, solved by
bisection, so nothing beyond the standard library is needed: the chi-square
CDF with 2k degrees of freedom is a Poisson tail, and the beta CDF with
integer parameters is a binomial tail.  scripts/tests/test_censored.py
checks them against published values.
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054     # the standard normal's 0.975 quantile


@dataclass(frozen=True)
class Run:
    t: float            # seconds to the first detection, or to the end of the budget
    detected: bool


def of_summaries(summaries: list) -> list:
    """Runs from run summaries (summary.json): each conclusive run detected
    at its time to first detection, or censored at its stress time;
    inconclusive and failed runs say nothing either way."""
    return [Run(r["time_to_first_detection_s"], True)
            if r["time_to_first_detection_s"] is not None
            else Run(r["stress_seconds"] or 0, False)
            for r in summaries if r["verdict"] not in ("inconclusive", "error")]


def wilson(k: int, n: int, z: float = Z95) -> tuple:
    """Wilson score interval of the proportion k/n (0, 1 when n is 0)."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k} n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, mid - half), min(1.0, mid + half)


def kaplan_meier(runs) -> list:
    """[(t, S(t))] at each detection time, S just after it (product-limit)."""
    out, s = [], 1.0
    at_risk = len(runs)
    for t in sorted({r.t for r in runs}):
        d = sum(1 for r in runs if r.t == t and r.detected)
        if d:
            s *= 1 - d / at_risk
            out.append((t, s))
        at_risk -= sum(1 for r in runs if r.t == t)
    return out


def km_median(runs):
    """First time S(t) <= 1/2, or None when the curve stays above it."""
    return next((t for t, s in kaplan_meier(runs) if s <= 0.5), None)


def _logsum(logs) -> float:
    """log(sum(exp(l) for l in logs)), without overflow or underflow."""
    logs = list(logs)
    top = max(logs)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in logs))


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k), X ~ Poisson(mu), summed in log space (any mu)."""
    if k < 0:
        return 0.0
    if mu == 0:
        return 1.0
    return min(1.0, math.exp(_logsum(-mu + i * math.log(mu) - math.lgamma(i + 1)
                                     for i in range(k + 1))))


def _binom_sf(a: int, n: int, x: float) -> float:
    """P(X >= a), X ~ Binomial(n, x), summed in log space."""
    if x <= 0:
        return 0.0 if a > 0 else 1.0
    if x >= 1:
        return 1.0
    lc = math.lgamma(n + 1)
    return min(1.0, math.exp(_logsum(lc - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                                     + i * math.log(x) + (n - i) * math.log1p(-x)
                                     for i in range(a, n + 1))))


def _bisect(f, lo: float, hi: float, target: float) -> float:
    """x in [lo, hi] with f(x) = target, f increasing."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def chi2_ppf_even(q: float, dof: int) -> float:
    """Quantile of the chi-square law with an even number of degrees of
    freedom: P(chi2_2k <= x) = 1 - P(Poisson(x/2) <= k-1)."""
    if dof <= 0 or dof % 2:
        raise ValueError(f"dof must be even and positive, got {dof}")
    k = dof // 2
    return _bisect(lambda x: 1 - _poisson_cdf(k - 1, x / 2), 0.0, 10.0 * dof + 100, q)


def beta_ppf_int(q: float, a: int, b: int) -> float:
    """Quantile of Beta(a, b), a and b positive integers:
    I_x(a, b) = P(Binomial(a + b - 1, x) >= a)."""
    if a <= 0 or b <= 0:
        raise ValueError(f"need positive integers, got a={a} b={b}")
    return _bisect(lambda x: _binom_sf(a, a + b - 1, x), 0.0, 1.0, q)


def rate(runs, conf: float = 0.95) -> dict:
    """Detections per second of exposure, with the exact Poisson interval."""
    d = sum(1 for r in runs if r.detected)
    exposure = sum(r.t for r in runs)
    if exposure <= 0:
        raise ValueError("no exposure")
    alpha = 1 - conf
    lo = chi2_ppf_even(alpha / 2, 2 * d) / (2 * exposure) if d else 0.0
    hi = chi2_ppf_even(1 - alpha / 2, 2 * d + 2) / (2 * exposure)
    return {"detections": d, "exposure_s": exposure, "per_s": d / exposure,
            "lo": lo, "hi": hi}


def speedup(on, off, conf: float = 0.95) -> dict:
    """rate(on) / rate(off) with the exact conditional interval: given
    n = d_on + d_off, d_on ~ Binomial(n, p), p = R T_on / (R T_on + T_off);
    Clopper-Pearson bounds on p give bounds on R.  hi is None when
    unbounded (no detection off), lo 0 when no detection on."""
    r_on, r_off = rate(on, conf), rate(off, conf)
    d_on, d_off = r_on["detections"], r_off["detections"]
    t_on, t_off = r_on["exposure_s"], r_off["exposure_s"]
    alpha = 1 - conf

    def ratio(p):
        return p / (1 - p) * t_off / t_on

    lo = ratio(beta_ppf_int(alpha / 2, d_on, d_off + 1)) if d_on else 0.0
    hi = ratio(beta_ppf_int(1 - alpha / 2, d_on + 1, d_off)) if d_off else None
    est = (d_on / t_on) / (d_off / t_off) if d_off else None
    return {"estimate": est, "lo": lo, "hi": hi}
