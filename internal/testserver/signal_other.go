//go:build !unix

package testserver

import (
	"errors"
	"os"
)

var errNoSignals = errors.New("testserver: pausing a process needs SIGSTOP (unix only)")

func stopProcess(*os.Process) error     { return errNoSignals }
func continueProcess(*os.Process) error { return nil }
