package seal

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// TestEpochKey pins the epoch key derivation. The names were computed
// independently with Python's hmac module (HKDF-SHA256 of the root, then
// of the epoch secret as in NewKey).
func TestEpochKey(t *testing.T) {
	root := countingSecret(AES256GCM)
	tests := []struct {
		a     AEAD
		epoch uint64
		name  string
	}{
		{AES256GCM, 0, "8a1a11131e29a875c961414f77e32f28"},
		{AES256GCM, 1000, "718e330bf31f823ebb055e8c6824287d"},
		{AES128GCM, 1000, "91254e819b90eef260823471235cfee7"},
		{XAES256GCM, math.MaxUint64, "187ff75189575bd60bd717ebabb0d3ec"},
	}
	for _, tt := range tests {
		k, err := EpochKey(root, tt.a, tt.epoch)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Name().String(); got != tt.name || k.AEAD() != tt.a {
			t.Errorf("EpochKey(%v, %d) = %v %s, want %s", tt.a, tt.epoch, k.AEAD(), got, tt.name)
		}
	}
	// The same root on two "servers" gives keys that open each other's
	// tickets.
	a, err := EpochKey(bytes.Clone(root), XAES256GCM, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EpochKey(bytes.Clone(root), XAES256GCM, 42)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := NewRing(nil, a)
	rb, _ := NewRing(nil, b)
	if got, err := rb.Open(nil, mustSeal(t, ra, []byte("epoch"), nil), nil); err != nil || string(got) != "epoch" {
		t.Errorf("the other server's epoch key: %q, %v", got, err)
	}

	longRoot := append(bytes.Clone(root), root...)
	if _, err := EpochKey(longRoot, AES256GCM, 0); err != nil {
		t.Errorf("EpochKey(64-byte root): %v", err)
	}
	for _, tt := range []struct {
		name string
		root []byte
		a    AEAD
		want error
	}{
		{"short", root[:31], AES256GCM, ErrKeySize},
		{"empty", nil, AES256GCM, ErrKeySize},
		{"zero", make([]byte, 32), AES256GCM, ErrWeakKey},
		{"all-ff", bytes.Repeat([]byte{0xff}, 48), AES256GCM, ErrWeakKey},
		{"bad-aead", root, AEAD(0), nil},
	} {
		k, err := EpochKey(tt.root, tt.a, 1)
		if k != nil || err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: EpochKey = %v, %v, want %v", tt.name, k, err, tt.want)
		}
	}
}

func TestEpoch(t *testing.T) {
	tests := []struct {
		t      time.Time
		period time.Duration
		want   uint64
		ok     bool
	}{
		{time.Unix(0, 0), time.Hour, 0, true},
		{time.Unix(3599, 999999999), time.Hour, 0, true},
		{time.Unix(3600, 0), time.Hour, 1, true},
		{time.Unix(1_900_000_000, 0), 6 * time.Hour, 1_900_000_000 / 21600, true},
		{time.Unix(-1, 0), time.Hour, 0, false},
		{time.Unix(10, 0), 0, 0, false},
		{time.Unix(10, 0), 1500 * time.Millisecond, 0, false},
		{time.Unix(10, 0), -time.Hour, 0, false},
	}
	for _, tt := range tests {
		got, err := Epoch(tt.t, tt.period)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Epoch(%v, %v) = %d, %v, want %d (ok %v)", tt.t.Unix(), tt.period, got, err, tt.want, tt.ok)
		}
	}
}

func TestEpochSchedule(t *testing.T) {
	root := countingSecret(AES256GCM)
	period, announce, decryptOnly := time.Hour, 10*time.Minute, 2*time.Hour
	base := time.Unix(1000*3600, 0) // the start of epoch 1000
	tests := []struct {
		name   string
		t      time.Time
		epochs []uint64 // the schedule's keys
		ring   []uint64 // RingAt(t), primary first
		next   time.Time
	}{
		{"epoch-start", base, []uint64{998, 999, 1000, 1001}, []uint64{1000, 999, 998}, base.Add(50 * time.Minute)},
		{"announce", base.Add(50 * time.Minute), []uint64{998, 999, 1000, 1001, 1002}, []uint64{1000, 1001, 999, 998}, base.Add(time.Hour)},
		{"before-retire", base.Add(-time.Nanosecond), []uint64{997, 998, 999, 1000, 1001}, []uint64{999, 1000, 998, 997}, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := EpochSchedule(root, AES256GCM, period, announce, decryptOnly, tt.t)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, sk := range s.Keys() {
				e := epochOf(t, root, sk.Key, 990, 1010)
				got = append(got, e)
				if want := EpochPhases(e, period, announce, decryptOnly); sk.Phases != want {
					t.Errorf("epoch %d phases = %+v, want %+v", e, sk.Phases, want)
				}
			}
			if !slices.Equal(got, tt.epochs) {
				t.Errorf("schedule epochs = %v, want %v", got, tt.epochs)
			}
			r, err := s.RingAt(tt.t, nil)
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, k := range r.Keys() {
				got = append(got, epochOf(t, root, k, 990, 1010))
			}
			if !slices.Equal(got, tt.ring) {
				t.Errorf("ring epochs = %v, want %v", got, tt.ring)
			}
			if next := s.NextChange(tt.t); !next.Equal(tt.next) {
				t.Errorf("NextChange = %s, want %s", stamp(next), stamp(tt.next))
			}
		})
	}
	for _, bad := range []struct {
		period, announce, decryptOnly time.Duration
		t                             time.Time
	}{
		{0, 0, 0, base},
		{time.Hour, -1, 0, base},
		{time.Hour, 0, -1, base},
		{time.Second, 0, 2000 * time.Second, base},
		{time.Hour, 0, 0, time.Unix(-10, 0)},
	} {
		if s, err := EpochSchedule(root, AES256GCM, bad.period, bad.announce, bad.decryptOnly, bad.t); err == nil {
			t.Errorf("EpochSchedule(%v, %v, %v) = %v, want error", bad.period, bad.announce, bad.decryptOnly, s)
		}
	}
	if _, err := EpochSchedule(root[:16], AES256GCM, time.Hour, 0, 0, base); !errors.Is(err, ErrKeySize) {
		t.Errorf("EpochSchedule(short root) = %v, want ErrKeySize", err)
	}
}

// epochOf returns the epoch in [lo, hi] whose key under root has k's name.
func epochOf(t *testing.T, root []byte, k *Key, lo, hi uint64) uint64 {
	t.Helper()
	for e := lo; e <= hi; e++ {
		ek, err := EpochKey(root, k.AEAD(), e)
		if err != nil {
			t.Fatal(err)
		}
		if ek.Name() == k.Name() {
			return e
		}
	}
	t.Fatalf("key %v is no epoch key in [%d, %d]", k, lo, hi)
	return 0
}

// TestEpochRotatorsAgree runs two epoch Rotators, as two servers sharing a
// root whose clocks differ by 10 minutes (less than the 1-hour announce
// period), through two days in 7-minute steps: each opens every ticket the
// other sealed while the sealing key is not retired. Two Rotators with
// generated keys open none of each other's tickets.
func TestEpochRotatorsAgree(t *testing.T) {
	root := bytes.Repeat([]byte("tlsticket test root, 32 bytes.."), 2)
	start := time.Unix(1_900_000_000, 0)
	clockA, clockB := newFakeClock(start), newFakeClock(start.Add(-10*time.Minute))
	a, err := NewEpochRotator(root, testRotatorConfig(clockA))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewEpochRotator(root, testRotatorConfig(clockB))
	if err != nil {
		t.Fatal(err)
	}
	swaps := 0
	for step := 0; step < 2*24*60/7; step++ {
		clockA.Advance(7 * time.Minute)
		clockB.Advance(7 * time.Minute)
		before := a.Keyring().Load()
		maintain(t, a)
		maintain(t, b)
		if a.Keyring().Load() != before {
			swaps++
		}
		for _, pair := range []struct {
			name     string
			from, to *Rotator
		}{{"a-to-b", a, b}, {"b-to-a", b, a}} {
			ticket := mustSealKeyring(t, pair.from.Keyring())
			if _, err := pair.to.Keyring().Open(nil, ticket, nil); err != nil {
				t.Fatalf("step %d, %s: %v", step, pair.name, err)
			}
		}
	}
	if swaps < 8 {
		t.Errorf("%d ring swaps in two days, want at least 8", swaps)
	}

	l1, err := NewRotator(RotatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := NewRotator(RotatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	checkOpenFails(t, l2.Keyring().Load(), mustSealKeyring(t, l1.Keyring()), nil, ErrUnknownKey)
}

// TestEpochRotatorMaxSeals checks that an epoch Rotator whose key passes
// MaxSeals seals with a generated key until the next epoch key activates.
func TestEpochRotatorMaxSeals(t *testing.T) {
	root := countingSecret(AES256GCM)
	start := time.Unix(6*3600*100000, 0) // the start of an epoch
	clock := newFakeClock(start)
	cfg := testRotatorConfig(clock)
	cfg.MaxSeals = 3
	r, err := NewEpochRotator(root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	epochKey := r.Keyring().Load().Primary()
	if e := epochOf(t, root, epochKey, 100000, 100000); e != 100000 {
		t.Fatalf("primary is epoch %d", e)
	}
	for range 3 {
		mustSealKeyring(t, r.Keyring())
	}
	maintain(t, r)
	local := r.Keyring().Load().Primary()
	if local == epochKey {
		t.Fatal("no rotation after MaxSeals")
	}
	if _, ok := r.Keyring().Load().Lookup(epochKey.Name()); !ok {
		t.Error("the epoch key left the ring")
	}
	// Its seal count survives ring rebuilds (the Rotator keeps the Key).
	clock.Set(start.Add(5 * time.Hour))
	maintain(t, r)
	if got, _ := r.Keyring().Load().Lookup(epochKey.Name()); got != epochKey || epochKey.Seals() != 3 {
		t.Errorf("epoch key after rebuild: %p (seals %d), want %p (seals 3)", got, got.Seals(), epochKey)
	}
	if r.Keyring().Load().Primary() != local {
		t.Error("the generated key stopped sealing before the next epoch")
	}
	clock.Set(start.Add(6 * time.Hour))
	maintain(t, r)
	if e := epochOf(t, root, r.Keyring().Load().Primary(), 100001, 100001); e != 100001 {
		t.Errorf("primary at the next epoch is epoch %d", e)
	}
	if _, err := NewEpochRotator(root[:8], cfg); !errors.Is(err, ErrKeySize) {
		t.Errorf("NewEpochRotator(short root) = %v, want ErrKeySize", err)
	}
	cfg.Rotation = 1500 * time.Millisecond // not whole seconds
	if _, err := NewEpochRotator(root, cfg); err == nil {
		t.Error("NewEpochRotator with a 1.5 s period succeeded")
	}
}
