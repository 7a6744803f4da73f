/* Synthetic fixture. */
#define HWCAP_LOONGARCH_CPUCFG		(1 << 0)
#define HWCAP_LOONGARCH_LSX		(1 << 4)
#define HWCAP_LOONGARCH_LAM_BH		(1 << 16)
