"""Peer suites: the table and the parser of guest-peer.sh's output (peer.py)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrace_host import peer  # noqa: E402

DATA = Path(__file__).resolve().parent / "test_data"


class TableTest(unittest.TestCase):
    def test_every_series_loads_and_names_a_kernel(self):
        table = peer.load()
        self.assertEqual(sorted(table), ["6.1", "6.12"])
        for s in table.values():
            self.assertTrue(s.tests and s.kernels and s.excluded)
            self.assertLessEqual(set(s.selection(quick=True)), set(s.tests))
            self.assertEqual(peer.series_for(s.kernels[0], table), s)

    def refused(self, table: str, why: str):
        """A series running cow, with table added, is refused with why."""
        bad = DATA.parent / "tmp-peer-bad.toml"
        bad.write_text('[series.x]\nsource = "linux-source-6.1"\nsuite = "s"\n'
                       'dir = "d"\nkernels = ["k"]\ntests = ["cow"]\n' + table)
        try:
            with self.assertRaisesRegex(Exception, why):
                peer.load(bad)
        finally:
            bad.unlink()

    def test_a_test_both_run_and_excluded_is_refused(self):
        self.refused('[series.x.excluded]\ncow = "why"\n', "both run and excluded")

    def test_a_finding_must_name_a_test_run(self):
        self.refused('[series.x.findings]\nmremap_test = "a race"\n', "findings name no test")

    def test_the_table_lists_a_finding_of_a_test_run(self):
        s = peer.series_for("debian-6.12", peer.load())
        self.assertIn("uffd-unit-tests", s.findings)
        text = peer.table("debian-6.12", s, ("uffd-unit-tests",), "v", {"idle": {}})
        self.assertIn("Kernel findings", text)
        self.assertNotIn("Kernel findings", peer.table("debian-6.12", s, ("cow",), "v",
                                                       {"idle": {}}))


class RecordedOutputTest(unittest.TestCase):
    def setUp(self):
        self.rows = peer.parse((DATA / "peer-job-6.12-idle.log").read_text())

    def test_every_line_parsed(self):
        self.assertEqual(len(self.rows), 34)
        self.assertEqual(self.rows["uffd-stress anon 20 16"]["result"], "pass")
        self.assertEqual(self.rows["hugepage-mmap"]["result"], "fail")
        self.assertEqual(self.rows["hugetlb_madv_vs_map"]["result"], "skip")
        self.assertEqual(self.rows["droppable"]["result"], "timeout")
        self.assertEqual(self.rows["split_huge_page_test"]["s"], 182)

    def test_regressions_are_idle_passes_that_fail_armed(self):
        armed = {t: dict(r) for t, r in self.rows.items()}
        armed["cow"]["result"] = "fail"
        armed["hugepage-mmap"]["result"] = "pass"
        self.assertEqual(peer.regressions(list(self.rows), {"idle": self.rows,
                                                            "small": armed}),
                         [("cow", "small")])
