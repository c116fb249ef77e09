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

// OfferHello builds a ClientHello for ServerName (ALPN, psk_dhe_ke) that
// offers tickets at time now, adjusted by adjust, and fills in the binders
// when the pre_shared_key extension is last.
func OfferHello(tickets []*resumption.ClientTicket, now time.Time, adjust func(*ClientHello)) ([]byte, error) {
	o, err := resumption.OfferTickets(tickets, now)
	if err != nil {
		return nil, err
	}
	psks := make([]*resumption.PSK, len(tickets))
	for i, t := range tickets {
		psks[i] = t.PSK()
	}
	return PSKHello(o.Identities, psks, adjust)
}

// PSKHello builds a ClientHello for ServerName (ALPN, psk_dhe_ke) that
// offers the identities ids, whatever they are, as an attacker may: the
// binder of ids[i] is made with psks[i] or, for a nil PSK, left as 32 zero
// bytes. adjust, if not nil, changes the ClientHello before it is
// marshalled; the binders are written only when pre_shared_key is last.
func PSKHello(ids []format.PSKIdentity, psks []*resumption.PSK, adjust func(*ClientHello)) ([]byte, error) {
	o := &format.OfferedPSKs{Identities: ids}
	for _, p := range psks {
		n := 32
		if p != nil {
			n = p.Hash().Size()
		}
		o.Binders = append(o.Binders, make([]byte, n))
	}
	ch := &ClientHello{ServerName: ServerName, ALPN: []string{ALPN}, Modes: []format.PSKMode{format.PSKModeDHEKE}, PSKs: o}
	if adjust != nil {
		adjust(ch)
	}
	msg, err := ch.Marshal()
	if err != nil {
		return nil, err
	}
	if ch.PSKs != nil && ch.RawPSK == nil && !ch.PSKNotLast && len(psks) > 0 {
		if err := resumption.SetPSKBinders(msg, psks); err != nil {
			return nil, err
		}
	}
	return msg, nil
}
