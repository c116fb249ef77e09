package redisreplay_test

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
	"github.com/tlsticket/tlsticket/resumption/replaytest"
)

// replicaTimeout is Options.ReplicaTimeout in tests.
const replicaTimeout = 200 * time.Millisecond

func replicatedOpts(prefix string, n int) redisreplay.Options {
	return redisreplay.Options{Prefix: prefix, Timeout: testTimeout, MinReplicas: n, ReplicaTimeout: replicaTimeout}
}

// checkNotReplicated checks that a check of a new key returns false and
// ErrNotReplicated, within Timeout, and that the record stays: the same key
// is a replay next time.
func checkNotReplicated(t *testing.T, s *redisreplay.Store, key string) {
	t.Helper()
	start := time.Now()
	fresh, err := s.CheckAndStore(t.Context(), []byte(key), time.Minute)
	elapsed := time.Since(start)
	if fresh || !errors.Is(err, redisreplay.ErrNotReplicated) {
		t.Fatalf("CheckAndStore(%q) = %v, %v; want false, ErrNotReplicated", key, fresh, err)
	}
	if elapsed < replicaTimeout || elapsed > testTimeout+boundSlack {
		t.Errorf("CheckAndStore took %v, want from ReplicaTimeout (%v) to about Timeout (%v)", elapsed, replicaTimeout, testTimeout)
	}
	replaytest.Check(t, s, key, time.Minute, false)
}

// TestMinReplicas checks that with MinReplicas a fresh record is on the
// replica when the check returns, and that without enough replicas no
// record is fresh.
func TestMinReplicas(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	s := mustNew(t, master.NewClient(t), replicatedOpts("wait:", 1))
	rc := replica.NewClient(t)
	for i := range 20 {
		key := fmt.Sprint("binder-", i)
		replaytest.Check(t, s, key, time.Minute, true)
		// WAIT returned 1: the replica has the record now, not eventually.
		if n, err := rc.Exists(t.Context(), redisKey("wait:", key)).Result(); err != nil || n != 1 {
			t.Fatalf("record %d on the replica right after a fresh check: exists = %d, %v; want 1", i, n, err)
		}
		replaytest.Check(t, s, key, time.Minute, false)
	}
	t.Run("MoreThanReplicas", func(t *testing.T) {
		checkNotReplicated(t, mustNew(t, master.NewClient(t), replicatedOpts("wait2:", 2)), "k")
	})
	t.Run("ReplicaHung", func(t *testing.T) {
		replica.Pause(t)
		defer replica.Resume(t)
		checkNotReplicated(t, s, "while-hung")
	})
	t.Run("NoReplica", func(t *testing.T) {
		lone := redistest.Start(t)
		checkNotReplicated(t, mustNew(t, lone.NewClient(t), replicatedOpts("lone:", 1)), "k")
	})
}

// TestMinReplicasContract runs the ReplayStore contract with MinReplicas 1.
func TestMinReplicasContract(t *testing.T) {
	master := redistest.Start(t)
	redistest.StartReplica(t, master)
	var n atomic.Int32
	replaytest.TestStore(t, replaytest.Options{RealClock: true}, func(t *testing.T, _ func() time.Time) resumption.ReplayStore {
		return mustNew(t, master.NewClient(t), replicatedOpts(fmt.Sprintf("wcontract-%d:", n.Add(1)), 1))
	})
}

// TestReplicationOptions checks that New refuses options it cannot honour.
func TestReplicationOptions(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	tests := []struct {
		name string
		opts redisreplay.Options
	}{
		{"negative MinReplicas", redisreplay.Options{MinReplicas: -1}},
		{"ReplicaTimeout equal to Timeout", redisreplay.Options{MinReplicas: 1, Timeout: time.Second, ReplicaTimeout: time.Second}},
		{"ReplicaTimeout above default Timeout", redisreplay.Options{MinReplicas: 1, ReplicaTimeout: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.AssumeNoEviction = true
			if s, err := redisreplay.New(t.Context(), client, tt.opts); s != nil || err == nil {
				t.Fatalf("New = %v, %v; want an error", s, err)
			}
		})
	}
}

// TestMinReplicasCluster checks that on a cluster the WAIT reaches the
// master that took the record: with the replica of one key's master hung,
// that key's check is not replicated, while a key on another master is.
// A WAIT sent to any other node would count that node's replicas, all
// connected, and answer fresh.
func TestMinReplicasCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	s := mustNew(t, c.NewClient(t), replicatedOpts("", 1))
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("binder-", i)
		replaytest.Check(t, s, keys[i], time.Minute, true) // spread over the masters
	}
	hung := c.ReplicaFor(t, redisKey(redisreplay.DefaultPrefix, "a"))
	master := c.MasterFor(t, redisKey(redisreplay.DefaultPrefix, "a"))
	var other string
	for i := 0; other == ""; i++ {
		if k := fmt.Sprint("b", i); c.MasterFor(t, redisKey(redisreplay.DefaultPrefix, k)) != master {
			other = k
		}
	}
	hung.Pause(t)
	defer hung.Resume(t)
	checkNotReplicated(t, s, "a")
	replaytest.Check(t, s, other, time.Minute, true)
}

// BenchmarkCheckAndStore measures replay checks from two Stores (two
// engines' clients) sharing one deployment, in parallel: a single server,
// a Redis Cluster, and each with MinReplicas 1 (the cost of WAIT). It
// reports p50 and p99 latency besides ns/op.
func BenchmarkCheckAndStore(b *testing.B) {
	single := redistest.Start(b)
	redistest.StartReplica(b, single)
	cluster := redistest.StartCluster(b)
	for _, bb := range []struct {
		name   string
		client func() redis.UniversalClient
	}{
		{"Single", func() redis.UniversalClient { return single.NewClient(b) }},
		{"Cluster", func() redis.UniversalClient { return cluster.NewClient(b) }},
	} {
		for _, replicas := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/MinReplicas=%d", bb.name, replicas), func(b *testing.B) {
				opts := redisreplay.Options{Timeout: time.Second, MinReplicas: replicas, Prefix: fmt.Sprintf("bench-%d:", time.Now().UnixNano())}
				stores := [2]*redisreplay.Store{}
				for i := range stores {
					s, err := redisreplay.New(b.Context(), bb.client(), opts)
					if err != nil {
						b.Fatal(err)
					}
					stores[i] = s
				}
				benchmarkStores(b, stores)
			})
		}
	}
}

// maxSamples caps the latencies each goroutine keeps for the percentiles.
const maxSamples = 1 << 16

func benchmarkStores(b *testing.B, stores [2]*redisreplay.Store) {
	b.ReportAllocs()
	b.SetParallelism(4) // 4 goroutines per CPU: a server's concurrent handshakes
	var (
		mu        sync.Mutex
		latencies []time.Duration
		next      atomic.Uint64
		failed    atomic.Int64
	)
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		key := make([]byte, 8)
		for pb.Next() {
			n := next.Add(1)
			for i := range key {
				key[i] = byte(n >> (8 * i))
			}
			start := time.Now()
			fresh, err := stores[n%2].CheckAndStore(b.Context(), key, time.Minute)
			if len(mine) < maxSamples {
				mine = append(mine, time.Since(start))
			}
			if err != nil || !fresh {
				failed.Add(1)
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d checks not fresh", f, b.N)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	q := func(p float64) float64 { return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
