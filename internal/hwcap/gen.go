package hwcap

// The feature tables (zz_generated_tables.go) are generated from the
// kernel's own sources by internal/gen, which reads $HWCAP_KERNEL_SRC, or
// else the directory hack/kernel-src.sh extracts Debian's linux-source to:
//
//	HWCAP_KERNEL_SRC=$(hack/kernel-src.sh | tail -n1) go generate ./internal/hwcap
//
// TestGeneratedTablesReproducible regenerates them and compares.

//go:generate go run ./internal/gen -o zz_generated_tables.go
