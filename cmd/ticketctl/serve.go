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
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tlsticket/tlsticket/cmd/ticketctl/internal/server"
	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/promexport"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// serveFlags are the flags of `ticketctl serve`.
type serveFlags struct {
	addr, versions, certFile, keyFile, policy, debugAddr, aead string
	metricsAddr                                                string
	keysFile, nginxKeys, haproxyKeys                           string
	insecurePerms                                              bool
	lifetime, rotate                                           time.Duration
	rotateSet                                                  bool
	tickets                                                    int
}

// parseServeFlags parses and checks the flags of serve; a bad flag is a
// usage error. On -h it prints the usage to stdout and returns
// flag.ErrHelp.
func parseServeFlags(args []string, stdout io.Writer) (*serveFlags, error) {
	f := &serveFlags{}
	fs := newCommand("serve", "[-addr host:port] [-versions 1.2,1.3] [-cert file -key file] [-keys file | -rotate d] [-policy name] [-metrics-addr host:port] [flags]")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8443", "address to listen on")
	fs.StringVar(&f.versions, "versions", "1.2,1.3", "TLS versions to serve: 1.2, 1.3 or 1.2,1.3")
	fs.StringVar(&f.certFile, "cert", "", "PEM certificate chain (default: a generated self-signed certificate)")
	fs.StringVar(&f.keyFile, "key", "", "PEM private key for -cert")
	fs.StringVar(&f.aead, "aead", "AES-256-GCM", "AEAD of the generated ticket keys, and of the local key that seals when the key file has no active key")
	fs.StringVar(&f.keysFile, "keys", "", "ticket key file (tlsticket format, see ticketctl keygen); default: a generated key")
	fs.StringVar(&f.nginxKeys, "nginx-keys", "", "also open the tickets of an nginx server with this ssl_session_ticket_key file (migration)")
	fs.StringVar(&f.haproxyKeys, "haproxy-keys", "", "also open the tickets of an HAProxy server with this tls-ticket-keys file (migration)")
	fs.BoolVar(&f.insecurePerms, "insecure-key-perms", false, "use key files that others may read (refused by default)")
	fs.DurationVar(&f.lifetime, "lifetime", engine.DefaultLifetime, "ticket lifetime")
	fs.IntVar(&f.tickets, "tickets", engine.DefaultNumTickets, "TLS 1.3 tickets per full handshake (crypto/tls sends one regardless)")
	fs.DurationVar(&f.rotate, "rotate", seal.DefaultRotation, "without -keys: how long each generated ticket key seals; each is announced "+seal.DefaultAnnounce.String()+" before and opens "+seal.DefaultDecryptOnly.String()+" after")
	fs.StringVar(&f.policy, "policy", "default", "decrypt callback policy: default, ignore or renew")
	fs.StringVar(&f.debugAddr, "debug", "", "serve the engine counters (expvar, /debug/vars) on this `address`")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics (/metrics) on this `address`, such as 127.0.0.1:9464")
	if err := fs.parse(args, 0, stdout); err != nil {
		return nil, err
	}
	fs.Visit(func(fl *flag.Flag) { f.rotateSet = f.rotateSet || fl.Name == "rotate" })
	return f, f.check()
}

// check refuses flag values that cannot work, before anything starts.
func (f *serveFlags) check() error {
	if _, _, err := tlsVersions(f.versions); err != nil {
		return usageErr("-versions: %v", err)
	}
	if _, err := server.Policy(f.policy); err != nil {
		return usageErr("-policy: unknown policy %q (default, ignore or renew)", f.policy)
	}
	if _, err := seal.ParseAEAD(f.aead); err != nil {
		return usageErr("-aead: %v", err)
	}
	switch {
	case f.rotateSet && f.keysFile != "":
		return usageErr("-rotate and -keys do not go together: the key file's schedule rotates the keys")
	case f.rotate <= 0:
		return usageErr("-rotate must be positive")
	case (f.certFile == "") != (f.keyFile == ""):
		return usageErr("-cert and -key go together: give the certificate chain and its private key")
	case f.tickets < 0:
		return usageErr("-tickets must not be negative")
	case f.lifetime <= 0:
		return usageErr("-lifetime must be positive")
	}
	return nil
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

// serveEnv is what a test injects into serve: the clock of the key
// rotation loop, how often the loop runs, and how often it looks at the
// key file. The zero value is the real clock and the defaults.
type serveEnv struct {
	now      func() time.Time
	interval time.Duration // seal.RotatorConfig.Interval
	poll     time.Duration // keyfile.SourceOptions.PollInterval
}

// serve runs `ticketctl serve` until ctx ends or SIGINT/SIGTERM; SIGHUP
// reloads the key file.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return serveEnv{}.serve(ctx, args, stdout, stderr)
}

func (env serveEnv) serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseServeFlags(args, stdout)
	if err != nil {
		return err
	}
	min, max, _ := tlsVersions(f.versions) // checked
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	rot, src, describe, err := f.keys(env, logger)
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
		Engine: engine.Config{Keys: rot.Keyring(), Lifetime: f.lifetime, NumTickets: f.tickets, DecryptTicket: policy, LegacyTickets: opener},
		Logger: logger,
	}
	if f.certFile != "" {
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return err
		}
		cfg.Certificate = &cert
	}
	// Catch the signals before the server is up, so that an early SIGHUP
	// reloads rather than kills.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var loops sync.WaitGroup
	loops.Go(func() { rot.Run(ctx) })
	if src != nil {
		loops.Go(func() { src.Run(ctx) })
	}
	fmt.Fprintf(stdout, "ticketctl serve: listening on %s (TLS %s), %s\n", srv.Addr(), f.versions, describe)
	if err := f.serveEndpoints(ctx, srv.Engine(), rot, stdout); err != nil {
		cancel()
		srv.Close()
		loops.Wait()
		return err
	}
	waitSignals(ctx, sig, src, logger)
	cancel()
	srv.Close()
	loops.Wait()
	out, _ := json.MarshalIndent(srv.Engine().Metrics(), "", "  ")
	fmt.Fprintf(stdout, "ticketctl serve: stopped; engine counters:\n%s\n", out)
	return nil
}

// waitSignals returns when ctx is done or on SIGINT or SIGTERM. On SIGHUP
// it reloads the key file, if any.
func waitSignals(ctx context.Context, sig <-chan os.Signal, src *keyfile.Source, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sig:
			if s != syscall.SIGHUP {
				logger.Info("ticketctl serve: shutting down", slog.String("signal", s.String()))
				return
			}
			if src == nil {
				logger.Info("ticketctl serve: SIGHUP: no key file to reload")
				continue
			}
			if err := src.Reload(); err != nil {
				logger.Warn("ticketctl serve: SIGHUP: key file not reloaded", slog.Any("error", err))
				continue
			}
			logger.Info("ticketctl serve: SIGHUP: key file reloaded", slog.String("file", src.Path()))
		}
	}
}

// keys returns the rotation loop of the server's keys and, with -keys, the
// key file it follows; without -keys, the loop generates keys every
// -rotate.
func (f *serveFlags) keys(env serveEnv, logger *slog.Logger) (*seal.Rotator, *keyfile.Source, string, error) {
	a, err := seal.ParseAEAD(f.aead)
	if err != nil {
		return nil, nil, "", err
	}
	cfg := seal.RotatorConfig{AEAD: a, Rotation: f.rotate, Time: env.now, Interval: env.interval, Logger: logger}
	if f.keysFile == "" {
		rot, err := seal.NewRotator(cfg)
		if err != nil {
			return nil, nil, "", err
		}
		return rot, nil, fmt.Sprintf("generated ticket keys rotated every %v, primary %v", f.rotate, rot.Keyring().Load().Primary().Name()), nil
	}
	src, err := keyfile.NewSource(f.keysFile, keyfile.SourceOptions{PollInterval: env.poll, Logger: logger, InsecurePermissions: f.insecurePerms})
	if errors.Is(err, keyfile.ErrInsecurePermissions) {
		err = fmt.Errorf("%w (or give -insecure-key-perms to use it anyway)", err)
	}
	if err != nil {
		return nil, nil, "", err
	}
	rot, err := seal.NewSourceRotator(src, cfg)
	if err != nil {
		return nil, nil, "", err
	}
	sched, _ := src.Schedule(time.Time{})
	return rot, src, fmt.Sprintf("%d keys from %s, primary %v", len(sched.Keys()), f.keysFile, rot.Keyring().Load().Primary().Name()), nil
}

// legacyOpener returns the opener for -nginx-keys and -haproxy-keys, or nil.
func (f *serveFlags) legacyOpener() (*legacy.Opener, error) {
	var keys []legacy.Key
	if f.nginxKeys != "" {
		file, err := f.openKeyFile(f.nginxKeys)
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
		file, err := f.openKeyFile(f.haproxyKeys)
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

// openKeyFile opens a key file, refusing one that others may read unless
// -insecure-key-perms.
func (f *serveFlags) openKeyFile(path string) (*os.File, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err == nil && !f.insecurePerms {
		err = keyfile.CheckPermissions(path, fi)
	}
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("%w (or give -insecure-key-perms to use it anyway)", err)
	}
	return file, nil
}

// serveHTTP serves handler at path on addr until ctx is done, and prints
// where.
func serveHTTP(ctx context.Context, addr, path string, handler http.Handler, what string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(path, handler)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	fmt.Fprintf(stdout, "ticketctl serve: %s at http://%s%s\n", what, ln.Addr(), path)
	return nil
}

// serveEndpoints starts the -debug (expvar) and -metrics-addr (Prometheus)
// endpoints that are asked for.
func (f *serveFlags) serveEndpoints(ctx context.Context, e *engine.Engine, rot *seal.Rotator, stdout io.Writer) error {
	if f.debugAddr != "" {
		expvar.Publish("tlsticket", expvar.Func(func() any { return e.Metrics() }))
		if err := serveHTTP(ctx, f.debugAddr, "/debug/vars", expvar.Handler(), "counters", stdout); err != nil {
			return fmt.Errorf("-debug: %w", err)
		}
	}
	if f.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(promexport.New(e, promexport.Options{Rotator: rot}))
		h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		if err := serveHTTP(ctx, f.metricsAddr, "/metrics", h, "Prometheus metrics", stdout); err != nil {
			return fmt.Errorf("-metrics-addr: %w", err)
		}
	}
	return nil
}
