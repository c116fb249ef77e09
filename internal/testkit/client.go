package testkit

import (
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
)

// StoreTicket parses a NewSessionTicket message as a client receiving it at
// now on a connection with suite and rms would, and stores the ticket.
func StoreTicket(msg []byte, rms *resumption.ResumptionMasterSecret, suite uint16, now time.Time) (*resumption.ClientTicket, error) {
	m, err := format.ParseNewSessionTicketTLS13(msg)
	if err != nil {
		return nil, err
	}
	return resumption.NewClientTicket(m, rms, suite, now)
}

// OfferHello builds a ClientHello for example.com (ALPN h2, psk_dhe_ke) that
// offers tickets at time now, adjusted by adjust, and fills in the binders
// when the pre_shared_key extension is last.
func OfferHello(tickets []*resumption.ClientTicket, now time.Time, adjust func(*ClientHello)) ([]byte, error) {
	o, err := resumption.OfferTickets(tickets, now)
	if err != nil {
		return nil, err
	}
	ch := &ClientHello{ServerName: "example.com", ALPN: []string{"h2"}, Modes: []format.PSKMode{format.PSKModeDHEKE}, PSKs: o}
	if adjust != nil {
		adjust(ch)
	}
	msg, err := ch.Marshal()
	if err != nil {
		return nil, err
	}
	if ch.PSKs != nil && !ch.PSKNotLast && len(tickets) > 0 {
		if err := resumption.SetBinders(msg, tickets); err != nil {
			return nil, err
		}
	}
	return msg, nil
}
