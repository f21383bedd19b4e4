"""The host's check of site definitions (sitedef.py) against the module's
rules: the built-in definitions parse, the bad ones of guest-site-defs.sh are
refused with the module's reasons, and scenarios may define sites."""

import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmrace_host import module_names, report, scenario, sitedef  # noqa: E402
from mmrace_host.tools import ToolError  # noqa: E402

TESTS = Path(__file__).resolve().parent
TYPES = module_names.names().types


class SiteDefTest(unittest.TestCase):
    def test_builtin_definitions_parse(self):
        src = (module_names.MODULE_DIR / "site_table.c").read_text()
        defs = module_names.builtin_defs(src)
        self.assertEqual(len(defs), 7)
        d = sitedef.parse(defs[0], TYPES)
        self.assertEqual(d.name, "zap_pte_range.before_flush")
        # an inode from scope=, a rendezvous key from key=ino
        self.assertEqual(d.filters, {"MMRACE_F_INO", "MMRACE_F_KEY"})

    def test_knobs_follow_the_types(self):
        mn = module_names.names()
        vma = mn.knobs_of(sitedef.parse("p:a.b f object=$arg2:vma", TYPES))
        self.assertTrue({"ino", "anon", "rendezvous_us"} <= vma)
        self.assertNotIn("min_order", vma)
        bare = mn.knobs_of(sitedef.parse("p:a.b f", TYPES))
        self.assertNotIn("ino", bare)
        self.assertIn("delay_us", bare)

    def test_the_guest_tests_bad_definitions_are_refused_here_too(self):
        """Every refused line of guest-site-defs.sh whose reason needs no
        kernel: the same reason on the host."""
        script = (TESTS / "guest-site-defs.sh").read_text()
        cases = re.findall(r"^refused \"(.*?)\" '(.*?)'$", script, re.M)
        kernel_only = ("no probe symbol", "no caller symbol", "no scope symbol", "offset past",
                       "a site of that name exists", "a built-in site", "no such site")
        checked = 0
        for reason, text in cases:
            if reason.startswith(kernel_only):
                continue
            with self.assertRaises(ValueError, msg=text) as e:
                sitedef.parse(text, TYPES)
            self.assertIn(reason.replace("\\$", "$"), str(e.exception), text)
            checked += 1
        self.assertGreaterEqual(checked, 10)

    def test_good_definitions(self):
        for text in ("r:x.ret swap_read_folio|swap_readpage caller=do_swap_page "
                     "object=$arg1:swap_folio # a window",
                     "p:x.off flush_tlb_mm_range+0x10",
                     "p:x.two f caller=a|b,c overlap=g:$arg1:folio overlap_caller=h",
                     "p:x.key f scope=g:$arg2:vma key=ino",
                     "p:x.fkey f object=$arg1:folio key=ino"):
            self.assertTrue(sitedef.parse(text, TYPES).name.startswith("x."))


class ScenarioSiteDefsTest(unittest.TestCase):
    BASE = '''description = "d"
race = "R9"
command = "true"
site_defs = ["p:my.site unmap_page_range object=$arg2:vma"]
[sites."my.site"]
comm = "x"
{extra}
[evidence]
default = "injections > 0"
'''

    def load(self, extra=""):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "s.toml"
            p.write_text(self.BASE.format(extra=extra))
            return scenario.load(str(p))

    def test_a_defined_site_has_the_knobs_of_its_type(self):
        sc = self.load("anon = \"anon\"")
        self.assertIn("rendezvous_us", sc.site_knobs["my.site"])
        job = scenario.job_script(sc, inject=True, until_first=False, duration=5)
        self.assertLess(job.index("site_defs"), job.index("knob my.site comm"))
        self.assertIn('echo -:my.site > "$D/site_defs"', job)
        self.assertIn("MMRACE_DURATION=5 sh -c true", job)

    def test_a_knob_the_type_does_not_allow(self):
        with self.assertRaisesRegex(ToolError, "my.site: unknown knob 'min_order'"):
            self.load("min_order = 4")

    def test_bad_definition_is_a_one_line_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "s.toml"
            p.write_text(self.BASE.format(extra="").replace("$arg2:vma", "$arg2:vam"))
            with self.assertRaisesRegex(ToolError, "site_defs: unknown type"):
                scenario.load(str(p))

    def test_exactly_one_workload(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "s.toml"
            p.write_text(self.BASE.format(extra="").replace(
                'command = "true"', 'command = "true"\nstressor = "mmrace-swapin"'))
            with self.assertRaisesRegex(ToolError, "either 'stressor' or 'command'"):
                scenario.load(str(p))

    def test_command_time_to_first_detection_only_when_stopping_at_it(self):
        with tempfile.TemporaryDirectory() as d:
            g = Path(d)
            (g / "stressor.rc").write_text("1\n")
            (g / "workload.time").write_text("10.0\n12.5\n")
            full = report.command_result(g, report.workload_rc(g))
            self.assertEqual((full["reproduced"], full["time_to_first_detection_s"]), (True, None))
            (g / "workload.until_first").touch()
            self.assertEqual(report.command_result(g, 1)["time_to_first_detection_s"], 2.5)
            self.assertIsNone(report.command_result(g, 2))

    def test_guest_swap(self):
        sc = self.load('[guest]\nswap = "zram:64M"')
        self.assertIn("mmrace.swap=zram:64M", sc.guest.kernel_cmdline(0))
        with self.assertRaisesRegex(ToolError, "swap 'zram:lots' is not zram:SIZE"):
            self.load('[guest]\nswap = "zram:lots"')

    def test_missing_binary_file(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "s.toml"
            p.write_text(self.BASE.format(extra="").replace(
                'command = "true"', 'command = "true"\nbinaries = ["./nope"]'))
            with self.assertRaisesRegex(ToolError, r"binaries: \./nope: no such file"):
                scenario.load(str(p))


if __name__ == "__main__":
    unittest.main()
