package main

import (
	"context"
	"crypto/tls"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs `ticketctl serve`, resumes a session with a Go client in
// each version, and checks the per-handshake log and the counters on exit.
func TestServe(t *testing.T) {
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-policy", "renew"}, &out, &errOut) }()
	addrRE := regexp.MustCompile(`listening on (\S+) `)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("serve did not start: %s %s %v", out.String(), errOut.String(), <-done)
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(2)}
		for i := 0; i < 2; i++ {
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(c)
			if got := c.ConnectionState().DidResume; got != (i == 1) {
				t.Errorf("%s connection %d: resumed %v", tls.VersionName(v), i, got)
			}
			c.Close()
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log := out.String()
	for _, want := range []string{
		`msg=handshake version="TLS 1.2" resumed=true offered=true status=Success return=UseRenew outcome=use+renew tickets_sent=1`,
		`msg=handshake version="TLS 1.3" resumed=true offered=true status=SuccessRenew return=UseRenew outcome=use+renew tickets_sent=1`,
		`msg=handshake version="TLS 1.3" resumed=false offered=false outcome="no ticket" tickets_sent=1`,
		`"TLS1.2/Success/UseRenew/use+renew": 1`,
		`engine counters`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
}

func TestServeFlags(t *testing.T) {
	var out, errOut syncBuffer
	for _, args := range [][]string{{"-versions", "1.1"}, {"-policy", "sometimes"}, {"-aead", "ROT13"}} {
		if err := serve(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), &out, &errOut); err == nil {
			t.Errorf("serve %v: no error", args)
		}
	}
}
