package seal

import "testing"

// FuzzParseAEAD checks that ParseAEAD, which reads operators' -aead flags
// and key files, never panics, returns 0 with an error, and accepts
// exactly the names String returns for the supported AEADs.
func FuzzParseAEAD(f *testing.F) {
	for _, a := range aeads {
		f.Add(a.String())
	}
	f.Add("aes-256-gcm")
	f.Add("AES-256-GCM ")
	f.Add("")
	f.Fuzz(func(t *testing.T, name string) {
		a, err := ParseAEAD(name)
		if err != nil {
			if a != 0 {
				t.Fatalf("ParseAEAD(%q) = %v, %v", name, a, err)
			}
			return
		}
		if !a.valid() || a.String() != name {
			t.Fatalf("ParseAEAD(%q) = %v, whose name is %q", name, a, a.String())
		}
	})
}

// TestAEADString pins the name of every AEAD, which operators write in
// -aead flags and key files, and the form of an unknown identifier.
func TestAEADString(t *testing.T) {
	want := map[AEAD]string{
		0:                 "AEAD(0)",
		AES128GCM:         "AES-128-GCM",
		AES256GCM:         "AES-256-GCM",
		ChaCha20Poly1305:  "ChaCha20-Poly1305",
		XChaCha20Poly1305: "XChaCha20-Poly1305",
		XAES256GCM:        "XAES-256-GCM",
		6:                 "AEAD(6)",
		255:               "AEAD(255)",
	}
	for a, name := range want {
		if got := a.String(); got != name {
			t.Errorf("AEAD(%d).String() = %q, want %q", uint8(a), got, name)
		}
	}
	if len(aeads) != 5 {
		t.Errorf("%d AEADs are supported; this test names 5", len(aeads))
	}
}
