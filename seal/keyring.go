package seal

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// A Keyring holds the current [Ring] of a running server and replaces it
// atomically. Seal, Open and OpenKey load the current Ring once per call and
// take no locks, so a rotation never blocks or tears a ticket operation.
//
// Make a Keyring with [NewKeyring]; the zero Keyring panics until a Ring is
// stored. A Keyring must not be copied after first use.
type Keyring struct {
	ring atomic.Pointer[Ring]
}

var (
	_ fmt.Formatter  = (*Keyring)(nil)
	_ fmt.GoStringer = (*Keyring)(nil)
)

// NewKeyring returns a Keyring holding r. It panics if r is nil.
func NewKeyring(r *Ring) *Keyring {
	k := new(Keyring)
	k.Store(r)
	return k
}

// Load returns the current Ring.
func (k *Keyring) Load() *Ring {
	return k.ring.Load()
}

// Store replaces the current Ring with r, typically the result of
// [Ring.Rotate] on [Keyring.Load]. Calls already in progress finish with the
// Ring they loaded. It panics if r is nil.
func (k *Keyring) Store(r *Ring) {
	if r == nil {
		panic("seal: internal error: nil ring")
	}
	k.ring.Store(r)
}

// Seal is [Ring.Seal] on the current Ring.
func (k *Keyring) Seal(dst, plaintext, additionalData []byte) ([]byte, error) {
	return k.ring.Load().Seal(dst, plaintext, additionalData)
}

// Open is [Ring.Open] on the current Ring.
func (k *Keyring) Open(dst, ticket, additionalData []byte) ([]byte, error) {
	return k.ring.Load().Open(dst, ticket, additionalData)
}

// OpenKey is [Ring.OpenKey] on the current Ring.
func (k *Keyring) OpenKey(dst, ticket, additionalData []byte) ([]byte, Opened, error) {
	return k.ring.Load().OpenKey(dst, ticket, additionalData)
}

// SealedSize returns the length of the ticket that Seal makes now of a
// plaintext of n bytes.
func (k *Keyring) SealedSize(n int) int { return k.Load().SealedSize(n) }

// CiphertextOffset returns [Ring.CiphertextOffset] of the current Ring.
func (k *Keyring) CiphertextOffset() int { return k.Load().CiphertextOffset() }

// SealDeadline returns when the key that seals now retires and stops opening
// tickets, if the current Ring was made from a [Schedule] (as a [Rotator]'s
// are), or the zero Time. A ticket sealed now cannot be opened after it, so
// engine.Engine.Issue caps the ticket's lifetime there.
func (k *Keyring) SealDeadline() time.Time {
	return k.Load().deadline
}

// String returns "seal.Keyring{" followed by [Ring.String] of the current
// Ring. It never contains key bytes.
func (k *Keyring) String() string {
	r := k.ring.Load()
	if r == nil {
		return "seal.Keyring{<nil>}"
	}
	return "seal.Keyring{" + r.String() + "}"
}

// GoString returns the same description as [Keyring.String].
func (k *Keyring) GoString() string {
	return k.String()
}

// Format implements [fmt.Formatter] so that every verb prints
// [Keyring.String] and never key bytes.
func (k *Keyring) Format(f fmt.State, verb rune) {
	io.WriteString(f, k.String())
}
