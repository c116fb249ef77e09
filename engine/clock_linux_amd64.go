package engine

import (
	"syscall"
	"time"
)

// wallClock is the engine's default clock: the wall clock alone. Every time
// the engine handles is a wall-clock time (a ticket's creation, a session's
// authentication, compared on other machines and after restarts), so the
// monotonic reading that [time.Now] also takes is of no use to it, and on
// Linux that reading is a second vDSO call, as long as the first (about 27
// ns each on a kvm-clock virtual machine), on every Issue and Open.
//
// syscall.Gettimeofday goes through the vDSO on linux/amd64; its
// microseconds are finer than the milliseconds a ticket keeps. Should it
// fail, wallClock falls back to time.Now.
func wallClock() time.Time {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return time.Now()
	}
	return time.Unix(tv.Sec, tv.Usec*1000)
}
