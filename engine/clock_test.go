package engine

import (
	"testing"
	"time"
)

// TestWallClock checks the default clock against time.Now: the same wall
// clock, to the microsecond, and no monotonic reading on the platforms
// where it skips it.
func TestWallClock(t *testing.T) {
	for range 1000 {
		before := time.Now().Truncate(time.Microsecond)
		got := wallClock()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("wallClock() = %v, outside [%v, %v]", got, before, after)
		}
	}
	e, err := New(&Config{Keys: benchEngine(t).keys})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.now(); time.Until(got).Abs() > time.Second {
		t.Errorf("the default engine clock reads %v", got)
	}
}
