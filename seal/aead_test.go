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
