// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's knobs and counters: one-value files under /sys, /proc and
 * the cgroup file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

int mmr_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return n;
}

int mmr_write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Knobs take the value in one write() or refuse it. */
	n = write(fd, val, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

bool mmr_vmstat(const char *name, unsigned long *val)
{
	char line[128], key[64];
	unsigned long v;
	bool found = false;
	FILE *f = fopen("/proc/vmstat", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lu", key, &v) == 2 && !strcmp(key, name)) {
			*val = v;
			found = true;
		}
	fclose(f);
	return found;
}

bool mmr_smaps_kb(const void *start, const char *field, unsigned long *kb)
{
	unsigned long from, to, v;
	char line[256], key[64];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* a mapping's header: "from-to perms offset dev inode path" */
		if (sscanf(line, "%lx-%lx ", &from, &to) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = from == (unsigned long)start;
			continue;
		}
		if (in && sscanf(line, "%63[^:]: %lu kB", key, &v) == 2 &&
		    !strcmp(key, field)) {
			*kb = v;
			found = true;
		}
	}
	fclose(f);
	return found;
}
