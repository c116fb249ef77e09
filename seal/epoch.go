package seal

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// MinEpochRootSize is the minimum length in bytes of the root secret of
// [EpochKey] and [EpochSchedule].
const MinEpochRootSize = 32

// infoEpochKey is the HKDF info prefix of [EpochKey]. It is followed by the
// AEAD identifier byte and the epoch as a big-endian uint64. Changing it
// changes every epoch key, so it is part of the version 1 derivation.
const infoEpochKey = "tlsticket v1 epoch key"

// maxEpochKeys bounds the keys of one [EpochSchedule], so that a period far
// shorter than the announce or decrypt-only durations is refused rather
// than derived.
const maxEpochKeys = 1024

// EpochKey returns the key of epoch for a, derived from the shared root
// secret: the secret of [NewKey] is
//
//	HKDF-SHA256(IKM = root, salt = none,
//	            info = "tlsticket v1 epoch key" ‖ uint8(a) ‖ uint64(epoch), L = a.KeySize())
//
// (RFC 5869, big-endian epoch). Every server that holds root derives the
// same key for the same epoch, so a fleet can rotate in lock-step with
// nothing to distribute but root; see [EpochSchedule].
//
// root must be at least [MinEpochRootSize] bytes ([ErrKeySize]) and must not
// have all bytes equal ([ErrWeakKey]). EpochKey does not retain root.
//
// Warning: whoever holds root holds every past and future epoch key, so a
// leak of root undoes the forward secrecy of every ticket sealed under it.
// Rotate root itself, as any long-term secret.
func EpochKey(root []byte, a AEAD, epoch uint64) (*Key, error) {
	if !a.valid() {
		return nil, fmt.Errorf("seal: unknown AEAD %v", a)
	}
	if len(root) < MinEpochRootSize {
		return nil, fmt.Errorf("%w: an epoch root needs at least %d bytes, got %d", ErrKeySize, MinEpochRootSize, len(root))
	}
	if WeakSecret(root) {
		return nil, ErrWeakKey
	}
	info := make([]byte, 0, len(infoEpochKey)+9)
	info = append(info, infoEpochKey...)
	info = append(info, byte(a))
	info = binary.BigEndian.AppendUint64(info, epoch)
	secret, err := hkdf.Key(sha256.New, root, nil, string(info), a.KeySize())
	if err != nil {
		return nil, fmt.Errorf("seal: failed to derive epoch key: %w", err)
	}
	defer clear(secret)
	return NewKey(a, secret)
}

// Epoch returns the epoch of t for period: floor(t.Unix() / period in
// seconds). period must be a positive whole number of seconds and t must
// not be before 1970.
func Epoch(t time.Time, period time.Duration) (uint64, error) {
	if period < time.Second || period%time.Second != 0 {
		return 0, fmt.Errorf("seal: epoch period %v is not a positive whole number of seconds", period)
	}
	if t.Unix() < 0 {
		return 0, errors.New("seal: epoch time before 1970")
	}
	return uint64(t.Unix()) / uint64(period/time.Second), nil
}

// EpochPhases returns the phases of the key of epoch: it is active for the
// epoch, [epoch·period, (epoch+1)·period) in Unix time, announced for
// announce before, and decrypt-only for decryptOnly after.
func EpochPhases(epoch uint64, period, announce, decryptOnly time.Duration) Phases {
	p := int64(period / time.Second)
	start := time.Unix(int64(epoch)*p, 0)
	end := time.Unix(int64(epoch+1)*p, 0)
	return Phases{
		Announce:    start.Add(-announce),
		Activate:    start,
		DecryptOnly: end,
		Retire:      end.Add(decryptOnly),
	}
}

// EpochSchedule returns the [Schedule] around time t of the epoch keys of
// root for a (see [EpochKey]): epoch N = floor(unix time / period) is
// active for [N·period, (N+1)·period), announced for announce before that and
// decrypt-only for decryptOnly after. The schedule holds every epoch key
// that is not retired at t, up to the first one not yet announced, so
// that [Schedule.NextChange] reports when to build the next one.
//
// Servers that share root and whose clocks differ by less than announce
// open each other's tickets: a server that is ahead seals with a key that
// the others have already announced. period must be a positive whole
// number of seconds, announce and decryptOnly must not be negative, and t
// must not be before 1970.
func EpochSchedule(root []byte, a AEAD, period, announce, decryptOnly time.Duration, t time.Time) (*Schedule, error) {
	return epochSchedule(root, a, period, announce, decryptOnly, t, nil)
}

// epochSchedule is EpochSchedule, reusing the keys of cache (by epoch),
// adding the keys it derives to it and dropping the retired ones, if cache
// is not nil. Reusing the Key values keeps their seal counts.
func epochSchedule(root []byte, a AEAD, period, announce, decryptOnly time.Duration, t time.Time, cache map[uint64]*Key) (*Schedule, error) {
	e, err := Epoch(t, period)
	if err != nil {
		return nil, err
	}
	if announce < 0 || decryptOnly < 0 {
		return nil, errors.New("seal: negative epoch announce or decrypt-only duration")
	}
	if (announce+decryptOnly)/period > maxEpochKeys {
		return nil, fmt.Errorf("seal: epoch period %v is too short for announce %v and decrypt-only %v", period, announce, decryptOnly)
	}
	lo, hi := e, e
	for lo > 0 && EpochPhases(lo-1, period, announce, decryptOnly).Retire.After(t) {
		lo--
	}
	for !EpochPhases(hi, period, announce, decryptOnly).Announce.After(t) {
		hi++
	}
	for n := range cache {
		if n < lo {
			delete(cache, n)
		}
	}
	keys := make([]ScheduledKey, 0, hi-lo+1)
	for n := lo; n <= hi; n++ {
		k := cache[n]
		if k == nil || k.aead != a {
			if k, err = EpochKey(root, a, n); err != nil {
				return nil, err
			}
			if cache != nil {
				cache[n] = k
			}
		}
		keys = append(keys, ScheduledKey{Key: k, Phases: EpochPhases(n, period, announce, decryptOnly)})
	}
	return NewSchedule(keys...)
}
