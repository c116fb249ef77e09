package quic_test

import (
	"context"
	"testing"

	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
)

// BenchmarkHandshake measures whole quic-go connections on loopback, each
// a handshake, one request and its reply, and the wait for the next
// ticket: full handshakes, 1-RTT resumptions (quic-go without 0-RTT), and
// 0-RTT resumptions with the in-memory and the Redis replay store. Each
// resumption presents the ticket of the connection before it.
//
//	go test -run='^$' -bench=Handshake -benchtime=2s ./
func BenchmarkHandshake(b *testing.B) {
	b.Run("full", func(b *testing.B) { benchHandshake(b, false, testStore(), false) })
	b.Run("resume1RTT", func(b *testing.B) { benchHandshake(b, false, testStore(), true) })
	b.Run("resume0RTT/memory", func(b *testing.B) { benchHandshake(b, true, testStore(), true) })
	b.Run("resume0RTT/redis", func(b *testing.B) {
		srv := redistest.Start(b) // fails under CI=true without redis-server, like the tests
		store, err := redisreplay.New(context.Background(), srv.NewClient(b), redisreplay.Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchHandshake(b, true, store, true)
	})
}

func benchHandshake(b *testing.B, allow0RTT bool, store resumption.ReplayStore, resume bool) {
	id := loopback.NewIdentity()
	cfg := loopback.NodeConfig{Identity: id, Keys: testKeys(b), ReplayStore: store, Allow0RTT: allow0RTT}
	n, err := loopback.StartNode(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	addr := n.Addr.String()
	cache := loopback.NewSessionCache()
	run := func() loopback.Result {
		c := cache
		if !resume {
			c = loopback.NewSessionCache()
		}
		ctx, cancel := context.WithTimeout(context.Background(), exchangeTimeout)
		defer cancel()
		res, err := loopback.Exchange(ctx, addr, id.ClientTLS(c), nil, "bench")
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	run() // the first ticket
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res := run()
		if res.Resumed != resume || res.Used0RTT != allow0RTT {
			b.Fatalf("resumed %v, 0-RTT %v; want %v, %v", res.Resumed, res.Used0RTT, resume, allow0RTT)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}
