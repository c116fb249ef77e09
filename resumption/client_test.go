package resumption_test

import (
	"bytes"
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
)

// TestClientRFC8448 rebuilds the RFC 8448 section 4 ClientHello binder from
// the section 3 NewSessionTicket, as a client would: store the ticket,
// offer it 6 ms later, and fill in the binder.
func TestClientRFC8448(t *testing.T) {
	v := loadRFC8448(t)
	s3, s4 := v["section3_initial_handshake"], v["section4_resumed_0rtt_handshake"]
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, hexField(t, s3, "resumption_master_secret"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := format.ParseNewSessionTicketTLS13(hexField(t, s3, "new_session_ticket_message"))
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
	if want := uintField(t, s4, "pre_shared_key_extension.identity_0_obfuscated_ticket_age"); id.ObfuscatedTicketAge != want {
		t.Errorf("obfuscated_ticket_age %#x, want %#x", id.ObfuscatedTicketAge, want)
	}

	want := hexField(t, s4, "client_hello")
	ch := bytes.Clone(want)
	binder := hexField(t, s4, "binder")
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
