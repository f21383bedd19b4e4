"""Unit tests of the host side: scenario files, job scripts, verdicts, reports."""

import sys
import tempfile
import unittest
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrace_host import cli_campaign, qemupkg, report, scenario  # noqa: E402
from mmrace_host.tools import ToolError  # noqa: E402


class ScenarioTest(unittest.TestCase):
    def test_every_scenario_loads(self):
        self.assertIn("zap-lostwrite", scenario.names())
        for n in scenario.names():
            sc = scenario.load(n)
            self.assertTrue(sc.expect, n)
            self.assertTrue(sc.sites, n)

    def test_unknown_scenario(self):
        with self.assertRaisesRegex(ToolError, "unknown scenario 'nope'"):
            scenario.load("nope")

    def test_job_script_inject_sets_knobs_then_enables(self):
        sc = scenario.load("zap-lostwrite")
        job = scenario.job_script(sc, inject=True, until_first=True, duration=7)
        site = "zap_pte_range.before_flush"
        self.assertIn(f"knob {site} comm mmr-zapper", job)
        self.assertIn(f'knob {site} ino "$TARGET_INO"', job)
        self.assertLess(job.index(f"knob {site} comm"), job.index(f"knob {site} enable 1"))
        self.assertIn("--duration 7 --json --until-first", job)

    def test_job_script_no_inject_never_enables(self):
        sc = scenario.load("zap-lostwrite")
        job = scenario.job_script(sc, inject=False, until_first=False, duration=5)
        self.assertNotIn("enable 1", job)
        self.assertNotIn("--until-first", job)

    def test_extra_args_follow_the_scenarios(self):
        sc = scenario.load("swapin-skip-swapcache").with_extra_args(["--swap=zram:64M"])
        job = scenario.job_script(sc, inject=True, until_first=False, duration=5)
        self.assertIn("--sync step --swap=zram:64M --duration 5", job)
        self.assertNotIn("zram:64M", " ".join(scenario.load("swapin-skip-swapcache").args))


def _res(health=()):
    return SimpleNamespace(health=list(health), exit_reason="done", wall_s=1.0,
                           accel="tcg", cmdline="")


class VerdictTest(unittest.TestCase):
    def test_verdicts(self):
        self.assertEqual(report.verdict({"bad_pages": 0}, []), "clean")
        self.assertEqual(report.verdict({"bad_pages": 3}, []), "corruption")
        self.assertEqual(report.verdict(None, []), "error")
        # kernel-health wins over corruption
        self.assertEqual(report.verdict({"bad_pages": 3}, [("oops", "x")]), "kernel-health")
        self.assertEqual(report.EXIT["kernel-health"], 3)

    def test_summary_and_report(self):
        sc = scenario.load("zap-lostwrite")
        with tempfile.TemporaryDirectory() as d:
            g = Path(d) / "guest"
            g.mkdir()
            (g / "stressor.json").write_text(
                '{"bad_pages":5,"bad_rounds":1,"rounds":9,"classes":{"lost_write":5},'
                '"time_to_first_detection_s":1.5,"stress_seconds":2.0}')
            (g / "stats.txt").write_text(
                "zap_pte_range.before_flush hits=10 matched=9 injected=8 delayed_ns=1 "
                "throttled=0 overlaps=4\n")
            (g / "uname").write_text("6.1.0-56-amd64\n")
            (g / "stressor.rc").write_text("1\n")
            k = SimpleNamespace(name="debian-6.1")
            s = report.summarize(sc, k, True, _res(), g)
            self.assertEqual((s["verdict"], s["expected"]), ("corruption", "corruption"))
            self.assertEqual((s["injections"], s["overlaps"]), (8, 4))
            self.assertEqual(s["kernel_release"], "6.1.0-56-amd64")
            self.assertEqual(s["time_to_first_detection_s"], 1.5)
            path = report.write(Path(d), s, g, "mmrace-lostwrite")
            self.assertIn("**Verdict: corruption**", path.read_text())
            self.assertTrue((Path(d) / "summary.json").is_file())

    def test_missing_stressor_result_is_error(self):
        sc = scenario.load("zap-lostwrite")
        with tempfile.TemporaryDirectory() as d:
            s = report.summarize(sc, SimpleNamespace(name="debian-6.12"), True, _res(), Path(d))
            self.assertEqual(s["verdict"], "error")

    def test_first_bad_context_starts_at_round_and_drops_noise(self):
        with tempfile.TemporaryDirectory() as d:
            t = Path(d) / "trace.txt"
            t.write_text("\n".join([
                "x print: tracing_mark_write: mmrace: round 1 start",
                "x print: tracing_mark_write: mmrace: round 2 start",
                "x mmrace_inject: site=s delay_us=3000",
                "x tlb_flush: pages=1",
                "x mmrace_overlap: site=s",
                "x print: tracing_mark_write: mmrace: bad page 3 round 2 lost_write",
            ]))
            ctx = report.first_bad_context(t)
            self.assertIn("round 2 start", ctx[0])
            self.assertFalse(any("tlb_flush" in c for c in ctx))
            self.assertIn("bad page 3", ctx[-1])


class CampaignTest(unittest.TestCase):
    def test_aggregate(self):
        runs = [{"time_to_first_detection_s": t, "bad_pages": b, "stress_seconds": 10,
                 "verdict": "corruption" if b else "clean", "injections": 2, "overlaps": 1,
                 "sites": {"s": {"rv_meetings": b}},
                 "oracles": {"unmap_incomplete": {"still_mapped": b, "large_unmaps": 10}}}
                for t, b in ((1.0, 3), (3.0, 1), (None, 0))]
        a = cli_campaign.aggregate(runs)
        self.assertEqual((a["runs"], a["detected"]), (3, 2))
        self.assertEqual(a["ttfd_s"]["median"], 2.0)
        self.assertEqual(a["bad_pages_per_minute"], 8.0)
        self.assertEqual(a["sites"], {"s": {"rv_meetings": 4}})
        self.assertEqual(a["oracles"]["unmap_incomplete"],
                         {"still_mapped": 4, "large_unmaps": 30})


class QemuPickTest(unittest.TestCase):
    def apt(self, rows):
        return SimpleNamespace(madison=lambda pkgs: rows)

    def test_newest_backport_at_least_min_major(self):
        rows = [("qemu-system-x86", "1:7.2+dfsg-7+deb12u18+b3", "bookworm"),
                ("qemu-system-x86", "1:8.2.2+ds-1~bpo12+1", "bookworm-backports"),
                ("qemu-system-x86", "1:10.0.2+ds-2+deb13u1~bpo12+1", "bookworm-backports")]
        self.assertEqual(qemupkg._newest(self.apt(rows)), "1:10.0.2+ds-2+deb13u1~bpo12+1")

    def test_no_backport_is_a_clear_error(self):
        rows = [("qemu-system-x86", "1:7.2+dfsg-7+deb12u18+b3", "bookworm"),
                ("qemu-system-x86", "1:7.2+dfsg-7~bpo11+1", "bookworm-backports")]
        with self.assertRaisesRegex(RuntimeError, "no qemu-system-x86 >= 8 in bookworm-backports"):
            qemupkg._newest(self.apt(rows))


if __name__ == "__main__":
    unittest.main()
