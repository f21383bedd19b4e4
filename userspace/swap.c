// SPDX-License-Identifier: GPL-2.0
/*
 * The stressors' own swap area: a zram device (taken if zram0 is unused,
 * else hot-added) or a brd RAM disk (/dev/ram1, created on first open; the
 * guest's /dev/ram0 holds ext4), a swap header written here rather than by
 * mkswap, swapon(2) at the highest priority, and all of it undone at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common.h"
#include "swap.h"

/* The info half of the kernel's union swap_header (include/linux/swap.h). */
struct swap_header_info {
	char bootbits[1024];
	uint32_t version;
	uint32_t last_page;
	uint32_t nr_badpages;
	uint8_t uuid[16];
	char label[16];
};

#define SWAP_MAGIC	"SWAPSPACE2"
#define SWAP_MAGIC_LEN	10

#define BRD_DEV		"/dev/ram1"
#define BRD_MAJOR	1
#define BRD_MINOR	1

static const char *const swap_kinds[] = {
	[MMR_SWAP_NONE]	= "none",
	[MMR_SWAP_OFF]	= "off",
	[MMR_SWAP_ZRAM]	= "zram",
	[MMR_SWAP_BRD]	= "brd",
};

/* What mmr_swap_setup() did, for mmr_swap_teardown() to undo. */
static struct {
	pid_t owner;		/* 0: nothing set up */
	char dev[64];
	bool swapon;
	int zram;		/* zram device configured, or -1 */
	bool hot_added;
	bool made_node;
} swap_st = { .zram = -1 };

void mmr_swap_parse(struct mmr_swap *sw, const char *arg)
{
	size_t pgsz = sysconf(_SC_PAGESIZE);
	const char *colon = strchr(arg, ':');
	char size[24];
	int k;

	memset(sw, 0, sizeof(*sw));
	for (k = MMR_SWAP_NONE; k <= MMR_SWAP_OFF; k++)
		if (!strcmp(arg, swap_kinds[k])) {
			sw->kind = k;
			snprintf(sw->spec, sizeof(sw->spec), "%s", arg);
			return;
		}
	for (k = MMR_SWAP_ZRAM; k <= MMR_SWAP_BRD; k++)
		if (colon && (size_t)(colon - arg) == strlen(swap_kinds[k]) &&
		    !strncmp(arg, swap_kinds[k], colon - arg))
			break;
	if (k > MMR_SWAP_BRD)
		mmr_fail("--swap: '%s' is not none, off, zram:SIZE or brd:SIZE",
			 arg);
	sw->kind = k;
	sw->bytes = mmr_parse_size("swap", colon + 1, MMR_SWAP_MIN,
				   MMR_SWAP_MAX);
	if (sw->bytes % pgsz)
		mmr_fail("--swap: %s is not a multiple of the page size (%zu)",
			 colon + 1, pgsz);
	snprintf(sw->spec, sizeof(sw->spec), "%s:%s", swap_kinds[k],
		 mmr_size_str(size, sizeof(size), sw->bytes));
}

void mmr_swap_header(void *page, size_t pgsz, unsigned long nr_pages,
		     const uint8_t uuid[16], const char *label)
{
	struct swap_header_info *h = page;

	memset(page, 0, pgsz);
	h->version = 1;
	h->last_page = nr_pages - 1;
	h->nr_badpages = 0;
	memcpy(h->uuid, uuid, sizeof(h->uuid));
	strncpy(h->label, label, sizeof(h->label) - 1);
	memcpy((char *)page + pgsz - SWAP_MAGIC_LEN, SWAP_MAGIC,
	       SWAP_MAGIC_LEN);
}

struct mmr_field mmr_swap_dev_field(const struct mmr_swap *sw)
{
	if (!sw->dev[0])
		return (struct mmr_field)MMR_FIELD_RAW("swap_device", "null");
	return (struct mmr_field)MMR_FIELD("swap_device", sw->dev);
}

void mmr_swap_io(struct mmr_swap_io *io)
{
	io->ok = mmr_vmstat("pswpin", &io->in) &&
		 mmr_vmstat("pswpout", &io->out);
}

const char *mmr_swap_io_delta(char *buf, size_t len, unsigned long after,
			      unsigned long before, bool ok)
{
	if (ok)
		snprintf(buf, len, "%lu", after - before);
	else
		snprintf(buf, len, "null");
	return buf;
}

/* The first swap area in /proc/swaps, for --swap none. */
static void swap_find_on(struct mmr_swap *sw)
{
	char line[256];
	FILE *f = fopen("/proc/swaps", "re");

	if (!f)
		mmr_fail("--swap none: /proc/swaps: %s", strerror(errno));
	/* A header line, then one line per area: "<path> <type> ..." */
	if (!fgets(line, sizeof(line), f) || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "%63s", sw->dev) != 1) {
		fclose(f);
		mmr_fail("--swap none: no swap is on (use --swap zram:SIZE)");
	}
	fclose(f);
}

static void zram_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "/sys/block/zram%d/%s", swap_st.zram, file);
}

/* zram0 if it is unused, else a hot-added device. */
static void zram_claim(void)
{
	char buf[32];
	int n;

	if (mmr_read_file("/sys/block/zram0/initstate", buf, sizeof(buf)) > 0 &&
	    !strcmp(buf, "0")) {
		swap_st.zram = 0;
		return;
	}
	n = mmr_read_file("/sys/class/zram-control/hot_add", buf, sizeof(buf));
	if (n == -ENOENT)
		mmr_fail("--swap zram: no zram device (load the zram module)");
	if (n < 0)
		mmr_fail("--swap zram: /sys/class/zram-control/hot_add: %s",
			 strerror(-n));
	swap_st.zram = atoi(buf);
	swap_st.hot_added = true;
}

static void zram_setup(const struct mmr_swap *sw)
{
	char path[64], val[32];
	int err;

	zram_claim();
	zram_path(path, sizeof(path), "disksize");
	snprintf(val, sizeof(val), "%lu", sw->bytes);
	err = mmr_write_file(path, val);
	if (err)
		mmr_fail("--swap %s: %s: %s", sw->spec, path, strerror(-err));
	snprintf(swap_st.dev, sizeof(swap_st.dev), "/dev/zram%d",
		 swap_st.zram);
}

static void brd_setup(void)
{
	struct stat st;

	snprintf(swap_st.dev, sizeof(swap_st.dev), "%s", BRD_DEV);
	if (stat(BRD_DEV, &st)) {
		/* Opening a brd minor that does not exist yet creates it. */
		if (mknod(BRD_DEV, S_IFBLK | 0600,
			  makedev(BRD_MAJOR, BRD_MINOR)))
			mmr_fail("--swap brd: mknod %s: %s", BRD_DEV,
				 strerror(errno));
		swap_st.made_node = true;
	} else if (!S_ISBLK(st.st_mode)) {
		mmr_fail("--swap brd: %s is not a block device", BRD_DEV);
	}
}

static void swap_write_header(const struct mmr_swap *sw, uint64_t seed)
{
	size_t pgsz = sysconf(_SC_PAGESIZE);
	uint64_t size, uuid[2] = { seed, ~seed };
	void *page;
	int fd;

	/* Exclusive: fails if the device is mounted or swapped on. */
	fd = open(swap_st.dev, O_RDWR | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		mmr_fail("--swap %s: %s: %s", sw->spec, swap_st.dev,
			 strerror(errno));
	if (ioctl(fd, BLKGETSIZE64, &size))
		mmr_fail("--swap %s: %s: BLKGETSIZE64: %s", sw->spec,
			 swap_st.dev, strerror(errno));
	if (size < sw->bytes)
		mmr_fail("--swap %s: %s has only %llu bytes", sw->spec,
			 swap_st.dev, (unsigned long long)size);
	page = aligned_alloc(pgsz, pgsz);
	if (!page)
		mmr_fail("out of memory");
	/* A smaller area than the device is fine: swapon reads last_page. */
	mmr_swap_header(page, pgsz, sw->bytes / pgsz, (uint8_t *)uuid,
			"mmrace");
	if (pwrite(fd, page, pgsz, 0) != (ssize_t)pgsz || fsync(fd))
		mmr_fail("--swap %s: writing the swap header to %s: %s",
			 sw->spec, swap_st.dev, strerror(errno));
	free(page);
	close(fd);
}

void mmr_swap_setup(struct mmr_swap *sw, uint64_t seed)
{
	if (sw->kind == MMR_SWAP_NONE)
		swap_find_on(sw);
	if (sw->kind == MMR_SWAP_NONE || sw->kind == MMR_SWAP_OFF)
		return;
	swap_st.owner = getpid();
	atexit(mmr_swap_teardown);
	if (sw->kind == MMR_SWAP_ZRAM)
		zram_setup(sw);
	else
		brd_setup();
	swap_write_header(sw, seed);
	/* The highest priority: this area takes every swap-out first. */
	if (swapon(swap_st.dev, SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK))
		mmr_fail("--swap %s: swapon %s: %s", sw->spec, swap_st.dev,
			 strerror(errno));
	swap_st.swapon = true;
	snprintf(sw->dev, sizeof(sw->dev), "%s", swap_st.dev);
}

void mmr_swap_teardown(void)
{
	char path[64], val[16];
	int err;

	if (swap_st.owner != getpid())
		return;
	if (swap_st.swapon && swapoff(swap_st.dev))
		mmr_warn("swapoff %s: %s", swap_st.dev, strerror(errno));
	swap_st.swapon = false;
	if (swap_st.zram >= 0) {
		zram_path(path, sizeof(path), "reset");
		err = mmr_write_file(path, "1");
		if (err)
			mmr_warn("%s: %s", path, strerror(-err));
		if (swap_st.hot_added) {
			snprintf(val, sizeof(val), "%d", swap_st.zram);
			err = mmr_write_file("/sys/class/zram-control/hot_remove",
					     val);
			if (err)
				mmr_warn("removing zram%d: %s", swap_st.zram,
					 strerror(-err));
		}
		swap_st.zram = -1;
	}
	if (swap_st.made_node && unlink(swap_st.dev))
		mmr_warn("unlink %s: %s", swap_st.dev, strerror(errno));
	swap_st.made_node = false;
	swap_st.owner = 0;
}
