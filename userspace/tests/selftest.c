// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "selftest.h"

/* No stressor run in the tests may take longer. */
#define ST_TIMEOUT_S	60

static int st_passed, st_failed, st_skipped;

bool st_ok(bool pass, const char *fmt, ...)
{
	char name[256], *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	/* Names quote arguments: keep each result on its TAP line. */
	for (c = name; *c; c++)
		if (iscntrl((unsigned char)*c))
			*c = '?';
	printf("%sok %d - %s\n", pass ? "" : "not ",
	       st_passed + st_failed + st_skipped + 1, name);
	if (pass)
		st_passed++;
	else
		st_failed++;
	return pass;
}

void st_skip(const char *reason, const char *fmt, ...)
{
	char name[256], *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	for (c = name; *c; c++)
		if (iscntrl((unsigned char)*c) || *c == '#')
			*c = '?';
	printf("ok %d - %s # SKIP %s\n", st_passed + st_failed + st_skipped + 1,
	       name, reason);
	st_skipped++;
}

bool st_swap_on(void)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/swaps", "re");

	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		fclose(f);
	return n > 1;	/* more than the header */
}

void st_diag(const char *fmt, ...)
{
	char buf[4096], *line, *save;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
}

static char st_dir[PATH_MAX];

static void st_find_dir(void)
{
	ssize_t n = readlink("/proc/self/exe", st_dir, sizeof(st_dir) - 1);

	if (n < 0) {
		perror("readlink /proc/self/exe");
		exit(1);
	}
	st_dir[n] = '\0';
	*strrchr(st_dir, '/') = '\0';
}

static char tmp[PATH_MAX + 32];

const char *st_tmpdir(void)
{
	if (!*tmp) {
		snprintf(tmp, sizeof(tmp), "%s/selftest.XXXXXX", st_dir);
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			exit(1);
		}
	}
	return tmp;
}

static void st_slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n < 0 ? 0 : n] = '\0';
	close(fd);
}

void st_run(struct st_proc *p, const char *const *argv)
{
	int out = memfd_create("stdout", 0), err = memfd_create("stderr", 0);
	char path[PATH_MAX + 64];
	double start = mmr_now();
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/%s", st_dir, argv[0]);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		alarm(ST_TIMEOUT_S);	/* survives exec: a hang becomes SIGALRM */
		execv(path, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (pid < 0 || out < 0 || err < 0 || waitpid(pid, &status, 0) != pid) {
		perror("running a stressor");
		exit(1);
	}
	p->seconds = mmr_now() - start;
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	st_slurp(out, p->out, sizeof(p->out));
	st_slurp(err, p->err, sizeof(p->err));
}

void st_report(const struct st_proc *p)
{
	st_diag("status %d after %.2f s\nstdout: %s\nstderr: %s", p->status,
		p->seconds, p->out, p->err);
}

pid_t st_spawn(const char *const *argv)
{
	char path[PATH_MAX + 64];
	pid_t pid;
	int null;

	snprintf(path, sizeof(path), "%s/%s", st_dir, argv[0]);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		alarm(ST_TIMEOUT_S);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	return pid;
}

/* Remove the test directory; the stressors leave only plain files in it. */
static void st_cleanup(void)
{
	struct dirent *de;
	DIR *dir;

	if (!*tmp)
		return;
	dir = opendir(tmp);
	while (dir && (de = readdir(dir)))
		if (de->d_type != DT_DIR)
			unlinkat(dirfd(dir), de->d_name, 0);
	if (!dir || closedir(dir) || rmdir(tmp))
		st_diag("could not remove %s", tmp);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	st_find_dir();
	printf("TAP version 13\n");
	test_stamp();
	test_args();
	test_swap();
	test_run();
	test_anon();
	st_cleanup();
	printf("1..%d\n", st_passed + st_failed + st_skipped);
	if (st_skipped)
		printf("# %d skipped (neither passed nor failed)\n", st_skipped);
	printf("%d passed, %d failed\n", st_passed, st_failed);
	return st_failed ? 1 : 0;
}
