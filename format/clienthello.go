package format

import "golang.org/x/crypto/cryptobyte"

// ClientHelloExtensions is the extension list of a ClientHello handshake
// message, as [ParseClientHelloExtensions] returns it.
type ClientHelloExtensions struct {
	// Extensions holds the extensions in wire order. Their Data aliases the
	// parsed message.
	Extensions []Extension

	// BindersOffset is the offset in the message of the binders list of the
	// pre_shared_key extension (its 2-byte length prefix), or 0 if there is
	// no pre_shared_key extension. msg[:BindersOffset] is
	// Truncate(ClientHello) of RFC 8446, Section 4.2.11.2: the bytes that the
	// binders cover.
	BindersOffset int
}

// Lookup returns the data of the extension of type typ, and whether the
// ClientHello has one.
func (c *ClientHelloExtensions) Lookup(typ ExtensionType) (data []byte, ok bool) {
	for _, e := range c.Extensions {
		if e.Type == typ {
			return e.Data, true
		}
	}
	return nil, false
}

// ParseClientHelloExtensions parses a ClientHello handshake message, header
// included, and returns its extensions (RFC 8446, Section 4.1.2):
//
//	struct {
//	    HandshakeType msg_type = client_hello(1);
//	    uint24 length;
//	    struct {
//	        ProtocolVersion legacy_version;
//	        Random random;                                    // 32 bytes
//	        opaque legacy_session_id<0..32>;
//	        CipherSuite cipher_suites<2..2^16-2>;
//	        opaque legacy_compression_methods<1..2^8-1>;
//	        Extension extensions<0..2^16-1>;                  // may be absent
//	    } body;
//	} ClientHello;
//
// The legacy fields are checked for their lengths only. An absent extension
// list (a TLS 1.2 ClientHello may have none) gives no extensions.
//
// The extension types must be distinct. The bodies of the extensions used for
// resumption must parse: pre_shared_key as [OfferedPSKs],
// psk_key_exchange_modes as [PSKKeyExchangeModes], ticket_request as
// [TicketRequest], and early_data must be empty. Other extensions are kept
// unparsed.
//
// If the message parses but pre_shared_key is not the last extension,
// ParseClientHelloExtensions returns [ErrPSKNotLast], and the server must
// abort the handshake with an illegal_parameter alert (RFC 8446,
// Section 4.2.11). Every other failure wraps [ErrMalformed].
func ParseClientHelloExtensions(msg []byte) (*ClientHelloExtensions, error) {
	c := new(ClientHelloExtensions)
	if err := c.unmarshal(msg); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *ClientHelloExtensions) unmarshal(msg []byte) error {
	*c = ClientHelloExtensions{}
	s := cryptobyte.String(msg)
	var typ uint8
	var version uint16
	var body, exts cryptobyte.String
	var random, sessionID, suites, compression []byte
	if !s.ReadUint8(&typ) || HandshakeType(typ) != HandshakeClientHello ||
		!s.ReadUint24LengthPrefixed(&body) ||
		!body.ReadUint16(&version) ||
		!body.ReadBytes(&random, 32) ||
		!readUint8LengthPrefixed(&body, &sessionID) || len(sessionID) > 32 ||
		!readUint16LengthPrefixed(&body, &suites) || len(suites) < 2 || len(suites)%2 != 0 ||
		!readUint8LengthPrefixed(&body, &compression) || len(compression) == 0 ||
		(!body.Empty() && !body.ReadUint16LengthPrefixed(&exts)) ||
		!body.Empty() || !s.Empty() {
		return malformed("ClientHello")
	}
	if !readExtensions(exts, &c.Extensions) {
		return malformed("ClientHello")
	}
	pskAt := -1
	var psk OfferedPSKs
	for i, e := range c.Extensions {
		if e.Type == ExtensionPreSharedKey {
			pskAt = i
			if !psk.unmarshal(e.Data) {
				return malformed("ClientHello")
			}
		} else if !checkClientHelloExtension(e) {
			return malformed("ClientHello")
		}
	}
	if pskAt < 0 {
		return nil
	}
	if pskAt != len(c.Extensions)-1 {
		*c = ClientHelloExtensions{}
		return ErrPSKNotLast
	}
	// pre_shared_key is the last extension and the extension list ends the
	// message, so the binders list ends the message too.
	c.BindersOffset = len(msg) - psk.BindersLen()
	return nil
}

// checkClientHelloExtension reports whether the body of e parses, for the
// extensions used by resumption other than pre_shared_key.
func checkClientHelloExtension(e Extension) bool {
	var err error
	switch e.Type {
	case ExtensionPSKKeyExchangeModes:
		_, err = ParsePSKKeyExchangeModes(e.Data)
	case ExtensionTicketRequest:
		_, err = ParseTicketRequest(e.Data)
	case ExtensionEarlyData:
		return len(e.Data) == 0
	}
	return err == nil
}
