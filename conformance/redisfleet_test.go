package conformance

import (
	"context"
	"errors"
	"flag"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
)

// The long form (make redis-fleet) sets these.
var (
	fleetWorkers = flag.Int("redisfleet.workers", 4, "goroutines sending 0-RTT ClientHellos in the failover tests")
	fleetFlow    = flag.Duration("redisfleet.flow", 500*time.Millisecond, "how long ClientHellos flow before the master is killed")
)

// Failover test settings.
const (
	// failoverStoreTimeout is the stores' Options.Timeout: no check may
	// take longer (plus failoverSlack), failover or not.
	failoverStoreTimeout = 500 * time.Millisecond
	failoverSlack        = time.Second // scheduling on a loaded machine, under -race
	// promotionTimeout bounds the wait for a replica's promotion.
	promotionTimeout = 20 * time.Second
	// recoveryTimeout bounds the wait, after the promotion, for a store
	// to answer definitely again (its client to find the new master).
	recoveryTimeout = 15 * time.Second
	// fleetSlot is the hash tag of every replay key: all records on one
	// slot, so that killing its master puts all of them at risk.
	fleetSlot = "{fleet}"
	// goroutineTolerance is how many goroutines more than before a test
	// may leave behind (runtime and testing housekeeping).
	goroutineTolerance = 4
	// replayWorkers replay the recorded ClientHellos in parallel: with
	// MinReplicas and no replica left, each check waits ReplicaTimeout.
	replayWorkers = 64
	// failoverReplicaTimeout is the stores' ReplicaTimeout: far above an
	// acknowledgement on loopback, even on a machine loaded by the whole
	// test suite under -race.
	failoverReplicaTimeout = 200 * time.Millisecond
	// acceptTimeout bounds the wait for the first accepted 0-RTT before
	// the kill.
	acceptTimeout = 10 * time.Second
	// failoverPoolSize is the clients' pool: with no replica left, each
	// check holds a connection for ReplicaTimeout, and the replay workers
	// must not queue for connections behind each other.
	failoverPoolSize = replayWorkers
)

// failoverFleet is two engines sharing one Redis replay store setting,
// with the ClientHellos they accepted.
type failoverFleet struct {
	name    string
	f       *fleet
	ack     bool // MinReplicas 1
	clients []io.Closer

	mu sync.Mutex
	// beforeKill are the ClientHellos accepted by the old master.
	beforeKill []*engine.ClientHelloTLS13
	// earlyAfterKill counts 0-RTT accepted by checks started after the
	// kill.
	earlyAfterKill, checksAfterKill int
	// slowest is the longest SelectTLS13.
	slowest time.Duration
	// lost counts the replays accepted after the failover (or, with
	// MinReplicas, whose record was gone).
	lost int
}

// newStoreFunc returns a Store with opts on a new client of a deployment,
// and the client.
type newStoreFunc func(opts redisreplay.Options) (*redisreplay.Store, io.Closer, error)

func newFailoverFleet(t *testing.T, name string, newStore newStoreFunc, minReplicas int) *failoverFleet {
	t.Helper()
	ff := &failoverFleet{name: name, ack: minReplicas > 0}
	now := time.Now()
	clock := func() time.Time { return now }
	ff.f = newFleet(t, func() resumption.ReplayStore {
		s, client, err := newStore(redisreplay.Options{
			Prefix: fleetSlot + name + ":", Timeout: failoverStoreTimeout, MinReplicas: minReplicas,
			ReplicaTimeout: failoverReplicaTimeout,
		})
		if err != nil {
			t.Fatal(err)
		}
		ff.clients = append(ff.clients, client)
		return s
	}, nil, clock, clock)
	return ff
}

// accepted returns the number of 0-RTT ClientHellos accepted before the
// kill so far.
func (ff *failoverFleet) accepted() int {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	return len(ff.beforeKill)
}

// flow sends fresh 0-RTT ClientHellos through both engines until stop is
// closed. It records those accepted by checks that started before killed
// was set (answered by the old master: none is promoted before the kill),
// and counts those accepted by checks that started after.
func (ff *failoverFleet) flow(t *testing.T, killed *atomic.Bool, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for w := range *fleetWorkers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e := (w + i) % 2
				ch := ff.f.earlyHello(t, e)
				after := killed.Load()
				start := time.Now()
				sel, err := ff.f.engines[e].SelectTLS13(context.Background(), ch)
				elapsed := time.Since(start)
				if err != nil || !sel.Resumed {
					t.Errorf("%s: engine %d: resumed %v, err %v; 1-RTT resumption must go on", ff.name, e, sel.Resumed, err)
					return
				}
				ff.mu.Lock()
				ff.slowest = max(ff.slowest, elapsed)
				switch {
				case !after && sel.EarlyData:
					ff.beforeKill = append(ff.beforeKill, ch)
				case after:
					ff.checksAfterKill++
					if sel.EarlyData {
						ff.earlyAfterKill++
					}
				}
				ff.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// replayAll replays every ClientHello accepted before the kill, from
// replayWorkers goroutines, and returns how many were accepted again. A
// check that gets no definite answer (the client still looking for the new
// master) is retried for up to recoveryTimeout. It also returns how long
// the first definite answer took.
func (ff *failoverFleet) replayAll(t *testing.T) (replayed int, recovery time.Duration) {
	t.Helper()
	start := time.Now()
	var (
		next  atomic.Int64
		first sync.Once
		wg    sync.WaitGroup
	)
	for range replayWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ff.beforeKill) {
					return
				}
				if !ff.replay(t, i, time.Now().Add(recoveryTimeout)) {
					return
				}
				first.Do(func() { recovery = time.Since(start) })
			}
		})
	}
	wg.Wait()
	return ff.lost, recovery
}

// replay replays ClientHello i until it gets a definite answer, and counts
// it in ff.lost if it is accepted. It returns false, after reporting an
// error, if there is no answer by deadline.
func (ff *failoverFleet) replay(t *testing.T, i int, deadline time.Time) bool {
	for {
		sel, err := ff.f.engines[i%2].SelectTLS13(context.Background(), ff.beforeKill[i])
		switch {
		case err != nil || !sel.Resumed:
			t.Errorf("%s: replay %d: resumed %v, err %v; 1-RTT resumption must go on", ff.name, i, sel.Resumed, err)
			return false
		case sel.EarlyData:
			ff.mu.Lock()
			ff.lost++
			ff.mu.Unlock()
			return true
		case errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay):
			return true // the record survived
		case ff.ack && errors.Is(sel.EarlyDataErr, redisreplay.ErrNotReplicated):
			// The record was lost; 0-RTT is rejected only because the new
			// master has no replica yet.
			ff.mu.Lock()
			ff.lost++
			ff.mu.Unlock()
			return true
		case time.Now().After(deadline):
			t.Errorf("%s: no definite answer %v after the promotion: %v", ff.name, recoveryTimeout, sel.EarlyDataErr)
			return false
		}
		time.Sleep(10 * time.Millisecond) // the client finding the new master
	}
}

// failoverTopology kills the master of the fleet's slot and waits for the
// promotion.
type failoverTopology struct {
	newStore newStoreFunc
	// kill kills the master, returning once it is dead, and returns a
	// function that waits for the promotion.
	kill func() (wait func() time.Duration)
}

// testFailover runs two fleets, one with MinReplicas 1 and one without,
// on one topology through one failover: ClientHellos flow, the master of
// their slot is SIGKILLed, and after the promotion every ClientHello
// accepted before the kill is replayed.
func testFailover(t *testing.T, top failoverTopology) {
	before := runtime.NumGoroutine()
	fleets := []*failoverFleet{
		newFailoverFleet(t, "ack", top.newStore, 1),
		newFailoverFleet(t, "noack", top.newStore, 0),
	}
	var killed atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, ff := range fleets {
		wg.Go(func() { ff.flow(t, &killed, stop) })
	}
	time.Sleep(*fleetFlow) // ClientHellos flowing
	// On a loaded machine the first acknowledgements can take a while:
	// kill only once every fleet has accepted some 0-RTT.
	for deadline := time.Now().Add(acceptTimeout); ; time.Sleep(10 * time.Millisecond) {
		if !slices.ContainsFunc(fleets, func(ff *failoverFleet) bool { return ff.accepted() == 0 }) || time.Now().After(deadline) {
			break
		}
	}
	wait := top.kill()
	killed.Store(true)
	promotion := wait()
	close(stop)
	wg.Wait()
	t.Logf("promotion %v after the SIGKILL", promotion.Round(time.Millisecond))
	for _, ff := range fleets {
		if len(ff.beforeKill) == 0 {
			t.Fatalf("%s: no 0-RTT accepted before the kill", ff.name)
		}
		replayed, recovery := ff.replayAll(t)
		t.Logf("%s: %d ClientHellos accepted before the kill, %d accepted again after the failover (the loss window); "+
			"%d of %d fresh 0-RTT accepted from the kill to the promotion; slowest check %v; store answering %v after the kill",
			ff.name, len(ff.beforeKill), replayed, ff.earlyAfterKill, ff.checksAfterKill,
			ff.slowest.Round(time.Millisecond), (promotion + recovery).Round(time.Millisecond))
		if ff.ack && replayed != 0 {
			t.Errorf("%s: %d replays accepted with MinReplicas 1, want 0", ff.name, replayed)
		}
		if ff.ack && ff.earlyAfterKill != 0 {
			// The new master has no replica: WAIT cannot be satisfied.
			t.Errorf("%s: %d 0-RTT accepted after the kill with MinReplicas 1 and no replica left, want 0", ff.name, ff.earlyAfterKill)
		}
		if ff.slowest > failoverStoreTimeout+failoverSlack {
			t.Errorf("%s: a check took %v, want at most about Timeout (%v)", ff.name, ff.slowest, failoverStoreTimeout)
		}
	}
	for _, ff := range fleets {
		for _, c := range ff.clients {
			c.Close()
		}
	}
	drained := time.Now()
	checkGoroutines(t, before)
	t.Logf("goroutines back to %d (+%d) %v after closing the clients", before, goroutineTolerance, time.Since(drained).Round(time.Millisecond))
}

// checkGoroutines waits until no more than goroutineTolerance goroutines
// beyond before are left: checks abandoned at their timeout end when the
// client's own socket timeouts (seconds) end them.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before+goroutineTolerance {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after closing every client:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond) // goroutines draining
	}
}

// TestFailoverCluster: two engines per setting share a Redis Cluster; the
// master of their slot is SIGKILLed while 0-RTT ClientHellos flow.
func TestFailoverCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	c.PoolSize = failoverPoolSize
	testFailover(t, failoverTopology{
		newStore: func(opts redisreplay.Options) (*redisreplay.Store, io.Closer, error) {
			client := c.NewClient(t)
			s, err := redisreplay.New(t.Context(), client, opts)
			return s, client, err
		},
		kill: func() func() time.Duration {
			victim := c.MasterFor(t, fleetSlot)
			victim.Stop()
			return func() time.Duration { return c.WaitPromoted(t, fleetSlot, victim, promotionTimeout) }
		},
	})
}

// sentinelStores returns Stores on failover clients of d.
func sentinelStores(t *testing.T, d *redistest.SentinelDeployment) newStoreFunc {
	return func(opts redisreplay.Options) (*redisreplay.Store, io.Closer, error) {
		client := d.NewClient(t)
		s, err := redisreplay.New(t.Context(), client, opts)
		return s, client, err
	}
}

// TestFailoverSentinel: two engines per setting share a Sentinel
// deployment through failover clients; the master is SIGKILLed while 0-RTT
// ClientHellos flow.
func TestFailoverSentinel(t *testing.T) {
	d := redistest.StartSentinel(t)
	d.PoolSize = failoverPoolSize
	testFailover(t, failoverTopology{
		newStore: sentinelStores(t, d),
		kill: func() func() time.Duration {
			d.Master.Stop()
			return func() time.Duration {
				_, took := d.WaitFailover(t, d.Master, promotionTimeout)
				return took
			}
		},
	})
}

// TestFailoverReplicaBehind makes the loss window explicit: the replica's
// link is cut (a replica lagging behind), ClientHellos are checked by the
// master alone, the master dies and the lagging replica is promoted.
// Without MinReplicas every ClientHello accepted during the lag is accepted
// again; with MinReplicas 1 none was accepted in the first place.
func TestFailoverReplicaBehind(t *testing.T) {
	const hellos = 20
	d := redistest.StartSentinel(t)
	d.PoolSize = hellos
	ack, noack := newFailoverFleet(t, "ack", sentinelStores(t, d), 1), newFailoverFleet(t, "noack", sentinelStores(t, d), 0)
	chs := map[*failoverFleet][]*engine.ClientHelloTLS13{}
	for _, ff := range []*failoverFleet{ack, noack} {
		for i := range hellos {
			chs[ff] = append(chs[ff], ff.f.earlyHello(t, i%2))
		}
	}

	// Cut the replica off: paused, it cannot reconnect before the master
	// dies. Keep it paused well under SentinelDownAfter, or the sentinels
	// will not promote it.
	d.Replica.Pause(t)
	if err := d.Master.NewClient(t).ClientKillByFilter(t.Context(), "TYPE", "replica").Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for ff, list := range chs {
		for i, ch := range list {
			wg.Go(func() {
				sel, err := ff.f.engines[i%2].SelectTLS13(context.Background(), ch)
				if err != nil || !sel.Resumed {
					t.Errorf("%s: resumed %v, err %v", ff.name, sel.Resumed, err)
					return
				}
				ff.mu.Lock()
				defer ff.mu.Unlock()
				switch {
				case sel.EarlyData:
					ff.beforeKill = append(ff.beforeKill, ch)
				case ff.ack && errors.Is(sel.EarlyDataErr, redisreplay.ErrNotReplicated):
				default:
					t.Errorf("%s: 0-RTT rejected: %v", ff.name, sel.EarlyDataErr)
				}
			})
		}
	}
	wg.Wait()
	d.Master.Stop()
	d.Replica.Resume(t)
	if t.Failed() {
		return
	}
	_, took := d.WaitFailover(t, d.Master, promotionTimeout)
	t.Logf("promotion %v after the SIGKILL", took.Round(time.Millisecond))

	if len(ack.beforeKill) != 0 {
		t.Errorf("ack: %d 0-RTT accepted with the replica cut off, want 0", len(ack.beforeKill))
	}
	if len(noack.beforeKill) != hellos {
		t.Fatalf("noack: %d of %d 0-RTT accepted with the replica cut off, want all", len(noack.beforeKill), hellos)
	}
	if replayed, _ := noack.replayAll(t); replayed != hellos {
		t.Errorf("noack: %d of %d ClientHellos accepted during the lag accepted again after the failover, want all: the records were only on the dead master", replayed, hellos)
	}
}
