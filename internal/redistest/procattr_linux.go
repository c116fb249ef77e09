package redistest

import "syscall"

// procAttr makes the kernel kill a server when the test process dies, so
// that a test killed at its timeout (which runs no t.Cleanup) leaves no
// server behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
