/*
 * forkexec: the timing helper of test/bpf/bench.sh, static, for a QEMU
 * guest's busybox root.
 *
 *   forkexec loop N PROG [ARG...]   fork, execve PROG, wait; N times in a
 *                                   row; prints the mean nanoseconds of one
 *   forkexec time PROG [ARG...]     the same once; prints its nanoseconds
 *                                   and exits non-zero when PROG failed
 *
 * Times are CLOCK_MONOTONIC from before the fork to after the wait, as a
 * caller (a shell, a container runtime) sees them. Output: one number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* run forks and execs argv, waits, and returns its wait status (-1: fork). */
static int run(char **argv)
{
	pid_t pid = fork();
	int status;
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execve(argv[0], argv, environ);
		fprintf(stderr, "forkexec: execve %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static int usage(const char *bad)
{
	fprintf(stderr, "forkexec: bad argument \"%s\": usage: forkexec loop N PROG [ARG...] | forkexec time PROG [ARG...]\n", bad);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "loop") == 0) {
		char *end;
		long n = strtol(argv[2], &end, 10);
		if (*end != '\0' || n < 1 || n > 10000000)
			return usage(argv[2]);
		long long t0 = now();
		for (long i = 0; i < n; i++) {
			int st = run(argv + 3);
			if (st != 0) {
				fprintf(stderr, "forkexec: %s failed (status 0x%x) at run %ld\n", argv[3], st, i);
				return 1;
			}
		}
		printf("%lld\n", (now() - t0) / n);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "time") == 0) {
		long long t0 = now();
		int st = run(argv + 2);
		printf("%lld\n", now() - t0);
		return st == 0 ? 0 : 1;
	}
	return usage(argc > 1 ? argv[1] : "");
}
