//go:build !unix

package matrix

import "os/exec"

// killGroupOnCancel keeps exec's default (kill the process) where process
// groups are not available.
func killGroupOnCancel(*exec.Cmd) {}
