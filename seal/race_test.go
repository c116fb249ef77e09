//go:build race

package seal

// raceEnabled reports whether the race detector is on. It makes sync.Pool
// drop items at random, so pooled paths allocate.
const raceEnabled = true
