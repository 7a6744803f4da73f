/* Synthetic fixture.
 *
 * A quoted string at the start of the comment names the flag in
 * /proc/cpuinfo.  Otherwise, this feature
 * bit is not displayed in /proc/cpuinfo at all.
 */

/* word 0: CPUID.1:EDX */
#define X86_FEATURE_FPU			( 0*32+ 0) /* "fpu" floating point */
#define X86_FEATURE_VME			( 0*32+ 1) /* "vme" */
#define X86_FEATURE_HIDDEN		( 0*32+ 2) /* "" not shown */
#define X86_FEATURE_NONAME		( 0*32+ 3) /* no quoted name */
#define X86_FEATURE_XMM2		( 0*32+26) /* "sse2" */
#define X86_FEATURE_PBE			( 0*32+31) /* "pbe" */

/* word 1: ignored */
#define X86_FEATURE_SYSCALL		( 1*32+11) /* "syscall" */
