"""The kernel-health classifier and the console-marker parser, on consoles
recorded from real guests (test_data/README.md says how each was made)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrace_host import health, qemu, report  # noqa: E402

DATA = Path(__file__).resolve().parent / "test_data"


def console(name: str) -> str:
    return (DATA / f"console-{name}.log").read_text(errors="replace")


def kinds(findings) -> list:
    return [k for k, _ in findings]


class StackTest(unittest.TestCase):
    def test_the_trace_after_a_finding_without_guessed_frames(self):
        text = console("panic")
        panic = [f for f in health.scan(text) if f[0] == "panic"]
        (frames,) = health.stacks(text, panic)
        self.assertEqual(frames[:3], ["dump_stack_lvl+0x44/0x5c", "panic+0x118/0x2f4",
                                      "sysrq_handle_crash+0x16/0x20"])
        self.assertLessEqual(len(frames), 12)
        self.assertNotIn("_printk+0x68/0x83", frames)     # "? _printk" is a guess

    def test_a_trace_per_finding_and_none_for_a_line_not_in_the_log(self):
        text = console("hung-task")
        hung = [f for f in health.scan(text) if f[0] == "hung_task"][:2]
        first, second, missing = health.stacks(text, hung + [("bug", "[ 1.0] not in the log")])
        self.assertIn("percpu_rwsem_wait+0x116/0x140", first)
        self.assertTrue(second)
        self.assertEqual(missing, [])


class RecordedConsoleTest(unittest.TestCase):
    def test_clean_boot(self):
        reason, findings = qemu.outcome(console("clean"))
        self.assertEqual((reason, findings), ("done", []))
        m = qemu.Markers.of(console("clean"))
        self.assertTrue(m.kernel_alive and m.init_seen and m.job_begun)
        self.assertEqual((m.done_rc, m.job_uptime, m.cpu_stuck), (0, 10.82, None))

    def test_panic(self):
        reason, findings = qemu.outcome(console("panic"), qemu_rc=0)
        self.assertEqual((reason, kinds(findings)), ("crashed", ["panic"]))
        self.assertIn("sysrq triggered crash", findings[0][1])
        self.assertTrue(health.has_crash(findings))

    def test_soft_lockup_and_rcu_stalls(self):
        reason, findings = qemu.outcome(console("soft-lockup-rcu-stall"))
        self.assertEqual(reason, "done")    # the job ended; the kernel is sick
        self.assertEqual(kinds(findings), ["rcu_stall", "soft_lockup", "rcu_stall"])
        self.assertIn("CPU#1 stuck for 22s! [mmr-mprot:176]", findings[1][1])
        self.assertEqual(report.verdict({"bad_pages": 0}, findings, True), "kernel-health")

    def test_hung_task_printed_twice_counts_once(self):
        text = console("hung-task")
        # the job ran dmesg onto the console: each report appears twice
        self.assertEqual(text.count("INFO: task sh:181 blocked for more than 10 seconds"), 2)
        reason, findings = qemu.outcome(text)
        self.assertEqual(reason, "done")
        self.assertEqual(kinds(findings), ["hung_task"] * 4)
        self.assertEqual(health.summary(findings), "hung_task x4")

    def test_guest_hang_killed_by_the_host(self):
        text = console("guest-hang")
        self.assertEqual(qemu.Markers.of(text).done_rc, None)
        reason, findings = qemu.outcome(text, host_timeout_s=40)
        self.assertEqual((reason, findings), ("timeout", [("hang", "time-out after 40 s")]))
        # the same log without the host's word: the guest died, nothing printed why
        reason, findings = qemu.outcome(text, qemu_rc=1)
        self.assertEqual((reason, kinds(findings)), ("crashed", ["hang"]))

    def test_job_output_is_not_kernel_output(self):
        self.assertEqual(qemu.job_section(console("clean")), "hello\n")
        self.assertEqual(health.scan("BUG: written by a job, no time stamp\n"), [])


if __name__ == "__main__":
    unittest.main()
