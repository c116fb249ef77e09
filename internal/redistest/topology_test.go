package redistest_test

import (
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/redistest"
)

// TestCluster starts a cluster and checks that a key written through a
// cluster client is on the master of its slot and reaches its replica.
func TestCluster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := redistest.StartCluster(t)
	t.Logf("cluster of %d nodes up in %v", len(c.Nodes), time.Since(start))
	client := c.NewClient(t)
	const key = "{topology}:k"
	if err := client.Set(t.Context(), key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	m, r := c.MasterFor(t, key), c.ReplicaFor(t, key)
	if m == nil || r == nil || m == r {
		t.Fatalf("master %v, replica %v of %q: want two distinct nodes", m, r, key)
	}
	// WAIT has no key: a cluster client sends it to any node. Ask the
	// key's master.
	mc, err := client.MasterForKey(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Options().Addr != m.Addr {
		t.Errorf("go-redis names master %s for %q, redistest %s", mc.Options().Addr, key, m.Addr)
	}
	if n, err := mc.Do(t.Context(), "wait", 1, 1000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 on %s = %d, %v; want 1", m.Addr, n, err)
	}
}

// TestSentinel starts a Sentinel deployment and checks that a failover
// client finds the master and that the replica follows it.
func TestSentinel(t *testing.T) {
	t.Parallel()
	start := time.Now()
	d := redistest.StartSentinel(t)
	t.Logf("sentinel deployment up in %v", time.Since(start))
	client := d.NewClient(t)
	if err := client.Set(t.Context(), "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Do(t.Context(), "wait", 1, 1000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want 1", n, err)
	}
	if addr, err := d.MasterAddr(t.Context()); err != nil || addr != d.Master.Addr {
		t.Fatalf("sentinels name master %q (%v), want %s", addr, err, d.Master.Addr)
	}
}
