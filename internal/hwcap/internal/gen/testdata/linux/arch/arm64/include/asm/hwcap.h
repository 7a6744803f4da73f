/* Synthetic fixture: how KERNEL_HWCAP_ numbers relate to the uapi bits. */
#define COMPAT_HWCAP_HALF	(1 << 1)
#define __khwcap_feature(x)		const_ilog2(HWCAP_ ## x)
#define __khwcap2_feature(x)		(const_ilog2(HWCAP2_ ## x) + 64)
#define __khwcap3_feature(x)		(const_ilog2(HWCAP3_ ## x) + 128)
#include "asm/kernel-hwcap.h"
