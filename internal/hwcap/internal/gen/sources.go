package main

// Sources are the files, relative to the top of a kernel tree, that the
// generator reads. hack/kernel-src.sh extracts exactly these (a test keeps
// the two lists equal).
var Sources = []string{
	fileMakefile,
	fileARM64UAPI,
	fileARM64Asm,
	fileARM64GenScript,
	fileARM64Cpuinfo,
	fileX86Features,
	fileX86HWCAP2,
	fileRISCVUAPI,
	filePPCUAPI,
	fileS390Elf,
	fileS390Processor,
	fileLoongUAPI,
	fileLoongProc,
}

const (
	fileMakefile       = "Makefile"
	fileARM64UAPI      = "arch/arm64/include/uapi/asm/hwcap.h"
	fileARM64Asm       = "arch/arm64/include/asm/hwcap.h"
	fileARM64GenScript = "arch/arm64/tools/gen-kernel-hwcaps.sh"
	fileARM64Cpuinfo   = "arch/arm64/kernel/cpuinfo.c"
	fileX86Features    = "arch/x86/include/asm/cpufeatures.h"
	fileX86HWCAP2      = "arch/x86/include/uapi/asm/hwcap2.h"
	fileRISCVUAPI      = "arch/riscv/include/uapi/asm/hwcap.h"
	filePPCUAPI        = "arch/powerpc/include/uapi/asm/cputable.h"
	fileS390Elf        = "arch/s390/include/asm/elf.h"
	fileS390Processor  = "arch/s390/kernel/processor.c"
	fileLoongUAPI      = "arch/loongarch/include/uapi/asm/hwcap.h"
	fileLoongProc      = "arch/loongarch/kernel/proc.c"
)
