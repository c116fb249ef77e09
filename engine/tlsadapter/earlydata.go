package tlsadapter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"

	"github.com/tlsticket/tlsticket/format"
)

// quicMaxEarlyData is the max_early_data_size of a QUIC ticket that allows
// 0-RTT (RFC 9001, Section 4.6.1).
const quicMaxEarlyData = 0xffffffff

// contextPrefix starts the SessionState.Extra entry that holds the
// early-data context digest. crypto/tls ignores Extra entries and quic-go
// looks only for its own prefix ("quic-go1").
const contextPrefix = "tlsticket edc1"

// contextEntry returns the Extra entry for the adapter's early-data
// context: contextPrefix || SHA-256(EarlyDataContext).
func (a *Adapter) contextEntry() []byte {
	sum := sha256.Sum256(a.EarlyDataContext)
	return append([]byte(contextPrefix), sum[:]...)
}

// approveEarlyData decides 0-RTT for a resumed session whose crypto/tls
// state ss allows it: the early-data context must match, then the engine's
// replay policy must approve (single use of each ticket's early data across
// the fleet; see engine.Engine.ApproveEarlyData).
func (a *Adapter) approveEarlyData(identity []byte, ss *tls.SessionState, s *format.State) error {
	want := a.contextEntry()
	match := false
	for _, x := range ss.Extra {
		if bytes.HasPrefix(x, []byte(contextPrefix)) {
			match = subtle.ConstantTimeCompare(x, want) == 1
			break
		}
	}
	if !match {
		return ErrEarlyDataContext
	}
	timeout := a.EarlyDataTimeout
	if timeout <= 0 {
		timeout = DefaultEarlyDataTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a.e.ApproveEarlyData(ctx, identity, s, a.EarlyDataMaxAge)
}
