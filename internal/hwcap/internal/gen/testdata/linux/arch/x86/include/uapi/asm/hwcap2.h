/* Synthetic fixture. */
#define HWCAP2_RING3MWAIT		_BITUL(0)
#define HWCAP2_FSGSBASE			_BITUL(1)
