/*
 * hwcapreport: the end-to-end test payload. It prints what the kernel gave
 * this process, then (with --children N) starts itself again through
 * /bin/sh -c, N levels deep, so that a test sees a child and a grandchild.
 *
 *   hwcapreport [--label NAME] [--children N] [--pause]
 *
 * One line per view of the AT_HWCAP..AT_HWCAP4 words, each word printed as
 * 0x... or "absent":
 *
 *   HWCAP label=NAME depth=D pid=P ppid=Q src=proc hwcap=.. hwcap2=.. hwcap3=.. hwcap4=..
 *
 * with src=proc (/proc/self/auxv), src=stack (the auxiliary vector on the
 * initial stack, after envp) and src=getauxval (glibc's getauxval(3); on
 * x86_64 glibc substitutes its own HWCAP_X86_* bits for AT_HWCAP, so only
 * arm64 compares that view with the kernel's). On arm64 a dispatcher then
 * picks an SVE or a NEON implementation of the same sum from
 * getauxval(AT_HWCAP) & HWCAP_SVE, as glibc's ifuncs and OpenSSL do, runs it
 * and says which one ran:
 *
 *   DISPATCH label=NAME depth=D path=sve|neon sum=S vl=BYTES
 *
 * (vl is the SVE vector length in bytes, 0 on the NEON path). With --pause
 * the process then sleeps until it is killed (a detached container's init
 * for `exec`). Exit status: 0, or 1 if a view could not be read or a
 * descendant failed. Static, so it runs in a bare busybox rootfs.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define NWORDS 4
static const unsigned long types[NWORDS] = {16, 26, 29, 30}; /* AT_HWCAP..AT_HWCAP4 */
static const char *const names[NWORDS] = {"hwcap", "hwcap2", "hwcap3", "hwcap4"};

struct words {
	unsigned long v[NWORDS];
	int present[NWORDS];
};

static const char *label = "self";
static int depth;

static void print_words(const char *src, const struct words *w)
{
	printf("HWCAP label=%s depth=%d pid=%d ppid=%d src=%s", label, depth, (int)getpid(), (int)getppid(), src);
	for (int i = 0; i < NWORDS; i++) {
		if (w->present[i])
			printf(" %s=0x%lx", names[i], w->v[i]);
		else
			printf(" %s=absent", names[i]);
	}
	printf("\n");
}

static void pick(struct words *w, unsigned long type, unsigned long val)
{
	for (int i = 0; i < NWORDS; i++) {
		if (types[i] == type && !w->present[i]) {
			w->v[i] = val;
			w->present[i] = 1;
		}
	}
}

/* from_proc reads /proc/self/auxv: native-word (type, value) pairs. */
static int from_proc(struct words *w)
{
	unsigned long buf[1024];
	size_t got = 0;
	int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, (char *)buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		if (n == 0 || got + (size_t)n == sizeof(buf)) {
			got += (size_t)n;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i + 1 < got / sizeof(unsigned long); i += 2) {
		if (buf[i] == AT_NULL)
			return 0;
		pick(w, buf[i], buf[i + 1]);
	}
	return -1; /* no AT_NULL: truncated */
}

static void from_stack(struct words *w, char **envp)
{
	char **p = envp;
	while (*p)
		p++;
	memset(w, 0, sizeof(*w));
	for (unsigned long *a = (unsigned long *)(p + 1); a[0] != AT_NULL; a += 2)
		pick(w, a[0], a[1]);
}

static void from_getauxval(struct words *w)
{
	memset(w, 0, sizeof(*w));
	for (int i = 0; i < NWORDS; i++) {
		errno = 0;
		unsigned long v = getauxval(types[i]);
		if (v == 0 && errno == ENOENT)
			continue;
		w->v[i] = v;
		w->present[i] = 1;
	}
}

#if defined(__aarch64__)
#include <arm_neon.h>

#pragma GCC push_options
#pragma GCC target("+sve")
#include <arm_sve.h>
/* SVE instructions: only ever run when the dispatcher saw HWCAP_SVE. */
static uint64_t sum_sve(const uint32_t *a, size_t n, unsigned *vl)
{
	svuint64_t acc = svdup_u64(0);
	*vl = (unsigned)svcntb();
	for (size_t i = 0; i < n; i += svcntd()) {
		svbool_t pg = svwhilelt_b64_u64(i, n);
		acc = svadd_u64_m(pg, acc, svld1uw_u64(pg, a + i));
	}
	return svaddv_u64(svptrue_b64(), acc);
}
#pragma GCC pop_options

static uint64_t sum_neon(const uint32_t *a, size_t n, unsigned *vl)
{
	uint64x2_t acc = vdupq_n_u64(0);
	size_t i = 0;
	*vl = 0;
	for (; i + 4 <= n; i += 4)
		acc = vpadalq_u32(acc, vld1q_u32(a + i));
	uint64_t s = vaddvq_u64(acc);
	for (; i < n; i++)
		s += a[i];
	return s;
}

#ifndef HWCAP_SVE
#define HWCAP_SVE (1UL << 22)
#endif

static void dispatch(void)
{
	static uint32_t data[1000];
	uint64_t (*sum)(const uint32_t *, size_t, unsigned *);
	const char *path;
	unsigned vl;
	for (unsigned i = 0; i < 1000; i++)
		data[i] = i * 7u + 1u;
	if (getauxval(AT_HWCAP) & HWCAP_SVE) {
		sum = sum_sve;
		path = "sve";
	} else {
		sum = sum_neon;
		path = "neon";
	}
	uint64_t s = sum(data, 1000, &vl);
	printf("DISPATCH label=%s depth=%d path=%s sum=%llu vl=%u\n", label, depth, path, (unsigned long long)s, vl);
}
#else
static void dispatch(void) {}
#endif

/* spawn starts "/bin/sh -c '"$0" --label L --children N [--depth D]'" and waits. */
static int spawn(const char *self, int children)
{
	char n[16], d[16];
	snprintf(n, sizeof(n), "%d", children);
	snprintf(d, sizeof(d), "%d", depth + 1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("hwcapreport: fork");
		return 1;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "\"$0\" --label \"$1\" --children \"$2\" --depth \"$3\"",
		      self, label, n, d, (char *)NULL);
		perror("hwcapreport: exec /bin/sh");
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("hwcapreport: waitpid");
			return 1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "hwcapreport: descendant at depth %d failed (status 0x%x)\n", depth + 1, status);
		return 1;
	}
	return 0;
}

static int usage(const char *bad)
{
	fprintf(stderr, "hwcapreport: bad argument \"%s\": usage: hwcapreport [--label NAME] [--children N] [--pause]\n", bad);
	return 2;
}

int main(int argc, char **argv, char **envp)
{
	int children = 0, pause_after = 0, rc = 0;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--label") && i + 1 < argc) {
			label = argv[++i];
		} else if (!strcmp(argv[i], "--children") && i + 1 < argc) {
			children = (int)strtol(argv[++i], &end, 10);
			if (*end || children < 0 || children > 8)
				return usage(argv[i]);
		} else if (!strcmp(argv[i], "--depth") && i + 1 < argc) {
			depth = (int)strtol(argv[++i], &end, 10);
			if (*end || depth < 0 || depth > 8)
				return usage(argv[i]);
		} else if (!strcmp(argv[i], "--pause")) {
			pause_after = 1;
		} else {
			return usage(argv[i]);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct words w;
	if (from_proc(&w) == 0) {
		print_words("proc", &w);
	} else {
		fprintf(stderr, "hwcapreport: read /proc/self/auxv: %s\n", strerror(errno));
		rc = 1;
	}
	from_stack(&w, envp);
	print_words("stack", &w);
	from_getauxval(&w);
	print_words("getauxval", &w);
	dispatch();
	if (children > 0 && spawn(argv[0], children - 1) != 0)
		rc = 1;
	fflush(stdout);
	if (pause_after)
		for (;;)
			pause();
	return rc;
}
