package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/promtest"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/seal"
)

// syncBuffer is the shared one of internal/testkit.
type syncBuffer = testkit.SyncBuffer

// TestServe runs `ticketctl serve`, resumes a session with a Go client in
// each version, and checks the per-handshake log and the counters on exit.
func TestServe(t *testing.T) {
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-policy", "renew"}, &out, &errOut) }()
	defer cancel()
	addr := waitListening(t, &out, &errOut)
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

// TestServeKeyFiles serves with a tlsticket key file and an nginx key file
// for migration.
func TestServeKeyFiles(t *testing.T) {
	dir := t.TempDir()
	entry := activeEntry(t, seal.AES128GCM, time.Now(), 2*time.Hour)
	keysPath, nginxPath := filepath.Join(dir, "keys.txt"), filepath.Join(dir, "nginx.key")
	writeKeyFile(t, keysPath, entry)
	if err := os.WriteFile(nginxPath, bytes.Repeat([]byte{9, 8, 7, 6}, 20), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-keys", keysPath, "-nginx-keys", nginxPath}, &out, &errOut)
	}()
	addr := waitListening(t, &out, &errOut)
	cfg := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(2)}
	for i := 0; i < 2; i++ {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(c)
		if got := c.ConnectionState().DidResume; got != (i == 1) {
			t.Errorf("connection %d: resumed %v", i, got)
		}
		c.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	key, err := entry.Key()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 keys from "+keysPath+", primary "+key.Name().String()) ||
		!strings.Contains(out.String(), "key="+key.Name().String()) {
		t.Errorf("output:\n%s", out.String())
	}
}

// waitListening returns the address serve prints once it listens.
func waitListening(t *testing.T, out, errOut *syncBuffer) string {
	t.Helper()
	addrRE := regexp.MustCompile(`listening on (\S+) `)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("serve did not start: %s %s", out.String(), errOut.String())
	return ""
}

func TestServeFlags(t *testing.T) {
	var out, errOut syncBuffer
	for _, args := range [][]string{{"-versions", "1.1"}, {"-policy", "sometimes"}, {"-aead", "ROT13"},
		{"-keys", "/nonexistent"}, {"-nginx-keys", "/nonexistent"}, {"-keys", "x", "-rotate", "1h"}} {
		if err := serve(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), &out, &errOut); err == nil {
			t.Errorf("serve %v: no error", args)
		}
	}
}

// TestServeMetrics runs serve with -metrics-addr, makes a fresh TLS 1.3
// connection and a resumption, and scrapes /metrics as Prometheus does.
func TestServeMetrics(t *testing.T) {
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0"}, &out, &errOut)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	addr := waitListening(t, &out, &errOut)
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
	for range 2 {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(c)
		c.Close()
	}
	m := regexp.MustCompile(`Prometheus metrics at (http://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve did not print the metrics address:\n%s", out.String())
	}
	got := promtest.Scrape(t, m[1])
	for _, name := range []string{`tlsticket_no_ticket_total{version="TLS1.3"}`, `tlsticket_resumed_total{version="TLS1.3"}`} {
		if got[name] != 1 {
			t.Errorf("%s = %v, want 1", name, got[name])
		}
	}
	keys := 0
	for name := range got {
		if strings.HasPrefix(name, "tlsticket_key_tickets_sealed_total{") {
			keys++
		}
	}
	if keys != 1 {
		t.Errorf("%d keys in tlsticket_key_tickets_sealed_total, want 1", keys)
	}
}
