package conformance

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// TestAdversarialConcurrentRotation, with -race: goroutines issue and open
// tickets of both versions while another rotates the ring (Ring.Rotate
// keeping two old keys, then Keyring.Store). There is no data race; a
// ticket whose key is in the ring before and after Open opens and resumes;
// a ticket whose key had left the ring before Open began never opens (keys
// never come back).
func TestAdversarialConcurrentRotation(t *testing.T) {
	const keep, rotations, workers = 2, 40, 8
	a := newAdv(t, nil)
	inRing := func(r *seal.Ring, ticket []byte) bool {
		var n seal.KeyName
		copy(n[:], ticket[2:seal.HeaderSize])
		_, ok := r.Lookup(n)
		return ok
	}
	var opened, refused atomic.Int64
	check := func(tk []byte, v uint16, old bool) {
		before := a.keys.Load()
		d, err := a.e.Open(advConn(v), true, tk)
		after := a.keys.Load()
		switch {
		case inRing(before, tk) && inRing(after, tk):
			if err != nil || !d.Resumed {
				t.Errorf("ticket under a key kept in the ring: status %v, resumed %v, fallback %v, error %v", d.Status, d.Resumed, d.Fallback, err)
			}
			opened.Add(1)
		case old && !inRing(before, tk):
			if err != nil || d.Status != status.NoDecrypt || d.Resumed {
				t.Errorf("ticket under a dropped key: status %v, resumed %v, error %v", d.Status, d.Resumed, err)
			}
			refused.Add(1)
		}
	}
	done := make(chan struct{})
	var issued atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		deadline := time.Now().Add(10 * time.Second)
		for i := range rotations {
			// Rotate only as the workers make progress, so that tickets
			// are sealed under many keys however the goroutines are
			// scheduled.
			for issued.Load() < int64((i+1)*workers) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			k, err := seal.NewKey(seal.AES256GCM, advSecret(fmt.Sprint("rotation ", i)))
			if err != nil {
				t.Error(err)
				return
			}
			r, err := a.keys.Load().Rotate(k, keep)
			if err != nil {
				t.Error(err)
				return
			}
			a.keys.Store(r)
		}
	})
	for w := range workers {
		wg.Go(func() {
			type kept struct {
				tk []byte
				v  uint16
			}
			var old []kept
			for i := 0; ; i++ {
				select {
				case <-done:
					for _, o := range old {
						check(o.tk, o.v, true)
					}
					return
				default:
				}
				v := advVersions[(w+i)%2].v
				s, nonce := advSession(v), []byte(nil)
				if v == format.VersionTLS13 {
					nonce = []byte{byte(i)}
				}
				iss, err := a.e.Issue(s, nonce)
				if err != nil {
					t.Error(err)
					return
				}
				issued.Add(1)
				check(iss.Ticket, v, false)
				if len(old) < 64 && i%4 == 0 {
					old = append(old, kept{iss.Ticket, v})
				}
				if len(old) > 0 {
					o := old[i%len(old)]
					check(o.tk, o.v, true)
				}
			}
		})
	}
	wg.Wait()
	if opened.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("opened %d and refused %d tickets: the test checked nothing", opened.Load(), refused.Load())
	}
}
