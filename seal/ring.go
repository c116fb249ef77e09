package seal

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// A Ring is an immutable set of ticket keys. The primary key seals every new
// ticket; the primary and every decrypt-only key open tickets. Decrypt-only
// keys are kept newest first, and [Ring.Rotate] drops the oldest.
//
// A Ring is safe for concurrent use, provided its random source is. Use a
// [Keyring] to replace the Ring that a running server uses.
//
// Rings print their keys' AEADs and name prefixes under every fmt verb, never
// key bytes.
type Ring struct {
	rand  io.Reader // nil: the keys' own generators (nonce.go)
	keys  []*Key    // keys[0] is the primary
	index nameIndex

	// deadline is when the primary key retires, if the Ring was made from
	// a Schedule; the zero Time otherwise.
	deadline time.Time
}

var _ fmt.Formatter = Ring{}

// Errors returned for a set of keys that cannot make a [Ring].
var (
	// ErrDuplicateKey means two keys of a ring share a key name: the same
	// secret was given twice, or two secrets' names collide.
	ErrDuplicateKey = errors.New("seal: duplicate key name")

	// ErrNoPrimaryKey means a ring was asked for without a primary key.
	ErrNoPrimaryKey = errors.New("seal: no primary key")
)

// NewRing returns a Ring whose primary key is primary and whose decrypt-only
// keys are decryptOnly, newest first.
//
// If rand is nil or crypto/rand's Reader, the Ring takes its nonces from
// generators of the primary key seeded and reseeded from crypto/rand (see
// "Nonces and rotation" in the package documentation), which is several
// times faster than reading crypto/rand for each ticket. Otherwise every
// nonce is read from rand, which must then be safe for concurrent use if
// the Ring is: give a deterministic reader in tests, or a wrapper of
// crypto/rand.Read to draw every nonce from the operating system.
//
// NewRing returns [ErrNoPrimaryKey] if primary is nil and [ErrDuplicateKey]
// if two keys share a [KeyName] (the same secret given twice, even under two
// AEADs). It copies decryptOnly, so the caller may reuse the slice.
func NewRing(rand io.Reader, primary *Key, decryptOnly ...*Key) (*Ring, error) {
	if rand == cryptorand.Reader {
		rand = nil
	}
	if primary == nil {
		return nil, ErrNoPrimaryKey
	}
	if 1+len(decryptOnly) > MaxRingKeys {
		return nil, fmt.Errorf("seal: a ring holds at most %d keys", MaxRingKeys)
	}
	r := &Ring{
		rand: rand,
		keys: make([]*Key, 0, 1+len(decryptOnly)),
	}
	for i, k := range append([]*Key{primary}, decryptOnly...) {
		if k == nil {
			return nil, fmt.Errorf("seal: decrypt-only key %d is nil", i-1)
		}
		if k.c == nil {
			return nil, fmt.Errorf("seal: key %d was not made by NewKey or GenerateKey", i)
		}
		if _, ok := r.index.lookup(r.keys, k.name); ok {
			return nil, fmt.Errorf("%w: %v", ErrDuplicateKey, k.name)
		}
		r.index.add(k.name, len(r.keys))
		r.keys = append(r.keys, k)
	}
	return r, nil
}

// Primary returns the key that seals new tickets, or nil for the zero Ring.
func (r *Ring) Primary() *Key {
	if len(r.keys) == 0 {
		return nil
	}
	return r.keys[0]
}

// Keys returns a copy of the ring's keys: the primary first, then the
// decrypt-only keys, newest first.
func (r *Ring) Keys() []*Key {
	return append([]*Key(nil), r.keys...)
}

// Lookup returns the ring's key named name, if any.
func (r *Ring) Lookup(name KeyName) (*Key, bool) {
	i, ok := r.index.lookup(r.keys, name)
	if !ok {
		return nil, false
	}
	return r.keys[i], true
}

// Rotate returns a new Ring, with the same random source, in which newPrimary
// seals and the keep newest keys of r (its primary first, then its
// decrypt-only keys in order) become decrypt-only. keep counts the previous
// keys retained: 0 keeps none, 1 keeps only the old primary. r is unchanged.
//
// If newPrimary is already in r with the same AEAD (a staged decrypt-only
// key being promoted), it moves to the front instead of being duplicated,
// and does not count towards keep. Rotate returns [ErrNoPrimaryKey] if
// newPrimary is nil and [ErrDuplicateKey] if it shares a name with a kept key
// of another AEAD. It panics if keep is negative.
func (r *Ring) Rotate(newPrimary *Key, keep int) (*Ring, error) {
	if keep < 0 {
		panic("seal: internal error: Rotate called with negative keep")
	}
	if newPrimary == nil {
		return nil, ErrNoPrimaryKey
	}
	old := make([]*Key, 0, min(keep, len(r.keys)))
	for _, k := range r.keys {
		if len(old) == keep {
			break
		}
		if k.name == newPrimary.name && k.aead == newPrimary.aead {
			continue
		}
		old = append(old, k)
	}
	return NewRing(r.rand, newPrimary, old...)
}

// MaxRingKeys is the largest number of keys in a [Ring].
const MaxRingKeys = 1 << 16

// nameIndex finds a ring's key by name in constant time: buckets by the
// name's first byte, which is uniformly random (an HKDF output), so a
// bucket holds one key in all but rare cases whatever the ring's size. (A
// Go map is slower, and slower for more than eight keys than for fewer:
// Open must cost the same with 1 key as with 48.)
type nameIndex [256][]uint16

func (x *nameIndex) add(name KeyName, i int) {
	x[name[0]] = append(x[name[0]], uint16(i))
}

func (x *nameIndex) lookup(keys []*Key, name KeyName) (int, bool) {
	for _, i := range x[name[0]] {
		if keys[i].name == name {
			return int(i), true
		}
	}
	return 0, false
}

// adPool holds scratch buffers for the additional data (header followed by
// the caller's additional data) so that sealing and opening with non-empty
// additional data do not allocate in steady state. It is a cache, not state:
// nothing observable depends on its contents.
var adPool = sync.Pool{
	New: func() any {
		b := make([]byte, 0, 256)
		return &b
	},
}

// maxPooledAD is the largest buffer returned to adPool.
const maxPooledAD = 4 << 10

// joinAD returns header ‖ extra in a pooled buffer. The caller must call
// putAD when done.
func joinAD(header, extra []byte) *[]byte {
	buf := adPool.Get().(*[]byte)
	*buf = append(append((*buf)[:0], header...), extra...)
	return buf
}

// putAD clears buf and returns it to adPool.
func putAD(buf *[]byte) {
	clear(*buf)
	if cap(*buf) <= maxPooledAD {
		adPool.Put(buf)
	}
}

// Seal seals plaintext with the primary key and a fresh random nonce, and
// appends the ticket to dst, returning the updated slice.
// additionalData is authenticated but not included in the ticket; the same
// bytes must be given to Open.
//
// plaintext may lie in dst's spare capacity, where the ticket goes: Seal
// then seals it in place, after moving it to where its ciphertext goes,
// dst[len(dst)+[Ring.CiphertextOffset]:], unless it is there already. So a
// caller can encode the plaintext straight into its ticket's buffer. Seal
// does not allocate when dst has room for the ticket,
// which is 18 + NonceSize + len(plaintext) + 16 bytes, except on the first
// ticket its key seals, which makes the key's nonce generators.
//
// Seal returns an error if the ticket would be longer than 65535 bytes or if
// the random source fails. See the package documentation for the bound on
// the number of tickets one key may seal; Seal counts them ([Key.Seals]).
func (r *Ring) Seal(dst, plaintext, additionalData []byte) ([]byte, error) {
	if r == nil || len(r.keys) == 0 {
		panic("seal: internal error: Seal called on a Ring not made by NewRing")
	}
	k := r.keys[0]
	n := k.aead.NonceSize()
	if len(plaintext) > maxTicketSize || HeaderSize+n+len(plaintext)+tagSize > maxTicketSize {
		return nil, fmt.Errorf("seal: plaintext of %d bytes does not fit a %d-byte ticket", len(plaintext), maxTicketSize)
	}
	ret, out := sliceForAppend(dst, HeaderSize+n+len(plaintext)+tagSize)
	var ad []byte
	var buf *[]byte
	if len(additionalData) == 0 {
		ad = out[:HeaderSize]
	} else {
		// Copy before writing out, which additionalData may overlap.
		var header [HeaderSize]byte
		k.putHeader(header[:])
		buf = joinAD(header[:], additionalData)
		ad = *buf
	}
	if ct := out[HeaderSize+n:]; anyOverlap(out, plaintext) && &ct[0] != &plaintext[0] {
		// In dst's spare capacity but not in place: move it there (copy
		// handles the overlap) before the header and nonce are written.
		plaintext = ct[:copy(ct, plaintext)]
	}
	k.putHeader(out)
	nonce := out[HeaderSize : HeaderSize+n]
	if err := k.c.nonce(nonce, r.rand); err != nil {
		clear(out[:HeaderSize+n])
		if buf != nil {
			putAD(buf)
		}
		return nil, fmt.Errorf("seal: failed to read nonce: %w", err)
	}
	k.c.Seal(out[HeaderSize+n:HeaderSize+n], nonce, plaintext, ad)
	if buf != nil {
		putAD(buf)
	}
	return ret, nil
}

// SealedSize returns the length of the ticket that [Ring.Seal] makes of a
// plaintext of n bytes: header, nonce, ciphertext and tag.
func (r *Ring) SealedSize(n int) int {
	return r.CiphertextOffset() + n + tagSize
}

// CiphertextOffset returns where the ciphertext starts in a ticket that
// [Ring.Seal] makes: after the header and the primary key's nonce. A
// plaintext written there, in the spare capacity of Seal's dst, is sealed
// in place.
func (r *Ring) CiphertextOffset() int {
	return HeaderSize + r.keys[0].aead.NonceSize()
}

// Open authenticates and decrypts ticket with the ring key it names, and
// appends the plaintext to dst, returning the updated slice. It is
// [Ring.OpenKey] without the [Opened] report.
func (r *Ring) Open(dst, ticket, additionalData []byte) ([]byte, error) {
	out, _, err := r.OpenKey(dst, ticket, additionalData)
	return out, err
}

// Opened reports which key a ticket named, for a TLS server's decrypt
// callback and for metrics.
type Opened struct {
	// Name is the ticket's key name. It is set whenever the ticket parsed
	// (see [ParseHeader]), even if opening then failed.
	Name KeyName
	// Primary reports whether Name is the ring's primary key. A server may
	// reissue a ticket that a decrypt-only key opened.
	Primary bool
	// Known reports whether a key of the ring has that name.
	Known bool
}

// OpenKey authenticates and decrypts ticket with the ring key it names, and
// appends the plaintext to dst, returning the updated slice and which key the
// ticket named. The key is found by name, so the cost does not depend on the
// number of keys in the ring.
//
// It returns [ErrMalformed] if the ticket cannot be parsed, [ErrUnknownKey]
// if no key of the ring has its name, and [ErrAuth] if authentication fails
// (including a ticket that names a key of another AEAD). The underlying
// AEAD checks the tag in constant time. On error the
// plaintext is nil, and any bytes of dst's spare capacity that OpenKey wrote
// are cleared.
//
// To open in place, use ticket[:0] as dst (the ticket is overwritten, also
// on failure). Otherwise the plaintext written to dst must not overlap
// ticket; OpenKey panics if it would. It does not allocate when dst has room
// for the plaintext, which is len(ticket) - 18 - NonceSize - 16 bytes.
func (r *Ring) OpenKey(dst, ticket, additionalData []byte) ([]byte, Opened, error) {
	if r == nil {
		panic("seal: internal error: Open called on a nil Ring")
	}
	var o Opened
	var h Header
	ciphertext, ok := h.unmarshal(ticket)
	if !ok {
		return nil, o, ErrMalformed
	}
	o.Name = h.KeyName
	i, ok := r.index.lookup(r.keys, o.Name)
	if !ok {
		return nil, o, ErrUnknownKey
	}
	o.Known, o.Primary = true, i == 0
	k := r.keys[i]
	if k.aead != h.AEAD {
		return nil, o, ErrAuth
	}
	ret, out := sliceForAppend(dst, len(ciphertext)-tagSize)
	inPlace := false
	if anyOverlap(out, ticket) {
		if &out[0] != &ticket[0] {
			panic("seal: internal error: Open output overlaps ticket")
		}
		inPlace = true
	}
	ad := ticket[:HeaderSize]
	var buf *[]byte
	if len(additionalData) != 0 {
		buf = joinAD(ticket[:HeaderSize], additionalData)
		ad = *buf
	}
	var err error
	if inPlace {
		// Decrypt over the ciphertext (an exact overlap, which cipher.AEAD
		// allows), then move the plaintext to the start of the ticket.
		if _, err = k.c.Open(ciphertext[:0], h.Nonce, ciphertext, ad); err == nil {
			copy(out, ciphertext)
		}
	} else {
		_, err = k.c.Open(out[:0], h.Nonce, ciphertext, ad)
	}
	if buf != nil {
		putAD(buf)
	}
	if err != nil {
		clear(out)
		return nil, o, ErrAuth
	}
	k.c.countOpen()
	return ret, o, nil
}

// String returns a description of the ring's keys, such as
// "seal.Ring{primary AES-256-GCM 0123abcd…, decrypt-only [AES-128-GCM 89abcdef…]}".
// It never contains key bytes.
func (r Ring) String() string {
	if len(r.keys) == 0 {
		return "seal.Ring{no keys}"
	}
	return "seal.Ring{primary " + r.keys[0].desc() + ", decrypt-only [" + joinDescs(r.keys[1:], (*Key).desc) + "]}"
}

// joinDescs returns the descriptions of items, in order, separated by ", ".
func joinDescs[T any](items []T, desc func(T) string) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(desc(it))
	}
	return b.String()
}

// GoString returns the same description as [Ring.String].
func (r Ring) GoString() string {
	return r.String()
}

// Format implements [fmt.Formatter] so that every verb prints [Ring.String]
// and never key bytes.
func (r Ring) Format(f fmt.State, verb rune) {
	io.WriteString(f, r.String())
}

// sliceForAppend takes a slice and a requested number of bytes. It returns a
// slice with the contents of the given slice followed by that many bytes and
// a second slice that aliases into it and contains only the extra bytes. If
// the original slice has sufficient capacity then no allocation is
// performed.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}
