"""Campaign files (campaign.py) and the campaign loop (cli_campaign.py),
with the guest runs replaced by a recorder."""

import json
import sys
import tempfile
import threading
import unittest
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import subprocess  # noqa: E402

from mmrace_host import campaign, cli_campaign, plots, qemu  # noqa: E402
from mmrace_host import guest as guestcfg  # noqa: E402
from mmrace_host.tools import ToolError  # noqa: E402

SITE = "zap_pte_range.before_flush"


def table(**cell):
    return {"repeats": 2, "cell": [{"scenario": "zap-lostwrite",
                                    "kernels": ["debian-6.1"], **cell}]}


class FileTest(unittest.TestCase):
    def test_every_shipped_campaign_loads(self):
        for name in campaign.names():
            self.assertTrue(campaign.load(name).points, name)

    def test_sweeps_multiply_the_injected_points_only(self):
        c = campaign.from_table(table(sweep={f"{SITE}.delay_us": [500, 3000],
                                             f"{SITE}.probability": [50, 100]}), "t", "t")
        on = [p for p in c.points if p.inject]
        self.assertEqual((len(on), len(c.points)), (4, 5))
        self.assertIn(f"{SITE}.delay_us=500", on[0].key())
        self.assertEqual(on[0].knob_overrides(), {SITE: {"delay_us": 500, "probability": 50}})

    def test_bad_files_are_refused_before_any_boot(self):
        for bad, why in ((table(kernels=["debian-9"]), "unknown kernel"),
                         (table(sweep={"nosuch.site.delay_us": [1]}), "not one of"),
                         (table(sweep={f"{SITE}.nosuch": [1]}), "unknown knob"),
                         (table(sweep={f"{SITE}.delay_us": []}), "non-empty list"),
                         (table(inject=[1]), "true and/or false"),
                         (table(colour="red"), "unknown key"),
                         ({"cell": []}, "no \\[\\[cell\\]\\]"),
                         ({**table(), "repeats": 0}, "at least 1"),
                         ({"cell": table()["cell"] * 2}, "the same point twice")):
            with self.subTest(why=why), self.assertRaisesRegex(ToolError, why):
                campaign.from_table(bad, "t", "t")

    def test_if_cached_leaves_out_kernels_not_in_the_cache(self):
        with tempfile.TemporaryDirectory() as d:
            f = Path(d) / "c.toml"
            f.write_text('[[cell]]\nscenario = "zap-lostwrite"\nkernels = ["debian-6.1"]\n'
                         '[[cell]]\nscenario = "zap-lostwrite"\nif_cached = true\n'
                         'kernels = ["buglab-6.1-base", "debian-6.12"]\n')
            with mock.patch.object(campaign.kernels, "is_cached",
                                   lambda k: not k.startswith("buglab-")):
                c = campaign.load(str(f))
                self.assertEqual(sorted({p.kernel for p in c.points}),
                                 ["debian-6.1", "debian-6.12"])
                self.assertEqual(c.skipped, ("zap-lostwrite on buglab-6.1-base",))
            with mock.patch.object(campaign.kernels, "is_cached", lambda k: False):
                self.assertEqual(len(campaign.load(str(f)).points), 2)   # only cell 1
            f.write_text('[[cell]]\nscenario = "zap-lostwrite"\nif_cached = true\n'
                         'kernels = ["buglab-6.1-base"]\n')
            with mock.patch.object(campaign.kernels, "is_cached", lambda k: False), \
                    self.assertRaisesRegex(ToolError, "no cell has a kernel in the cache"):
                campaign.load(str(f))

    def test_a_missing_file_is_one_clear_error(self):
        with self.assertRaisesRegex(ToolError, "not found"):
            campaign.load("./no-such-campaign.toml")


class LoopTest(unittest.TestCase):
    """Two points (on, off) x 2 runs; the fake guest detects when injected."""

    def fake(self, spec, kernel, inject, until_first, duration, out, accel, **kw):
        self.calls.append((kernel, inject, str(out)))
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("guest hung")
        s = {"verdict": "corruption" if inject else "clean", "bad_pages": 1 if inject else 0,
             "time_to_first_detection_s": 0.5 if inject else None, "stress_seconds": 20,
             "injections": 3, "overlaps": 1, "window_evidence": {"met": True}}
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "summary.json").write_text(json.dumps(s))
        return s

    def run_campaign(self, d, jobs=1):
        f = Path(d) / "c.toml"
        f.write_text('repeats = 2\n[[cell]]\nscenario = "zap-lostwrite"\n'
                     'kernels = ["debian-6.1"]\n')
        args = SimpleNamespace(scenario=str(f), kernel=None, out=str(Path(d) / "out"),
                               accel=None, repeats=None, no_inject=False,
                               until_first=False, duration=None, stressor_arg=[],
                               export=None, collect=None, jobs=jobs)
        with mock.patch.object(cli_campaign.pipeline, "run_scenario", self.fake), \
                mock.patch.object(cli_campaign, "progress"), mock.patch("builtins.print"):
            self.assertEqual(cli_campaign.cmd_campaign(args), 0)
        return json.loads((Path(d) / "out" / "summary.json").read_text())

    def test_a_failed_guest_costs_one_run_and_a_rerun_resumes(self):
        self.calls, self.fail_next = [], True
        with tempfile.TemporaryDirectory() as d:
            doc = self.run_campaign(d)
            self.assertEqual(len(self.calls), 4)
            self.assertIn("RuntimeError: guest hung",
                          (Path(d) / "out" / "report.md").read_text())
            on = doc["points"][0]["aggregate"]
            self.assertEqual((on["runs"], on["errors"]), (1, 1))
            self.calls = []
            doc = self.run_campaign(d)     # only the failed run is made again
            self.assertEqual(len(self.calls), 1)
            self.assertEqual(doc["points"][0]["aggregate"]["errors"], 0)
            sp = doc["speedups"][0]
            self.assertIsNone(sp["hi"])    # nothing found without injection
            self.assertGreater(sp["lo"], 1)
            report = (Path(d) / "out" / "report.md").read_text()
            self.assertIn("Speed-up", report)
            self.assertIn("| 2 | clean | 0 | - | 20 | 3 | 1 |", report)   # a row per run

    def test_j_boots_runs_at_once_and_keeps_their_order(self):
        self.calls, self.fail_next = [], False
        both = threading.Barrier(2, timeout=10)     # two runs must be in flight together
        fake = self.fake

        def paired(*a, **kw):
            both.wait()
            return fake(*a, **kw)
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.object(qemu, "GUEST_SLOTS", 1):
            self.fake = paired
            doc = self.run_campaign(d, jobs=2)
            self.assertEqual([p["inject"] for p in doc["points"]], [True, False])
            self.assertEqual([r["verdict"] for r in doc["points"][0]["runs"]],
                             ["corruption"] * 2)
            self.assertEqual(qemu.GUEST_SLOTS, 2)


class GuestSlotTest(unittest.TestCase):
    def test_slots_let_that_many_guests_in_and_no_more(self):
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.object(qemu, "LOCK", Path(d) / "guest.lock"), \
                mock.patch.object(qemu, "GUEST_SLOTS", 2), \
                mock.patch.object(qemu, "progress") as note:
            got = threading.Event()

            def third():
                with qemu._guest_slot():
                    got.set()
            t = threading.Thread(target=third)
            with qemu._guest_slot(), qemu._guest_slot():
                self.assertEqual(note.call_count, 0)     # two slots, no wait
                t.start()
                self.assertFalse(got.wait(1))             # the third waits
                self.assertEqual(note.call_count, 1)
            t.join(5)
            self.assertTrue(got.is_set())                 # and gets in after


class ExportTest(unittest.TestCase):
    def test_an_exported_run_needs_only_its_directory_and_qemu(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "bzImage").write_bytes(b"kernel")
            k = SimpleNamespace(vmlinuz=Path(d) / "bzImage")
            run = Path(d) / "run"
            script = qemu.export(k, [b"archive"], guestcfg.DEFAULT, run, timeout_s=100)
            text = script.read_text()
            self.assertEqual(subprocess.run(["sh", "-n", str(script)]).returncode, 0)
            self.assertIn("timeout -s KILL 100", text)
            self.assertIn("-kernel vmlinuz -initrd initrd.cpio", text)
            self.assertNotIn(d, text)          # nothing outside the directory
            self.assertEqual((run / "vmlinuz").read_bytes(), b"kernel")
            # the runner killed it at its time-out: collected as a time-out
            (run / "console.log").write_text("Linux version 6.1\n")
            (run / "qemu.rc").write_text("137\n")
            res = qemu.collect(run, 100, "tcg")
            self.assertEqual(res.exit_reason, "timeout")
            self.assertFalse((run / "vmlinuz").exists())


class PlotTest(unittest.TestCase):
    """Curves from a campaign summary, then the files drawn from them."""

    @staticmethod
    def point(inject, delay, ttfds, budget=20):
        runs = [{"verdict": "corruption" if t is not None else "clean",
                 "time_to_first_detection_s": t, "stress_seconds": budget} for t in ttfds]
        runs.append({"verdict": "inconclusive", "time_to_first_detection_s": None,
                     "stress_seconds": budget})
        knobs = {"zap.before_flush": {"delay_us": delay}} if inject else {}
        return {"scenario": "zap-lostwrite", "kernel": "debian-6.1", "args": [],
                "inject": inject, "knobs": knobs, "runs": runs}

    def doc(self):
        return {"points": [self.point(True, 1000, [2, 4, None]),
                           self.point(True, 3000, [1, 1, 2]),
                           self.point(False, None, [None, None])]}

    def test_survival_steps_down_at_detections_and_runs_to_the_budget(self):
        panels = plots.survival_curves(self.doc()["points"])
        (title, curves), = panels.items()
        self.assertEqual(title, "zap-lostwrite on debian-6.1")
        label, xs, ys = curves[0]
        self.assertEqual(label, "injection on, zap.before_flush.delay_us=1000")
        # the inconclusive run is not at risk; the clean one is censored at 20 s
        self.assertEqual(xs, [0.0, 2, 4, 20])
        self.assertEqual([round(y, 3) for y in ys], [1.0, 0.667, 0.333, 0.333])
        self.assertEqual(curves[2][1:], ([0.0, 20], [1.0, 1.0]))   # never found

    def test_rate_is_drawn_against_the_swept_knob(self):
        series = plots.rate_series(self.doc()["points"])
        (key, pts), = series.items()
        self.assertEqual(key, ("zap-lostwrite on debian-6.1", "zap.before_flush.delay_us"))
        self.assertEqual([x for x, *_ in pts], [1000, 3000])
        self.assertAlmostEqual(pts[1][1], 60 * 3 / 4)    # 3 detections in 4 s
        self.assertTrue(all(lo <= r <= hi for _, r, lo, hi in pts))

    def test_files_are_written_in_both_formats(self):
        with tempfile.TemporaryDirectory() as d:
            names = plots.write(self.doc(), Path(d))
            self.assertEqual(names, ["survival.png", "survival.svg", "rate-1.png", "rate-1.svg"])
            self.assertEqual((Path(d) / "survival.png").read_bytes()[:4], b"\x89PNG")
            self.assertIn("<svg", (Path(d) / "rate-1.svg").read_text())


if __name__ == "__main__":
    unittest.main()
