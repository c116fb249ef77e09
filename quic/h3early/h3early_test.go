package h3early_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/quic/h3early"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

const timeout = 5 * time.Second

type seen struct {
	method string
	early  bool
}

// startH3 starts an http3 server with the tlsticket adapter and
// h3early.Mark, whose handler reports each request on the returned channel.
func startH3(t *testing.T, id *loopback.Identity) (*net.UDPAddr, <-chan seen) {
	t.Helper()
	tlsConf := &tls.Config{Certificates: []tls.Certificate{id.Cert}}
	binding, err := tlsadapter.Binding(tlsConf)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{
		Keys:        seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES256GCM, "h3"))),
		Binding:     binding,
		ReplayStore: resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: time.Nanosecond}),
	})
	if err != nil {
		t.Fatal(err)
	}
	tlsadapter.New(e).Install(tlsConf)
	ch := make(chan seen, 16)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch <- seen{r.Method, h3early.IsEarly(r)}
		io.WriteString(w, "hello")
	})
	srv := &http3.Server{
		Handler:     h3early.Mark(h3early.RejectUnsafe(handler)),
		TLSConfig:   http3.ConfigureTLSConfig(tlsConf),
		QUICConfig:  &quic.Config{Allow0RTT: true},
		ConnContext: h3early.ConnContext,
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(pc)
	t.Cleanup(func() { srv.Close(); pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr), ch
}

func get(t *testing.T, tr *http3.Transport, method, addr string) {
	t.Helper()
	if err := roundTrip(tr, method, addr); err != nil {
		t.Fatal(err)
	}
}

func roundTrip(tr *http3.Transport, method, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func next(t *testing.T, ch <-chan seen) seen {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(timeout):
		t.Fatal("the handler was not called")
		return seen{}
	}
}

// TestMarkOverHTTP3: a GET sent in 0-RTT and handled before the handshake
// completed is marked early; requests handled after it are not.
func TestMarkOverHTTP3(t *testing.T) {
	id := loopback.NewIdentity()
	addr, ch := startH3(t, id)
	relay, err := loopback.NewRelay(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	cache := loopback.NewSessionCache()
	clientTLS := id.ClientTLS(cache)
	clientTLS.NextProtos = []string{http3.NextProtoH3}

	tr := newTransport(clientTLS)
	stored := cache.Stored()
	get(t, tr, http.MethodGet, relay.Addr.String())
	if s := next(t, ch); s.early {
		t.Fatal("a request of a full handshake was marked early")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := cache.WaitStored(ctx, stored); err != nil {
		t.Fatal(err)
	}
	tr.Close()

	// Hold the server's answers: the handshake stays incomplete while the
	// server handles the 0-RTT GET, and the client opens its request
	// stream before it processes any answer (quic-go/quic-go#4303).
	relay.Hold()
	tr = newTransport(clientTLS)
	defer tr.Close()
	done := make(chan error, 1)
	go func() { done <- roundTrip(tr, http3.MethodGet0RTT, relay.Addr.String()) }()
	if s := next(t, ch); !s.early || s.method != http.MethodGet {
		t.Errorf("0-RTT request seen as %+v, want an early GET", s)
	}
	relay.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	get(t, tr, http.MethodGet, relay.Addr.String()) // the same connection, after the handshake
	if s := next(t, ch); s.early {
		t.Error("a request handled after the handshake was marked early")
	}
}

// newTransport returns an http3 client whose connections outlive the
// dial: http3.Transport cancels the dial's context once DialEarly returns,
// which would close a connection whose handshake the relay holds back.
func newTransport(tlsConf *tls.Config) *http3.Transport {
	return &http3.Transport{
		TLSClientConfig: tlsConf,
		Dial: func(ctx context.Context, addr string, tlsConf *tls.Config, conf *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(context.WithoutCancel(ctx), addr, tlsConf, conf)
		},
	}
}

func TestRejectUnsafe(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	tests := []struct {
		method string
		early  bool
		want   int
	}{
		{http.MethodPost, true, http.StatusTooEarly},
		{http.MethodPut, true, http.StatusTooEarly},
		{http.MethodDelete, true, http.StatusTooEarly},
		{http.MethodGet, true, http.StatusOK},
		{http.MethodHead, true, http.StatusOK},
		{http.MethodPost, false, http.StatusOK},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "https://example.com/", nil)
		if tt.early {
			r.Header.Set(h3early.Header, "1")
		}
		w := httptest.NewRecorder()
		h3early.RejectUnsafe(ok).ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s early=%v: status %d, want %d", tt.method, tt.early, w.Code, tt.want)
		}
	}
}

// TestMarkWithoutConnContext: without the connection in the context Mark
// cannot tell, and marks the request early.
func TestMarkWithoutConnContext(t *testing.T) {
	var early bool
	h := h3early.Mark(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { early = h3early.IsEarly(r) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "https://example.com/", nil))
	if !early {
		t.Fatal("request not marked early")
	}
}
