// Package fakeclock is an injected clock for tests: it moves only when told
// to, so tests of lifetimes, rotation and freshness never sleep.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a clock that only moves when told to. It is safe for concurrent
// use; pass its Now method wherever a `Time func() time.Time` is taken.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock showing t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock by d (backwards if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
