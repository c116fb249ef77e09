//go:build !linux

package redistest

import "syscall"

// procAttr returns nil: only Linux kills a child when its parent dies.
func procAttr() *syscall.SysProcAttr { return nil }
