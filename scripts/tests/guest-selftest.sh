# The stressors' own tests (userspace/tests), run again in the guest with
# MMRACE_TEST_SYSTEM=1: the tests that set up zram/brd swap, switch 64K
# mTHP on and make cgroups, which the host run skips, run here for real.
MMRACE_TEST_SYSTEM=1 mmrace-selftest
