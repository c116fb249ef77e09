package seal

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzRing returns a ring with one key per AEAD, made from fixed secrets,
// and a valid ticket sealed by each key with deterministic nonces.
func fuzzRing(t testing.TB) (*Ring, [][]byte) {
	t.Helper()
	var keys []*Key
	for _, a := range aeads {
		secret := countingSecret(a)
		secret[0] = byte(a) // distinct names
		k, err := NewKey(a, secret)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	var tickets [][]byte
	for i, k := range keys {
		r, err := NewRing(&seqReader{next: byte(16 * i)}, k)
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, mustSeal(t, r, []byte("fuzz plaintext"), []byte("fuzz ad")))
	}
	r, err := NewRing(nil, keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return r, tickets
}

// FuzzOpen checks that arbitrary bytes never panic Open and never open,
// except the exact tickets the ring sealed, and that a failed Open returns
// nil, one of the package's errors (ErrMalformed exactly when ParseHeader
// rejects the ticket), a consistent Opened, and writes nothing but zeros to
// dst.
func FuzzOpen(f *testing.F) {
	r, tickets := fuzzRing(f)
	ad := []byte("fuzz ad")
	f.Add([]byte{}, ad)
	f.Add([]byte{1}, ad)
	for _, tk := range tickets {
		f.Add(tk, ad)
		f.Add(tk, []byte{})
		f.Add(tk[:HeaderSize], ad)
		f.Add(tk[:len(tk)-1], ad)
		f.Add(append(bytes.Clone(tk), 0), ad)
		flipped := bytes.Clone(tk)
		flipped[len(flipped)/2] ^= 0x10
		f.Add(flipped, ad)
		relabelled := bytes.Clone(tk)
		relabelled[1] = relabelled[1]%byte(len(aeads)) + 1
		f.Add(relabelled, ad)
	}
	swapped := bytes.Clone(tickets[1])
	copy(swapped[2:HeaderSize], tickets[2][2:HeaderSize])
	f.Add(swapped, ad)

	f.Fuzz(func(t *testing.T, data, additionalData []byte) {
		const canary = 0xaa
		dst := bytes.Repeat([]byte{canary}, 4+len(data))[:4]
		got, o, err := r.OpenKey(dst, data, additionalData)

		valid := bytes.Equal(additionalData, ad) && func() bool {
			for _, tk := range tickets {
				if bytes.Equal(data, tk) {
					return true
				}
			}
			return false
		}()
		if valid {
			if err != nil || !bytes.Equal(got[4:], []byte("fuzz plaintext")) {
				t.Fatalf("OpenKey(valid ticket %x) = %x, %v", data, got, err)
			}
			return
		}
		if err == nil {
			t.Fatalf("OpenKey(%x, %x) opened: %x", data, additionalData, got)
		}
		if got != nil {
			t.Fatalf("OpenKey(%x) = %x, %v, want nil", data, got, err)
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrAuth) {
			t.Fatalf("OpenKey(%x) error = %v", data, err)
		}
		var want Opened
		h, perr := ParseHeader(data)
		if (perr != nil) != errors.Is(err, ErrMalformed) {
			t.Fatalf("OpenKey(%x) error = %v, but ParseHeader error = %v: one parser, one answer", data, err, perr)
		}
		if perr == nil {
			want.Name = h.KeyName
			if k, ok := r.Lookup(want.Name); ok {
				want.Known = true
				want.Primary = k == r.Primary()
			}
		}
		if o != want {
			t.Fatalf("OpenKey(%x) Opened = %+v, want %+v", data, o, want)
		}
		for i, c := range dst[:cap(dst)] {
			if (i < 4 && c != canary) || (c != canary && c != 0) {
				t.Fatalf("dst[%d] = %#x after failed OpenKey", i, c)
			}
		}

		// In place, on a copy.
		b := bytes.Clone(data)
		if got, err := r.Open(b[:0], b, additionalData); err == nil || got != nil {
			t.Fatalf("Open in place(%x) = %x, %v", data, got, err)
		}
	})
}

// FuzzSealOpen checks that any plaintext and additional data round-trip
// under every AEAD, and that Seal refuses exactly the plaintexts too long
// for a ticket.
func FuzzSealOpen(f *testing.F) {
	rings := make([]*Ring, len(aeads))
	for i, a := range aeads {
		rings[i] = newTestRing(f, a, 2)
	}
	f.Add(uint8(0), []byte{}, []byte{})
	f.Add(uint8(1), []byte("session state"), []byte{})
	f.Add(uint8(2), []byte("session state"), []byte("ad"))
	f.Add(uint8(3), bytes.Repeat([]byte{0}, 1000), []byte("ad"))

	f.Fuzz(func(t *testing.T, which uint8, plaintext, additionalData []byte) {
		a := aeads[int(which)%len(aeads)]
		r := rings[int(which)%len(aeads)]
		ticket, err := r.Seal([]byte("dst"), plaintext, additionalData)
		if len(plaintext) > maxTicketSize-tagOverhead(a) {
			if err == nil || ticket != nil {
				t.Fatalf("Seal(%d bytes) = %d bytes, %v, want error", len(plaintext), len(ticket), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Seal(%x): %v", plaintext, err)
		}
		if !bytes.HasPrefix(ticket, []byte("dst")) || len(ticket) != 3+len(plaintext)+tagOverhead(a) {
			t.Fatalf("Seal = %x, want dst prefix and length %d", ticket, 3+len(plaintext)+tagOverhead(a))
		}
		ticket = ticket[3:]
		name := r.Primary().Name()
		if ticket[0] != version || ticket[1] != byte(a) || !bytes.Equal(ticket[2:HeaderSize], name[:]) {
			t.Fatalf("ticket header = %x, want %02x%02x%x", ticket[:HeaderSize], version, byte(a), name)
		}
		got, o, err := r.OpenKey(nil, ticket, additionalData)
		if err != nil {
			t.Fatalf("OpenKey: %v", err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Fatalf("OpenKey = %x, want %x", got, plaintext)
		}
		if want := (Opened{Name: name, Primary: true, Known: true}); o != want {
			t.Fatalf("Opened = %+v, want %+v", o, want)
		}
		if _, err := r.Open(nil, ticket, append(bytes.Clone(additionalData), 0)); !errors.Is(err, ErrAuth) {
			t.Fatalf("Open with other additional data: %v, want ErrAuth", err)
		}
	})
}
