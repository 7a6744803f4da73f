//go:build 386 || arm || mips || mipsle

package auxv

const wordSize = 4
