/*
 * progstats: the run-time statistics of the BPF programs behind pinned
 * links, for test/bpf/bench.sh (static, for a QEMU guest's busybox root).
 *
 *   progstats LINK...    e.g. /sys/fs/bpf/hwcap/link_exec
 *
 * prints one line per link: "LINK run_cnt=N run_time_ns=T". The kernel
 * counts only while /proc/sys/kernel/bpf_stats_enabled is 1 (or a
 * BPF_ENABLE_STATS descriptor is open): the caller turns it on.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int info(int fd, void *buf, uint32_t len)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = len;
	a.info.info = (uint64_t)(uintptr_t)buf;
	return (int)sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc < 2) {
		fprintf(stderr, "progstats: usage: progstats LINK...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		union bpf_attr a;
		struct bpf_link_info li;
		struct bpf_prog_info pi;
		int lfd, pfd;

		memset(&a, 0, sizeof(a));
		a.pathname = (uint64_t)(uintptr_t)argv[i];
		lfd = (int)sys_bpf(BPF_OBJ_GET, &a);
		memset(&li, 0, sizeof(li));
		if (lfd < 0 || info(lfd, &li, sizeof(li)) < 0) {
			fprintf(stderr, "progstats: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.prog_id = li.prog_id;
		pfd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		memset(&pi, 0, sizeof(pi));
		if (pfd < 0 || info(pfd, &pi, sizeof(pi)) < 0) {
			fprintf(stderr, "progstats: %s: program %u: %s\n", argv[i], li.prog_id, strerror(errno));
			rc = 1;
			continue;
		}
		printf("%s run_cnt=%llu run_time_ns=%llu\n", argv[i], (unsigned long long)pi.run_cnt,
		       (unsigned long long)pi.run_time_ns);
		close(pfd);
		close(lfd);
	}
	return rc;
}
