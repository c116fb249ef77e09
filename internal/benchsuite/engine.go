package benchsuite

import (
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// EngineStateSize is the length of the encoded [format.State] that the
// Engine benchmarks issue and open.
const EngineStateSize = 256

// EngineAEAD is the AEAD of the Engine, Handshakes, RingSize and Parallel
// benchmarks, whose ratios compare with RawAEAD/…/AES256GCM/256.
const EngineAEAD = "AES256GCM"

// engineBench returns Engine/Issue/<v> or Engine/Open/<v>: the engine with
// gen_cb and dec_cb callbacks and an AES-256-GCM ring, issuing or opening a
// ticket for the state the crypto/tls adapter would build for the captured
// session of version v, padded to an encoding of EngineStateSize bytes.
// Issue encodes the state, calls gen_cb, seals and builds the
// NewSessionTicket message; Open opens, parses, calls dec_cb and decides.
func engineBench(op string, v uint16) func(*testing.B) {
	return func(b *testing.B) {
		c := sessionFor(b, v)
		binding, err := tlsadapter.Binding(c.config)
		if err != nil {
			b.Fatal(err)
		}
		e, err := engine.New(&engine.Config{
			Keys:           seal.NewKeyring(newRing(b, seal.AES256GCM, 1)),
			Binding:        binding,
			GenerateTicket: func(s *format.State) error { return nil },
			DecryptTicket: func(t engine.TicketInfo) status.Return {
				return status.Default(t.Status)
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		var nonce []byte
		if v == format.VersionTLS13 {
			nonce = []byte{0}
		}
		s := engineState(b, e, c, v, nonce)
		iss, err := e.Issue(s, nonce)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(EngineStateSize)
		if op == "Issue" {
			for b.Loop() {
				if _, err := e.Issue(s, nonce); err != nil {
					b.Fatal(err)
				}
			}
		} else {
			conn := engine.ConnInfo{Version: v, ServerName: s.ServerName, ALPN: s.ALPN}
			for b.Loop() {
				d, err := e.Open(conn, true, iss.Ticket)
				if err != nil || !d.Resumed {
					b.Fatalf("Open: resumed %v, fallback %v, error %v", d.Resumed, d.Fallback, err)
				}
			}
		}
		reportState(b, EngineStateSize)
	}
}

// engineState returns the state tlsadapter.WrapSession builds for the
// captured session c, with the embedded crypto/tls state padded so that
// the state's encoding, once e.Issue has stamped it, is EngineStateSize
// bytes.
func engineState(b *testing.B, e *engine.Engine, c *capture, v uint16, nonce []byte) *format.State {
	b.Helper()
	s := &format.State{
		Version:     v,
		CipherSuite: c.cs.CipherSuite,
		ServerName:  c.cs.ServerName,
		ALPN:        c.cs.NegotiatedProtocol,
		Embedded:    c.state,
	}
	for range 3 {
		if _, err := e.Issue(s, nonce); err != nil {
			b.Fatal(err)
		}
		enc, err := s.Append(nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(enc) == EngineStateSize {
			return s
		}
		_, s.Embedded, err = padState(c.state, len(s.Embedded)+EngineStateSize-len(enc))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Fatalf("cannot pad the %s engine state to %d bytes", versionName(v), EngineStateSize)
	return nil
}
