/* Synthetic fixture: a few arm64 bits in each word, in the kernel's forms. */
#ifndef FIXTURE_ARM64_UAPI_HWCAP_H
#define FIXTURE_ARM64_UAPI_HWCAP_H

/* word 1 */
#define HWCAP_FP		(1 << 0)
#define HWCAP_ASIMD		(1 << 1)
#define HWCAP_DIT		(1 << 24)
#define HWCAP_PACA		(1 << 30)
#define HWCAP_PACG		(1UL << 31)
#define HWCAP_GCS		(1UL << 32)

/* word 2 */
#define HWCAP2_SVE2		(1 << 1)
#define HWCAP2_BTI		(1 << 17)
#define HWCAP2_MTE		(1 << 18)
#define HWCAP2_MTE3		(1 << 22)
#define HWCAP2_SVE_EBF16	(1UL << 33)
#define HWCAP2_POE		(1UL << 63)

/* word 3 */
#define HWCAP3_MTE_FAR		(1UL << 0)
#define HWCAP3_MTE_STORE_ONLY	(1UL << 1)

#endif
