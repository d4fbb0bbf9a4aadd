//go:build unix

package mensatek

import "syscall"

// processCPU returns the CPU time (user and system) the test process has used so far, in
// nanoseconds, or -1 where it cannot be read.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
