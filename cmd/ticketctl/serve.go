package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"expvar"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/internal/server"
	"github.com/tlsticket/tlsticket/seal"
)

// serveFlags are the flags of `ticketctl serve`.
type serveFlags struct {
	addr, versions, certFile, keyFile, policy, debugAddr, aead string
	lifetime, rotate                                           time.Duration
	tickets                                                    int
}

func parseServeFlags(args []string, stderr io.Writer) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8443", "address to listen on")
	fs.StringVar(&f.versions, "versions", "1.2,1.3", "TLS versions to serve: 1.2, 1.3 or 1.2,1.3")
	fs.StringVar(&f.certFile, "cert", "", "PEM certificate chain (default: a generated self-signed certificate)")
	fs.StringVar(&f.keyFile, "key", "", "PEM private key for -cert")
	fs.StringVar(&f.aead, "aead", "AES-256-GCM", "AEAD of the generated ticket keys")
	fs.DurationVar(&f.lifetime, "lifetime", engine.DefaultLifetime, "ticket lifetime")
	fs.IntVar(&f.tickets, "tickets", engine.DefaultNumTickets, "TLS 1.3 tickets per full handshake (crypto/tls sends one regardless)")
	fs.DurationVar(&f.rotate, "rotate", 0, "rotate the ticket key this often, keeping the previous key decrypt-only (0: never)")
	fs.StringVar(&f.policy, "policy", "default", "decrypt callback policy: default, ignore or renew")
	fs.StringVar(&f.debugAddr, "debug", "", "serve the engine counters (expvar, /debug/vars) on this address")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return f, nil
}

// tlsVersions parses a list such as "1.2,1.3" into the lowest and highest
// version.
func tlsVersions(list string) (min, max uint16, err error) {
	for _, v := range strings.Split(list, ",") {
		var n uint16
		switch strings.TrimSpace(v) {
		case "1.2":
			n = tls.VersionTLS12
		case "1.3":
			n = tls.VersionTLS13
		default:
			return 0, 0, fmt.Errorf("unknown TLS version %q (1.2 or 1.3)", v)
		}
		if min == 0 || n < min {
			min = n
		}
		if n > max {
			max = n
		}
	}
	return min, max, nil
}

// serve runs `ticketctl serve` until ctx ends or SIGINT/SIGTERM.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	min, max, err := tlsVersions(f.versions)
	if err != nil {
		return err
	}
	a, err := seal.ParseAEAD(f.aead)
	if err != nil {
		return err
	}
	key, err := seal.GenerateKey(a, nil)
	if err != nil {
		return err
	}
	ring, err := seal.NewRing(nil, key)
	if err != nil {
		return err
	}
	keys := seal.NewKeyring(ring)
	policy, err := server.Policy(f.policy)
	if err != nil {
		return err
	}
	cfg := server.Config{
		Addr: f.addr, MinVersion: min, MaxVersion: max,
		Engine: engine.Config{Keys: keys, Lifetime: f.lifetime, NumTickets: f.tickets, DecryptTicket: policy},
		Logger: slog.New(slog.NewTextHandler(stdout, nil)),
	}
	if f.certFile != "" {
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return err
		}
		cfg.Certificate = &cert
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ticketctl serve: listening on %s (TLS %s), ticket key %v\n", srv.Addr(), f.versions, key.Name())
	if f.debugAddr != "" {
		if err := serveDebug(ctx, srv.Engine(), f.debugAddr, stdout); err != nil {
			srv.Close()
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.rotate > 0 {
		go rotateEvery(ctx, keys, a, f.rotate, stdout)
	}
	<-ctx.Done()
	srv.Close()
	out, _ := json.MarshalIndent(srv.Engine().Metrics(), "", "  ")
	fmt.Fprintf(stdout, "ticketctl serve: stopped; engine counters:\n%s\n", out)
	return nil
}

// serveDebug serves the engine's counters through expvar on addr.
func serveDebug(ctx context.Context, e *engine.Engine, addr string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	e.PublishExpvar("tlsticket")
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	fmt.Fprintf(stdout, "ticketctl serve: counters at http://%s/debug/vars\n", ln.Addr())
	return nil
}

// rotateEvery generates a new primary key every period; the previous
// primary stays decrypt-only for one more period.
func rotateEvery(ctx context.Context, keys *seal.Keyring, a seal.AEAD, period time.Duration, stdout io.Writer) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k, err := seal.GenerateKey(a, nil)
		if err == nil {
			var r *seal.Ring
			if r, err = keys.Load().Rotate(k, 1); err == nil {
				keys.Store(r)
				fmt.Fprintf(stdout, "ticketctl serve: rotated to %v\n", k.Name())
				continue
			}
		}
		fmt.Fprintln(stdout, "ticketctl serve: rotation failed:", err)
	}
}
