// Package rediskeys distributes a fleet's sealed key bundles
// (package keydist) through Redis.
//
// A [Publisher] seals each publication of the fleet's key schedule to every
// member and stores it under the member's key, ahead of the time its new
// keys activate. Each member runs a [Subscriber], which polls its key,
// opens and installs every newer bundle into its [keydist.Member], and is
// woken by a PUBLISH as soon as a bundle is stored.
//
// # Data model
//
// For a member with ID id and the prefix P (default [DefaultPrefix]):
//
//	HASH P + "member:" + id
//	    epoch   the bundle's epoch, 20 decimal digits (zero-padded)
//	    bundle  the sealed bundle (keydist.Seal)
//	CHANNEL P + "updates"   one message, id, after each store
//
// The Publisher stores a bundle only if its epoch is greater than the
// stored one, in one Lua script (atomic on the Redis server), so that two
// publishers racing cannot roll a member back. Redis is not trusted: every
// bundle is signed and sealed to its member, and a member refuses an old
// bundle (keydist.ErrRollback). What Redis can do is withhold bundles:
// members then keep their keys (see below).
//
// # Failures
//
// A member that cannot reach Redis keeps the keys it has and keeps serving:
// [Subscriber.Poll] returns an error wrapping [ErrUnavailable] and changes
// nothing, and [Subscriber.Run] logs the error and tries again at the next
// poll, without ever dropping a key or panicking. Its keys go on moving
// through their phases in the server's seal.Rotator, which follows the
// [keydist.Member], so a member that misses a publication still opens the
// tickets of a key it holds as announced, and seals with a local key once
// every key it holds has stopped sealing (docs/operations.md).
//
// The package is separate from keydist so that importing keydist pulls in
// no Redis client.
package rediskeys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/keydist"
)

// Defaults of [Options].
const (
	// DefaultPrefix is put before every key and channel name.
	DefaultPrefix = "tlsticket:keys:"

	// DefaultTimeout bounds each Redis call.
	DefaultTimeout = 2 * time.Second

	// DefaultPollInterval is how often a Subscriber polls its key, besides
	// the PUBLISH notifications. It is far below the default announce
	// period (seal.DefaultAnnounce, 1 h), which is how early a publisher
	// should store a bundle before its keys activate.
	DefaultPollInterval = time.Minute
)

// maxID is the longest member ID, in bytes.
const maxID = 255

// Options configures a [Publisher] or a [Subscriber]. The zero value uses
// the defaults.
type Options struct {
	// Prefix is put before every key and channel name, so that several
	// fleets can share one Redis. Empty means DefaultPrefix. Publisher and
	// Subscribers must agree.
	Prefix string

	// Timeout bounds each Redis call, whatever the client's own timeouts.
	// Zero or less means DefaultTimeout.
	Timeout time.Duration

	// PollInterval is how often a Subscriber polls. Zero or less means
	// DefaultPollInterval.
	PollInterval time.Duration

	// Rand is the source of the HPKE randomness of a Publisher. Nil means
	// crypto/rand.
	Rand io.Reader

	// Logger receives a Subscriber's errors (Warn) and installations
	// (Info). Records carry no key bytes. Nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns o with its zero fields set.
func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// memberKey returns the Redis key of member id.
func (o *Options) memberKey(id string) string { return o.Prefix + "member:" + id }

// channel returns the notification channel.
func (o *Options) channel() string { return o.Prefix + "updates" }

// checkID returns an error if id is not a valid member ID: 1 to 255 bytes
// of printable ASCII without spaces.
func checkID(id string) error {
	if len(id) == 0 || len(id) > maxID {
		return fmt.Errorf("rediskeys: member ID must be 1 to %d bytes", maxID)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return errors.New("rediskeys: member ID must be printable ASCII without spaces")
		}
	}
	return nil
}

// formatEpoch returns e as 20 decimal digits, so that Lua compares epochs
// as strings (its numbers are doubles, exact only to 2^53).
func formatEpoch(e uint64) string {
	s := strconv.FormatUint(e, 10)
	const width = 20 // len("18446744073709551615")
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// ErrUnavailable wraps every failure to get an answer from Redis:
// unreachable, timed out or an error reply. A member keeps its keys.
// Callers compare it, like every error of this package, with [errors.Is].
var ErrUnavailable = errors.New("rediskeys: Redis unavailable")

// do runs fn with a context bounded by timeout and returns its error, or
// ctx's error once the timeout passes, wrapped in ErrUnavailable. A
// go-redis client applies a context deadline to socket reads only when
// built with ContextTimeoutEnabled; waiting here bounds the call with any
// client, and a late reply is dropped.
//
// After a failure, a cluster client is asked to reload its slot map in the
// background: after a master dies, go-redis keeps sending the dead
// master's slots to it until its own periodic reload, and publications
// would fail for many seconds after the replica's promotion.
func do(ctx context.Context, client redis.UniversalClient, timeout time.Duration, fn func(ctx context.Context) error) error {
	err := doBounded(ctx, timeout, fn)
	if cluster, ok := client.(*redis.ClusterClient); ok && err != nil {
		cluster.ReloadState(context.Background())
	}
	return err
}

// doBounded is do without the reload.
func doBounded(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			// This goroutine is ours: a panic in the client would kill
			// the process, where the caller could not recover it.
			if r := recover(); r != nil {
				done <- fmt.Errorf("client panicked: %v", r)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// publishScript stores a bundle if its epoch is newer and notifies the
// members. KEYS[1] is the member's hash; ARGV is epoch (20 digits),
// bundle, channel, member ID.
const publishScript = `
local cur = redis.call('HGET', KEYS[1], 'epoch')
if cur and cur >= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'bundle', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`

// A Publisher seals bundles to members and stores them in Redis. It is safe
// for concurrent use.
type Publisher struct {
	client redis.UniversalClient
	signer *keydist.PublisherKey
	opts   Options
}

// NewPublisher returns a Publisher that signs with signer and stores
// through client. It panics if client or signer is nil.
func NewPublisher(client redis.UniversalClient, signer *keydist.PublisherKey, opts Options) *Publisher {
	if client == nil || signer == nil {
		panic("rediskeys: internal error: nil Redis client or publisher key")
	}
	return &Publisher{client: client, signer: signer, opts: opts.withDefaults()}
}

// ErrStaleEpoch means Redis already holds a bundle of the same or a later
// epoch for the member: the publication was not stored.
var ErrStaleEpoch = errors.New("rediskeys: Redis holds a bundle of the same or a later epoch")

// Publish seals b to the member with ID id and public key to
// ([keydist.Seal]), stores it under the member's key and notifies the
// members, unless Redis already holds a bundle of the same or a later epoch
// for the member ([ErrStaleEpoch]). Store each publication at least the
// announce period before its new keys activate.
func (p *Publisher) Publish(ctx context.Context, id string, to *keydist.MemberPublicKey, b *keydist.Bundle) error {
	if err := checkID(id); err != nil {
		return err
	}
	sealed, err := keydist.Seal(b, to, p.signer, p.opts.Rand)
	if err != nil {
		return err
	}
	var stored int64
	err = do(ctx, p.client, p.opts.Timeout, func(ctx context.Context) error {
		var err error
		stored, err = p.client.Eval(ctx, publishScript, []string{p.opts.memberKey(id)},
			formatEpoch(b.Epoch), sealed, p.opts.channel(), id).Int64()
		return err
	})
	if err != nil {
		return fmt.Errorf("rediskeys: failed to publish to member %q: %w", id, err)
	}
	if stored == 0 {
		return fmt.Errorf("%w: member %q, epoch %d", ErrStaleEpoch, id, b.Epoch)
	}
	return nil
}

// A Subscriber keeps a [keydist.Member] up to date from Redis. Call
// [Subscriber.Run] in its own goroutine, or [Subscriber.Poll] on your own
// schedule; a seal.Rotator made with seal.NewSourceRotator on the
// Member keeps the server's Keyring current.
type Subscriber struct {
	client redis.UniversalClient
	member *keydist.Member
	id     string
	opts   Options
}

// NewSubscriber returns a Subscriber that installs the bundles stored for
// member ID id into member. It returns an error for an invalid ID and
// panics if client or member is nil.
func NewSubscriber(client redis.UniversalClient, member *keydist.Member, id string, opts Options) (*Subscriber, error) {
	if client == nil || member == nil {
		panic("rediskeys: internal error: nil Redis client or member")
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	return &Subscriber{client: client, member: member, id: id, opts: opts.withDefaults()}, nil
}

// Poll reads the member's bundle from Redis and, if its stored epoch is
// newer than the member's, installs it. It returns nil
// if there is nothing new, an error wrapping [ErrUnavailable] if Redis does
// not answer, and the error of [keydist.Member.Install] (such as
// keydist.ErrRollback for a replayed bundle) if the bundle is refused. On
// error the member keeps its keys.
func (s *Subscriber) Poll(ctx context.Context) error {
	var vals []any
	err := do(ctx, s.client, s.opts.Timeout, func(ctx context.Context) error {
		var err error
		vals, err = s.client.HMGet(ctx, s.opts.memberKey(s.id), "epoch", "bundle").Result()
		return err
	})
	if err != nil {
		return fmt.Errorf("rediskeys: failed to poll member %q: %w", s.id, err)
	}
	epoch, okE := vals[0].(string)
	sealed, okB := vals[1].(string)
	if !okE && !okB {
		return nil // nothing published yet
	}
	if !okE || !okB {
		return fmt.Errorf("rediskeys: member %q: incomplete record in Redis", s.id)
	}
	if e, err := strconv.ParseUint(epoch, 10, 64); err == nil && e <= s.member.Epoch() {
		return nil // installed already (the bundle says the same, or Open refuses it)
	}
	if err := s.member.Install([]byte(sealed)); err != nil {
		return fmt.Errorf("rediskeys: member %q: %w", s.id, err)
	}
	return nil
}

// Run keeps the member up to date until ctx is done, and then returns
// ctx.Err(). It polls at once, then every PollInterval and whenever the
// Publisher announces a bundle for this member. It never returns on a
// Redis or bundle error: it logs it and goes on with the keys it has.
func (s *Subscriber) Run(ctx context.Context) error {
	log := s.opts.Logger.With(slog.String("member", s.id))
	ps := s.client.Subscribe(ctx, s.opts.channel())
	defer ps.Close()
	msgs := ps.Channel()
	pollTick := time.NewTicker(s.opts.PollInterval)
	defer pollTick.Stop()
	poll := func() {
		before := s.member.Epoch()
		if err := s.Poll(ctx); err != nil {
			if ctx.Err() == nil {
				log.Warn("tlsticket keys: poll failed, keeping current keys", slog.Any("error", err))
			}
			return
		}
		if e := s.member.Epoch(); e != before {
			log.Info("tlsticket keys: installed bundle", slog.Uint64("epoch", e))
		}
	}
	poll()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-pollTick.C:
			poll()
		case m, ok := <-msgs:
			if !ok {
				msgs = nil // closed: rely on polling
				continue
			}
			if m.Payload == s.id {
				poll()
			}
		}
	}
}
