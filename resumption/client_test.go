package resumption_test

import (
	"bytes"
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit/rfc8448"
	"github.com/tlsticket/tlsticket/resumption"
)

// TestClientRFC8448 rebuilds the RFC 8448 section 4 ClientHello binder from
// the section 3 NewSessionTicket, as a client would: store the ticket,
// offer it 6 ms later, and fill in the binder.
func TestClientRFC8448(t *testing.T) {
	v := rfc8448.Load(t)
	s3, s4 := v[rfc8448.Section3], v[rfc8448.Section4]
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, s3.Hex(t, "resumption_master_secret"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := format.ParseNewSessionTicketTLS13(s3.Hex(t, "new_session_ticket_message"))
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ticket, err := resumption.NewClientTicket(m, rms, 0x1301, received)
	if err != nil {
		t.Fatal(err)
	}
	if ticket.MaxEarlyData != 1024 || ticket.Lifetime != 30 {
		t.Errorf("ticket max_early_data %d lifetime %d, want 1024 and 30", ticket.MaxEarlyData, ticket.Lifetime)
	}
	id, err := ticket.Identity(received.Add(6 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if want := s4.Uint(t, "pre_shared_key_extension.identity_0_obfuscated_ticket_age"); id.ObfuscatedTicketAge != want {
		t.Errorf("obfuscated_ticket_age %#x, want %#x", id.ObfuscatedTicketAge, want)
	}

	want := s4.Hex(t, "client_hello")
	ch := bytes.Clone(want)
	binder := s4.Hex(t, "binder")
	at := bytes.Index(ch, binder)
	if at < 0 {
		t.Fatal("binder not found in the ClientHello")
	}
	clear(ch[at : at+len(binder)])
	if err := resumption.SetBinders(ch, []*resumption.ClientTicket{ticket}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ch, want) {
		t.Errorf("ClientHello after resumption.SetBinders:\n got %x\nwant %x", ch, want)
	}
	testSetPSKBinders(t, want, at, len(binder), ticket)
}

// testSetPSKBinders checks SetPSKBinders on the RFC 8448 ClientHello want,
// whose binder is at [at:at+n]: the ticket's PSK gives the RFC's binder, a
// nil PSK leaves the binder alone, and a forged identity still gets the
// binder of the PSK it is offered with, which SetBinders refuses to write.
func testSetPSKBinders(t *testing.T, want []byte, at, n int, ticket *resumption.ClientTicket) {
	t.Helper()
	ch := bytes.Clone(want)
	clear(ch[at : at+n])
	if err := resumption.SetPSKBinders(ch, []*resumption.PSK{nil}); err != nil || !bytes.Equal(ch[at:at+n], make([]byte, n)) {
		t.Fatalf("SetPSKBinders(nil PSK) wrote %x, %v; want the binder left as it is", ch[at:at+n], err)
	}
	if err := resumption.SetPSKBinders(ch, []*resumption.PSK{ticket.PSK()}); err != nil || !bytes.Equal(ch, want) {
		t.Fatalf("SetPSKBinders(ticket PSK): %v\n got %x\nwant %x", err, ch, want)
	}
	forged := bytes.Clone(want)
	id := bytes.Index(forged, ticket.Ticket)
	forged[id] ^= 1
	clear(forged[at : at+n])
	if err := resumption.SetBinders(forged, []*resumption.ClientTicket{ticket}); err == nil {
		t.Fatal("SetBinders wrote a binder for an identity that is not its ticket")
	}
	if err := resumption.SetPSKBinders(forged, []*resumption.PSK{ticket.PSK()}); err != nil || bytes.Equal(forged[at:at+n], make([]byte, n)) {
		t.Fatalf("SetPSKBinders(forged identity): %v, binder %x", err, forged[at:at+n])
	}
	if err := resumption.SetBinders(ch, []*resumption.ClientTicket{{Ticket: ticket.Ticket}}); err == nil {
		t.Fatal("SetBinders accepted a ticket without a PSK")
	}
}

func TestClientTicketExpiry(t *testing.T) {
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	m := &format.NewSessionTicketTLS13{Lifetime: 60, AgeAdd: 7, Nonce: []byte{1}, Ticket: []byte("t")}
	now := time.Unix(1000, 0)
	ticket, err := resumption.NewClientTicket(m, rms, 0x1301, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ticket.Identity(now.Add(59 * time.Second)); err != nil {
		t.Errorf("at 59 s: %v", err)
	}
	if _, err := ticket.Identity(now.Add(60 * time.Second)); !errors.Is(err, resumption.ErrTicketExpired) {
		t.Errorf("at 60 s: %v, want resumption.ErrTicketExpired", err)
	}
	if _, err := resumption.NewClientTicket(m, rms, 0x1302, now); !errors.Is(err, resumption.ErrUnsupportedHash) {
		t.Errorf("SHA-384 suite with a SHA-256 secret: %v", err)
	}
}
