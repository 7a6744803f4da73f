/*
 * svepath: a checkpoint/restore payload. At start it picks a code path
 * from getauxval(AT_HWCAP) the way real software does (glibc's string
 * functions, OpenSSL, the JVM): on arm64 the SVE path when HWCAP_SVE is
 * set, else NEON; on other machines a plain path. Then it keeps running
 * that path in a loop, appending one line per tick to the file argv[1]:
 *
 *   tick N path=sve|neon|plain pid=P hwcap=0x.. hwcap2=0x..
 *
 * The SVE path executes an SVE instruction (RDVL) on every tick: restored
 * on a CPU without SVE, it dies with SIGILL, which is the failure hwcap
 * prevents. When the file argv[1].fork exists, the payload removes it,
 * forks and execs itself with "--report", and the child appends
 *
 *   child pid=P hwcap=0x.. hwcap2=0x.. path=..
 *
 * read from its own getauxval(): what a process started after a restore
 * sees. Static, so it runs in a busybox initramfs and under runc in a
 * bare rootfs. The tick interval is argv[2] milliseconds (default 200).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HWCAP_SVE_BIT (1UL << 22) /* arm64 uapi hwcap.h */

static const char *pick(unsigned long hwcap)
{
#if defined(__aarch64__)
	return (hwcap & HWCAP_SVE_BIT) ? "sve" : "neon";
#else
	(void)hwcap;
	return "plain";
#endif
}

/* run executes one tick of the chosen path and returns a value from it. */
static unsigned long run(const char *path, unsigned long n)
{
#if defined(__aarch64__)
	if (path[0] == 's') {
		unsigned long vl;
		/* rdvl x0, #1: the SVE vector length in bytes (SVE only). */
		__asm__ volatile(".inst 0x04bf5020\n\tmov %0, x0" : "=r"(vl) : : "x0");
		return vl;
	}
	if (path[0] == 'n') {
		unsigned long r;
		/* a NEON add: v0.2d = v0.2d + v0.2d (FP/ASIMD, every arm64 CPU). */
		__asm__ volatile("dup v0.2d, %1\n\tadd v0.2d, v0.2d, v0.2d\n\tumov %0, v0.d[0]" : "=r"(r) : "r"(n) : "v0");
		return r;
	}
#endif
	return n * 2;
}

static void say(const char *file, const char *line)
{
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0)
		perror("write");
	close(fd);
}

int main(int argc, char **argv)
{
	unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
	const char *path = pick(hw);
	char line[256], req[4096];

	if (argc >= 3 && strcmp(argv[1], "--report") == 0) {
		snprintf(line, sizeof(line), "child pid=%d hwcap=0x%lx hwcap2=0x%lx path=%s ran=%lu\n",
			 getpid(), hw, hw2, path, run(path, 1));
		say(argv[2], line);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: svepath LOGFILE [TICK_MS]\n");
		return 2;
	}
	long ms = argc > 2 ? atol(argv[2]) : 200;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	snprintf(req, sizeof(req), "%s.fork", argv[1]);
	for (unsigned long n = 1;; n++) {
		unsigned long r = run(path, n);
		snprintf(line, sizeof(line), "tick %lu path=%s pid=%d hwcap=0x%lx hwcap2=0x%lx r=%lu\n",
			 n, path, getpid(), hw, hw2, r);
		say(argv[1], line);
		if (unlink(req) == 0) {
			pid_t c = fork();
			if (c == 0) {
				execl("/proc/self/exe", argv[0], "--report", argv[1], (char *)NULL);
				_exit(127);
			}
			if (c > 0)
				waitpid(c, NULL, 0);
		}
		nanosleep(&ts, NULL);
	}
}
