/* Synthetic fixture. */
static void show_summary(void)
{
	static const char *hwcap_str[] = {
		[HWCAP_NR_ESAN3]	= "esan3",
		[HWCAP_NR_VXRS]		= "vx",
		[HWCAP_NR_SIE]		= "sie",
	};
}
