/* Synthetic fixture: names indexed by KERNEL_HWCAP_, not in bit order. */
static const char *const hwcap_str[] = {
	[KERNEL_HWCAP_FP]		= "fp",
	[KERNEL_HWCAP_ASIMD]		= "asimd",
	[KERNEL_HWCAP_PACA]		= "paca",
	[KERNEL_HWCAP_PACG]		= "pacg",
	[KERNEL_HWCAP_GCS]		= "gcs",
	/* a comment inside the table */
	[KERNEL_HWCAP_DIT]		= "dit",
	[KERNEL_HWCAP_SVE2]		= "sve2",
	[KERNEL_HWCAP_BTI]		= "bti",
	[KERNEL_HWCAP_MTE]		= "mte",
	[KERNEL_HWCAP_MTE3]		= "mte3",
	[KERNEL_HWCAP_SVE_EBF16]	= "sveebf16",
	[KERNEL_HWCAP_POE]		= "poe",
	[KERNEL_HWCAP_MTE_FAR]		= "mtefar",
	[KERNEL_HWCAP_MTE_STORE_ONLY]	= "mtestoreonly",
};

static const char *const compat_hwcap_str[] = {
	[0]	= "swp",
};
