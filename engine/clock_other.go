//go:build !(linux && amd64)

package engine

import "time"

// wallClock is the engine's default clock; see clock_linux_amd64.go. Here
// it is time.Now, monotonic reading included.
func wallClock() time.Time { return time.Now() }
