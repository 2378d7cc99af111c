package resilience

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd's process end when the test process does (a
// test stopped by a timeout or ^C leaves no server behind).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
