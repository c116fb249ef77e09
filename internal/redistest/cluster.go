package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterNodeTimeout is cluster-node-timeout in the clusters that
// StartCluster starts: a master silent this long is failing, and its
// replica is promoted soon after (about one to two timeouts in all).
const ClusterNodeTimeout = time.Second

// clusterFormTimeout bounds the wait for a new cluster to reach
// cluster_state:ok with every replica in sync.
const clusterFormTimeout = 20 * time.Second

// clusterShards is the number of masters of StartCluster's clusters, each
// with one replica.
const clusterShards = 3

// Cluster is a real Redis Cluster on loopback ports, private to a test: three
// masters with one replica each.
type Cluster struct {
	// Nodes are the six nodes, in the order given to redis-cli --cluster
	// create: masters first. Roles change on failover.
	Nodes []*Server
	// PoolSize is the connection pool size of the clients that NewClient
	// returns. Zero means go-redis's default.
	PoolSize int
}

// StartCluster starts a Redis Cluster of three masters with one replica
// each, and stops it in t.Cleanup. It returns once every node reports
// cluster_state:ok and every replica is in sync and acknowledges its
// master's writes as they come. Without redis-server or redis-cli the test
// is skipped, or fails when CI=true.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, cli := lookPath(t, "redis-server"), lookPath(t, "redis-cli")
	c := &Cluster{Nodes: startAll(t, bin, 2*clusterShards, func(_ int, port, dir string) ([]string, error) {
		bus, err := freePort()
		if err != nil {
			return nil, err
		}
		return serverArgs(port, dir, append([]string{
			"--cluster-enabled", "yes", "--cluster-port", bus, "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", fmt.Sprint(ClusterNodeTimeout.Milliseconds()),
			"--cluster-replica-validity-factor", "0"}, replicationArgs...)...), nil
	})}
	args := append(append([]string{"--cluster", "create"}, c.Addrs()...), "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(t.Context(), clusterFormTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := waitFor(ctx, c.healthy); err != nil {
		t.Fatal(err)
	}
	return c
}

// Addrs returns the addresses of the nodes.
func (c *Cluster) Addrs() []string { return addrs(c.Nodes) }

// NewClient returns a cluster client with go-redis defaults (but
// PoolSize), closed in t.Cleanup.
func (c *Cluster) NewClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), PoolSize: c.PoolSize})
	t.Cleanup(func() { client.Close() })
	return client
}

// node returns the running node at addr, or nil.
func (c *Cluster) node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr == addr && !n.stopped() {
			return n
		}
	}
	return nil
}

// MasterFor returns the node that is master for key's slot, as the live
// nodes see it.
func (c *Cluster) MasterFor(t testing.TB, key string) *Server {
	t.Helper()
	m, _, err := c.roles(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ReplicaFor returns a replica of the master of key's slot.
func (c *Cluster) ReplicaFor(t testing.TB, key string) *Server {
	t.Helper()
	_, r, err := c.roles(t.Context(), key)
	if err == nil && r == nil {
		err = fmt.Errorf("redistest: no live replica known for %q", key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// roles returns the master and one replica of key's slot, reading CLUSTER
// SHARDS from the first live node that answers.
func (c *Cluster) roles(ctx context.Context, key string) (master, replica *Server, err error) {
	for _, n := range c.Nodes {
		if n.stopped() {
			continue
		}
		client := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		slot, err1 := client.ClusterKeySlot(ctx, key).Result()
		shards, err2 := client.ClusterShards(ctx).Result()
		client.Close()
		if err = err1; err == nil {
			err = err2
		}
		if err != nil {
			continue
		}
		for _, sh := range shards {
			if !hasSlot(sh.Slots, slot) {
				continue
			}
			for _, nd := range sh.Nodes {
				s := c.node(fmt.Sprintf("127.0.0.1:%d", nd.Port))
				switch {
				case s == nil:
				case nd.Role == "master" && nd.Health == "online":
					master = s
				case nd.Role == "replica" && replica == nil:
					// A replica's health in CLUSTER SHARDS follows gossip
					// and reads "loading" for a while: the live process
					// is what counts here.
					replica = s
				}
			}
		}
		if master != nil {
			return master, replica, nil
		}
		err = fmt.Errorf("redistest: node %s knows no live master for slot %d", n.Addr, slot)
	}
	return nil, nil, fmt.Errorf("redistest: no node answered: %v", err)
}

func hasSlot(ranges []redis.SlotRange, slot int64) bool {
	for _, r := range ranges {
		if r.Start <= slot && slot <= r.End {
			return true
		}
	}
	return false
}

// WaitPromoted waits, for at most timeout, until a node other than old is
// master for key's slot and every live node reports cluster_state:ok. It
// returns how long it waited.
func (c *Cluster) WaitPromoted(t testing.TB, key string, old *Server, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for {
		m, _, err := c.roles(ctx, key)
		if err == nil && m != old && c.stateOK(ctx) == nil {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: no replica promoted for %q within %v (last error: %v)", key, timeout, err)
		case <-time.After(20 * time.Millisecond): // polling real processes
		}
	}
}

// healthy returns an error unless every node reports cluster_state:ok,
// every replica's link to its master is up and every node knows each
// shard's master and replica.
func (c *Cluster) healthy(ctx context.Context) error {
	if err := c.stateOK(ctx); err != nil {
		return err
	}
	if err := c.replicasInSync(ctx); err != nil {
		return err
	}
	return c.shardsKnown(ctx)
}

// shardsKnown returns an error unless every node's CLUSTER SHARDS lists
// clusterShards shards with slots, each with a master and a replica. A
// node learns that another is a replica by gossip, after the replica's
// own link is up: until then MasterFor and ReplicaFor could read a shard
// without its replica.
func (c *Cluster) shardsKnown(ctx context.Context) error {
	for _, n := range c.Nodes {
		client := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		shards, err := client.ClusterShards(ctx).Result()
		client.Close()
		if err != nil {
			return err
		}
		complete := 0
		for _, sh := range shards {
			roles := map[string]int{}
			for _, nd := range sh.Nodes {
				roles[nd.Role]++
			}
			if len(sh.Slots) > 0 && roles["master"] == 1 && roles["replica"] == 1 {
				complete++
			}
		}
		if complete != clusterShards {
			return fmt.Errorf("node %s knows %d of %d shards with their replicas", n.Addr, complete, clusterShards)
		}
	}
	return nil
}

// stateOK returns an error unless every live node reports cluster_state:ok.
func (c *Cluster) stateOK(ctx context.Context) error {
	for _, n := range c.Nodes {
		if n.stopped() {
			continue
		}
		client := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		info, err := client.ClusterInfo(ctx).Result()
		client.Close()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("node %s: cluster state not ok", n.Addr)
		}
	}
	return nil
}

// replicasInSync returns an error unless every live replica's link to its
// master is up.
func (c *Cluster) replicasInSync(ctx context.Context) error {
	replicas := 0
	for _, n := range c.Nodes {
		if n.stopped() {
			continue
		}
		info, err := n.info(ctx, "replication")
		if err != nil {
			return err
		}
		if strings.Contains(info, "role:slave") {
			replicas++
			if err := inSync(ctx, n); err != nil {
				return err
			}
		}
		if strings.Contains(info, "role:master") && strings.Contains(info, "connected_slaves:1") {
			if err := acked(ctx, n); err != nil {
				return err
			}
		}
	}
	if replicas != clusterShards {
		return fmt.Errorf("%d of %d replicas attached", replicas, clusterShards)
	}
	return nil
}
