// Package redisreplay implements [resumption.ReplayStore] on Redis, so that
// every server of a fleet shares one anti-replay record, RFC 8446,
// Section 8.2.
//
// A fleet that shares ticket keys but not a replay store accepts each 0-RTT
// ClientHello once per server, not once in all (RFC 8446, Section 8.2). With
// one Store on one Redis deployment the fleet accepts it at most once,
// provided Redis itself does not lose writes: a failover to a replica that
// had not yet received a record forgets it (see Replication below). A Redis
// that cannot answer makes every check fail closed: 0-RTT is rejected and
// 1-RTT goes on.
//
// The package is separate from resumption so that importing the core pulls
// in no Redis client.
//
// # Eviction
//
// A record that Redis evicts before its ttl is a replay window: an attacker
// who floods the server with records of its own (unique binders from its own
// tickets) makes an LRU or volatile-* policy drop the records of others, and
// their 0-RTT ClientHellos are accepted again. The volatile-* policies are no
// safer than the allkeys-* ones: replay records are exactly the keys with a
// ttl, and volatile-ttl evicts the shortest-lived first. Only the
// noeviction policy is safe: when Redis is full it refuses the write, and
// the check fails closed.
//
// [New] therefore reads maxmemory-policy with CONFIG GET and refuses any
// other policy ([ErrEvictionPolicy]). Where CONFIG is renamed or forbidden
// it fails closed too ([ErrPolicyUnknown]) unless the operator asserts the
// policy with [Options.AssumeNoEviction]. A policy changed while the store
// runs is caught by a re-check every [Options.PolicyCheckInterval]: from
// then on every check fails closed, with [ErrEvictionPolicy], until the
// policy is noeviction again. Between two re-checks a changed policy is not
// seen.
//
// # Replication
//
// Redis replicates asynchronously: it answers the SET before any replica has
// the record. With [Options.MinReplicas] zero (the default), a record that
// the master accepted in the last moments before it died may be missing on
// the replica that Sentinel or Redis Cluster promotes, and the ClientHello it
// recorded is then accepted a second time. That is the loss window.
//
// With MinReplicas set to k > 0, each check sends the SET and then
// WAIT k ReplicaTimeout on the same connection, to the master of the key's
// slot, in one round trip (a pipeline), and a record is fresh only if at
// least k replicas acknowledged it within [Options.ReplicaTimeout]. Otherwise
// the check returns false and an error wrapping [ErrNotReplicated]: 0-RTT is
// rejected and 1-RTT goes on. The record stays on the master, so a retry of
// the same ClientHello is a replay.
//
// What a fresh answer then guarantees: when the check returned, the record
// was in the memory of the master and of at least k of its replicas. If the
// master fails and one of those replicas is promoted, the record survives
// the failover, and the ClientHello is not accepted again. Sentinel and
// Redis Cluster both prefer the replica with the largest replication offset,
// which is one that acknowledged if any did.
//
// What WAIT does not guarantee (it is not a consensus protocol):
//   - If a replica that did not acknowledge is promoted (the acknowledging
//     ones being down or cut off, or a replica priority that says so), the
//     record is lost as without WAIT.
//   - A replica that acknowledged keeps the record in memory only; a replica
//     restarted without persistence before it is promoted has lost it.
//   - A fresh answer is not a promise that the cluster agrees: WAIT counts
//     replicas that received the write, it does not make them reject a
//     conflicting history. What it does rule out is a master cut off from
//     all its replicas answering fresh: it gets no acknowledgement.
//
// The price: each check takes the replication round trip as well
// (measured in docs/operations.md). With fewer than k replicas connected to
// the key's master (after a failover, until a replica attaches to the new
// master; while a replica resyncs), every check fails, replays included,
// and each waits ReplicaTimeout holding a pooled connection: size the
// client's PoolSize for the checks per second times ReplicaTimeout.
package redisreplay

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/resumption"
)

// DefaultTimeout bounds one check when [Options.Timeout] is zero. A 0-RTT
// check sits on the handshake path; a store slower than this costs the client
// its 0-RTT, not the connection (RFC 8446, Section 8.2).
const DefaultTimeout = 100 * time.Millisecond

// DefaultPolicyCheckInterval is how often the eviction policy is read again
// when [Options.PolicyCheckInterval] is zero.
const DefaultPolicyCheckInterval = time.Minute

// DefaultPrefix is the key prefix used when [Options.Prefix] is empty.
const DefaultPrefix = "tlsticket:replay:"

// safePolicy is the only maxmemory-policy under which Redis never drops a
// record before its ttl.
const safePolicy = "noeviction"

// Options configures a [Store].
type Options struct {
	// Prefix is put before every key, so that several namespaces (for
	// example several services, or test runs) can share one Redis. Empty
	// means DefaultPrefix.
	Prefix string

	// Timeout bounds each CheckAndStore call, whatever the client's own
	// timeouts are. Zero or less means DefaultTimeout.
	Timeout time.Duration

	// AssumeNoEviction skips reading maxmemory-policy, for servers where
	// CONFIG is renamed or forbidden. The operator asserts that the policy
	// is noeviction and stays so; with another policy, replay records can
	// be evicted and 0-RTT replayed.
	AssumeNoEviction bool

	// PolicyCheckInterval is how often a check reads maxmemory-policy
	// again (one extra round trip on that check). Zero or less means
	// DefaultPolicyCheckInterval.
	PolicyCheckInterval time.Duration

	// MinReplicas, when positive, makes a record fresh only once at least
	// this many replicas of the key's master acknowledge it (WAIT), so that
	// it survives a failover to one of them: see Replication in the package
	// documentation for what this does and does not guarantee. Zero means
	// no wait: Redis's asynchronous replication may lose the last records
	// on a failover. Negative is an error.
	MinReplicas int

	// ReplicaTimeout bounds the wait for the replicas' acknowledgements.
	// Zero or less means half of Timeout; it must be less than Timeout. It
	// is rounded up to whole milliseconds.
	ReplicaTimeout time.Duration
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
// fresh. Expiry uses the Redis server's clock (elapsed time), not the
// caller's. With [Options.MinReplicas] set, WAIT follows the SET in the same
// round trip (a pipeline on one connection to the key's master). Once every [Options.PolicyCheckInterval] one check also reads the
// eviction policy (see the package documentation).
type Store struct {
	client        redis.UniversalClient
	prefix        string
	timeout       time.Duration
	checkPolicy   bool
	checkInterval time.Duration
	minReplicas   int
	replicaMillis int64 // WAIT's timeout

	// nextCheck is when the policy is due to be read again, in Unix
	// nanoseconds; policyErr is the result of the last reading.
	nextCheck atomic.Int64
	policyErr atomic.Pointer[error]
}

var _ resumption.ReplayStore = (*Store)(nil)

// New returns a [Store] that records keys through client, RFC 8446,
// Section 8.2. The client is used as configured; New panics if it is nil.
//
// Unless opts.AssumeNoEviction is set, New reads the server's
// maxmemory-policy within opts.Timeout (or before ctx is done) and returns an
// error wrapping [ErrEvictionPolicy] if it is not noeviction, or wrapping
// [ErrPolicyUnknown] if it cannot be read.
func New(ctx context.Context, client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		panic("redisreplay: internal error: nil Redis client")
	}
	s := &Store{
		client:        client,
		prefix:        cmp.Or(opts.Prefix, DefaultPrefix),
		timeout:       opts.Timeout,
		checkPolicy:   !opts.AssumeNoEviction,
		checkInterval: opts.PolicyCheckInterval,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.checkInterval <= 0 {
		s.checkInterval = DefaultPolicyCheckInterval
	}
	if err := s.setReplication(opts); err != nil {
		return nil, err
	}
	if s.checkPolicy {
		verdict, err := s.readPolicy(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPolicyUnknown, err)
		}
		if verdict != nil {
			return nil, verdict
		}
		s.setPolicy(nil)
	}
	return s, nil
}

// setReplication checks and sets the MinReplicas and ReplicaTimeout options.
func (s *Store) setReplication(opts Options) error {
	if opts.MinReplicas < 0 {
		return fmt.Errorf("redisreplay: MinReplicas %d is negative", opts.MinReplicas)
	}
	s.minReplicas = opts.MinReplicas
	rt := opts.ReplicaTimeout
	if rt <= 0 {
		rt = s.timeout / 2
	}
	if rt >= s.timeout {
		return fmt.Errorf("redisreplay: ReplicaTimeout %v must be less than Timeout %v", rt, s.timeout)
	}
	// Round up: WAIT's timeout is whole milliseconds, and 0 waits forever.
	s.replicaMillis = int64((rt + time.Millisecond - 1) / time.Millisecond)
	return nil
}

// Errors about the server's maxmemory-policy. Callers compare them, like
// every error of this package, with [errors.Is].
var (
	// ErrEvictionPolicy is returned by [New], and by every check after a
	// re-check found it, when the server's maxmemory-policy is not
	// noeviction: Redis may then drop replay records early.
	ErrEvictionPolicy = errors.New("redisreplay: Redis maxmemory-policy is not noeviction; replay records may be evicted")

	// ErrPolicyUnknown is returned by [New] when the server does not
	// answer CONFIG GET maxmemory-policy (renamed or forbidden) and
	// [Options.AssumeNoEviction] is not set.
	ErrPolicyUnknown = errors.New("redisreplay: cannot read Redis maxmemory-policy; set it to noeviction and set Options.AssumeNoEviction")
)

// readPolicy reads maxmemory-policy. It returns the policy's verdict (nil,
// or an error wrapping ErrEvictionPolicy or ErrPolicyUnknown) and, apart,
// an error if Redis did not answer at all.
func (s *Store) readPolicy(ctx context.Context) (verdict, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := redis.NewMapStringStringCmd(ctx, "config", "get", "maxmemory-policy")
	err = s.process(ctx, cmd)
	var reply redis.Error
	switch policy, ok := cmd.Val()["maxmemory-policy"]; {
	case errors.As(err, &reply):
		// An error reply: CONFIG is renamed away or forbidden (NOPERM).
		return fmt.Errorf("%w: %w", ErrPolicyUnknown, err), nil
	case err != nil:
		return nil, err
	case !ok:
		return ErrPolicyUnknown, nil
	case policy != safePolicy:
		return fmt.Errorf("%w (it is %q)", ErrEvictionPolicy, policy), nil
	}
	return nil, nil
}

// policy returns the verdict of the last policy reading, reading it again
// first if it is due. Of concurrent callers, one reads; the others use the
// last verdict. A reading that gets no answer keeps the last verdict, fails
// this check with ErrUnavailable, and is retried on the next check.
func (s *Store) policy(ctx context.Context) error {
	if !s.checkPolicy {
		return nil
	}
	next := s.nextCheck.Load()
	if time.Now().UnixNano() < next || !s.nextCheck.CompareAndSwap(next, next+int64(s.checkInterval)) {
		return *s.policyErr.Load()
	}
	verdict, err := s.readPolicy(ctx)
	if err != nil {
		s.nextCheck.Store(next) // due again
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.setPolicy(verdict)
	return verdict
}

// setPolicy records a verdict and schedules the next reading.
func (s *Store) setPolicy(verdict error) {
	s.policyErr.Store(&verdict)
	s.nextCheck.Store(time.Now().Add(s.checkInterval).UnixNano())
}

// Errors of a check that could not be sure a record is stored: the caller
// rejects 0-RTT and goes on with 1-RTT.
var (
	// ErrUnavailable wraps every failure to get an answer from Redis:
	// unreachable, timed out or an error reply. The caller rejects 0-RTT
	// (RFC 8446, Section 8.2) and goes on with 1-RTT.
	ErrUnavailable = errors.New("redisreplay: store unavailable")

	// ErrNotReplicated is returned, with fresh false, by a check that
	// stored a new record which fewer than [Options.MinReplicas] replicas
	// acknowledged within [Options.ReplicaTimeout]. The caller rejects
	// 0-RTT and goes on with 1-RTT, as for [ErrUnavailable].
	ErrNotReplicated = errors.New("redisreplay: record not acknowledged by enough replicas")
)

// CheckAndStore implements [resumption.ReplayStore.CheckAndStore], RFC 8446,
// Section 8.2, with one SET NX PX round trip (followed by WAIT in the same
// round trip when [Options.MinReplicas] is set). It returns (false, err) with
// err wrapping [ErrUnavailable] when Redis does not answer within
// [Options.Timeout] (or before ctx is done), [ErrNotReplicated] when too few
// replicas acknowledged a new record, [ErrEvictionPolicy] or
// [ErrPolicyUnknown] when the last policy reading failed, and
// [resumption.ErrInvalidTTL] for a ttl of zero or less.
func (s *Store) CheckAndStore(ctx context.Context, key []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redisreplay: ttl %v: %w", ttl, resumption.ErrInvalidTTL)
	}
	if err := s.policy(ctx); err != nil {
		return false, err
	}
	ms := ttl.Milliseconds()
	if ttl%time.Millisecond != 0 {
		ms++ // round up: never keep a record for less than asked
	}
	sum := sha256.Sum256(key)
	rkey := s.prefix + hex.EncodeToString(sum[:16])
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	set := redis.NewBoolCmd(ctx, "set", rkey, "1", "nx", "px", ms)
	if s.minReplicas == 0 {
		if err := s.process(ctx, set); err != nil {
			s.reloadSlots()
			return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return set.Val(), nil
	}
	wait := redis.NewIntCmd(ctx, "wait", s.minReplicas, s.replicaMillis)
	if err := s.call(ctx, func() error { return s.setAndWait(ctx, rkey, set, wait) }); err != nil {
		s.reloadSlots()
		return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !set.Val() {
		return false, nil // a replay, whatever the replicas hold
	}
	if n := wait.Val(); n < int64(s.minReplicas) {
		return false, fmt.Errorf("%w: %d of %d within %dms", ErrNotReplicated, n, s.minReplicas, s.replicaMillis)
	}
	return true, nil
}

// setAndWait sends set and wait in one pipeline on one connection to the
// master of rkey's slot: WAIT counts the replicas that acknowledged the
// writes of its own connection, so it must follow the SET on the node that
// took it. A cluster client would send the keyless WAIT to any node; here
// the pipeline runs on the key's master's own client (which does not follow
// MOVED replies: a failed check reloads the slot map, see reloadSlots).
func (s *Store) setAndWait(ctx context.Context, rkey string, set, wait redis.Cmder) error {
	pipe := s.client.Pipeline()
	if cluster, ok := s.client.(*redis.ClusterClient); ok {
		node, err := cluster.MasterForKey(ctx, rkey)
		if err != nil {
			return err
		}
		pipe = node.Pipeline()
	}
	pipe.Process(ctx, set)
	pipe.Process(ctx, wait)
	_, err := pipe.Exec(ctx)
	return err
}

// reloadSlots asks a cluster client to reload its slot map in the
// background, after a check failed. go-redis follows MOVED replies, but
// after a master dies it keeps sending the dead master's slots to it until
// its periodic reload; a failover would then cost 0-RTT for seconds after
// the promotion. Reloads are coalesced by the client.
func (s *Store) reloadSlots() {
	if cluster, ok := s.client.(*redis.ClusterClient); ok {
		cluster.ReloadState(context.Background())
	}
}

// process sends cmd and waits for its answer until ctx is done.
func (s *Store) process(ctx context.Context, cmd redis.Cmder) error {
	return s.call(ctx, func() error { return s.client.Process(ctx, cmd) })
}

// call runs fn, which talks to Redis, and waits for it until ctx is done.
//
// A go-redis client applies a context deadline to socket reads only when
// built with ContextTimeoutEnabled. Waiting here instead bounds the call
// with any client; a late reply is dropped.
func (s *Store) call(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			// This goroutine is ours: a panic in the client would kill the
			// process, where the caller could not recover it.
			if r := recover(); r != nil {
				done <- fmt.Errorf("client panicked: %v", r)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
