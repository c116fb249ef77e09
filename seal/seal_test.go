package seal

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestAEAD(t *testing.T) {
	tests := []struct {
		a                        AEAD
		name                     string
		key, nonce, overhead, id int
	}{
		{AES128GCM, "AES-128-GCM", 16, 12, 16, 1},
		{AES256GCM, "AES-256-GCM", 32, 12, 16, 2},
		{ChaCha20Poly1305, "ChaCha20-Poly1305", 32, 12, 16, 3},
		{XChaCha20Poly1305, "XChaCha20-Poly1305", 32, 24, 16, 4},
		{XAES256GCM, "XAES-256-GCM", 32, 24, 16, 5},
		{AEAD(0), "AEAD(0)", 0, 0, 0, 0},
		{AEAD(6), "AEAD(6)", 0, 0, 0, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := int(tt.a); got != tt.id {
				t.Errorf("identifier = %d, want %d", got, tt.id)
			}
			if got := tt.a.KeySize(); got != tt.key {
				t.Errorf("KeySize() = %d, want %d", got, tt.key)
			}
			if got := tt.a.NonceSize(); got != tt.nonce {
				t.Errorf("NonceSize() = %d, want %d", got, tt.nonce)
			}
			if got := tt.a.Overhead(); got != tt.overhead {
				t.Errorf("Overhead() = %d, want %d", got, tt.overhead)
			}
			got, err := ParseAEAD(tt.name)
			if tt.a.valid() && (err != nil || got != tt.a) {
				t.Errorf("ParseAEAD(%q) = %v, %v, want %v", tt.name, got, err, tt.a)
			}
			if !tt.a.valid() && err == nil {
				t.Errorf("ParseAEAD(%q) = %v, want error", tt.name, got)
			}
		})
	}
	for _, name := range []string{"", "aes-128-gcm", "AES128GCM", "AES-128-GCM ", "ChaCha20Poly1305", "XAES256GCM", "xaes-256-gcm"} {
		if a, err := ParseAEAD(name); err == nil {
			t.Errorf("ParseAEAD(%q) = %v, want error", name, a)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			r := newTestRing(t, a, 2)
			for _, size := range []int{0, 1, 16, 255, 1024, 4096} {
				for _, ad := range [][]byte{nil, []byte("example.com:443"), make([]byte, 5000)} {
					pt := testPlaintext(t, size)
					ticket := mustSeal(t, r, pt, ad)
					if got, want := len(ticket), size+tagOverhead(a); got != want {
						t.Errorf("len(ticket) = %d, want %d", got, want)
					}
					got, err := r.Open(nil, ticket, ad)
					if err != nil {
						t.Fatalf("Open(size %d, ad %d bytes): %v", size, len(ad), err)
					}
					if !bytes.Equal(got, pt) {
						t.Errorf("Open = %x, want %x", got, pt)
					}
					checkOpenFails(t, r, ticket, append(bytes.Clone(ad), 0), ErrAuth)
					if len(ad) > 0 {
						checkOpenFails(t, r, ticket, nil, ErrAuth)
						wrong := bytes.Clone(ad)
						wrong[0] ^= 1
						checkOpenFails(t, r, ticket, wrong, ErrAuth)
					} else {
						checkOpenFails(t, r, ticket, []byte("x"), ErrAuth)
					}
				}
			}
		})
	}
}

// TestAEADAPI runs the circl-style append, reuse, parallel and
// clears-on-failure subtests for every AEAD.
func TestAEADAPI(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			t.Run("append", func(t *testing.T) { testAppend(t, a) })
			t.Run("reuse", func(t *testing.T) { testReuse(t, a) })
			t.Run("parallel", func(t *testing.T) { testParallel(t, a) })
			t.Run("clears-on-failure", func(t *testing.T) { testClearsOnFailure(t, a) })
		})
	}
}

func testAppend(t *testing.T, a AEAD) {
	r := newTestRing(t, a, 1)
	pt := testPlaintext(t, 100)
	ad := []byte("ad")
	prefix := []byte("prefix:")
	for _, extra := range []int{0, 1, 500} {
		dst := make([]byte, len(prefix), len(prefix)+extra)
		copy(dst, prefix)
		ticket, err := r.Seal(dst, pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dst, prefix) || !bytes.Equal(ticket[:len(prefix)], prefix) {
			t.Fatalf("Seal changed the dst prefix: got %x, want %x", ticket[:len(prefix)], prefix)
		}
		if got, want := len(ticket), len(prefix)+len(pt)+tagOverhead(a); got != want {
			t.Errorf("len = %d, want %d", got, want)
		}
		sealed := ticket[len(prefix):]
		odst := make([]byte, len(prefix), len(prefix)+extra)
		copy(odst, prefix)
		got, err := r.Open(odst, sealed, ad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(odst, prefix) {
			t.Errorf("Open changed the dst prefix: got %x, want %x", got[:len(prefix)], prefix)
		}
		if !bytes.Equal(got[len(prefix):], pt) {
			t.Errorf("Open = %x, want %x", got[len(prefix):], pt)
		}
	}
}

func testReuse(t *testing.T, a AEAD) {
	r := newTestRing(t, a, 1)
	tbuf := make([]byte, 0, 4096)
	pbuf := make([]byte, 0, 4096)
	for i := range 10 {
		pt := testPlaintext(t, 50*i)
		ticket, err := r.Seal(tbuf[:0], pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Open(pbuf[:0], ticket, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %x, want %x", got, pt)
		}
		if &ticket[:1][0] != &tbuf[:1][0] || (len(got) > 0 && &got[0] != &pbuf[:1][0]) {
			t.Fatalf("Seal or Open did not reuse dst")
		}
	}
}

func testParallel(t *testing.T, a AEAD) {
	const (
		workers    = 8
		iterations = 2000
		keep       = 2
	)
	kr := NewKeyring(newTestRing(t, a, 1))
	var done atomic.Bool
	var rotations atomic.Int64
	var rotator sync.WaitGroup
	rotator.Go(func() {
		for !done.Load() {
			k, err := GenerateKey(a, nil)
			if err != nil {
				t.Error(err)
				return
			}
			next, err := kr.Load().Rotate(k, keep)
			if err != nil {
				t.Error(err)
				return
			}
			kr.Store(next)
			rotations.Add(1)
			runtime.Gosched()
		}
	})
	var opened, dropped atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ad := []byte{byte(w)}
			var tbuf, pbuf []byte
			for i := range iterations {
				pt := []byte(fmt.Sprintf("worker %d ticket %d", w, i))
				ticket, err := kr.Seal(tbuf[:0], pt, ad)
				if err != nil {
					t.Error(err)
					return
				}
				tbuf = ticket
				got, o, err := kr.OpenKey(pbuf[:0], ticket, ad)
				if errors.Is(err, ErrUnknownKey) {
					// Keys never come back, so a key unknown then is
					// still unknown now.
					if _, ok := kr.Load().Lookup(o.Name); ok {
						t.Errorf("OpenKey = ErrUnknownKey for key %v still in the ring", o.Name)
						return
					}
					dropped.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("OpenKey: %v", err)
					return
				}
				if !bytes.Equal(got, pt) {
					t.Errorf("OpenKey = %x, want %x", got, pt)
					return
				}
				if !bytes.Equal(o.Name[:], ticket[2:HeaderSize]) {
					t.Errorf("Opened.Name = %x, want %x", o.Name, ticket[2:HeaderSize])
				}
				pbuf = got
				opened.Add(1)
				if i%16 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	rotator.Wait()
	if opened.Load() == 0 || rotations.Load() == 0 {
		t.Errorf("%d tickets opened, %d rotations: want both > 0", opened.Load(), rotations.Load())
	}
	t.Logf("%d rotations; %d tickets opened, %d sealed by a key dropped before opening",
		rotations.Load(), opened.Load(), dropped.Load())
}

func testClearsOnFailure(t *testing.T, a AEAD) {
	r := newTestRing(t, a, 1)
	pt := bytes.Repeat([]byte{0x5a}, 64)
	ticket := mustSeal(t, r, pt, nil)
	ticket[len(ticket)-1] ^= 1

	const canary = 0xaa
	dst := bytes.Repeat([]byte{canary}, 3+len(pt)+10)[:3]
	got, err := r.Open(dst, ticket, nil)
	if got != nil || !errors.Is(err, ErrAuth) {
		t.Fatalf("Open = %x, %v, want nil, ErrAuth", got, err)
	}
	spare := dst[:cap(dst)]
	if want := bytes.Repeat([]byte{canary}, 3); !bytes.Equal(spare[:3], want) {
		t.Errorf("dst prefix = %x, want %x", spare[:3], want)
	}
	if want := make([]byte, len(pt)); !bytes.Equal(spare[3:3+len(pt)], want) {
		t.Errorf("written spare capacity = %x, want %x", spare[3:3+len(pt)], want)
	}
	if want := bytes.Repeat([]byte{canary}, 10); !bytes.Equal(spare[3+len(pt):], want) {
		t.Errorf("unwritten spare capacity = %x, want %x", spare[3+len(pt):], want)
	}

	// In place: the ticket itself is the spare capacity.
	inPlace := bytes.Clone(ticket)
	if got, err := r.Open(inPlace[:0], inPlace, nil); got != nil || !errors.Is(err, ErrAuth) {
		t.Fatalf("Open in place = %x, %v, want nil, ErrAuth", got, err)
	}
	if bytes.Contains(inPlace, pt[:8]) {
		t.Errorf("in-place failure left plaintext in the ticket: %x", inPlace)
	}

	// A failed Seal clears the header and nonce it wrote.
	fr, err := NewRing(failReader{}, r.Primary())
	if err != nil {
		t.Fatal(err)
	}
	sdst := bytes.Repeat([]byte{canary}, 200)[:0]
	if got, err := fr.Seal(sdst, pt, nil); got != nil || !errors.Is(err, errRandFailed) {
		t.Fatalf("Seal with failing rand = %x, %v, want nil, %v", got, err, errRandFailed)
	}
	n := HeaderSize + a.NonceSize()
	if want := make([]byte, n); !bytes.Equal(sdst[:n], want) {
		t.Errorf("spare capacity after failed Seal = %x, want %x", sdst[:n], want)
	}
}

func TestOpenInPlace(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			r := newTestRing(t, a, 1)
			for _, ad := range [][]byte{nil, []byte("ad")} {
				pt := testPlaintext(t, 300)
				ticket := mustSeal(t, r, pt, ad)
				got, err := r.Open(ticket[:0], ticket, ad)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, pt) {
					t.Errorf("Open in place = %x, want %x", got, pt)
				}
			}
		})
	}
}

func TestTamper(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			keys := generateKeys(t, a, 2)
			r, err := NewRing(nil, keys[0], keys[1])
			if err != nil {
				t.Fatal(err)
			}
			other, err := NewRing(nil, keys[1])
			if err != nil {
				t.Fatal(err)
			}
			pt := testPlaintext(t, 40)
			ad := []byte("ad")
			ticket := mustSeal(t, r, pt, ad)

			t.Run("bit-flip", func(t *testing.T) {
				for i := range len(ticket) * 8 {
					b := bytes.Clone(ticket)
					b[i/8] ^= 1 << (i % 8)
					checkOpenFails(t, r, b, ad, nil)
				}
			})
			t.Run("truncate", func(t *testing.T) {
				for n := range len(ticket) {
					checkOpenFails(t, r, ticket[:n], ad, nil)
				}
			})
			t.Run("extend", func(t *testing.T) {
				for _, c := range []byte{0, 1, 0xff} {
					checkOpenFails(t, r, append(bytes.Clone(ticket), c), ad, ErrAuth)
				}
			})
			t.Run("key-name-swap", func(t *testing.T) {
				b := bytes.Clone(ticket)
				name := keys[1].Name()
				copy(b[2:HeaderSize], name[:])
				checkOpenFails(t, r, b, ad, ErrAuth)
				_, o, _ := r.OpenKey(nil, b, ad)
				if !o.Known || o.Primary || o.Name != name {
					t.Errorf("Opened = %+v, want known decrypt-only %v", o, name)
				}
			})
			t.Run("nonce-copy", func(t *testing.T) {
				ticket2 := mustSeal(t, r, pt, ad)
				n := a.NonceSize()
				b := bytes.Clone(ticket)
				copy(b[HeaderSize:HeaderSize+n], ticket2[HeaderSize:HeaderSize+n])
				if bytes.Equal(b, ticket) {
					t.Fatal("two tickets got the same nonce")
				}
				checkOpenFails(t, r, b, ad, ErrAuth)
			})
			t.Run("other-ring", func(t *testing.T) {
				checkOpenFails(t, other, ticket, ad, ErrUnknownKey)
			})
		})
	}
}

func TestOpenMalformed(t *testing.T) {
	r := newTestRing(t, AES128GCM, 1)
	// Long enough for a 24-byte nonce, so that relabelling the AEAD
	// reaches authentication.
	ticket := mustSeal(t, r, []byte("a session state of 32 bytes....."), nil)
	name := r.Primary().Name()
	aesKey := r.Primary()
	chachaRing := newTestRing(t, ChaCha20Poly1305, 1)
	// A ChaCha20-Poly1305 ticket relabelled with the AES key's name.
	relabelled := mustSeal(t, chachaRing, []byte("state"), nil)
	copy(relabelled[2:HeaderSize], name[:])

	set := func(b []byte, i int, v byte) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return b
	}
	tests := []struct {
		name        string
		ticket      []byte
		want        error
		nameSet     bool
		known       bool
		primaryWant bool
	}{
		{"empty", nil, ErrMalformed, false, false, false},
		{"version-only", []byte{1}, ErrMalformed, false, false, false},
		{"header-minus-one", ticket[:HeaderSize-1], ErrMalformed, false, false, false},
		{"version-0", set(ticket, 0, 0), ErrMalformed, false, false, false},
		{"version-2", set(ticket, 0, 2), ErrMalformed, false, false, false},
		{"aead-0", set(ticket, 1, 0), ErrMalformed, false, false, false},
		{"aead-6", set(ticket, 1, 6), ErrMalformed, false, false, false},
		{"header-only", ticket[:HeaderSize], ErrMalformed, false, false, false},
		{"shorter-than-tag", ticket[:HeaderSize+12+15], ErrMalformed, false, false, false},
		{"tag-only", ticket[:HeaderSize+12+16], ErrAuth, true, true, true},
		{"too-long", append(bytes.Clone(ticket), make([]byte, maxTicketSize)...), ErrMalformed, false, false, false},
		{"aead-mismatch", set(ticket, 1, byte(AES256GCM)), ErrAuth, true, true, true},
		{"aead-mismatch-xchacha", set(ticket, 1, byte(XChaCha20Poly1305)), ErrAuth, true, true, true},
		{"aead-mismatch-xaes", set(ticket, 1, byte(XAES256GCM)), ErrAuth, true, true, true},
		{"chacha-ticket-aes-name", relabelled, ErrAuth, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, o, err := r.OpenKey(nil, tt.ticket, nil)
			if got != nil || !errors.Is(err, tt.want) {
				t.Fatalf("OpenKey = %x, %v, want nil, %v", got, err, tt.want)
			}
			var wantName KeyName
			if tt.nameSet {
				wantName = aesKey.Name()
			}
			if o.Name != wantName || o.Known != tt.known || o.Primary != tt.primaryWant {
				t.Errorf("Opened = {Name: %x, Known: %v, Primary: %v}, want {Name: %x, Known: %v, Primary: %v}",
					o.Name, o.Known, o.Primary, wantName, tt.known, tt.primaryWant)
			}
		})
	}
}

func TestSealTooLarge(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			r := newTestRing(t, a, 1)
			largest := maxTicketSize - tagOverhead(a)
			ticket, err := r.Seal(nil, make([]byte, largest), nil)
			if err != nil {
				t.Fatalf("Seal(%d bytes): %v", largest, err)
			}
			if len(ticket) != maxTicketSize {
				t.Errorf("len(ticket) = %d, want %d", len(ticket), maxTicketSize)
			}
			if _, err := r.Open(nil, ticket, nil); err != nil {
				t.Errorf("Open of the largest ticket: %v", err)
			}
			for _, n := range []int{largest + 1, maxTicketSize, 1 << 20} {
				dst := []byte("prefix")
				if got, err := r.Seal(dst, make([]byte, n), nil); err == nil || got != nil {
					t.Errorf("Seal(%d bytes) = %d bytes, %v, want nil, error", n, len(got), err)
				}
			}
		})
	}
}

func TestOpened(t *testing.T) {
	keys := generateKeys(t, AES256GCM, 3)
	r, err := NewRing(nil, keys[0], keys[1])
	if err != nil {
		t.Fatal(err)
	}
	ticket0 := mustSeal(t, r, []byte("zero"), nil)
	r1, err := NewRing(nil, keys[1])
	if err != nil {
		t.Fatal(err)
	}
	ticket1 := mustSeal(t, r1, []byte("one"), nil)

	checkOpened := func(t *testing.T, r *Ring, ticket []byte, want Opened, wantErr error) {
		t.Helper()
		_, o, err := r.OpenKey(nil, ticket, nil)
		if !errors.Is(err, wantErr) {
			t.Errorf("OpenKey error = %v, want %v", err, wantErr)
		}
		if o != want {
			t.Errorf("Opened = %+v, want %+v", o, want)
		}
	}
	checkOpened(t, r, ticket0, Opened{Name: keys[0].Name(), Primary: true, Known: true}, nil)
	checkOpened(t, r, ticket1, Opened{Name: keys[1].Name(), Primary: false, Known: true}, nil)

	// Rotate to keys[2] keeping one old key: keys[0] becomes decrypt-only
	// and keys[1] is dropped.
	r2, err := r.Rotate(keys[2], 1)
	if err != nil {
		t.Fatal(err)
	}
	checkOpened(t, r2, ticket0, Opened{Name: keys[0].Name(), Primary: false, Known: true}, nil)
	checkOpened(t, r2, ticket1, Opened{Name: keys[1].Name()}, ErrUnknownKey)
	// r is unchanged.
	checkOpened(t, r, ticket0, Opened{Name: keys[0].Name(), Primary: true, Known: true}, nil)
	checkOpened(t, r, ticket1, Opened{Name: keys[1].Name(), Primary: false, Known: true}, nil)

	r3, err := r2.Rotate(keys[1], 0)
	if err != nil {
		t.Fatal(err)
	}
	checkOpened(t, r3, ticket0, Opened{Name: keys[0].Name()}, ErrUnknownKey)
	checkOpened(t, r3, ticket1, Opened{Name: keys[1].Name(), Primary: true, Known: true}, nil)
}

func TestRotate(t *testing.T) {
	keys := generateKeys(t, AES128GCM, 6)
	names := func(ks []*Key) string {
		var s string
		for _, k := range ks {
			for i, kk := range keys {
				if k == kk {
					s += fmt.Sprint(i)
				}
			}
		}
		return s
	}
	base, err := NewRing(nil, keys[0], keys[1], keys[2])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		newPrimary *Key
		keep       int
		want       string
	}{
		{"keep-0", keys[5], 0, "5"},
		{"keep-1", keys[5], 1, "50"},
		{"keep-2", keys[5], 2, "501"},
		{"keep-3", keys[5], 3, "5012"},
		{"keep-more", keys[5], 100, "5012"},
		{"promote-decrypt-only", keys[2], 2, "201"},
		{"promote-primary", keys[0], 1, "01"},
		{"promote-keep-0", keys[1], 0, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := base.Rotate(tt.newPrimary, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			if s := names(got.Keys()); s != tt.want {
				t.Errorf("Rotate keys = %s, want %s", s, tt.want)
			}
			if got.Primary() != tt.newPrimary {
				t.Errorf("Primary() = %v, want %v", got.Primary(), tt.newPrimary)
			}
			for _, k := range got.Keys() {
				if kk, ok := got.Lookup(k.Name()); !ok || kk != k {
					t.Errorf("Lookup(%v) = %v, %v, want %v", k.Name(), kk, ok, k)
				}
			}
			if s := names(base.Keys()); s != "012" {
				t.Errorf("Rotate changed the old ring: keys = %s, want 012", s)
			}
		})
	}
	if _, err := base.Rotate(nil, 1); !errors.Is(err, ErrNoPrimaryKey) {
		t.Errorf("Rotate(nil) error = %v, want ErrNoPrimaryKey", err)
	}
	// The same secret under another AEAD has the same name.
	secret := bytes.Repeat([]byte{1, 2}, 8)
	k128, err := NewKey(AES128GCM, secret)
	if err != nil {
		t.Fatal(err)
	}
	k256, err := NewKey(ChaCha20Poly1305, append(bytes.Clone(secret), secret...))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRing(nil, k128)
	if err != nil {
		t.Fatal(err)
	}
	if k128.Name() == k256.Name() {
		t.Fatal("test secrets share a name")
	}
	if _, err := r.Rotate(k256, 1); err != nil {
		t.Errorf("Rotate: %v", err)
	}
}

func TestRingImmutable(t *testing.T) {
	keys := generateKeys(t, AES128GCM, 3)
	decryptOnly := []*Key{keys[1], keys[2]}
	r, err := NewRing(nil, keys[0], decryptOnly...)
	if err != nil {
		t.Fatal(err)
	}
	ticket := mustSeal(t, r, []byte("x"), nil)
	decryptOnly[0], decryptOnly[1] = keys[0], keys[0]
	ks := r.Keys()
	ks[0], ks[1], ks[2] = nil, nil, nil
	got := r.Keys()
	if len(got) != 3 || got[0] != keys[0] || got[1] != keys[1] || got[2] != keys[2] {
		t.Errorf("Keys() = %v, want %v", got, keys)
	}
	if _, err := r.Open(nil, ticket, nil); err != nil {
		t.Errorf("Open: %v", err)
	}
}

func TestZeroRing(t *testing.T) {
	var r Ring
	if r.Primary() != nil || len(r.Keys()) != 0 {
		t.Errorf("zero Ring has keys: %v", r.Keys())
	}
	ticket := mustSeal(t, newTestRing(t, AES128GCM, 1), []byte("x"), nil)
	checkOpenFails(t, &r, ticket, nil, ErrUnknownKey)
	if _, ok := r.Lookup(KeyName{}); ok {
		t.Errorf("zero Ring Lookup found a key")
	}
}

// TestSealInPlace: a plaintext in Seal's spare capacity, at the ciphertext
// offset or anywhere else in the ticket's room, with or without additional
// data in the capacity past it, is sealed into a ticket that opens to it;
// sealed in place, it allocates nothing and the ciphertext replaces it.
func TestSealInPlace(t *testing.T) {
	for _, a := range []AEAD{AES256GCM, XChaCha20Poly1305} {
		r := newTestRing(t, a, 1)
		want := bytes.Repeat([]byte("plaintext "), 20)
		off := r.CiphertextOffset()
		if off != HeaderSize+a.NonceSize() {
			t.Fatalf("%v: CiphertextOffset() = %d", a, off)
		}
		// at is relative to the ticket's start; -2 starts the plaintext in
		// dst's own bytes.
		for _, at := range []int{off, 0, 5, off + 7, off - 3, r.SealedSize(len(want)) - len(want), -2} {
			for _, withAD := range []bool{false, true} {
				buf := make([]byte, 3, 3+r.SealedSize(len(want))+64)
				room := buf[:cap(buf)][3+at:]
				pt := room[:copy(room, want)]
				room = buf[3:cap(buf)]
				var ad []byte
				if withAD {
					ad = room[len(room)-16:] // in the spare capacity, past the ticket
					copy(ad, "additional data!")
				}
				ticket, err := r.Seal(buf, pt, ad)
				if err != nil {
					t.Fatalf("%v at %d: %v", a, at, err)
				}
				if &ticket[0] != &buf[0] || len(ticket) != 3+r.SealedSize(len(want)) {
					t.Fatalf("%v at %d: the ticket is not in dst", a, at)
				}
				got, err := r.Open(nil, ticket[3:], ad)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%v at %d (ad %v): Open = %q, %v", a, at, withAD, got, err)
				}
			}
		}
		// In place, the ciphertext is written over the plaintext.
		buf := make([]byte, 0, r.SealedSize(len(want)))
		pt := buf[off : off+copy(buf[off:cap(buf)], want)]
		if n := testing.AllocsPerRun(10, func() {
			copy(pt, want)
			r.Seal(buf, pt, nil)
		}); n != 0 {
			t.Errorf("%v: in-place Seal allocated %v times", a, n)
		}
		if bytes.Equal(pt, want) {
			t.Errorf("%v: the plaintext is still there after an in-place Seal", a)
		}
	}
}

func TestPanics(t *testing.T) {
	r := newTestRing(t, AES128GCM, 1)
	buf := make([]byte, 1024)
	sealed := mustSeal(t, r, buf[:100], nil)
	tests := []struct {
		name string
		want string
		f    func()
	}{
		{"Keyring.Store-nil", "seal: internal error: nil ring", func() { NewKeyring(r).Store(nil) }},
		{"NewKeyring-nil", "seal: internal error: nil ring", func() { NewKeyring(nil) }},
		{"Rotate-negative-keep", "seal: internal error: Rotate called with negative keep", func() {
			r.Rotate(r.Primary(), -1)
		}},
		{"Seal-zero-Ring", "seal: internal error: Seal called on a Ring not made by NewRing", func() {
			new(Ring).Seal(nil, nil, nil)
		}},
		{"Seal-nil-Ring", "seal: internal error: Seal called on a Ring not made by NewRing", func() {
			(*Ring)(nil).Seal(nil, nil, nil)
		}},
		{"Seal-zero-Keyring", "seal: internal error: Seal called on a Ring not made by NewRing", func() {
			new(Keyring).Seal(nil, nil, nil)
		}},
		{"Open-nil-Ring", "seal: internal error: Open called on a nil Ring", func() {
			(*Ring)(nil).Open(nil, sealed, nil)
		}},
		{"Open-zero-Keyring", "seal: internal error: Open called on a nil Ring", func() {
			new(Keyring).OpenKey(nil, sealed, nil)
		}},
		{"Open-overlap", "seal: internal error: Open output overlaps ticket", func() {
			b := make([]byte, 1024)
			ticket := b[10 : 10+copy(b[10:], sealed)]
			r.Open(b[:5], ticket, nil)
		}},
		{"newCipher-unknown", "seal: internal error: newCipher called with unknown AEAD", func() {
			newCipher(AEAD(9), make([]byte, 32))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPanics(t, tt.want, tt.f)
		})
	}
}

// TestRingMaxKeys checks the bound of the constant-time name index.
func TestRingMaxKeys(t *testing.T) {
	k, err := GenerateKey(AES128GCM, nil)
	if err != nil {
		t.Fatal(err)
	}
	many := make([]*Key, MaxRingKeys)
	for i := range many {
		many[i] = k
	}
	if _, err := NewRing(nil, k, many...); err == nil {
		t.Fatalf("NewRing accepted %d keys", 1+len(many))
	}
}

// TestRingLookupSharedBucket opens tickets of keys whose names share a
// first byte, which the name index buckets together.
func TestRingLookupSharedBucket(t *testing.T) {
	byFirst := map[byte][]*Key{}
	var pair []*Key
	for i := 0; pair == nil; i++ {
		secret := make([]byte, 16)
		secret[0], secret[1], secret[2] = byte(i), byte(i>>8), 1
		k, err := NewKey(AES128GCM, secret)
		if err != nil {
			t.Fatal(err)
		}
		n := k.Name()
		byFirst[n[0]] = append(byFirst[n[0]], k)
		if len(byFirst[n[0]]) == 2 {
			pair = byFirst[n[0]]
		}
	}
	r, err := NewRing(nil, pair[0], pair[1])
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range pair {
		one, err := NewRing(nil, k)
		if err != nil {
			t.Fatal(err)
		}
		ticket, err := one.Seal(nil, []byte("state"), nil)
		if err != nil {
			t.Fatal(err)
		}
		pt, o, err := r.OpenKey(nil, ticket, nil)
		if err != nil || string(pt) != "state" || o.Primary != (i == 0) {
			t.Errorf("key %d: %q primary %v err %v", i, pt, o.Primary, err)
		}
	}
}
