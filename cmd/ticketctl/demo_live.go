package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"sync"

	"github.com/tlsticket/tlsticket/cmd/ticketctl/internal/server"
	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// tamperingCache is a client session cache that can flip a bit of the
// ticket it hands back, to show what a server does with a forged ticket.
type tamperingCache struct {
	mu     sync.Mutex
	s      map[string]*tls.ClientSessionState
	tamper bool
}

func (c *tamperingCache) Get(key string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, ok := c.s[key]
	if !ok || !c.tamper {
		return cs, ok
	}
	ticket, state, err := cs.ResumptionState()
	if err != nil || len(ticket) == 0 {
		return cs, ok
	}
	bad := append([]byte(nil), ticket...)
	bad[len(bad)-1] ^= 1
	forged, err := tls.NewResumptionState(bad, state)
	if err != nil {
		return cs, ok
	}
	return forged, true
}

func (c *tamperingCache) Put(key string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.s[key] = cs
	}
}

// liveDemo runs real TLS handshakes on loopback between Go's crypto/tls
// client and a server with the engine installed through the adapter.
type liveDemo struct {
	w     io.Writer
	keys  *seal.Keyring
	srv   *server.Server
	cache *tamperingCache
	cfg   *tls.Config
}

func newLiveDemo(w io.Writer, version uint16, cb func(engine.TicketInfo) status.Return, gen func(*format.State) error) (*liveDemo, error) {
	key, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		return nil, err
	}
	ring, err := seal.NewRing(nil, key)
	if err != nil {
		return nil, err
	}
	d := &liveDemo{w: w, keys: seal.NewKeyring(ring), cache: &tamperingCache{s: map[string]*tls.ClientSessionState{}}}
	d.srv, err = server.New(server.Config{
		Addr: "127.0.0.1:0", MinVersion: version, MaxVersion: version,
		Engine: engine.Config{Keys: d.keys, DecryptTicket: cb, GenerateTicket: gen},
	})
	if err != nil {
		return nil, err
	}
	d.cfg = &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version, ClientSessionCache: d.cache, ServerName: "localhost"}
	fmt.Fprintf(w, "server on %s, ticket key %v\n", d.srv.Addr(), key.Name())
	return d, nil
}

// connect makes one connection and prints the server's record of it.
func (d *liveDemo) connect(what string) error {
	c, err := tls.Dial("tcp", d.srv.Addr(), d.cfg)
	if err != nil {
		return err
	}
	io.ReadAll(c) // the server answers one line and closes; tickets come first
	c.Close()
	hs := d.srv.Handshakes()
	h := hs[len(hs)-1]
	fmt.Fprintf(d.w, "%s:\n    ", what)
	if h.Status != "" {
		fmt.Fprintf(d.w, "status %s -> return %s -> ", h.Status, h.Return)
	}
	if h.Resumed {
		fmt.Fprint(d.w, "resumed")
	} else {
		fmt.Fprint(d.w, "full handshake")
	}
	if h.Fallback != "" {
		fmt.Fprintf(d.w, " (%s)", h.Fallback)
	}
	fmt.Fprintf(d.w, "; crypto/tls sent %s", plural(h.TicketsSent))
	if h.Status != "" && h.EngineTickets != h.TicketsSent {
		fmt.Fprintf(d.w, " (the engine asked for %d: crypto/tls cannot send fewer or more)", h.EngineTickets)
	}
	fmt.Fprintln(d.w)
	if h.TicketsSent > 0 {
		fmt.Fprintf(d.w, "    issued: key %s, %d bytes, engine lifetime %v\n", h.IssuedKey, h.IssuedSize, engine.DefaultLifetime)
	}
	return nil
}

func (d *liveDemo) rotate() error { return rotate(d.w, d.keys) }

func (d *liveDemo) close() { d.srv.Close() }

func demoLive(w io.Writer) error {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		fmt.Fprintf(w, "== live %s: Go's crypto/tls client and a crypto/tls server with the engine ==\n", tls.VersionName(v))
		d, err := newLiveDemo(w, v, nil, nil)
		if err != nil {
			return err
		}
		steps := []struct {
			what string
			pre  func() error
		}{
			{"full handshake", nil},
			{"resumption", nil},
			{"resumption after a key rotation (old key decrypt-only)", d.rotate},
			{"resumption with the renewed ticket", nil},
			{"resumption with a tampered ticket", func() error { d.cache.tamper = true; return nil }},
		}
		for _, s := range steps {
			if s.pre != nil {
				if err := s.pre(); err != nil {
					d.close()
					return err
				}
			}
			if err := d.connect(s.what); err != nil {
				d.close()
				return err
			}
		}
		d.close()
		fmt.Fprintln(w)
	}
	return demoLiveAppData(w)
}

// demoLiveAppData shows application data set in gen_cb and read in dec_cb
// across a real resumption.
func demoLiveAppData(w io.Writer) error {
	fmt.Fprintln(w, "== live TLS 1.3: application data from gen_cb to dec_cb ==")
	gen := func(s *format.State) error { s.AppData = []byte("tenant=blue"); return nil }
	cb := func(ti engine.TicketInfo) status.Return {
		s, keyName, st := ti.Session, ti.KeyName, ti.Status
		if st.Opened() {
			fmt.Fprintf(w, "  dec_cb: status %v, key %x, app data %q\n", st, keyName, s.AppData)
		}
		return status.Default(st)
	}
	d, err := newLiveDemo(w, tls.VersionTLS13, cb, gen)
	if err != nil {
		return err
	}
	defer d.close()
	if err := d.connect("full handshake"); err != nil {
		return err
	}
	if err := d.connect("resumption"); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}
