// Package redisreplay implements [resumption.ReplayStore] on Redis, so that
// every server of a fleet shares one anti-replay record, RFC 8446,
// Section 8.2.
//
// A fleet that shares ticket keys but not a replay store accepts each 0-RTT
// ClientHello once per server, not once in all (RFC 8446, Section 8.2). With
// one Store on one Redis deployment the fleet accepts it at most once,
// provided Redis itself does not lose writes: a failover to a replica that
// had not yet received a record forgets it. A Redis that cannot answer makes
// every check fail closed: 0-RTT is rejected and 1-RTT goes on.
//
// The package is separate from resumption so that importing the core pulls
// in no Redis client.
package redisreplay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/resumption"
)

// DefaultTimeout bounds one check when [Options.Timeout] is zero. A 0-RTT
// check sits on the handshake path; a store slower than this costs the client
// its 0-RTT, not the connection (RFC 8446, Section 8.2).
const DefaultTimeout = 100 * time.Millisecond

// DefaultPrefix is the key prefix used when [Options.Prefix] is empty.
const DefaultPrefix = "tlsticket:replay:"

// Sentinel errors returned by this package. Callers compare them with
// [errors.Is].
var (
	// ErrUnavailable wraps every failure to get an answer from Redis:
	// unreachable, timed out or an error reply. The caller rejects 0-RTT
	// (RFC 8446, Section 8.2) and goes on with 1-RTT.
	ErrUnavailable = errors.New("redisreplay: store unavailable")
)

// Options configures a [Store].
type Options struct {
	// Prefix is put before every key, so that several namespaces (for
	// example several services, or test runs) can share one Redis. Empty
	// means DefaultPrefix.
	Prefix string

	// Timeout bounds each CheckAndStore call, whatever the client's own
	// timeouts are. Zero or less means DefaultTimeout.
	Timeout time.Duration
}

// Store is a [resumption.ReplayStore] backed by Redis, RFC 8446, Section 8.2.
// It is safe for concurrent use.
//
// Each check is one round trip, a single command:
//
//	SET <Prefix><hex(SHA-256(key)[:16])> 1 NX PX <ttl in ms, rounded up>
//
// which Redis executes atomically: of any number of concurrent checks of one
// key, on any number of Stores sharing the server, exactly one sees it
// fresh. Expiry uses the Redis server's clock, not the caller's.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
}

var _ resumption.ReplayStore = (*Store)(nil)

// New returns a [Store] that records keys through client, RFC 8446,
// Section 8.2. The client is used as configured; New panics if it is nil.
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisreplay: internal error: nil Redis client")
	}
	s := &Store{client: client, prefix: opts.Prefix, timeout: opts.Timeout}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s
}

// CheckAndStore implements [resumption.ReplayStore.CheckAndStore], RFC 8446,
// Section 8.2, with one SET NX PX round trip. It returns (false, err) with
// err wrapping [ErrUnavailable] when Redis does not answer within
// [Options.Timeout] (or before ctx is done), and [resumption.ErrInvalidTTL]
// for a ttl of zero or less.
func (s *Store) CheckAndStore(ctx context.Context, key []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redisreplay: ttl %v: %w", ttl, resumption.ErrInvalidTTL)
	}
	ms := ttl.Milliseconds()
	if ttl%time.Millisecond != 0 {
		ms++ // round up: never keep a record for less than asked
	}
	sum := sha256.Sum256(key)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := redis.NewBoolCmd(ctx, "set", s.prefix+hex.EncodeToString(sum[:16]), "1", "nx", "px", ms)

	// A go-redis client applies a context deadline to socket reads only when
	// built with ContextTimeoutEnabled. Waiting here instead bounds the call
	// by Timeout with any client; a late reply is dropped.
	done := make(chan error, 1)
	go func() {
		defer func() {
			// This goroutine is ours: a panic in the client would kill the
			// process, where the caller could not recover it.
			if r := recover(); r != nil {
				done <- fmt.Errorf("client panicked: %v", r)
			}
		}()
		done <- s.client.Process(ctx, cmd)
	}()
	select {
	case err := <-done:
		if err != nil {
			return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return cmd.Val(), nil
	case <-ctx.Done():
		return false, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}
