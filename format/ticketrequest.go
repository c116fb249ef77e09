package format

import "golang.org/x/crypto/cryptobyte"

// TicketRequest is the body of the ticket_request extension in a ClientHello
// (RFC 9149, Section 3):
//
//	struct {
//	    uint8 new_session_count;
//	    uint8 resumption_count;
//	} ClientTicketRequest;
//
// NewSessionCount is the number of tickets the client wants if the server
// does a full handshake, ResumptionCount the number it wants if the server
// resumes a session.
//
// Evolution: the layout is fixed by RFC 9149. It has no version byte and this
// package does not extend it.
type TicketRequest struct {
	NewSessionCount uint8
	ResumptionCount uint8
}

// ParseTicketRequest parses the body of a ClientHello ticket_request
// extension.
func ParseTicketRequest(b []byte) (*TicketRequest, error) {
	r := new(TicketRequest)
	s := cryptobyte.String(b)
	if !s.ReadUint8(&r.NewSessionCount) || !s.ReadUint8(&r.ResumptionCount) || !s.Empty() {
		return nil, malformed("TicketRequest")
	}
	return r, nil
}

// Append appends the extension body to dst and returns the extended slice.
// It never fails.
func (r *TicketRequest) Append(dst []byte) ([]byte, error) {
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8(r.NewSessionCount)
	b.AddUint8(r.ResumptionCount)
	return b.Bytes()
}

// ServerTicketRequestHint is the body of the ticket_request extension that a
// server sends in EncryptedExtensions (RFC 9149, Section 3):
//
//	struct {
//	    uint8 expected_count;
//	} ServerTicketRequestHint;
//
// ExpectedCount is the number of tickets the server expects to send.
//
// Evolution: the layout is fixed by RFC 9149. It has no version byte and this
// package does not extend it.
type ServerTicketRequestHint struct {
	ExpectedCount uint8
}

// ParseServerTicketRequestHint parses the body of an EncryptedExtensions
// ticket_request extension.
func ParseServerTicketRequestHint(b []byte) (*ServerTicketRequestHint, error) {
	r := new(ServerTicketRequestHint)
	s := cryptobyte.String(b)
	if !s.ReadUint8(&r.ExpectedCount) || !s.Empty() {
		return nil, malformed("ServerTicketRequestHint")
	}
	return r, nil
}

// Append appends the extension body to dst and returns the extended slice.
// It never fails.
func (r *ServerTicketRequestHint) Append(dst []byte) ([]byte, error) {
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8(r.ExpectedCount)
	return b.Bytes()
}
