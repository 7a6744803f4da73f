// SPDX-License-Identifier: Apache-2.0
/*
 * hwcap_inherit: checks that AT_HWCAP* words set with prctl(PR_SET_MM, ...)
 * are inherited across fork+exec, as the "exec: inherit HWCAPs from the
 * parent process" series (and test/kernel/hwcap-inherit.patch) specify.
 *
 *   hwcap_inherit [--path map|auxv] [--expect inherited|not-inherited]
 *                 [--as-uid UID] [--direct] [--compat /PATH/TO/AARCH32-BUILD]
 *
 * 1. reads its AT_HWCAP..AT_HWCAP4 from /proc/self/auxv;
 * 2. hides the lowest set bit of AT_HWCAP (and of AT_HWCAP2, if any) and
 *    tries to add the lowest clear bit of AT_HWCAP, by rewriting its saved
 *    auxv with PR_SET_MM_MAP (default; no capability needed) or
 *    PR_SET_MM_AUXV (needs CAP_SYS_RESOURCE);
 * 3. forks (no exec) and execs itself in report mode; the exec'd child
 *    starts a grandchild through /bin/sh -c (or directly, without /bin/sh).
 *    Each generation reports its words from /proc/self/auxv, from the
 *    auxv on its initial stack (what libc reads) and from getauxval().
 *
 * With --expect inherited (default) the child and grandchild must see the
 * masked words, without the added bit; with --expect not-inherited (a kernel
 * without the series) they must see the original words. One line per check:
 *   RESULT name=<check> pass|fail [details]
 * and a last line "RESULT name=summary inherited|not-inherited|mixed".
 * Exit status 0 when every check passed, 1 when one failed, 2 on a setup
 * error (the message names it).
 *
 * --direct: the child execs the grandchild itself (no /bin/sh), for an
 * AArch32 build, where an AArch64 shell would end the inheritance.
 * --compat (arm64): also run the AArch32 build of this program from the
 * masked process (AArch64 -> AArch32 -> AArch64): the switch must clear the
 * inheritance, so both report their unmasked words.
 *
 * x86: glibc's getauxval(AT_HWCAP) returns glibc's own bits, not the
 * kernel's, so there only AT_HWCAP2..4 are compared through getauxval.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/prctl.h>

#ifndef AT_HWCAP3
#define AT_HWCAP3 29
#endif
#ifndef AT_HWCAP4
#define AT_HWCAP4 30
#endif

#define NWORDS 4
#define MAXAUXV 128 /* unsigned longs; the kernel's saved_auxv is smaller */

static const unsigned long hwcap_types[NWORDS] = { AT_HWCAP, AT_HWCAP2, AT_HWCAP3, AT_HWCAP4 };
static const char *const hwcap_names[NWORDS] = { "hwcap", "hwcap2", "hwcap3", "hwcap4" };

struct words {
	unsigned long w[NWORDS];
	int present[NWORDS];
};

static char **initial_envp;
static int failures;

static void die(const char *what)
{
	printf("RESULT name=setup fail error=\"%s: %s\"\n", what, strerror(errno));
	fflush(stdout);
	exit(2);
}

/* Reads /proc/self/auxv into buf; returns the number of unsigned longs. */
static size_t read_auxv(unsigned long *buf, size_t max)
{
	int fd = open("/proc/self/auxv", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		die("open /proc/self/auxv");
	n = read(fd, buf, max * sizeof(*buf));
	if (n < 0)
		die("read /proc/self/auxv");
	close(fd);
	return (size_t)n / sizeof(*buf);
}

static void words_from_vector(const unsigned long *v, size_t n, struct words *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i + 1 < n && v[i] != AT_NULL; i += 2)
		for (int k = 0; k < NWORDS; k++)
			if (v[i] == hwcap_types[k]) {
				out->w[k] = v[i + 1];
				out->present[k] = 1;
			}
}

static void proc_words(struct words *out)
{
	unsigned long v[MAXAUXV];

	words_from_vector(v, read_auxv(v, MAXAUXV), out);
}

/* The auxv the kernel put on the initial stack, after envp. */
static void stack_words(struct words *out)
{
	char **p = initial_envp;

	while (*p)
		p++;
	words_from_vector((unsigned long *)(p + 1), MAXAUXV, out);
}

static void getauxval_words(const struct words *like, struct words *out)
{
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < NWORDS; k++) {
		out->present[k] = like->present[k];
		out->w[k] = getauxval(hwcap_types[k]);
	}
}

static int getauxval_trusted(int k)
{
#if defined(__x86_64__) || defined(__i386__)
	return k != 0; /* glibc substitutes AT_HWCAP on x86 */
#else
	(void)k;
	return 1;
#endif
}

static void print_words(const char *prefix, const struct words *w)
{
	printf("%s", prefix);
	for (int k = 0; k < NWORDS; k++)
		if (w->present[k])
			printf(" %s=%#lx", hwcap_names[k], w->w[k]);
	printf("\n");
}

static int parse_words(const char *line, const char *prefix, struct words *out)
{
	size_t n = strlen(prefix);
	const char *p;

	if (strncmp(line, prefix, n) != 0 || (line[n] != ' ' && line[n] != '\n'))
		return 0;
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < NWORDS; k++) {
		char key[16];

		snprintf(key, sizeof(key), " %s=", hwcap_names[k]);
		p = strstr(line + n, key);
		if (p) {
			out->w[k] = strtoul(p + strlen(key), NULL, 0);
			out->present[k] = 1;
		}
	}
	return 1;
}

/* Field n (1-based) of /proc/self/stat, counted after the comm field. */
static unsigned long stat_field(const char *stat, int n)
{
	const char *p = strrchr(stat, ')');
	int field = 2;

	if (!p)
		return 0;
	p++;
	while (*p && field < n) {
		while (*p == ' ')
			p++;
		field++;
		if (field == n)
			break;
		while (*p && *p != ' ')
			p++;
	}
	return strtoul(p, NULL, 10);
}

static void set_auxv(const char *path, unsigned long *v, size_t n)
{
	if (strcmp(path, "auxv") == 0) {
		if (prctl(PR_SET_MM, PR_SET_MM_AUXV, (unsigned long)v, n * sizeof(*v), 0) != 0)
			die("prctl PR_SET_MM_AUXV");
		return;
	}

	char stat[4096];
	int fd = open("/proc/self/stat", O_RDONLY);
	ssize_t len;

	if (fd < 0)
		die("open /proc/self/stat");
	len = read(fd, stat, sizeof(stat) - 1);
	if (len < 0)
		die("read /proc/self/stat");
	stat[len] = 0;
	close(fd);

	struct prctl_mm_map map = {
		.start_code = stat_field(stat, 26),
		.end_code = stat_field(stat, 27),
		.start_stack = stat_field(stat, 28),
		.start_data = stat_field(stat, 45),
		.end_data = stat_field(stat, 46),
		.start_brk = stat_field(stat, 47),
		.arg_start = stat_field(stat, 48),
		.arg_end = stat_field(stat, 49),
		.env_start = stat_field(stat, 50),
		.env_end = stat_field(stat, 51),
		.brk = (unsigned long)syscall(SYS_brk, 0),
		.auxv = (__u64 *)v,
		.auxv_size = (__u32)(n * sizeof(*v)),
		.exe_fd = (__u32)-1,
	};
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0) != 0)
		die("prctl PR_SET_MM_MAP");
}

/*
 * Report mode: print this process's words, then start the next generation
 * (up to depth 2): NEXT directly when given (e.g. an AArch64 program after an
 * AArch32 one), else ourselves through /bin/sh -c.
 */
static int report(const char *self, int depth, const char *next_bin)
{
	struct words proc, stack, gav;
	char prefix[64];

	proc_words(&proc);
	stack_words(&stack);
	getauxval_words(&proc, &gav);
	printf("REPORT depth=%d pid=%d bits=%d\n", depth, (int)getpid(), (int)(8 * sizeof(long)));
	snprintf(prefix, sizeof(prefix), "WORDS depth=%d src=proc", depth);
	print_words(prefix, &proc);
	snprintf(prefix, sizeof(prefix), "WORDS depth=%d src=stack", depth);
	print_words(prefix, &stack);
	snprintf(prefix, sizeof(prefix), "WORDS depth=%d src=getauxval", depth);
	print_words(prefix, &gav);
	fflush(stdout);
	if (depth >= 2)
		return 0;

	char next[16], cmd[4200];
	pid_t pid;
	int status;

	snprintf(next, sizeof(next), "%d", depth + 1);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (next_bin) {
			execl(next_bin, "hwcap_inherit", "report", next, (char *)NULL);
			_exit(127);
		}
		if (access("/bin/sh", X_OK) == 0) {
			snprintf(cmd, sizeof(cmd), "'%s' report %s", self, next);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		}
		execl(self, "hwcap_inherit", "report", next, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static const char *const srcs[3] = { "proc", "stack", "getauxval" };

/*
 * Runs "BIN report DEPTH [NEXT]" with stdout on a pipe, echoes its lines and
 * parses its WORDS lines into got[depth][src]. Returns its wait status.
 */
static int spawn_reports(const char *bin, const char *depth, const char *next,
			 struct words got[3][3], int seen[3][3])
{
	int pfd[2], status;
	pid_t pid;
	char line[1024];

	memset(seen, 0, sizeof(int[3][3]));
	if (pipe(pfd) != 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 1);
		execl(bin, "hwcap_inherit", "report", depth, next, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *in = fdopen(pfd[0], "r");

	while (in && fgets(line, sizeof(line), in)) {
		fputs(line, stdout);
		for (int d = 1; d <= 2; d++)
			for (int s = 0; s < 3; s++) {
				char prefix[64];

				snprintf(prefix, sizeof(prefix), "WORDS depth=%d src=%s", d, srcs[s]);
				if (parse_words(line, prefix, &got[d][s]))
					seen[d][s] = 1;
			}
	}
	if (in)
		fclose(in);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	return status;
}

static void result(const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("RESULT name=%s %s", name, ok ? "pass" : "fail");
	if (fmt) {
		printf(" ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	if (!ok)
		failures++;
}

/* Compares words w against want for every word present in want. */
static int same_words(const struct words *w, const struct words *want, int via_getauxval)
{
	for (int k = 0; k < NWORDS; k++) {
		if (!want->present[k] || (via_getauxval && !getauxval_trusted(k)))
			continue;
		if (!w->present[k] || w->w[k] != want->w[k])
			return 0;
	}
	return 1;
}

static void fmt_words(char *buf, size_t len, const struct words *w)
{
	size_t off = 0;

	buf[0] = 0;
	for (int k = 0; k < NWORDS && off < len; k++)
		if (w->present[k])
			off += snprintf(buf + off, len - off, "%s%s=%#lx", off ? "," : "", hwcap_names[k], w->w[k]);
}

int main(int argc, char **argv, char **envp)
{
	const char *path = "map", *expect = "inherited", *compat = NULL;
	int direct = 0;
	char self[4096];
	ssize_t n;

	initial_envp = envp;
	setvbuf(stdout, NULL, _IOLBF, 0);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die("readlink /proc/self/exe");
	self[n] = 0;

	if ((argc == 3 || argc == 4) && strcmp(argv[1], "report") == 0)
		return report(self, atoi(argv[2]), argc == 4 ? argv[3] : NULL);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--path") == 0 && i + 1 < argc &&
		    (strcmp(argv[i + 1], "map") == 0 || strcmp(argv[i + 1], "auxv") == 0)) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--as-uid") == 0 && i + 1 < argc &&
			   strspn(argv[i + 1], "0123456789") == strlen(argv[i + 1]) && argv[i + 1][0]) {
			uid_t uid = (uid_t)strtoul(argv[++i], NULL, 10);

			/* drop root: PR_SET_MM_MAP must work without capabilities */
			if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
				die("drop to --as-uid");
			/* setuid made us non-dumpable: /proc/self/auxv would be root's */
			if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
				die("prctl PR_SET_DUMPABLE");
		} else if (strcmp(argv[i], "--compat") == 0 && i + 1 < argc && argv[i + 1][0] == '/') {
			compat = argv[++i];
		} else if (strcmp(argv[i], "--direct") == 0) {
			direct = 1;
		} else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc &&
			   (strcmp(argv[i + 1], "inherited") == 0 || strcmp(argv[i + 1], "not-inherited") == 0)) {
			expect = argv[++i];
		} else {
			fprintf(stderr, "hwcap_inherit: bad argument \"%s\": use --path map|auxv, --expect inherited|not-inherited, --as-uid UID, --direct, --compat /ABSOLUTE/PATH\n",
				argv[i]);
			return 2;
		}
	}
	int want_inherit = strcmp(expect, "inherited") == 0;
	int status;

	/* (a) the words the kernel gave us */
	unsigned long v[MAXAUXV];
	size_t nv = read_auxv(v, MAXAUXV);
	struct words orig, masked, self_after;
	char a[256], b[256];

	words_from_vector(v, nv, &orig);
	if (!orig.present[0] || orig.w[0] == 0) {
		errno = ENOENT;
		die("no AT_HWCAP bit to hide");
	}
	print_words("WORDS depth=0 src=orig", &orig);

	/* the AArch32 program's own words, from an unmasked parent */
	struct words compat_base[3][3];
	int compat_seen[3][3];

	if (compat) {
		status = spawn_reports(compat, "2", NULL, compat_base, compat_seen);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !compat_seen[2][0]) {
			errno = ENOEXEC;
			die("running the --compat program");
		}
	}

	/* (b) hide the lowest set bit of AT_HWCAP (and AT_HWCAP2), add a clear one */
	unsigned long hide[NWORDS] = { 0 }, add;

	for (int k = 0; k < 2; k++)
		if (orig.present[k] && orig.w[k])
			hide[k] = orig.w[k] & -orig.w[k];
#ifdef __aarch64__
	if (orig.w[0] & HWCAP_SVE)
		hide[0] = HWCAP_SVE; /* the feature masks are mostly about */
#endif
	add = ~orig.w[0] & -~orig.w[0];
	masked = orig;
	for (int k = 0; k < NWORDS; k++)
		masked.w[k] &= ~hide[k];
	printf("PLAN path=%s hide_hwcap=%#lx hide_hwcap2=%#lx add_hwcap=%#lx expect=%s\n",
	       path, hide[0], hide[1], add, expect);

	for (size_t i = 0; i + 1 < nv && v[i] != AT_NULL; i += 2)
		for (int k = 0; k < NWORDS; k++)
			if (v[i] == hwcap_types[k])
				v[i + 1] = masked.w[k] | (k == 0 ? add : 0);
	size_t used = 0;

	while (used + 1 < nv && v[used] != AT_NULL)
		used += 2;
	set_auxv(path, v, used + 2);

	proc_words(&self_after);
	fmt_words(a, sizeof(a), &self_after);
	struct words written = masked;

	written.w[0] |= add;
	result(strcmp(path, "map") == 0 ? "set_mm_map" : "set_mm_auxv",
	       same_words(&self_after, &written, 0), "self=%s", a);

	/* fork without exec: the saved auxv is copied with the mm on any kernel */
	int pfd[2];
	pid_t pid;

	if (pipe(pfd) != 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct words w;

		close(pfd[0]);
		proc_words(&w);
		_exit(write(pfd[1], &w, sizeof(w)) == sizeof(w) ? 0 : 1);
	}
	close(pfd[1]);
	{
		struct words w;
		ssize_t r = read(pfd[0], &w, sizeof(w));

		close(pfd[0]);
		waitpid(pid, &status, 0);
		fmt_words(a, sizeof(a), &w);
		result("fork_child_auxv", r == (ssize_t)sizeof(w) && w.w[0] == (masked.w[0] | add), "got=%s", a);
	}

	/* (c) fork + exec ourselves in report mode; collect the reports */
	struct words got[3][3];	/* [depth][src] */
	int seen[3][3];

	status = spawn_reports(self, "1", direct ? self : NULL, got, seen);
	result("report_exit", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status=%d", status);

	const struct words *want = want_inherit ? &masked : &orig;
	int inherited = 0, total = 0;

	fmt_words(b, sizeof(b), want);
	for (int d = 1; d <= 2; d++) {
		const char *gen = d == 1 ? "child" : "grandchild";

		for (int s = 0; s < 3; s++) {
			char name[64];
			int ok = seen[d][s] && same_words(&got[d][s], want, s == 2);

			snprintf(name, sizeof(name), "%s_%s", gen, srcs[s]);
			fmt_words(a, sizeof(a), &got[d][s]);
			result(name, ok, "got=%s want=%s%s", seen[d][s] ? a : "none", b,
			       s == 2 && !getauxval_trusted(0) ? " (x86: hwcap not compared, glibc substitutes it)" : "");
			if (s == 0 && seen[d][s]) {
				total++;
				inherited += same_words(&got[d][s], &masked, 0) && !same_words(&got[d][s], &orig, 0);
			}
		}
		result(d == 1 ? "child_cannot_add" : "grandchild_cannot_add",
		       seen[d][0] && !(got[d][0].w[0] & add), "add_hwcap=%#lx", add);
	}
	if (compat) {
		/*
		 * AArch64 -> AArch32 -> AArch64: HWCAP bits mean different things
		 * in the two states, so the switch must end the inheritance: the
		 * AArch32 child sees its unmasked words, and so does the AArch64
		 * program it starts.
		 */
		status = spawn_reports(compat, "1", self, got, seen);
		result("compat_report_exit", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status=%d", status);
		for (int src = 0; src < 3; src++) {
			char name[64];

			snprintf(name, sizeof(name), "compat_child_%s", srcs[src]);
			fmt_words(a, sizeof(a), &got[1][src]);
			fmt_words(b, sizeof(b), &compat_base[2][src]);
			result(name, seen[1][src] && compat_seen[2][src] &&
			       same_words(&got[1][src], &compat_base[2][src], 0),
			       "got=%s want=%s", a, b);
			snprintf(name, sizeof(name), "native_after_compat_%s", srcs[src]);
			fmt_words(a, sizeof(a), &got[2][src]);
			fmt_words(b, sizeof(b), &orig);
			result(name, seen[2][src] && same_words(&got[2][src], &orig, src == 2),
			       "got=%s want=%s", a, b);
		}
	}
	printf("RESULT name=summary %s\n",
	       total && inherited == total ? "inherited" : inherited == 0 ? "not-inherited" : "mixed");
	return failures ? 1 : 0;
}
