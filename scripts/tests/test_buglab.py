"""Unit tests of the bug-lab kernel table, patches and cache keys (no kernel build)."""

import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrace_host import buglab, kernels  # noqa: E402
from mmrace_host.tools import ToolError  # noqa: E402

REQUIRED = ["buglab-6.1-base", "buglab-6.1-swapcache-skip", "buglab-6.12-base",
            "buglab-6.12-swapcache-skip", "buglab-6.12-large-folio"]


class TableTest(unittest.TestCase):
    def test_table_parses_with_the_required_kernels(self):
        specs = buglab.load()
        for name in REQUIRED:
            self.assertIn(name, specs)
        for name, sp in specs.items():
            self.assertTrue(name.startswith(buglab.PREFIX), name)
            self.assertIn(sp.source, ("linux-source-6.1", "linux-source-6.12"), name)
            self.assertEqual(sp.series, sp.source.rsplit("-", 1)[1])
        self.assertEqual(specs["buglab-6.1-base"].patches, ())
        self.assertEqual(specs["buglab-6.12-base"].patches, ())

    def test_bug_lab_kernels_are_kernel_names(self):
        for name in REQUIRED:
            self.assertIn(name, kernels.names())
        self.assertEqual(kernels.debian_names(), ["debian-6.1", "debian-6.12"])

    def test_release_suffix(self):
        specs = buglab.load()
        self.assertEqual(specs["buglab-6.1-swapcache-skip"].localversion,
                         "-buglab-swapcache-skip")
        self.assertEqual(specs["buglab-6.12-base"].localversion, "-buglab-base")

    def test_unknown_kernel(self):
        with self.assertRaisesRegex(KeyError, "unknown bug-lab kernel"):
            buglab.spec("buglab-nope")

    def test_bad_table_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            t = Path(d) / "kernels.toml"
            t.write_text('[kernel."x-1"]\nsource = "linux-source-6.1"\nconfig = ["a"]\n')
            with self.assertRaisesRegex(ToolError, "start with 'buglab-'"):
                buglab.load(t)
            t.write_text('[kernel."buglab-x"]\nsource = "linux-source-6.1"\nconfig = ["a"]\n'
                         'patch = ["typo"]\n')
            with self.assertRaisesRegex(ToolError, "unknown keys"):
                buglab.load(t)


class FilesTest(unittest.TestCase):
    def test_every_patch_exists_and_has_a_header(self):
        for name, sp in buglab.load().items():
            for p in sp.patches:
                self.assertTrue(p.is_file(), f"{name}: {p} missing")
                text = p.read_text()
                header = text[: text.index("\n--- ")]
                self.assertIn("Lines ", header, p.name)
                if "Race it closes" in header:      # a candidate fix, no upstream one
                    self.assertIn("Upstream:", header, p.name)
                    continue
                self.assertRegex(header, r"\b[0-9a-f]{12}\b", f"{p.name}: no upstream commit")
                self.assertIn("Race that comes back", header, p.name)
                self.assertTrue(buglab.patch_targets(p), p.name)

    def test_every_fragment_line_is_a_config_line(self):
        for sp in buglab.load().values():
            for frag in sp.config:
                self.assertTrue(frag.is_file(), frag)
                for line in frag.read_text().splitlines():
                    if line.strip() and not re.match(r"# (?!CONFIG_)|#$", line):
                        self.assertTrue(buglab.parse_config(line), f"{frag.name}: {line!r}")

    def test_patch_targets(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "x.patch"
            p.write_text("header\n--- a/mm/memory.c\t2024\n+++ b/mm/memory.c\n@@ -1 +1 @@\n"
                         "--- a/gone.c\n+++ /dev/null\n@@ -1 +0,0 @@\n")
            self.assertEqual(buglab.patch_targets(p), ["mm/memory.c", "gone.c"])


class PatchesApplyTest(unittest.TestCase):
    """Against the extracted Debian source when the cache has it (else skipped)."""

    def test_patches_apply_to_cached_source(self):
        checked = 0
        for name, sp in buglab.load().items():
            tree = buglab.source_tree(sp)
            if tree is None or not sp.patches:
                continue
            for p in sp.patches:
                with self.subTest(kernel=name, patch=p.name):
                    r = subprocess.run(["patch", "--dry-run", "-p1", "--fuzz=0", "--batch",
                                        "-d", str(tree), "-i", str(p)],
                                       capture_output=True, text=True)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(buglab._desired(tree, sp.patches), name)   # all, in order
            checked += 1
        if not checked:
            self.skipTest("no bug-lab source tree in the cache")


class KeyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        shutil.copytree(buglab.BUGLAB, self.tmp / "buglab")
        self.table = self.tmp / "buglab" / "kernels.toml"

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def key(self, name, version="6.1.192-2"):
        return buglab.artifact_key(buglab.spec(name, self.table), version)

    def test_key_changes_when_a_patch_changes(self):
        name = "buglab-6.1-swapcache-skip"
        before = self.key(name)
        self.assertEqual(before, self.key(name))
        sp = buglab.spec(name, self.table)
        sp.patches[0].write_text(sp.patches[0].read_text().replace("goto out;", "goto out; "))
        self.assertNotEqual(before, self.key(name))

    def test_key_changes_with_config_version_and_name(self):
        name = "buglab-6.1-base"
        before = self.key(name)
        cfg_before = buglab.config_key(buglab.spec(name, self.table))
        self.assertNotEqual(before, self.key(name, "6.1.192-3"))
        self.assertNotEqual(before, self.key("buglab-6.1-swapcache-skip"))
        frag = self.tmp / "buglab" / "guest.config"
        frag.write_text(frag.read_text() + "CONFIG_NUMA=y\n")
        self.assertNotEqual(before, self.key(name))
        self.assertNotEqual(cfg_before, buglab.config_key(buglab.spec(name, self.table)))

    def test_same_config_shares_the_build_tree(self):
        a = buglab.spec("buglab-6.12-base", self.table)
        b = buglab.spec("buglab-6.12-large-folio", self.table)
        self.assertEqual(buglab.config_key(a), buglab.config_key(b))


class SyncTest(unittest.TestCase):
    """Switching patch sets rewrites only files whose content changes."""

    def test_switch_and_back(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            src, tree = d / "src", d / "tree"
            (src / "mm").mkdir(parents=True)
            (src / "mm/a.c").write_text("one\ntwo\nthree\n")
            (src / "mm/b.c").write_text("b\n")
            shutil.copytree(src, tree)
            patch = d / "p.patch"
            patch.write_text("a header\n--- a/mm/a.c\n+++ b/mm/a.c\n@@ -1,3 +1,2 @@\n"
                             " one\n-two\n three\n")
            state = d / "state.json"
            state.write_text('{"touched": []}')
            self.assertEqual(buglab.sync_patches(tree, src, [patch], state), ["mm/a.c"])
            self.assertEqual((tree / "mm/a.c").read_text(), "one\nthree\n")
            self.assertEqual(buglab.sync_patches(tree, src, [patch], state), [])
            self.assertEqual(buglab.sync_patches(tree, src, [], state), ["mm/a.c"])
            self.assertEqual((tree / "mm/a.c").read_text(), "one\ntwo\nthree\n")
            self.assertEqual(buglab.sync_patches(tree, src, [], state), [])


if __name__ == "__main__":
    unittest.main()
