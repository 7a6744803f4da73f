#!/bin/sh
# Synthetic fixture: the one line the generator checks.
grep -E '^#define HWCAP[0-9]*_[A-Z0-9_]+' $1 | \
	sed 's/.*HWCAP\([0-9]*\)_\([A-Z0-9_]\+\).*/#define KERNEL_HWCAP_\2\t__khwcap\1_feature(\2)/'
