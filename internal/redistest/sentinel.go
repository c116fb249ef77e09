package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMasterName is the name under which the sentinels that
// StartSentinel starts monitor the master.
const SentinelMasterName = "tlsticket"

// Sentinel timings of StartSentinel's deployments: a master silent for
// SentinelDownAfter is down, and a failover that does not finish within
// SentinelFailoverTimeout is retried.
const (
	SentinelDownAfter       = 500 * time.Millisecond
	SentinelFailoverTimeout = 3 * time.Second
)

// sentinelReadyTimeout bounds the wait for new sentinels to know the
// replica and each other (they announce themselves every 2 s).
const sentinelReadyTimeout = 20 * time.Second

// SentinelDeployment is a real Redis Sentinel deployment on loopback ports,
// private to a test: one master, one replica and three sentinels with a
// quorum of two.
type SentinelDeployment struct {
	// Master and Replica are the data nodes as started; roles change on
	// failover.
	Master, Replica *Server
	// Sentinels are the three sentinel processes.
	Sentinels []*Server
	// PoolSize is the connection pool size of the clients that NewClient
	// returns. Zero means go-redis's default.
	PoolSize int
}

// StartSentinel starts a Sentinel deployment and stops it in t.Cleanup. It
// returns once the replica is in sync and acknowledges the master's writes
// as they come, and every sentinel knows the replica and the two other
// sentinels, so that a failover can start at once.
// Without redis-server the test is skipped, or fails when CI=true.
func StartSentinel(t testing.TB) *SentinelDeployment {
	t.Helper()
	bin := lookPath(t, "redis-server")
	d := &SentinelDeployment{Master: Start(t, replicationArgs...)}
	host, port, _ := net.SplitHostPort(d.Master.Addr)
	ctx, cancel := context.WithTimeout(t.Context(), sentinelReadyTimeout)
	defer cancel()
	// The sentinels learn of the replica from the master's INFO, which they
	// read at once and then every 10 s: start them once it is in sync.
	d.Replica = startReplica(t, bin, d.Master.Addr)
	if err := waitFor(ctx, func(ctx context.Context) error {
		if err := d.replicaInSync(ctx); err != nil {
			return err
		}
		return acked(ctx, d.Master)
	}); err != nil {
		t.Fatal(err)
	}
	d.Sentinels = startAll(t, bin, 3, func(_ int, p, dir string) ([]string, error) {
		conf := filepath.Join(dir, "sentinel.conf")
		err := os.WriteFile(conf, []byte(strings.Join([]string{
			"port " + p,
			"bind 127.0.0.1",
			"dir " + dir,
			"logfile " + filepath.Join(dir, "redis.log"),
			fmt.Sprintf("sentinel monitor %s %s %s 2", SentinelMasterName, host, port),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", SentinelMasterName, SentinelDownAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", SentinelMasterName, SentinelFailoverTimeout.Milliseconds()),
			"",
		}, "\n")), 0o600)
		return []string{conf, "--sentinel"}, err
	})
	if err := waitFor(ctx, d.ready); err != nil {
		t.Fatal(err)
	}
	return d
}

// StartReplica starts a redis-server replicating master, and stops it in
// t.Cleanup. It returns once the replica's link to master is up and the
// replica acknowledges master's writes as they come.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), sentinelReadyTimeout)
	defer cancel()
	mc := redis.NewClient(&redis.Options{Addr: master.Addr, MaxRetries: -1})
	err := mc.ConfigSet(ctx, "repl-diskless-sync-delay", "0").Err() // the default waits 5 s
	mc.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, lookPath(t, "redis-server"), master.Addr)
	if err := waitFor(ctx, func(ctx context.Context) error {
		if err := inSync(ctx, r); err != nil {
			return err
		}
		return acked(ctx, master)
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

// acked returns an error unless a replica of master acknowledges a write
// at once. The master lists a replica online before it streams writes to
// it: after a diskless full sync, Redis 7 starts the stream on the
// replica's first acknowledgement, which the replica sends once a second.
// A WAIT in between blocks for up to that second, and a WAIT without a
// write proves nothing (a new connection has no write to wait for), so a
// test of replica acknowledgement must not start before a write of its own
// is acknowledged. The probe key is deleted again; on a cluster node it is
// the first of the probe keys in one of the node's slots.
func acked(ctx context.Context, master *Server) error {
	c := redis.NewClient(&redis.Options{Addr: master.Addr, MaxRetries: -1})
	defer c.Close()
	for i := 0; ; i++ {
		key := fmt.Sprint("redistest:acked:", i)
		err := c.Set(ctx, key, "", 0).Err()
		if err != nil && strings.HasPrefix(err.Error(), "MOVED ") && i < maxProbeKeys {
			continue
		}
		if err == nil {
			err = c.Del(ctx, key).Err()
		}
		if err != nil {
			return err
		}
		break
	}
	n, err := c.Wait(ctx, 1, ackProbeTimeout).Result()
	switch {
	case err != nil:
		return err
	case n < 1:
		return fmt.Errorf("no replica of %s acknowledges writes yet", master.Addr)
	}
	return nil
}

// ackProbeTimeout bounds acked's WAIT: far above an acknowledgement on
// loopback, and short enough that a probe made before the stream started
// is soon followed by another.
const ackProbeTimeout = 100 * time.Millisecond

// maxProbeKeys bounds acked's search for a key in the node's slots.
const maxProbeKeys = 1000

// startReplica starts a redis-server replicating master.
func startReplica(t testing.TB, bin, master string) *Server {
	t.Helper()
	host, port, _ := net.SplitHostPort(master)
	return startAll(t, bin, 1, func(_ int, p, dir string) ([]string, error) {
		return serverArgs(p, dir, "--replicaof", host, port), nil
	})[0]
}

// SentinelAddrs returns the addresses of the sentinels.
func (d *SentinelDeployment) SentinelAddrs() []string { return addrs(d.Sentinels) }

// NewClient returns a go-redis failover client (redis.NewFailoverClient)
// that finds the master through the sentinels, with go-redis defaults
// (but PoolSize), closed in t.Cleanup.
func (d *SentinelDeployment) NewClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMasterName, SentinelAddrs: d.SentinelAddrs(),
		PoolSize: d.PoolSize})
	t.Cleanup(func() { c.Close() })
	return c
}

// MasterAddr returns the master's address as the first sentinel that
// answers reports it.
func (d *SentinelDeployment) MasterAddr(ctx context.Context) (string, error) {
	var err error
	for _, s := range d.Sentinels {
		if s.stopped() {
			continue
		}
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		var addr []string
		addr, err = c.GetMasterAddrByName(ctx, SentinelMasterName).Result()
		c.Close()
		if err == nil {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
	}
	return "", fmt.Errorf("redistest: no sentinel answered: %v", err)
}

// WaitFailover waits, for at most timeout, until the sentinels name a
// master other than old and that server reports role:master. It returns
// the new master and how long it waited.
func (d *SentinelDeployment) WaitFailover(t testing.TB, old *Server, timeout time.Duration) (*Server, time.Duration) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for {
		addr, err := d.MasterAddr(ctx)
		if err == nil && addr != old.Addr {
			for _, s := range []*Server{d.Master, d.Replica} {
				if s.Addr != addr {
					continue
				}
				if info, err := s.info(ctx, "replication"); err == nil && strings.Contains(info, "role:master") {
					return s, time.Since(start)
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: no failover from %s within %v (last error: %v)", old.Addr, timeout, err)
		case <-time.After(20 * time.Millisecond): // polling real processes
		}
	}
}

// waitFor calls check until it returns nil, and returns its last error
// once ctx is done.
func waitFor(ctx context.Context, check func(context.Context) error) error {
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: deployment not ready: %v", err)
		case <-time.After(50 * time.Millisecond): // polling real processes
		}
	}
}

// replicaInSync returns an error unless the replica's link is up.
func (d *SentinelDeployment) replicaInSync(ctx context.Context) error { return inSync(ctx, d.Replica) }

// inSync returns an error unless replica's link to its master is up.
func inSync(ctx context.Context, replica *Server) error {
	info, err := replica.info(ctx, "replication")
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("replica %s not in sync", replica.Addr)
	}
	return nil
}

// ready returns an error unless the replica is in sync and every sentinel
// knows one replica and two other sentinels.
func (d *SentinelDeployment) ready(ctx context.Context) error {
	if err := d.replicaInSync(ctx); err != nil {
		return err
	}
	for _, s := range d.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		m, err := c.Master(ctx, SentinelMasterName).Result()
		c.Close()
		if err != nil {
			return err
		}
		if m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
			return fmt.Errorf("sentinel %s knows %s replicas and %s other sentinels", s.Addr, m["num-slaves"], m["num-other-sentinels"])
		}
	}
	return nil
}
