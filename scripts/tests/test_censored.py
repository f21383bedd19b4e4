"""Censored-run statistics (censored.py) against published values."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrace_host import censored as c  # noqa: E402
from mmrace_host.censored import Run  # noqa: E402


class QuantileTest(unittest.TestCase):
    def test_chi_square_quantiles(self):
        # scipy.stats.chi2.ppf / any table of the chi-square law
        for q, dof, want in ((0.975, 2, 7.377759), (0.025, 2, 0.050636),
                             (0.975, 20, 34.169607), (0.025, 40, 24.433039),
                             (0.95, 100, 124.342113)):
            self.assertAlmostEqual(c.chi2_ppf_even(q, dof), want, places=4)

    def test_beta_quantiles(self):
        # Clopper-Pearson 95 % of 10 in 20: (0.271958, 0.728042), as a midpoint
        # integration of the beta density gives
        self.assertAlmostEqual(c.beta_ppf_int(0.025, 10, 11), 0.271958, places=5)
        self.assertAlmostEqual(c.beta_ppf_int(0.975, 11, 10), 0.728042, places=5)
        self.assertAlmostEqual(c.beta_ppf_int(0.5, 1, 1), 0.5, places=9)

    def test_odd_or_zero_parameters_are_refused(self):
        with self.assertRaises(ValueError):
            c.chi2_ppf_even(0.5, 3)
        with self.assertRaises(ValueError):
            c.beta_ppf_int(0.5, 0, 2)

    def test_large_counts_do_not_overflow(self):
        self.assertAlmostEqual(c.chi2_ppf_even(0.5, 2000), 1999.333, places=2)
        self.assertGreater(c.beta_ppf_int(0.025, 900, 1100), 0.42)


class ProportionTest(unittest.TestCase):
    def test_wilson(self):
        lo, hi = c.wilson(19, 20)
        self.assertAlmostEqual(lo, 0.763869, places=5)
        self.assertAlmostEqual(hi, 0.991119, places=5)
        self.assertEqual(c.wilson(0, 0), (0.0, 1.0))
        self.assertEqual(c.wilson(0, 10)[0], 0.0)
        with self.assertRaises(ValueError):
            c.wilson(3, 2)


class CensoredRunsTest(unittest.TestCase):
    def test_kaplan_meier_keeps_censored_runs_at_risk(self):
        # detections at 1 and 3, censored at 2 and 4: S = 3/4, then 3/4 * 1/2
        runs = [Run(1, True), Run(2, False), Run(3, True), Run(4, False)]
        self.assertEqual(c.kaplan_meier(runs), [(1, 0.75), (3, 0.375)])
        self.assertEqual(c.km_median(runs), 3)
        self.assertIsNone(c.km_median([Run(5, False), Run(1, True), Run(5, False)]))

    def test_rate_of_no_detection_has_the_rule_of_three_bound(self):
        r = c.rate([Run(60, False)] * 10)
        self.assertEqual((r["detections"], r["per_s"], r["lo"]), (0, 0.0, 0.0))
        self.assertAlmostEqual(r["hi"] * 600, 3.688879, places=5)   # chi2(0.975, 2) / 2

    def test_rate_interval_is_garwoods(self):
        r = c.rate([Run(10, True)] * 10)        # 10 in 100 s
        self.assertAlmostEqual(r["lo"] * 100, 4.795389, places=4)
        self.assertAlmostEqual(r["hi"] * 100, 18.390356, places=4)

    def test_speedup_bounds(self):
        s = c.speedup([Run(1, True)] * 10, [Run(10, True)] * 10)
        self.assertAlmostEqual(s["estimate"], 10.0)
        # the Clopper-Pearson bounds on 10/20 above, times T_off/T_on = 10
        self.assertAlmostEqual(s["lo"], 0.271958 / 0.728042 * 10, places=3)
        self.assertAlmostEqual(s["hi"], 0.728042 / 0.271958 * 10, places=3)

    def test_found_versus_never_found_is_a_lower_bound(self):
        s = c.speedup([Run(0.2, True)] * 19 + [Run(20, False)], [Run(20, False)] * 20)
        self.assertIsNone(s["estimate"])
        self.assertIsNone(s["hi"])
        self.assertGreater(s["lo"], 50)


if __name__ == "__main__":
    unittest.main()
