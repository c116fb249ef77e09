package format

import "golang.org/x/crypto/cryptobyte"

// Limits of the pre_shared_key extension (RFC 8446, Section 4.2.11).
const (
	minBinderLen = 32
	maxBinderLen = 255
)

// PSKIdentity is one identity offered in a ClientHello pre_shared_key
// extension (RFC 8446, Section 4.2.11):
//
//	struct {
//	    opaque identity<1..2^16-1>;
//	    uint32 obfuscated_ticket_age;
//	} PskIdentity;
//
// For a ticket, Identity is the ticket and ObfuscatedTicketAge is the ticket
// age in milliseconds plus ticket_age_add, modulo 2^32.
type PSKIdentity struct {
	Identity            []byte
	ObfuscatedTicketAge uint32
}

// OfferedPSKs is the body (extension_data) of the pre_shared_key extension
// in a ClientHello (RFC 8446, Section 4.2.11):
//
//	opaque PskBinderEntry<32..255>;
//
//	struct {
//	    PskIdentity identities<7..2^16-1>;
//	    PskBinderEntry binders<33..2^16-1>;
//	} OfferedPsks;
//
// There is one binder per identity, in the same order, so Identities and
// Binders have the same length, at least one.
//
// Evolution: the layout is fixed by RFC 8446. It has no version byte and
// this package does not extend it.
type OfferedPSKs struct {
	Identities []PSKIdentity
	Binders    [][]byte
}

// ParseOfferedPSKs parses the body of a ClientHello pre_shared_key
// extension. The identities and binders of the result alias b.
func ParseOfferedPSKs(b []byte) (*OfferedPSKs, error) {
	o := new(OfferedPSKs)
	if !o.unmarshal(b) {
		return nil, malformed("OfferedPSKs")
	}
	return o, nil
}

func (o *OfferedPSKs) unmarshal(b []byte) bool {
	*o = OfferedPSKs{}
	s := cryptobyte.String(b)
	var identities, binders cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&identities) || identities.Empty() ||
		!s.ReadUint16LengthPrefixed(&binders) || binders.Empty() ||
		!s.Empty() {
		return false
	}
	for !identities.Empty() {
		var id PSKIdentity
		if !readUint16LengthPrefixed(&identities, &id.Identity) || len(id.Identity) == 0 ||
			!identities.ReadUint32(&id.ObfuscatedTicketAge) {
			return false
		}
		o.Identities = append(o.Identities, id)
	}
	for !binders.Empty() {
		var binder []byte
		if !readUint8LengthPrefixed(&binders, &binder) || len(binder) < minBinderLen {
			return false
		}
		o.Binders = append(o.Binders, binder)
	}
	return len(o.Identities) == len(o.Binders)
}

// check reports why o has no encoding, or nil.
func (o *OfferedPSKs) check() error {
	const structure = "OfferedPSKs"
	if len(o.Identities) == 0 {
		return invalid(structure, "identities (empty)")
	}
	if len(o.Identities) != len(o.Binders) {
		return invalid(structure, "binders (not one per identity)")
	}
	idsLen := 0
	for _, id := range o.Identities {
		switch {
		case len(id.Identity) == 0:
			return invalid(structure, "identity (empty)")
		case len(id.Identity) > maxUint16:
			return tooLarge(structure, "identity")
		}
		idsLen += 2 + len(id.Identity) + 4
	}
	for _, b := range o.Binders {
		switch {
		case len(b) < minBinderLen:
			return invalid(structure, "binder (shorter than 32 bytes)")
		case len(b) > maxBinderLen:
			return tooLarge(structure, "binder")
		}
	}
	switch {
	case idsLen > maxUint16:
		return tooLarge(structure, "identities")
	case o.BindersLen()-2 > maxUint16:
		return tooLarge(structure, "binders")
	}
	return nil
}

// Append appends the extension body to dst and returns the extended slice.
// It fails, returning nil, if there are no identities, if the number of
// binders differs from the number of identities, if an identity is empty, if
// a binder is shorter than 32 bytes, or if a field is too long for its
// length prefix.
func (o *OfferedPSKs) Append(dst []byte) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, id := range o.Identities {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddBytes(id.Identity)
			})
			b.AddUint32(id.ObfuscatedTicketAge)
		}
	})
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, binder := range o.Binders {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddBytes(binder)
			})
		}
	})
	return b.Bytes()
}

// BindersLen returns the encoded length of the binders list, its 2-byte
// length prefix included. This is what Truncate removes from the end of a
// ClientHello before the binders are computed (RFC 8446, Section 4.2.11.2).
func (o *OfferedPSKs) BindersLen() int {
	n := 2
	for _, b := range o.Binders {
		n += 1 + len(b)
	}
	return n
}

// PSKMode is a PskKeyExchangeMode (RFC 8446, Section 4.2.9).
type PSKMode uint8

// PSK key exchange modes (RFC 8446, Section 4.2.9).
const (
	PSKModeKE    PSKMode = 0 // psk_ke: PSK-only key establishment
	PSKModeDHEKE PSKMode = 1 // psk_dhe_ke: PSK with (EC)DHE key establishment
)

// PSKKeyExchangeModes is the body of the psk_key_exchange_modes extension
// (RFC 8446, Section 4.2.9): the modes the client supports, in its order of
// preference. Values other than [PSKModeKE] and [PSKModeDHEKE] are kept.
//
//	enum { psk_ke(0), psk_dhe_ke(1), (255) } PskKeyExchangeMode;
//
//	struct {
//	    PskKeyExchangeMode ke_modes<1..255>;
//	} PskKeyExchangeModes;
//
// Evolution: the layout is fixed by RFC 8446. New modes are new values.
type PSKKeyExchangeModes []PSKMode

// ParsePSKKeyExchangeModes parses the body of a psk_key_exchange_modes
// extension.
func ParsePSKKeyExchangeModes(b []byte) (PSKKeyExchangeModes, error) {
	s := cryptobyte.String(b)
	var modes []byte
	if !readUint8LengthPrefixed(&s, &modes) || len(modes) == 0 || !s.Empty() {
		return nil, malformed("PSKKeyExchangeModes")
	}
	m := make(PSKKeyExchangeModes, len(modes))
	for i, v := range modes {
		m[i] = PSKMode(v)
	}
	return m, nil
}

// Append appends the extension body to dst and returns the extended slice.
// It fails, returning nil, if m is empty or longer than 255 modes.
func (m PSKKeyExchangeModes) Append(dst []byte) ([]byte, error) {
	const structure = "PSKKeyExchangeModes"
	switch {
	case len(m) == 0:
		return nil, invalid(structure, "ke_modes (empty)")
	case len(m) > maxUint8:
		return nil, tooLarge(structure, "ke_modes")
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, v := range m {
			b.AddUint8(uint8(v))
		}
	})
	return b.Bytes()
}
