/*
 * auxvwords: print the AT_HWCAP..AT_HWCAP4 words the kernel gave this
 * process at execve, read from the auxiliary vector on the initial stack
 * (after envp), one "at_hwcapN: 0x..." line each ("absent" when the kernel
 * passed no such entry), then the same words as getauxval(3) returns them
 * ("getauxval_hwcapN: ..."). Built static so that it runs in a bare busybox
 * initramfs. It shares no code with the Go decoder under test, which is why
 * the capture script takes the expected words from it.
 *
 * The two views differ on x86_64: glibc replaces AT_HWCAP with its own
 * HWCAP_X86_* platform bits, so getauxval(AT_HWCAP) there is not the
 * kernel's word.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <sys/auxv.h>

static const struct {
	const char *name;
	unsigned long type;
} words[] = {
	{"hwcap", 16}, {"hwcap2", 26}, {"hwcap3", 29}, {"hwcap4", 30},
};

int main(int argc, char **argv, char **envp)
{
	char **p = envp;
	(void)argc;
	(void)argv;
	while (*p)
		p++;
	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		int found = 0;
		for (Elf64_auxv_t *a = (Elf64_auxv_t *)(p + 1); a->a_type != AT_NULL; a++) {
			if (a->a_type == words[i].type) {
				printf("at_%s: 0x%lx\n", words[i].name, (unsigned long)a->a_un.a_val);
				found = 1;
				break;
			}
		}
		if (!found)
			printf("at_%s: absent\n", words[i].name);
	}
	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		errno = 0;
		unsigned long v = getauxval(words[i].type);
		if (v == 0 && errno == ENOENT)
			printf("getauxval_%s: absent\n", words[i].name);
		else
			printf("getauxval_%s: 0x%lx\n", words[i].name, v);
	}
	return 0;
}
