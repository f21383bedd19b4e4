// SPDX-License-Identifier: GPL-2.0
/*
 * Trace markers put the stressor's rounds and bad pages into the ftrace
 * buffer, beside the module's injection events, so that a bad page can be
 * traced back to the delay that exposed it.  Tracing is optional: when no
 * trace_marker is writable the markers are silently off.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"

static int marker_fd = -1;

void mmr_marker_open(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/trace_marker",
		"/sys/kernel/debug/tracing/trace_marker",
	};
	unsigned int i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]) && marker_fd < 0; i++)
		marker_fd = open(paths[i], O_WRONLY | O_CLOEXEC);
}

void mmr_marker(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int len;

	if (marker_fd < 0)
		return;
	len = snprintf(line, sizeof(line), "mmrace: ");
	va_start(ap, fmt);
	len += vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (len >= (int)sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write() is one trace entry.  Tracing gone away: stop trying. */
	if (write(marker_fd, line, len) != len) {
		close(marker_fd);
		marker_fd = -1;
	}
}
