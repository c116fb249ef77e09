package format

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkParseStateInto measures parsing a 256-byte TLS 1.3 session
// state in place, the parse of every engine Open.
func BenchmarkParseStateInto(b *testing.B) {
	s := State{
		Version: VersionTLS13, CipherSuite: 0x1301, Secret: bytes.Repeat([]byte{1}, 32),
		CreatedAt: time.UnixMilli(1_700_000_000_000), Lifetime: 7200, AgeAdd: 0x01020304,
		MaxEarlyData: 16384, ServerName: "example.com", ALPN: "h2", Binding: bytes.Repeat([]byte{7}, 32),
		AuthenticatedAt: time.UnixMilli(1_700_000_000_000),
	}
	enc, err := s.Append(nil)
	if err != nil {
		b.Fatal(err)
	}
	s.AppData = bytes.Repeat([]byte{'a'}, 256-len(enc))
	if enc, err = s.Append(nil); err != nil || len(enc) != 256 {
		b.Fatalf("%d bytes, %v", len(enc), err)
	}
	var st State
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := ParseStateInto(&st, enc); err != nil {
			b.Fatal(err)
		}
	}
}
