package seal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
)

// testRotatorConfig returns a config with a 6-hour rotation, 1-hour
// announce and 12-hour decrypt-only period on clock.
func testRotatorConfig(clock *fakeClock) RotatorConfig {
	return RotatorConfig{
		AEAD:        AES256GCM,
		Rotation:    6 * time.Hour,
		Announce:    time.Hour,
		DecryptOnly: 12 * time.Hour,
		Time:        clock.Now,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

// maintain runs r.Maintain and fails the test on error.
func maintain(t testing.TB, r *Rotator) {
	t.Helper()
	if err := r.Maintain(); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
}

func TestRotatorConfigDefaults(t *testing.T) {
	tests := []struct {
		in   RotatorConfig
		want RotatorConfig
	}{
		{RotatorConfig{}, RotatorConfig{AEAD: AES256GCM, Rotation: 6 * time.Hour, Announce: time.Hour, DecryptOnly: 12 * time.Hour, MaxSeals: 1 << 31}},
		{RotatorConfig{AEAD: ChaCha20Poly1305}, RotatorConfig{AEAD: ChaCha20Poly1305, Rotation: 6 * time.Hour, Announce: time.Hour, DecryptOnly: 12 * time.Hour, MaxSeals: 1 << 31}},
		{RotatorConfig{AEAD: XAES256GCM}, RotatorConfig{AEAD: XAES256GCM, Rotation: 6 * time.Hour, Announce: time.Hour, DecryptOnly: 12 * time.Hour, MaxSeals: 1<<64 - 1}},
		{RotatorConfig{AEAD: XChaCha20Poly1305, Announce: -1, DecryptOnly: -1, MaxSeals: 7}, RotatorConfig{AEAD: XChaCha20Poly1305, Rotation: 6 * time.Hour, MaxSeals: 7}},
	}
	for _, tt := range tests {
		got, err := tt.in.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got.Time == nil || got.Rand == nil || got.Logger != slog.Default() {
			t.Errorf("withDefaults(%+v) left Time, Rand or Logger unset", tt.in)
		}
		got.Time, got.Rand, got.Logger = nil, nil, nil
		tt.want.Interval = MaintainInterval
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
			t.Errorf("withDefaults(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []RotatorConfig{{AEAD: 9}, {Rotation: -time.Hour}} {
		if r, err := NewRotator(bad); err == nil {
			t.Errorf("NewRotator(%+v) = %v, want error", bad, r)
		}
	}
}

// TestRotatorLifecycle follows the keys of a Rotator through their phases
// on a fake clock, checking each Ring and each NextChange exactly.
func TestRotatorLifecycle(t *testing.T) {
	clock := newFakeClock(t0)
	r, err := NewRotator(testRotatorConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	kr := r.Keyring()
	k0 := kr.Load().Primary()
	if n := len(kr.Load().Keys()); n != 1 {
		t.Fatalf("initial ring has %d keys, want 1", n)
	}
	if got, want := r.NextChange(), hours(5); !got.Equal(want) {
		t.Errorf("NextChange = %s, want %s (key 1 announced)", stamp(got), stamp(want))
	}
	ticket0 := mustSeal(t, kr.Load(), []byte("zero"), nil)

	// Nothing happens before the next change, and the Ring is not replaced.
	ring := kr.Load()
	clock.Set(hours(5).Add(-time.Nanosecond))
	maintain(t, r)
	if kr.Load() != ring {
		t.Error("Maintain replaced the Ring before the next change")
	}
	if n := r.Changes(); n != 0 {
		t.Errorf("Changes = %d before the first change, want 0", n)
	}

	// At 5h, key 1 is announced: it opens, it does not seal.
	clock.Set(hours(5))
	maintain(t, r)
	ring = kr.Load()
	if ring.Primary() != k0 || len(ring.Keys()) != 2 {
		t.Fatalf("ring at 5h = %v, want key 0 primary and key 1 announced", ring)
	}
	k1 := ring.Keys()[1]
	if got, want := r.NextChange(), hours(6); !got.Equal(want) {
		t.Errorf("NextChange = %s, want %s", stamp(got), stamp(want))
	}

	// At 6h, key 1 seals and key 0 is decrypt-only: its tickets open with
	// Primary false (the engine renews them).
	clock.Set(hours(6))
	maintain(t, r)
	if kr.Load().Primary() != k1 {
		t.Fatalf("primary at 6h = %v, want key 1", kr.Load().Primary())
	}
	_, o, err := kr.OpenKey(nil, ticket0, nil)
	if err != nil || o.Primary || !o.Known {
		t.Errorf("ticket of key 0 at 6h: %+v, %v, want decrypt-only", o, err)
	}
	ticket1 := mustSeal(t, kr.Load(), []byte("one"), nil)

	// Key 2 at 11h and 12h, key 0 retired at 18h.
	wantNext := []struct {
		at, next float64
		keys     int
	}{
		{11, 12, 3}, {12, 17, 3}, {17, 18, 4}, {18, 18 + 5, 3},
	}
	for _, w := range wantNext {
		clock.Set(hours(w.at))
		maintain(t, r)
		if got := r.NextChange(); !got.Equal(hours(w.next)) {
			t.Errorf("at %vh: NextChange = %s, want %s", w.at, stamp(got), stamp(hours(w.next)))
		}
		if n := len(kr.Load().Keys()); n != w.keys {
			t.Errorf("at %vh: ring has %d keys, want %d: %v", w.at, n, w.keys, kr.Load())
		}
	}
	checkOpenFails(t, kr.Load(), ticket0, nil, ErrUnknownKey)
	if _, err := kr.Open(nil, ticket1, nil); err != nil {
		t.Errorf("ticket of key 1 at 18h: %v", err)
	}
	if n := r.Changes(); n != 2+uint64(len(wantNext)) {
		t.Errorf("Changes = %d after the changes at 5h, 6h, 11h, 12h, 17h and 18h, want %d", n, 2+len(wantNext))
	}
	for _, sk := range r.Schedule().Keys() {
		if sk.Key == k0 {
			t.Error("the schedule still holds the retired key 0")
		}
	}
}

// TestRotatorAnnouncedNeverSeals checks at every minute of a day that the
// primary key is active and that no announced key seals.
func TestRotatorAnnouncedNeverSeals(t *testing.T) {
	clock := newFakeClock(t0)
	r, err := NewRotator(testRotatorConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	for m := 0; m < 24*60; m++ {
		clock.Set(t0.Add(time.Duration(m) * time.Minute))
		maintain(t, r)
		now := clock.Now()
		primary := r.Keyring().Load().Primary()
		for _, sk := range r.Schedule().Keys() {
			if sk.Key == primary && sk.At(now) != PhaseActive {
				t.Fatalf("at %s the primary key is %v", stamp(now), sk.At(now))
			}
			if _, ok := r.Keyring().Load().Lookup(sk.Key.Name()); ok != (sk.At(now) != PhasePending && sk.At(now) != PhaseRetired) {
				t.Fatalf("at %s a %v key is in the ring: %v", stamp(now), sk.At(now), ok)
			}
		}
	}
}

func TestRotatorMaxSeals(t *testing.T) {
	clock := newFakeClock(t0)
	cfg := testRotatorConfig(clock)
	cfg.MaxSeals = 10
	r, err := NewRotator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kr := r.Keyring()
	k0 := kr.Load().Primary()
	var tickets [][]byte
	for range 9 {
		tickets = append(tickets, mustSealKeyring(t, kr))
	}
	maintain(t, r)
	if kr.Load().Primary() != k0 {
		t.Fatal("rotated after 9 seals, MaxSeals is 10")
	}
	tickets = append(tickets, mustSealKeyring(t, kr))
	if k0.Seals() != 10 {
		t.Fatalf("Seals() = %d, want 10", k0.Seals())
	}
	// Seal never blocks or rotates: an 11th ticket still uses key 0.
	tickets = append(tickets, mustSealKeyring(t, kr))
	maintain(t, r)
	k1 := kr.Load().Primary()
	if k1 == k0 {
		t.Fatal("did not rotate after MaxSeals seals")
	}
	if k1.Seals() != 0 {
		t.Errorf("new key Seals() = %d, want 0", k1.Seals())
	}
	for i, tk := range tickets {
		if _, o, err := kr.OpenKey(nil, tk, nil); err != nil || o.Primary {
			t.Errorf("ticket %d after rotation: %+v, %v, want decrypt-only", i, o, err)
		}
	}
	if got, want := kr.Load().Primary().AEAD(), AES256GCM; got != want {
		t.Errorf("new key AEAD = %v, want %v", got, want)
	}
	// The early key ends with key 0's active period: at 6h a new key
	// seals.
	clock.Set(hours(6))
	maintain(t, r)
	if p := kr.Load().Primary(); p == k0 || p == k1 {
		t.Errorf("primary at 6h = %v, want the scheduled key", p)
	}
}

// mustSealKeyring seals a ticket under kr and fails the test on error.
func mustSealKeyring(t testing.TB, kr *Keyring) []byte {
	t.Helper()
	ticket, err := kr.Seal(nil, []byte("state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ticket
}

// TestRotatorPause checks that a Rotator not maintained for days rebuilds a
// valid Ring without generating the keys it missed.
func TestRotatorPause(t *testing.T) {
	clock := newFakeClock(t0)
	r, err := NewRotator(testRotatorConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	old := r.Keyring().Load().Primary()
	clock.Set(hours(24 * 30))
	maintain(t, r)
	ring := r.Keyring().Load()
	if ring.Primary() == old || len(ring.Keys()) != 1 {
		t.Errorf("ring after 30 days = %v, want one new key", ring)
	}
	// The schedule holds the new key and its successor, not yet
	// announced.
	if keys := r.Schedule().Keys(); len(keys) != 2 || keys[1].At(clock.Now()) != PhasePending {
		t.Errorf("schedule after 30 days = %v, want the new key and a pending one", r.Schedule())
	}
}

func TestRotatorRandFailure(t *testing.T) {
	clock := newFakeClock(t0)
	cfg := testRotatorConfig(clock)
	var fail atomic.Bool
	cfg.Rand = readerFunc(func(p []byte) (int, error) {
		if fail.Load() {
			return 0, errRandFailed
		}
		return len(p), fillCounter(p)
	})
	r, err := NewRotator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k0 := r.Keyring().Load().Primary()
	// At 5h key 1 (generated ahead) is announced, and the source fails
	// to generate key 2: Maintain reports it, and the keys it has still
	// move through their phases.
	fail.Store(true)
	clock.Set(hours(5))
	if err := r.Maintain(); !errors.Is(err, errRandFailed) {
		t.Errorf("Maintain with failing rand = %v, want %v", err, errRandFailed)
	}
	if ring := r.Keyring().Load(); ring.Primary() != k0 || len(ring.Keys()) != 2 {
		t.Errorf("ring after a failed Maintain = %v, want key 0 primary and key 1 announced", ring)
	}
	if err := r.Maintain(); !errors.Is(err, errRandFailed) {
		t.Errorf("second Maintain with failing rand = %v, want it to ask the source again", err)
	}
	fail.Store(false)
	maintain(t, r)
	if keys := r.Schedule().Keys(); len(keys) != 3 {
		t.Errorf("schedule after recovery = %v, want 3 keys", r.Schedule())
	}
	fail.Store(true)
	if _, err := NewRotator(cfg); !errors.Is(err, errRandFailed) {
		t.Errorf("NewRotator with failing rand = %v", err)
	}
}

// readerFunc is an io.Reader from a function.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

var counter atomic.Uint64

// fillCounter fills p with distinct non-repeating bytes, safely for
// concurrent use.
func fillCounter(p []byte) error {
	n := counter.Add(1)
	for i := range p {
		p[i] = byte(n>>(8*(i%8))) ^ byte(i*131)
	}
	return nil
}

// TestRotatorConcurrent seals and opens from several goroutines while
// another advances the clock and calls Maintain: every ticket whose key is
// still in the ring opens. Run it with -race.
func TestRotatorConcurrent(t *testing.T) {
	clock := newFakeClock(t0)
	cfg := testRotatorConfig(clock)
	cfg.MaxSeals = 500
	r, err := NewRotator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kr := r.Keyring()
	var done atomic.Bool
	var swaps atomic.Int64
	var maintainer sync.WaitGroup
	maintainer.Go(func() {
		for !done.Load() {
			clock.Advance(17 * time.Minute)
			before := kr.Load()
			if err := r.Maintain(); err != nil {
				t.Error(err)
				return
			}
			if kr.Load() != before {
				swaps.Add(1)
			}
			runtime.Gosched()
		}
	})
	var opened, dropped atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			var tbuf, pbuf []byte
			var old [][]byte
			for i := range 1500 {
				pt := fmt.Appendf(nil, "worker %d ticket %d", w, i)
				ticket, err := kr.Seal(tbuf[:0], pt, nil)
				if err != nil {
					t.Error(err)
					return
				}
				tbuf = ticket
				if i%50 == 0 {
					old = append(old, bytes.Clone(ticket))
				}
				got, o, err := kr.OpenKey(pbuf[:0], ticket, nil)
				if errors.Is(err, ErrUnknownKey) {
					if _, ok := kr.Load().Lookup(o.Name); ok {
						t.Errorf("ErrUnknownKey for key %v still in the ring", o.Name)
						return
					}
					dropped.Add(1)
					continue
				}
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("OpenKey = %q, %v, want %q", got, err, pt)
					return
				}
				pbuf = got
				opened.Add(1)
			}
			for _, tk := range old {
				ring := kr.Load()
				_, o, err := ring.OpenKey(nil, tk, nil)
				_, known := ring.Lookup(o.Name)
				if known != (err == nil) {
					t.Errorf("old ticket of key %v: in ring %v, open error %v", o.Name, known, err)
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	maintainer.Wait()
	if opened.Load() == 0 || swaps.Load() == 0 {
		t.Errorf("%d tickets opened, %d ring swaps: want both > 0", opened.Load(), swaps.Load())
	}
	t.Logf("%d ring swaps; %d tickets opened, %d sealed by a key retired before opening", swaps.Load(), opened.Load(), dropped.Load())
}

func TestRotatorRun(t *testing.T) {
	r, err := NewRotator(RotatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run(canceled) = %v, want context.Canceled", err)
	}
}

func TestRotatorFormat(t *testing.T) {
	root := bytes.Repeat([]byte{0x6b, 0x2f, 0x91, 0x03}, 8)
	clock := newFakeClock(t0)
	r, err := NewEpochRotator(root, testRotatorConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	want := "seal.Rotator{" + r.Keyring().Load().String() + "}"
	if got := fmt.Sprint(r); got != want {
		t.Errorf("Sprint(rotator) = %q, want %q", got, want)
	}
	forbidden := secretscan.Forms(root)
	for _, v := range []any{r, &struct{ r *Rotator }{r}, struct{ r *Rotator }{r}, r.Schedule(), r.Keyring()} {
		secretscan.Check(t, fmt.Sprintf("%T", v), v, forbidden)
	}
	if got := fmt.Sprint(new(Rotator)); got != "seal.Rotator{<nil>}" {
		t.Errorf("zero Rotator prints %q", got)
	}
}

func TestKeySeals(t *testing.T) {
	keys := generateKeys(t, ChaCha20Poly1305, 2)
	r1, err := NewRing(nil, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewRing(nil, keys[0], keys[1])
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		mustSeal(t, r1, []byte("x"), nil)
	}
	ticket := mustSeal(t, r2, []byte("x"), nil)
	fr, err := NewRing(failReader{}, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fr.Seal(nil, []byte("x"), nil); err == nil {
		t.Fatal("Seal with failing rand succeeded")
	}
	if _, err := r2.Seal(nil, make([]byte, 1<<16), nil); err == nil {
		t.Fatal("Seal of a too large plaintext succeeded")
	}
	if _, err := r2.Open(nil, ticket, nil); err != nil {
		t.Fatal(err)
	}
	if got := keys[0].Seals(); got != 4 {
		t.Errorf("Seals() = %d, want 4 (failed seals and opens do not count)", got)
	}
	if got := keys[1].Seals(); got != 0 {
		t.Errorf("decrypt-only key Seals() = %d, want 0", got)
	}
	if got := new(Key).Seals(); got != 0 {
		t.Errorf("zero Key Seals() = %d", got)
	}
}

// BenchmarkMaintain measures Maintain when nothing is due, the cost of a
// call every MaintainInterval.
func BenchmarkMaintain(b *testing.B) {
	r, err := NewRotator(RotatorConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Maintain(); err != nil {
			b.Fatal(err)
		}
	}
}
