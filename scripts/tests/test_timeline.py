"""Findings on the stress clock, and the dumped trace before them
(mmrace_host/timeline.py), on consoles recorded from real guests."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrace_host import health, timeline  # noqa: E402

DATA = Path(__file__).resolve().parent / "test_data"


def console(name: str) -> str:
    return (DATA / f"console-{name}.log").read_text(errors="replace")


def findings(text: str) -> list:
    return [{"kind": k, "line": line} for k, line in health.scan(text)]


# A dump as ftrace_dump() prints it (latency format), with the job's marker
# and two delays; the finding 0.5 s after the second.
DUMP = """\
[   10.000000] mmrace-job: stress start
[   12.500000] BUG: Bad page state in process mmr-free  pfn:0305c
[   12.600000] Dumping ftrace buffer:
[   12.600001] ---------------------------------
[   12.600002]       sh-102       0..... 100000us : tracing_mark_write: mmrace-job: stress start
[   12.600003] mmr-free-113       2.... 1200000us : mmrace_inject: site=madvise_free.split delay_us=2000
[   12.600004] mmr-free-113       2.... 2100000us : mmrace_inject: site=madvise_free.split delay_us=2000
[   12.600005] ---------------------------------
"""


class TimelineTest(unittest.TestCase):
    def test_recorded_panic_on_the_stress_clock(self):
        text = console("order1-list-corruption")
        self.assertEqual(timeline.stress_start(text), 4.209737)
        events = timeline.dumped_events(text)
        self.assertEqual([e[1] for e in events], ["tracing_mark_write"])
        self.assertEqual(events[0][0], 0.0)
        first = timeline.annotate(findings(text), text)[0]
        self.assertEqual((first["kind"], first["after_stress_s"]), ("list_corruption", 0.086))
        self.assertEqual((first["injections_before"], first["last_injections"]), (0, []))

    def test_a_stall_counts_the_injections_before_it_began(self):
        text = console("r4-rcu-stall")
        stall = timeline.annotate(findings(text), text)[0]
        self.assertEqual((stall["kind"], stall["after_stress_s"], stall["stalled_s"]),
                         ("rcu_stall", 21.523, 21))
        self.assertEqual(stall["injections_before"], 30)
        self.assertTrue(stall["last_injections"][-1].startswith("+0.201 s mmr-swap-110 "
                                                                 "mmrace_inject: site=swapin.found"))
        self.assertIn("swap_cache_get_folio+0x56/0x180", health.stacks(text, health.scan(text))[0])

    def test_injections_in_the_window_before_a_finding(self):
        (f,) = timeline.annotate(findings(DUMP), DUMP)
        self.assertEqual(f["after_stress_s"], 2.5)
        self.assertEqual(f["injections_before"], 2)
        self.assertEqual(f["last_injections"][-1],
                         "+2.000 s mmr-free-113 mmrace_inject: site=madvise_free.split delay_us=2000")

    def test_the_start_line_glued_to_another_and_not_its_dump_copy(self):
        text = ("mmrace-job: stress: mmrace-migrate --json[    7.774926] mmrace-job: stress start\n"
                "[   29.755056]       sh-96        2..... 108447us : tracing_mark_write: "
                "mmrace-job: stress start\n")
        self.assertEqual(timeline.stress_start(text), 7.774926)
        self.assertIsNone(timeline.stress_start(text.splitlines()[1]))

    def test_no_marker_no_clock(self):
        text = console("panic")
        (f,) = [g for g in timeline.annotate(findings(text), text) if g["kind"] == "panic"]
        self.assertIsNone(f["after_stress_s"])
        self.assertNotIn("injections_before", f)


class KindsTest(unittest.TestCase):
    def test_list_corruption_and_bad_page_have_kinds_of_their_own(self):
        text = console("order1-list-corruption")
        self.assertEqual([k for k, _ in health.scan(text)],
                         ["list_corruption", "warning", "panic"])
        self.assertEqual(health.scan("[ 1.0] BUG: Bad page state in process x  pfn:1")[0][0],
                         "bad_page")

    def test_a_flood_is_kept_short_and_counted(self):
        flood = [("warning", f"[ {i}.0] WARNING: x") for i in range(1000)] + \
            [("bad_page", "[ 2000.0] BUG: Bad page state")]
        kept = health.keep(flood, limit=5)
        self.assertEqual([k for k, _ in kept], ["warning"] * 5 + ["bad_page"])
        self.assertEqual(health.counts(flood), {"warning": 1000, "bad_page": 1})
        self.assertEqual(health.describe(health.counts(flood)), "warning x1000, bad_page x1")


if __name__ == "__main__":
    unittest.main()
