//go:build !unix

package testserver

import "os/exec"

// asUnprivileged does nothing where there is no root.
func asUnprivileged(*exec.Cmd, string) error { return nil }
