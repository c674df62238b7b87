package prover

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel SIGKILL the executor when the node's process dies.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
