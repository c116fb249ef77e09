package redisreplay_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/replaytest"
)

// TestContract runs the ReplayStore contract against a real redis-server,
// each test under its own prefix.
func TestContract(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int32
	replaytest.TestStore(t, replaytest.Options{RealClock: true}, func(t *testing.T, _ func() time.Time) resumption.ReplayStore {
		return newStore(t, srv, fmt.Sprintf("contract-%d:", n.Add(1)))
	})
}
