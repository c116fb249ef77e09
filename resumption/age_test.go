package resumption_test

import (
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
)

func TestTicketAge(t *testing.T) {
	tests := []struct {
		name     string
		obf, add uint32
		want     uint32
	}{
		{"RFC8448", 0xfad6aacb, 0xfad6aac5, 6},
		{"Zero", 0, 0, 0},
		{"Equal", 0x12345678, 0x12345678, 0},
		{"WrapAround", 5, 0xfffffffe, 7},
		{"WrapToMax", 0, 1, 0xffffffff},
		{"AddZero", 604800000, 0, 604800000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resumption.TicketAge(tt.obf, tt.add); got != tt.want {
				t.Errorf("TicketAge(%#x, %#x) = %d, want %d", tt.obf, tt.add, got, tt.want)
			}
		})
	}
}

func TestObfuscateTicketAge(t *testing.T) {
	if got := resumption.ObfuscateTicketAge(6*time.Millisecond, 0xfad6aac5); got != 0xfad6aacb {
		t.Errorf("ObfuscateTicketAge(6ms, RFC 8448 add) = %#x, want 0xfad6aacb", got)
	}
	for _, age := range []time.Duration{0, 6 * time.Millisecond, time.Second, format.MaxTicketLifetime} {
		for _, add := range []uint32{0, 0xfad6aac5, 0xffffffff} {
			obf := resumption.ObfuscateTicketAge(age, add)
			if got := resumption.TicketAge(obf, add); got != uint32(age.Milliseconds()) {
				t.Errorf("round trip of %v with add %#x = %d ms", age, add, got)
			}
		}
	}
	if got := resumption.ObfuscateTicketAge(1900*time.Microsecond, 10); got != 11 {
		t.Errorf("1.9ms truncates to %d, want 11", got)
	}
	if got := resumption.ObfuscateTicketAge(-time.Second, 10); got != 10 {
		t.Errorf("negative age gives %d, want 10", got)
	}
}

func TestFresh(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := resumption.DefaultFreshnessWindow
	tests := []struct {
		name   string
		age    uint32
		now    time.Time
		window time.Duration
		want   bool
	}{
		{"RFC8448", 6, created.Add(6 * time.Millisecond), w, true},
		{"LateAtEdge", 1000, created.Add(time.Second + w), w, true},
		{"TooLate", 1000, created.Add(time.Second + w + time.Millisecond), w, false},
		{"EarlyAtEdge", 20000, created.Add(20*time.Second - w), w, true},
		{"TooEarly", 20000, created.Add(20*time.Second - w - time.Millisecond), w, false},
		{"ZeroWindowExact", 500, created.Add(500 * time.Millisecond), 0, true},
		{"NegativeWindow", 500, created.Add(500 * time.Millisecond), -time.Second, false},
		{"WrappedAge", resumption.TicketAge(1, 2), created.Add(time.Second), w, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resumption.Fresh(created, tt.age, tt.now, tt.window); got != tt.want {
				t.Errorf("Fresh(age %d ms, now %v, window %v) = %v, want %v",
					tt.age, tt.now.Sub(created), tt.window, got, tt.want)
			}
		})
	}
	if got, want := resumption.ExpectedArrival(created, 6), created.Add(6*time.Millisecond); !got.Equal(want) {
		t.Errorf("ExpectedArrival = %v, want %v", got, want)
	}
}

func TestReplayTTL(t *testing.T) {
	x := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		now          time.Time
		window, skew time.Duration
		want         time.Duration
	}{
		{"on time", x, 10 * time.Second, time.Minute, 130*time.Second + time.Millisecond},
		{"late", x.Add(4 * time.Second), 10 * time.Second, time.Second, 8*time.Second + time.Millisecond},
		{"early", x.Add(-4 * time.Second), 10 * time.Second, time.Second, 16*time.Second + time.Millisecond},
		{"no skew", x, 2 * time.Second, 0, 2*time.Second + time.Millisecond},
		{"negative skew counts as zero", x, 2 * time.Second, -time.Hour, 2*time.Second + time.Millisecond},
		{"window closed: at least 1ms", x.Add(time.Hour), time.Second, time.Second, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resumption.ReplayTTL(x, tt.now, tt.window, tt.skew); got != tt.want {
				t.Errorf("ReplayTTL = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReplayTTLCoversFleet checks the argument of ReplayTTL on a grid: for
// any accepting clock and any later clock within skew of true time, a
// ClientHello the later server finds fresh is still recorded.
func TestReplayTTLCoversFleet(t *testing.T) {
	const window, skew, step = 2 * time.Second, 3 * time.Second, 250 * time.Millisecond
	x := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)          // expected arrival
	for ta := -window - skew; ta <= window+skew; ta += step { // true time of acceptance, from x
		for da := -skew; da <= skew; da += step {
			nowA := x.Add(ta + da)
			if !resumption.Fresh(x, 0, nowA, window) {
				continue
			}
			expires := ta + resumption.ReplayTTL(x, nowA, window, skew) // true time
			for tb := ta; tb <= 2*(window+skew); tb += step {
				for db := -skew; db <= skew; db += step {
					if resumption.Fresh(x, 0, x.Add(tb+db), window) && tb >= expires {
						t.Fatalf("accepted at true %v by a clock off by %v; fresh again at true %v by a clock off by %v after the record expired at %v",
							ta, da, tb, db, expires)
					}
				}
			}
		}
	}
}
