package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
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
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// serveFlags are the flags of `ticketctl serve`.
type serveFlags struct {
	addr, versions, certFile, keyFile, policy, debugAddr, aead string
	keysFile, nginxKeys, haproxyKeys                           string
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
	fs.StringVar(&f.keysFile, "keys", "", "ticket key file (tlsticket format, see ticketctl keygen); default: a generated key")
	fs.StringVar(&f.nginxKeys, "nginx-keys", "", "also open the tickets of an nginx server with this ssl_session_ticket_key file (migration)")
	fs.StringVar(&f.haproxyKeys, "haproxy-keys", "", "also open the tickets of an HAProxy server with this tls-ticket-keys file (migration)")
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
	if f.rotate > 0 && f.keysFile != "" {
		return errors.New("-rotate and -keys do not go together: the key file's schedule rotates the keys")
	}
	keys, describe, err := f.keyring(ctx, stdout)
	if err != nil {
		return err
	}
	opener, err := f.legacyOpener()
	if err != nil {
		return err
	}
	policy, err := server.Policy(f.policy)
	if err != nil {
		return err
	}
	cfg := server.Config{
		Addr: f.addr, MinVersion: min, MaxVersion: max,
		Engine: engine.Config{Keys: keys, Lifetime: f.lifetime, NumTickets: f.tickets, DecryptTicket: policy, Legacy: opener},
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
	fmt.Fprintf(stdout, "ticketctl serve: listening on %s (TLS %s), %s\n", srv.Addr(), f.versions, describe)
	if f.debugAddr != "" {
		if err := serveDebug(ctx, srv.Engine(), f.debugAddr, stdout); err != nil {
			srv.Close()
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.rotate > 0 && f.keysFile == "" {
		a, _ := seal.ParseAEAD(f.aead)
		go rotateEvery(ctx, keys, a, f.rotate, stdout)
	}
	<-ctx.Done()
	srv.Close()
	out, _ := json.MarshalIndent(srv.Engine().Metrics(), "", "  ")
	fmt.Fprintf(stdout, "ticketctl serve: stopped; engine counters:\n%s\n", out)
	return nil
}

// keyring returns the server's keys: from -keys (following the file's
// schedule as time passes) or a generated key.
func (f *serveFlags) keyring(ctx context.Context, stdout io.Writer) (*seal.Keyring, string, error) {
	if f.keysFile == "" {
		a, err := seal.ParseAEAD(f.aead)
		if err != nil {
			return nil, "", err
		}
		key, err := seal.GenerateKey(a, nil)
		if err != nil {
			return nil, "", err
		}
		ring, err := seal.NewRing(nil, key)
		if err != nil {
			return nil, "", err
		}
		return seal.NewKeyring(ring), "generated ticket key " + key.Name().String(), nil
	}
	file, err := os.Open(f.keysFile)
	if err != nil {
		return nil, "", err
	}
	defer file.Close()
	sched, err := keyfile.Parse(file)
	if err != nil {
		return nil, "", err
	}
	ring, err := sched.RingAt(time.Now(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", f.keysFile, err)
	}
	keys := seal.NewKeyring(ring)
	go followSchedule(ctx, keys, sched, stdout)
	return keys, fmt.Sprintf("%d keys from %s, primary %v", len(sched.Keys()), f.keysFile, ring.Primary().Name()), nil
}

// followSchedule installs the schedule's ring at each of its phase changes.
func followSchedule(ctx context.Context, keys *seal.Keyring, sched *seal.Schedule, stdout io.Writer) {
	for {
		next := sched.NextChange(time.Now())
		if next.IsZero() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		ring, err := sched.RingAt(time.Now(), nil)
		if err != nil {
			fmt.Fprintln(stdout, "ticketctl serve: key schedule:", err, "(keeping the current keys)")
			continue
		}
		keys.Store(ring)
		fmt.Fprintf(stdout, "ticketctl serve: key schedule moved on, primary %v\n", ring.Primary().Name())
	}
}

// legacyOpener returns the opener for -nginx-keys and -haproxy-keys, or nil.
func (f *serveFlags) legacyOpener() (*legacy.Opener, error) {
	var keys []legacy.Key
	if f.nginxKeys != "" {
		file, err := os.Open(f.nginxKeys)
		if err != nil {
			return nil, err
		}
		k, err := keyfile.ParseNginx(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.nginxKeys, err)
		}
		keys = append(keys, k)
	}
	if f.haproxyKeys != "" {
		file, err := os.Open(f.haproxyKeys)
		if err != nil {
			return nil, err
		}
		ks, err := keyfile.ParseHAProxy(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.haproxyKeys, err)
		}
		keys = append(keys, ks...)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return legacy.NewOpener(keys...)
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
