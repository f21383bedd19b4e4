# SPDX-License-Identifier: GPL-2.0
#
#   make run      scripts/run: install what is missing, run the default
#                 scenario set (positive and negative controls) in QEMU
#   make check    scripts/check: install what is missing, run the test suite
#   make check-buglab
#                 every control on a bug-lab kernel (R1 at PMD level, R2-R5,
#                 the uffd race: a fix reverted or a candidate fix applied),
#                 then the missing-symbol test; builds the kernels on first
#                 use, on 2 cores about 20 minutes for the first kernel of
#                 each config, under a minute for each other
#   make check-peer
#                 the peer suites: the kernel's own mm selftests (built from
#                 Debian's linux-source) on 6.1 and 6.12 with the module
#                 idle, then armed at every site for every task, small and
#                 large delays (about an hour and a half under TCG)
#   make bench    probe cost (scripts/mmrace bench), then the standard campaign
#                 (scripts/campaigns/standard.toml into results/standard/; resumes)
#   make          build the stressors (userspace/build/)
#   make module KDIR=/lib/modules/$(uname -r)/build
#                 build mmrace.ko in place for a kernel of your own
#
# The module's kbuild file is ./Kbuild; test kernels get their own build
# copies under the cache (scripts/mmrace build-module).

KDIR ?= /lib/modules/$(shell uname -r)/build

all:
	$(MAKE) -C userspace

run:
	@scripts/run

check:
	@scripts/check

check-buglab:
	@scripts/install-deps buglab
	@/usr/bin/python3 scripts/mmrace test --stage buglab

check-peer:
	@scripts/install-deps
	@/usr/bin/python3 scripts/mmrace test --stage peer

bench:
	@scripts/install-deps
	@/usr/bin/python3 scripts/mmrace bench
	@/usr/bin/python3 scripts/mmrace campaign standard --out results/standard

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C userspace clean
	rm -f *.ko *.o *.mod *.mod.c .*.cmd Module.symvers modules.order \
		module/*.o module/.*.cmd

.PHONY: all run check check-buglab check-peer bench module clean
