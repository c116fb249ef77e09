package engine

import (
	"context"
	"fmt"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
)

// earlyData decides 0-RTT for the selected identity i, whose binder has been
// verified, in the order of RFC 8446, Section 8.2.
func (e *Engine) earlyData(ctx context.Context, ch *ClientHelloTLS13, exts *format.ClientHelloExtensions,
	i int, id format.PSKIdentity, s *format.State, binder []byte) (bool, error) {
	if _, asked := exts.Lookup(format.ExtensionEarlyData); !asked {
		return false, nil
	}
	switch {
	case i != 0:
		return false, ErrEarlyDataNotFirst
	case ch.ClientHello1 != nil:
		return false, ErrEarlyDataAfterHRR
	case e.maxEarlyData == 0 || s.MaxEarlyData == 0:
		return false, ErrEarlyDataDisabled
	case s.CipherSuite != ch.CipherSuite:
		return false, ErrEarlyDataSuite
	}
	now := e.now()
	age := resumption.TicketAge(id.ObfuscatedTicketAge, s.AgeAdd)
	if !resumption.Fresh(s.CreatedAt, age, now, e.window) {
		return false, ErrEarlyDataStale
	}
	if e.replay == nil {
		return false, ErrNoReplayStore
	}
	// Keep the record until no server within the skew can find it fresh.
	ttl := resumption.ReplayTTL(resumption.ExpectedArrival(s.CreatedAt, age), now, e.window, e.skew)
	fresh, err := e.replay.CheckAndStore(ctx, binder, ttl)
	switch {
	case err != nil:
		return false, fmt.Errorf("%w: %w", ErrReplayStore, err)
	case !fresh:
		return false, ErrEarlyDataReplay
	}
	return true, nil
}
