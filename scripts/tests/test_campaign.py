"""Campaign files (campaign.py) and the campaign loop (cli_campaign.py),
with the guest runs replaced by a recorder."""

import json
import sys
import tempfile
import unittest
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import subprocess  # noqa: E402

from mmrace_host import campaign, cli_campaign, qemu  # noqa: E402
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

    def run_campaign(self, d):
        f = Path(d) / "c.toml"
        f.write_text('repeats = 2\n[[cell]]\nscenario = "zap-lostwrite"\n'
                     'kernels = ["debian-6.1"]\n')
        args = SimpleNamespace(scenario=str(f), kernel=None, out=str(Path(d) / "out"),
                               accel=None, repeats=None, no_inject=False,
                               until_first=False, duration=None, stressor_arg=[],
                               export=None, collect=None)
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


if __name__ == "__main__":
    unittest.main()
