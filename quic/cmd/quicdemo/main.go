// Command quicdemo shows tlsticket under quic-go over real UDP on loopback:
// a full handshake, a resumption with 0-RTT, the same first flight replayed
// from another port with its 0-RTT rejected, and the same across two
// servers that share one key ring and one Redis replay store (when
// redis-server is installed).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
	"github.com/tlsticket/tlsticket/seal"
)

const (
	timeout = 5 * time.Second
	// settle: how long to watch for replayed 0-RTT data to reach the
	// application after the server answered the replay.
	settle = 300 * time.Millisecond
)

func main() {
	// The loopback client reads through a net.PacketConn wrapper, whose
	// receive buffer quic-go cannot size; that is fine here.
	os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quicdemo:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	id := loopback.NewIdentity()
	key, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		return err
	}
	ring, err := seal.NewRing(nil, key)
	if err != nil {
		return err
	}
	keys := seal.NewKeyring(ring)

	fmt.Fprintln(w, "# One quic-go server, tlsticket engine with an in-memory replay store")
	store := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: time.Millisecond})
	var log loopback.EarlyLog
	a, err := loopback.StartNode(loopback.NodeConfig{Identity: id, Keys: keys, ReplayStore: store, Allow0RTT: true, Adjust: log.Install})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := scenario(w, id, a, a, &log); err != nil {
		return err
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "# Two quic-go servers, one key ring, one Redis replay store")
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		fmt.Fprintln(w, "skipped: redis-server is not installed (sh scripts/ensure-deps.sh installs it)")
		return nil
	}
	dir, err := os.MkdirTemp("", "quicdemo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := redistest.Launch(bin, dir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	prefix := "quicdemo:" + rand.Text() + ":"
	var logs [2]loopback.EarlyLog
	var nodes [2]*loopback.Node
	for i := range nodes {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr})
		defer client.Close()
		store, err := redisreplay.New(context.Background(), client, redisreplay.Options{Prefix: prefix})
		if err != nil {
			return err
		}
		n, err := loopback.StartNode(loopback.NodeConfig{Identity: id, Keys: keys, ReplayStore: store, Allow0RTT: true, Adjust: logs[i].Install})
		if err != nil {
			return err
		}
		defer n.Close()
		nodes[i] = n
	}
	fmt.Fprintf(w, "redis-server on %s; server A on %s, server B on %s\n", srv.Addr, nodes[0].Addr, nodes[1].Addr)
	return scenario(w, id, nodes[0], nodes[1], &logs[0])
}

// scenario: a full handshake on issuer, a 0-RTT resumption on resumer
// through a relay that records the client's first flight, the flight
// replayed to issuer, and a second client presenting the same ticket to
// issuer. issuerLog is issuer's 0-RTT log.
func scenario(w io.Writer, id *loopback.Identity, issuer, resumer *loopback.Node, issuerLog *loopback.EarlyLog) error {
	relay, err := loopback.NewRelay(resumer.Addr)
	if err != nil {
		return err
	}
	defer relay.Close()
	cache := loopback.NewSessionCache()
	res, err := exchange(id, cache, issuer.Addr.String(), "hello")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "full handshake on %s: resumed=%v\n", issuer.Addr, res.Resumed)

	spent := cache.Clone() // the ticket about to be used
	payload := "early request " + rand.Text()[:8]
	relay.HoldUntilEarlyData() // the whole first flight before any answer
	res, err = exchange(id, cache, relay.Addr.String(), payload)
	if err != nil {
		return err
	}
	read := resumer.Received(payload)
	fmt.Fprintf(w, "resumption on %s: resumed=%v 0-RTT=%v, request read %d time(s), in 0-RTT: %v\n",
		resumer.Addr, res.Resumed, res.Used0RTT, len(read), len(read) == 1 && read[0].Used0RTT)
	flight := relay.FirstFlight(res.Local)

	if err := loopback.ReplayUntilAsked(issuer.Addr, flight, issuerLog); err != nil {
		return err
	}
	got := issuer.WaitReceived(payload, 1, settle)
	if resumer != issuer {
		got = append(got, resumer.Received(payload)...)
	} else {
		got = issuer.Received(payload)
	}
	fmt.Fprintf(w, "its first flight (%d datagrams) replayed to %s from a new port: request read %d time(s) in all; %s\n",
		len(flight), issuer.Addr, len(got), answer(issuerLog))
	if len(got) != 1 {
		return errors.New("the replayed 0-RTT request reached the application")
	}

	res, err = exchange(id, spent, issuer.Addr.String(), "second client")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "a second client with the same ticket on %s: resumed=%v 0-RTT=%v; %s\n",
		issuer.Addr, res.Resumed, res.Used0RTT, answer(issuerLog))
	return nil
}

func exchange(id *loopback.Identity, cache *loopback.SessionCache, addr, payload string) (loopback.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return loopback.Exchange(ctx, addr, id.ClientTLS(cache), nil, payload)
}

func answer(l *loopback.EarlyLog) string {
	err, ok := l.Last()
	switch {
	case !ok:
		return "the adapter was not asked about 0-RTT"
	case err == nil:
		return "0-RTT approved"
	}
	return err.Error()
}
