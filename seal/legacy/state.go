package legacy

import (
	"bytes"
	"time"

	"github.com/tlsticket/tlsticket/format"
)

// OpenTicket opens an OpenSSL ticket and returns its session as a
// [format.State], with the ticket's key name, so that the tlsticket engine
// can resume it (it implements engine.TicketOpener for
// engine.Config.LegacyTickets). The State carries OpenSSL's master secret,
// times, SNI, ALPN and extended master secret flag, and no binding: the
// engine gives it its own. Its byte fields do not alias ticket.
func (o *Opener) OpenTicket(ticket []byte) (*format.State, []byte, error) {
	ls, err := o.Open(ticket)
	if err != nil {
		return nil, nil, err
	}
	lifetime := min(ls.Timeout/time.Second, 1<<32-1)
	return &format.State{
		Version:              ls.Version,
		CipherSuite:          ls.CipherSuite,
		Secret:               ls.MasterSecret,
		CreatedAt:            ls.Created,
		Lifetime:             uint32(lifetime),
		ExtendedMasterSecret: ls.ExtendedMasterSecret && ls.Version == format.VersionTLS12,
		ServerName:           ls.ServerName,
		ALPN:                 ls.ALPN,
	}, bytes.Clone(ticket[:KeyNameSize]), nil
}
