package engine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/tlsticket/tlsticket/format"
)

// earlyDataKeyPrefix namespaces the per-ticket early-data records of
// [Engine.ApproveEarlyData]. With the SHA-256 of the identity the key is 38
// bytes long, unlike the single-use records of resumption.UseOnce (39
// bytes) and validated binders (32 or 48 bytes), so the kinds never collide
// in one store.
const earlyDataKeyPrefix = "early:"

// IssueAdvertised is [Engine.Issue] for a host TLS stack that writes the
// NewSessionTicket message itself: the sealed s.MaxEarlyData is
// maxEarlyData, the max_early_data_size the stack advertises, instead of
// Config.MaxEarlyData. crypto/tls under QUIC advertises 0xffffffff for a
// ticket that allows 0-RTT and nothing otherwise (RFC 9001, Section 4.6.1),
// whatever this engine's TLS-over-TCP setting is.
func (e *Engine) IssueAdvertised(s *format.State, maxEarlyData uint32) (Issued, error) {
	return e.issue(s, nil, maxEarlyData)
}

// ApproveEarlyData decides whether a host stack that checks neither the
// ticket age nor replays (crypto/tls under QUIC) may accept 0-RTT data for
// the session s, opened from the PSK identity, which the engine's decision
// is resuming. A nil error approves; otherwise the error says why not
// (ErrNoReplayStore, ErrEarlyDataStale, ErrEarlyDataReplay, ErrReplayStore)
// and the stack resumes in 1-RTT.
//
// It is for stacks that cannot give the engine the obfuscated ticket age nor
// the binder (crypto/tls's UnwrapSession sees neither), so neither the
// freshness check of RFC 8446, Section 8.3 nor the binder record of Section
// 8.2 is possible. Instead each ticket's early data is single-use (Section
// 8.1): the first approval records "early:" || SHA-256(identity) in the
// replay store until the ticket expires, plus Config.MaxClockSkew for servers
// whose clocks lag, and every later request for that ticket, on any server
// sharing the store, is refused. A store that cannot answer refuses (fails
// closed). The only freshness bound is the ticket's age from its creation
// time: maxAge, if positive, refuses tickets issued longer ago (and
// shortens the record to match).
//
// What this does not protect: a first flight captured and withheld, then
// delivered once within the bound, is accepted once (the ticket's own
// client never had it accepted); a store that loses records (a restarted
// MemoryStore, a Redis failover) forgets tickets approved before; the
// record is taken before the stack verifies the binder, so whoever sees a
// ticket on the wire can spend its 0-RTT (not its 1-RTT resumption), and a
// resumption whose 0-RTT the stack refuses for its own reasons spends it
// too.
func (e *Engine) ApproveEarlyData(ctx context.Context, identity []byte, s *format.State, maxAge time.Duration) error {
	if e.replay == nil {
		return ErrNoReplayStore
	}
	now := e.now()
	end := s.Expires()
	if t := s.CreatedAt.Add(maxAge); maxAge > 0 && t.Before(end) {
		end = t
	}
	if !now.Before(end) || s.CreatedAt.After(now.Add(e.skew)) {
		return ErrEarlyDataStale
	}
	sum := sha256.Sum256(identity)
	key := make([]byte, 0, len(earlyDataKeyPrefix)+len(sum))
	key = append(append(key, earlyDataKeyPrefix...), sum[:]...)
	fresh, err := e.replay.CheckAndStore(ctx, key, end.Sub(now)+e.skew)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrReplayStore, err)
	case !fresh:
		return ErrEarlyDataReplay
	}
	return nil
}
