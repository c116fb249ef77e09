package engine

import (
	"bytes"
	"testing"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
)

// TestIssueBindingAliasing: the State that Issue fills in, and hands to the
// GenerateTicket callback, does not alias the engine's own Binding (which
// New copies from the Config for this reason): a caller or callback that
// reuses the State's buffers cannot change the context that every ticket is
// checked against.
func TestIssueBindingAliasing(t *testing.T) {
	binding := []byte("client auth required")
	tests := []struct {
		name   string
		adjust func(*Config)
		reuse  func(s *format.State)
	}{
		{"caller-reuses-state", nil, func(s *format.State) { s.Binding = append(s.Binding[:0], 0xff) }},
		{"callback-appends-to-binding", func(c *Config) {
			c.GenerateTicket = func(s *format.State) error {
				if len(s.AppData) > 0 {
					s.Binding = append(s.Binding[:0], "no client auth!!!!!!"...)
				}
				return nil
			}
		}, nil},
	}
	conn := ConnInfo{Version: format.VersionTLS12, ServerName: "example.com", ALPN: "h2"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "binding"))), Time: newFakeClock().Now, Binding: bytes.Clone(binding)}
			if tt.adjust != nil {
				tt.adjust(cfg)
			}
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			genuine := issue(t, e, format.VersionTLS12)
			s := testSession(format.VersionTLS12)
			s.AppData = []byte("second")
			second, err := e.Issue(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.reuse != nil {
				tt.reuse(s)
			}
			if d, err := e.Open(conn, true, genuine); err != nil || !d.Resumed {
				t.Fatalf("genuine ticket after the State was reused: resumed %v, fallback %v, error %v; the engine's binding is aliased", d.Resumed, d.Fallback, err)
			}
			// The engine seals its own binding, whatever the State or the
			// callback holds.
			if d, err := e.Open(conn, true, second.Ticket); err != nil || !d.Resumed || !bytes.Equal(d.Session.Binding, binding) {
				t.Fatalf("second ticket: resumed %v, fallback %v, error %v", d.Resumed, d.Fallback, err)
			}
		})
	}
}
