//go:build !unix

package mensatek

// processCPU cannot read the process's CPU time here; see cputime_unix_test.go.
func processCPU() int64 { return -1 }
