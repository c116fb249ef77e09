package loopback

import (
	"crypto/tls"
	"slices"
	"sync"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
)

// EarlyLog records an adapter's 0-RTT answers (Adapter.OnEarlyData) and
// the sealed max_early_data_size of every session it resumes. It is safe
// for concurrent use.
type EarlyLog struct {
	mu           sync.Mutex
	answers      []error
	maxEarlyData []uint32
}

// Install sets a's OnEarlyData and OnDecision hooks to record into l.
func (l *EarlyLog) Install(a *tlsadapter.Adapter) {
	a.OnEarlyData = func(_ tls.ConnectionState, err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.answers = append(l.answers, err)
	}
	a.OnDecision = func(_ tls.ConnectionState, d engine.Decision, _ error) {
		if d.Resumed {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.maxEarlyData = append(l.maxEarlyData, d.Session.MaxEarlyData)
		}
	}
}

// Last returns the last 0-RTT answer (nil: approved), and false if the
// adapter was never asked.
func (l *EarlyLog) Last() (error, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.answers) == 0 {
		return nil, false
	}
	return l.answers[len(l.answers)-1], true
}

// SealedMaxEarlyData returns the max_early_data_size sealed in each
// resumed session, in order.
func (l *EarlyLog) SealedMaxEarlyData() []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.maxEarlyData)
}

// Answers returns the number of 0-RTT answers so far.
func (l *EarlyLog) Answers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.answers)
}
