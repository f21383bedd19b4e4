"""Unit tests of the host side: scenario files, job scripts, verdicts, reports."""

import sys
import tempfile
import unittest
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrace_host import censored, cli_campaign, modbuild, module_names, qemupkg, report, scenario  # noqa: E402
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
        with self.assertRaisesRegex(ToolError, "scenario file './nope.toml' not found"):
            scenario.load("./nope.toml")

    def test_every_clean_expectation_has_window_evidence(self):
        for n in scenario.names():
            sc = scenario.load(n)
            for k in sc.expect:
                self.assertTrue(sc.evidence_for(k).terms, (n, k))


ZAP = scenario.SCENARIO_DIR / "zap-lostwrite.toml"


class ScenarioCheckTest(unittest.TestCase):
    """A scenario file is checked as a whole before any guest boots."""

    def load_edited(self, old, new):
        text = ZAP.read_text()
        self.assertIn(old, text)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "my.toml"
            path.write_text(text.replace(old, new, 1))
            return scenario.load(str(path))

    def test_by_path(self):
        sc = self.load_edited("duration = 20", "duration = 5")
        self.assertEqual((sc.name, sc.duration), ("my", 5.0))

    def test_misspelled_knob(self):
        with self.assertRaisesRegex(ToolError, r"my.toml: zap_pte_range.before_flush: "
                                    r"unknown knob 'delay_usec' \(this site has: comm, "):
            self.load_edited("delay_us = 3000", "delay_usec = 3000")

    def test_knob_the_site_cannot_evaluate(self):
        with self.assertRaisesRegex(ToolError, "unknown knob 'min_order'"):
            self.load_edited("delay_us = 3000", "delay_us = 3000\nmin_order = 4")

    def test_unknown_site_key_and_kernel(self):
        with self.assertRaisesRegex(ToolError, "unknown site 'zap_pte_range.before_flsh'"):
            self.load_edited('"zap_pte_range.before_flush"]', '"zap_pte_range.before_flsh"]')
        with self.assertRaisesRegex(ToolError, "unknown key 'duraton'"):
            self.load_edited("duration = 20", "duraton = 20")
        with self.assertRaisesRegex(ToolError, r"\[expect\] names unknown kernel 'debian-6.2'"):
            self.load_edited('"debian-6.12" = "clean"', '"debian-6.2" = "clean"')

    def test_evidence_rules(self):
        sc = self.load_edited('default = "overlaps > 0"', 'default = "overlaps > 0 and '
                              'zap_pte_range.before_flush.injected >= 2"')
        ev = sc.evidence_for("debian-6.12")
        self.assertTrue(ev.met({"overlaps": 1, "zap_pte_range.before_flush.injected": 2}))
        self.assertFalse(ev.met({"overlaps": 1, "zap_pte_range.before_flush.injected": 1}))
        self.assertFalse(ev.met({}))
        with self.assertRaisesRegex(ToolError, "unknown evidence counter 'overlap'"):
            self.load_edited('default = "overlaps > 0"', 'default = "overlap > 0"')
        with self.assertRaisesRegex(ToolError, "bad evidence term 'overlaps != 0'"):
            self.load_edited('default = "overlaps > 0"', 'default = "overlaps != 0"')
        with self.assertRaisesRegex(ToolError, r"\[evidence\] needs a 'default' rule"):
            self.load_edited('default = "overlaps > 0"', '"debian-6.1" = "overlaps > 0"')

    def test_module_table(self):
        sc = self.load_edited("max_delay_us = 50000", "max_delay_us = 20000\nbudget_us = 400000")
        self.assertEqual(sc.module, {"max_delay_us": 20000, "budget_us": 400000})
        job = scenario.job_script(sc, inject=True, until_first=False, duration=5)
        # before the site knobs that may need the room
        self.assertLess(job.index('echo 20000 > "$D/max_delay_us"'), job.index("rendezvous_us"))
        with self.assertRaisesRegex(ToolError, r"\[module\] unknown knob 'max_delay'"):
            self.load_edited("max_delay_us = 50000", "max_delay = 50000")
        with self.assertRaisesRegex(ToolError, r"\[module\] max_delay_us must be an integer "
                                    "from 1 to 100000"):
            self.load_edited("max_delay_us = 50000", "max_delay_us = 200000")

    def test_guest_table(self):
        sc = self.load_edited("[evidence]", '[guest]\nmem = "4G"\nfilesystems = '
                              '["/dev/ram0:xfs:/mnt/xfs"]\n\n[evidence]')
        self.assertEqual((sc.guest.mem, sc.guest.smp), ("4G", 4))
        self.assertEqual(sc.guest.tools(), ("trace-cmd", "mkfs.xfs"))
        self.assertIn("mmrace.fs=/dev/ram0:xfs:/mnt/xfs", sc.guest.kernel_cmdline(0))
        self.assertIn("transparent_hugepage=never", sc.guest.kernel_cmdline(0))
        with self.assertRaisesRegex(ToolError, r"\[guest\] unknown key 'memory'"):
            self.load_edited("[evidence]", '[guest]\nmemory = "4G"\n\n[evidence]')
        with self.assertRaisesRegex(ToolError, "file system type 'zfs' unknown"):
            self.load_edited("[evidence]", '[guest]\nfilesystems = ["/dev/vdb:zfs:/mnt"]'
                             '\n\n[evidence]')

    def test_module_names_come_from_the_module(self):
        mn = module_names.names()
        self.assertIn("ino", mn.sites["zap_pte_range.before_flush"])
        # key=ino: the zap meets writeback on the file it zaps
        self.assertIn("rendezvous_us", mn.sites["zap_pte_range.before_flush"])
        self.assertNotIn("mapped", mn.sites["zap_pte_range.before_flush"])
        self.assertTrue({"mapped", "rendezvous_us", "anon"} <= mn.sites["folio_mkclean.entry"])
        self.assertNotIn("mapped", mn.sites["do_swap_page.after_read"])     # swap_folio
        self.assertIn("rendezvous_us", mn.sites["do_swap_page.after_read"])
        self.assertIn("rv_late", mn.counters)
        self.assertEqual(mn.limits, {"max_delay_us": 100000, "budget_us": 1000000})
        self.assertIn("rv_meetings", mn.counters)
        self.assertEqual(mn.oracles["unmap_incomplete"], ("large_unmaps", "still_mapped", "missed"))
        self.assertEqual(mn.oracles["swapcache_slots"],
                         ("large_migrations", "stale_folios", "stale_slots", "missed"))

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

    def test_module_names_come_from_kbuild(self):
        repo = Path(__file__).resolve().parents[2]
        self.assertEqual(modbuild.module_name(repo / "Kbuild"), "mmrace.ko")
        self.assertEqual(modbuild.module_name(repo / "scripts/tests/faults/oops/Kbuild"),
                         "mmrace_test_oops.ko")

    def test_the_stress_start_is_marked_before_the_stressor(self):
        job = scenario.job_script(scenario.load("zap-lostwrite"), True, False, 5)
        self.assertLess(job.index("stress start\" > /dev/kmsg"), job.index("> /out/stressor.json"))
        self.assertIn("stress start\" > $T/trace_marker", job)

    def test_a_kernel_health_scenario_stops_at_the_first_damage(self):
        self.assertTrue(scenario.load("order1-split").guest.cmdline.startswith(
            "transparent_hugepage=never zswap.enabled=0 ftrace_dump_on_oops panic_on_warn=1"))
        self.assertNotIn("panic_on_warn", scenario.load("zap-lostwrite").guest.cmdline)

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
        self.assertEqual(report.verdict({"bad_pages": 0}, [], True), "clean")
        self.assertEqual(report.verdict({"bad_pages": 3}, [], False), "corruption")
        self.assertEqual(report.verdict(None, [], True), "error")
        # kernel-health wins over corruption
        self.assertEqual(report.verdict({"bad_pages": 3}, [("oops", "x")], True),
                         "kernel-health")
        self.assertEqual(report.EXIT["kernel-health"], 3)
        # clean without window evidence proves nothing
        self.assertEqual(report.verdict({"bad_pages": 0}, [], False), "inconclusive")
        self.assertEqual(report.EXIT["inconclusive"], 4)

    def test_clean_without_overlaps_is_inconclusive(self):
        sc = scenario.load("zap-lostwrite")
        with tempfile.TemporaryDirectory() as d:
            g = Path(d)
            (g / "stressor.json").write_text('{"bad_pages":0,"rounds":9}')
            (g / "stats.txt").write_text(
                "zap_pte_range.before_flush hits=10 matched=0 injected=0 delayed_ns=0 "
                "throttled=0 overlaps=0\n")
            s = report.summarize(sc, SimpleNamespace(name="debian-6.12"), False, _res(), g)
            self.assertEqual(s["verdict"], "inconclusive")
            self.assertEqual(s["window_evidence"], {"rule": "overlaps > 0", "value": 0,
                                                    "values": {"overlaps": 0}, "met": False})

    def test_oracle_counters_as_evidence(self):
        sc = scenario.load("large-folio-pageout")
        with tempfile.TemporaryDirectory() as d:
            g = Path(d)
            (g / "stressor.json").write_text('{"bad_pages":0}')
            (g / "stats.txt").write_text("change_pte_range.after_clear rv_meetings=490\n"
                                         "try_to_unmap_one.entry rv_meetings=0\n")
            (g / "oracles.txt").write_text(
                "unmap_incomplete large_unmaps=810 still_mapped=0\n")
            s = report.summarize(sc, SimpleNamespace(name="debian-6.12"), True, _res(), g)
            self.assertEqual((s["verdict"], s["window_evidence"]["met"]), ("clean", True))
            self.assertEqual(s["window_evidence"]["values"],
                             {"unmap_incomplete.large_unmaps": 810,
                              "change_pte_range.after_clear.rv_meetings": 490})

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
                 "window_evidence": {"met": True},
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
        # the clean run is censored at its 10 s: exposure 1 + 3 + 10 s
        sv = a["survival"]
        self.assertEqual((sv["conclusive_runs"], sv["detected"]), (3, 2))
        self.assertEqual(sv["ttfd_km_median_s"], 3.0)
        self.assertAlmostEqual(sv["detections_per_min"]["rate"], 60 * 2 / 14, places=3)

    def test_inconclusive_runs_are_neither_detected_nor_censored(self):
        runs = [{"time_to_first_detection_s": None, "stress_seconds": 5, "verdict": v}
                for v in ("clean", "inconclusive")]
        self.assertEqual(censored.of_summaries(runs), [censored.Run(5, False)])


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
