package redisreplay_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
	"github.com/tlsticket/tlsticket/resumption/replaytest"
)

// TestEvictionPolicy checks that New accepts only a server that never
// evicts: under any other policy an attacker's flood can evict replay
// records, and volatile-* policies evict exactly the keys with a ttl.
func TestEvictionPolicy(t *testing.T) {
	policies := []string{"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
		"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t, "--maxmemory", "64mb", "--maxmemory-policy", policy)
			s, err := redisreplay.New(t.Context(), srv.NewClient(t), redisreplay.Options{Timeout: testTimeout})
			if policy == "noeviction" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				replaytest.Check(t, s, "k", time.Minute, true)
				return
			}
			if s != nil || !errors.Is(err, redisreplay.ErrEvictionPolicy) {
				t.Fatalf("New = %v, %v; want nil, ErrEvictionPolicy", s, err)
			}
		})
	}
}

// TestConfigRenamed: where CONFIG is renamed away the policy cannot be
// read; New fails closed unless the operator asserts the policy.
func TestConfigRenamed(t *testing.T) {
	srv := redistest.Start(t, "--rename-command", "CONFIG", "")
	client := srv.NewClient(t)
	s, err := redisreplay.New(t.Context(), client, redisreplay.Options{Timeout: testTimeout})
	if s != nil || !errors.Is(err, redisreplay.ErrPolicyUnknown) {
		t.Fatalf("New = %v, %v; want nil, ErrPolicyUnknown", s, err)
	}
	s = mustNew(t, client, redisreplay.Options{Timeout: testTimeout, AssumeNoEviction: true})
	replaytest.Check(t, s, "k", time.Minute, true)
	replaytest.Check(t, s, "k", time.Minute, false)
}

// TestConfigForbidden: an ACL user without CONFIG gets NOPERM; New fails
// closed.
func TestConfigForbidden(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.NewClient(t)
	if err := admin.Do(t.Context(), "acl", "setuser", "edge", "on", ">secret", "~*", "+@all", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "edge", Password: "secret"})
	t.Cleanup(func() { client.Close() })
	s, err := redisreplay.New(t.Context(), client, redisreplay.Options{Timeout: testTimeout})
	if s != nil || !errors.Is(err, redisreplay.ErrPolicyUnknown) {
		t.Fatalf("New = %v, %v; want nil, ErrPolicyUnknown", s, err)
	}
}

// TestPolicyChangedLater: a policy changed while the store runs makes the
// checks fail closed from the next re-check on, until it is set back.
func TestPolicyChangedLater(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.NewClient(t)
	s := mustNew(t, client, redisreplay.Options{Timeout: testTimeout, PolicyCheckInterval: time.Nanosecond})
	replaytest.Check(t, s, "before", time.Minute, true)
	setPolicy := func(p string) {
		t.Helper()
		if err := client.ConfigSet(t.Context(), "maxmemory-policy", p).Err(); err != nil {
			t.Fatal(err)
		}
	}
	setPolicy("allkeys-lru")
	fresh, err := s.CheckAndStore(t.Context(), []byte("during"), time.Minute)
	if fresh || !errors.Is(err, redisreplay.ErrEvictionPolicy) {
		t.Errorf("CheckAndStore under allkeys-lru = %v, %v; want false, ErrEvictionPolicy", fresh, err)
	}
	setPolicy("noeviction")
	replaytest.Check(t, s, "after", time.Minute, true)
}

// flood writes n unique keys with a ttl under prefix, as an attacker with
// tickets of its own can make the server do (one record per unique binder),
// and returns how many writes Redis refused.
func flood(t *testing.T, client *redis.Client, prefix string, n int) (refused int) {
	t.Helper()
	const batch = 1000
	for i := 0; i < n; i += batch {
		cmds, _ := client.Pipelined(t.Context(), func(p redis.Pipeliner) error {
			for j := i; j < i+batch && j < n; j++ {
				p.SetNX(t.Context(), fmt.Sprintf("%sflood-%d", prefix, j), "1", time.Minute)
			}
			return nil
		})
		for _, c := range cmds {
			if c.Err() != nil {
				refused++
			}
		}
	}
	return refused
}

// TestEvictionFlood floods a server with a memory limit after a victim's
// record was stored. Under noeviction Redis refuses the flood and the
// victim's record stays: its replay is rejected. Under allkeys-lru (which
// New refuses, so the store is made with AssumeNoEviction, as an operator
// asserting wrongly would) the flood evicts it and the replay is accepted:
// the reason New checks the policy.
func TestEvictionFlood(t *testing.T) {
	const n = 60_000 // about 4 MiB of keys, twice the limit
	tests := []struct {
		policy     string
		wantReplay bool
	}{
		{"noeviction", false},
		{"allkeys-lru", true},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t, "--maxmemory", "2mb", "--maxmemory-policy", tt.policy)
			client := srv.NewClient(t)
			s := mustNew(t, client, redisreplay.Options{Prefix: "victim:", Timeout: testTimeout, AssumeNoEviction: true})
			replaytest.Check(t, s, "victim-binder", time.Minute, true)
			refused := flood(t, client, "attacker:", n)
			fresh, err := s.CheckAndStore(t.Context(), []byte("victim-binder"), time.Minute)
			t.Logf("%s: %d of %d flood writes refused; replay: fresh %v, err %v", tt.policy, refused, n, fresh, err)
			if fresh != tt.wantReplay {
				t.Errorf("replay of the victim's binder after the flood: fresh = %v, want %v", fresh, tt.wantReplay)
			}
			if !tt.wantReplay && refused == 0 {
				t.Errorf("noeviction refused none of the flood: the limit was not reached")
			}
		})
	}
}

// TestPolicyRecheckUnanswered: a re-reading of the policy that gets no
// answer fails that check as unavailable, not as a policy error, and does
// not change the verdict.
func TestPolicyRecheckUnanswered(t *testing.T) {
	srv := redistest.Start(t)
	s := mustNew(t, srv.NewClient(t), redisreplay.Options{Timeout: testTimeout, PolicyCheckInterval: time.Nanosecond})
	replaytest.Check(t, s, "before", time.Minute, true)
	srv.Stop()
	fresh, err := s.CheckAndStore(t.Context(), []byte("after"), time.Minute)
	if fresh || !errors.Is(err, redisreplay.ErrUnavailable) ||
		errors.Is(err, redisreplay.ErrPolicyUnknown) || errors.Is(err, redisreplay.ErrEvictionPolicy) {
		t.Errorf("CheckAndStore with the server gone = %v, %v; want false, ErrUnavailable alone", fresh, err)
	}
}
