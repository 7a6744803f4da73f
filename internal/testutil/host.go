package testutil

import (
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// HostFeature returns the first feature of this host's table that the host
// has (so that a mask hiding it really hides something), the host's
// AT_HWCAP* words, and the table.
func HostFeature(t testing.TB) (hwcap.Feature, hwcap.Words, *hwcap.Table) {
	t.Helper()
	tab, err := hwcap.Host()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	host := v.HWCAPs()
	for _, f := range tab.Features {
		if host.Has(f.Word, f.Bit) {
			return f, host, tab
		}
	}
	t.Fatalf("host words %s have no feature the %s table names", host, tab.Arch)
	return hwcap.Feature{}, host, tab
}
