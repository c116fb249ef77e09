package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

// approveFixture is an engine with a fake clock and a warm memory store,
// and one issued TLS 1.3 ticket and its session.
type approveFixture struct {
	e       *Engine
	clock   *fakeClock
	store   resumption.ReplayStore
	ticket  []byte
	session *format.State
}

func newApproveFixture(t *testing.T, store func(*fakeClock) resumption.ReplayStore) *approveFixture {
	t.Helper()
	f := &approveFixture{clock: newFakeClock()}
	f.store = store(f.clock)
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "approve"))), Time: f.clock.Now,
		ReplayStore: f.store, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.e = e
	iss, err := e.IssueAdvertised(testSession(format.VersionTLS13), 0xffffffff)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Open(conn(format.VersionTLS13), true, iss.Ticket)
	if err != nil || !d.Resumed {
		t.Fatalf("resumed %v, err %v", d.Resumed, err)
	}
	f.ticket, f.session = iss.Ticket, &d.Session
	return f
}

// warmStore returns a memory store past its start-up window.
func warmStore(c *fakeClock) resumption.ReplayStore {
	s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: c.Now, Window: time.Nanosecond})
	c.Advance(time.Second)
	return s
}

func TestApproveEarlyData(t *testing.T) {
	tests := []struct {
		name   string
		store  func(*fakeClock) resumption.ReplayStore
		before func(t *testing.T, f *approveFixture) // runs before the approval under test
		maxAge time.Duration
		want   error
	}{
		{"first", warmStore, nil, 0, nil},
		{"second", warmStore, func(t *testing.T, f *approveFixture) {
			if err := f.e.ApproveEarlyData(t.Context(), f.ticket, f.session, 0); err != nil {
				t.Fatal(err)
			}
		}, 0, ErrEarlyDataReplay},
		{"second, just before expiry", warmStore, func(t *testing.T, f *approveFixture) {
			if err := f.e.ApproveEarlyData(t.Context(), f.ticket, f.session, 0); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Hour - time.Second)
		}, 0, ErrEarlyDataReplay},
		{"after a single-use record", warmStore, func(t *testing.T, f *approveFixture) {
			// The single-use record of the same ticket is another key.
			if first, err := resumption.UseOnce(t.Context(), f.store, f.ticket, time.Hour); !first || err != nil {
				t.Fatalf("UseOnce: %v, %v", first, err)
			}
		}, 0, nil},
		{"no store", func(*fakeClock) resumption.ReplayStore { return nil }, nil, 0, ErrNoReplayStore},
		{"store down", func(*fakeClock) resumption.ReplayStore { return failingStore{} }, nil, 0, ErrReplayStore},
		{"store warming up", func(c *fakeClock) resumption.ReplayStore {
			return resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: c.Now})
		}, nil, 0, ErrEarlyDataReplay},
		{"expired", warmStore, func(t *testing.T, f *approveFixture) { f.clock.Advance(time.Hour) }, 0, ErrEarlyDataStale},
		{"older than maxAge", warmStore, func(t *testing.T, f *approveFixture) { f.clock.Advance(time.Minute) }, time.Minute, ErrEarlyDataStale},
		{"younger than maxAge", warmStore, func(t *testing.T, f *approveFixture) { f.clock.Advance(time.Second) }, time.Minute, nil},
		{"created in the future", warmStore, func(t *testing.T, f *approveFixture) {
			f.clock.Advance(-DefaultMaxClockSkew - time.Second)
		}, 0, ErrEarlyDataStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newApproveFixture(t, tt.store)
			if tt.before != nil {
				tt.before(t, f)
			}
			err := f.e.ApproveEarlyData(t.Context(), f.ticket, f.session, tt.maxAge)
			if (err == nil) != (tt.want == nil) || !errors.Is(err, tt.want) {
				t.Fatalf("ApproveEarlyData = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestApproveEarlyDataRecordLifetime: the record outlives the ticket by
// DefaultMaxClockSkew, for servers whose clocks lag, and a maxAge shortens it.
func TestApproveEarlyDataRecordLifetime(t *testing.T) {
	for _, tt := range []struct {
		name   string
		maxAge time.Duration
		want   time.Duration
	}{
		{"lifetime", 0, time.Hour + DefaultMaxClockSkew},
		{"maxAge", 10 * time.Second, 10*time.Second + DefaultMaxClockSkew},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got time.Duration
			f := newApproveFixture(t, func(*fakeClock) resumption.ReplayStore {
				return storeFunc(func(_ context.Context, _ []byte, ttl time.Duration) (bool, error) {
					got = ttl
					return true, nil
				})
			})
			if err := f.e.ApproveEarlyData(t.Context(), f.ticket, f.session, tt.maxAge); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("record ttl %v, want %v", got, tt.want)
			}
		})
	}
}

type storeFunc func(context.Context, []byte, time.Duration) (bool, error)

func (f storeFunc) CheckAndStore(ctx context.Context, key []byte, ttl time.Duration) (bool, error) {
	return f(ctx, key, ttl)
}

// TestIssueAdvertised: the sealed max_early_data_size is the host stack's,
// not Config.MaxEarlyData, which Issue still uses.
func TestIssueAdvertised(t *testing.T) {
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "advertised"))), MaxEarlyData: 16384})
	if err != nil {
		t.Fatal(err)
	}
	sealed := func(t *testing.T, ticket []byte) uint32 {
		t.Helper()
		d, err := e.Open(conn(format.VersionTLS13), true, ticket)
		if err != nil || !d.Resumed {
			t.Fatalf("resumed %v, err %v", d.Resumed, err)
		}
		return d.Session.MaxEarlyData
	}
	for _, want := range []uint32{0, 0xffffffff} {
		iss, err := e.IssueAdvertised(testSession(format.VersionTLS13), want)
		if err != nil {
			t.Fatal(err)
		}
		if got := sealed(t, iss.Ticket); got != want {
			t.Errorf("IssueAdvertised(%#x) sealed %#x", want, got)
		}
	}
	if got := sealed(t, issue(t, e, format.VersionTLS13)); got != 16384 {
		t.Errorf("Issue sealed %d, want Config.MaxEarlyData 16384", got)
	}
}
