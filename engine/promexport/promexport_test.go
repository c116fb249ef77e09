package promexport_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/promexport"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/promtest"
	"github.com/tlsticket/tlsticket/internal/testcert"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/seal"
)

// fill is a replay store's fill level, as a store reports it.
type fill struct{ len, cap int }

func (f fill) Len() int { return f.len }
func (f fill) Cap() int { return f.cap }

// startServer serves TLS on loopback with an engine on keys, installed
// through the crypto/tls adapter, until the test ends: each connection gets
// one line and a close_notify. It returns the engine and the address.
func startServer(t *testing.T, keys *seal.Keyring) (*engine.Engine, string) {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{testcert.Server()}}
	binding, err := tlsadapter.Binding(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Keys: keys, Binding: binding})
	if err != nil {
		t.Fatal(err)
	}
	tlsadapter.New(e).Install(cfg)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "tlsticket\n") // handshakes, then sends the tickets
			c.Close()
		}
	})
	return e, ln.Addr().String()
}

// TestCollector serves real TLS 1.2 and TLS 1.3 handshakes through the
// crypto/tls adapter, scrapes the collector over HTTP as Prometheus does,
// parses the exposition with expfmt and checks the values.
func TestCollector(t *testing.T) {
	clock := fakeclock.New(time.Now())
	rot, err := seal.NewRotator(seal.RotatorConfig{Time: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e, addr := startServer(t, rot.Keyring())
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexport.New(e, promexport.Options{Rotator: rot, ReplayStore: fill{3, 1000}}))
	hs := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer hs.Close()

	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cache := tls.NewLRUClientSessionCache(1)
		for i := range 2 { // a full handshake, then a resumption
			c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(c)
			if c.ConnectionState().DidResume != (i == 1) {
				t.Fatalf("%s connection %d: resumed %v", tls.VersionName(v), i, !(i == 1))
			}
			c.Close()
		}
	}
	primary := rot.Keyring().Load().Primary()
	got := promtest.Scrape(t, hs.URL)
	want := map[string]float64{
		`tlsticket_no_ticket_total{version="TLS1.2"}`:                                                        1,
		`tlsticket_no_ticket_total{version="TLS1.3"}`:                                                        1,
		`tlsticket_resumed_total{version="TLS1.2"}`:                                                          1,
		`tlsticket_resumed_total{version="TLS1.3"}`:                                                          1,
		`tlsticket_resumption_decisions_total{outcome="use",return="Use",status="Success",version="TLS1.2"}`: 1,
		`tlsticket_tickets_issued_total{version="TLS1.2"}`:                                                   2,
		`tlsticket_tickets_issued_total{version="TLS1.3"}`:                                                   2,
		`tlsticket_aborts_total{version="TLS1.3"}`:                                                           0,
		`tlsticket_ticket_age_seconds_count{version="TLS1.3"}`:                                               1,
		`tlsticket_ticket_age_seconds_bucket{le="60",version="TLS1.3"}`:                                      1,
		`tlsticket_ticket_age_seconds_bucket{le="+Inf",version="TLS1.2"}`:                                    1,
		`tlsticket_early_data_accepted_total`:                                                                0,
		`tlsticket_replay_store_errors_total`:                                                                0,
		`tlsticket_replay_store_entries`:                                                                     3,
		`tlsticket_replay_store_capacity`:                                                                    1000,
		fmt.Sprintf(`tlsticket_key_tickets_sealed_total{aead="AES-256-GCM",key="%v"}`, primary.Name()):       4,
		fmt.Sprintf(`tlsticket_key_tickets_opened_total{aead="AES-256-GCM",key="%v"}`, primary.Name()):       2,
		fmt.Sprintf(`tlsticket_key_primary{key="%v"}`, primary.Name()):                                       1,
		`tlsticket_key_ring_changes_total`:                                                                   0,
	}
	check(t, got, want)
	// The TLS 1.3 resumption decision: the status depends on the renewal
	// rules, so look for any resumed TLS 1.3 decision.
	if !slices.ContainsFunc(keys(got), func(k string) bool {
		return strings.HasPrefix(k, "tlsticket_resumption_decisions_total{") && strings.Contains(k, `outcome="use`) && strings.Contains(k, `version="TLS1.3"`)
	}) {
		t.Errorf("no TLS 1.3 resumption decision in %v", keys(got))
	}

	// The next key is announced 5 hours in: one Ring change, and the new
	// key appears with no seals and not primary.
	clock.Advance(5 * time.Hour)
	if err := rot.Maintain(); err != nil {
		t.Fatal(err)
	}
	next := rot.Keyring().Load().Keys()[1]
	check(t, promtest.Scrape(t, hs.URL), map[string]float64{
		`tlsticket_key_ring_changes_total`: 1,
		fmt.Sprintf(`tlsticket_key_tickets_sealed_total{aead="AES-256-GCM",key="%v"}`, next.Name()): 0,
		fmt.Sprintf(`tlsticket_key_primary{key="%v"}`, next.Name()):                                 0,
		fmt.Sprintf(`tlsticket_key_primary{key="%v"}`, primary.Name()):                              1,
	})
}

// TestCollectorEngineOnly checks that a Collector with no options exports
// the engine's metrics and no key or store metric.
func TestCollectorEngineOnly(t *testing.T) {
	e, err := engine.New(&engine.Config{Keys: seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES128GCM, "promexport")))})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexport.New(e, promexport.Options{}))
	hs := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer hs.Close()
	got := promtest.Scrape(t, hs.URL)
	for k := range got {
		if strings.HasPrefix(k, "tlsticket_key_") || strings.HasPrefix(k, "tlsticket_replay_store_entries") {
			t.Errorf("unexpected metric %s", k)
		}
	}
	check(t, got, map[string]float64{`tlsticket_no_ticket_total{version="TLS1.3"}`: 0})
}

func check(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: missing; scraped %v", k, keys(got))
		case g != w:
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
}

func keys(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestMetricsDocumented checks that the metric table of
// docs/operations.md names exactly the metrics the Collector describes.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## 5. Metrics\n")
	if !ok {
		t.Fatal("docs/operations.md has no Metrics section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(cells[1], -1) {
			documented["tlsticket_"+m[1]] = true
		}
	}
	rot, err := seal.NewRotator(seal.RotatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Keys: rot.Keyring()})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 64)
	promexport.New(e, promexport.Options{Rotator: rot, ReplayStore: fill{}}).Describe(ch)
	close(ch)
	described := map[string]bool{}
	fqName := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the name of %v", d)
		}
		described[m[1]] = true
	}
	for name := range described {
		if !documented[name] {
			t.Errorf("%s is not in the metric table of docs/operations.md", name)
		}
	}
	for name := range documented {
		if !described[name] {
			t.Errorf("docs/operations.md documents %s, which the Collector does not export", name)
		}
	}
}
