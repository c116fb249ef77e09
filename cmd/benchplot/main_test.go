package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `BenchmarkSeal/AES128GCM/256-2         	 1306356	       183.8 ns/op	1392.94 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkSeal/AES128GCM/1024-2        	  754945	       325.1 ns/op	3149.86 MB/s	      1024 state-bytes	       0 B/op	       0 allocs/op
BenchmarkCryptoTLS/EncryptTicket/256-2	   90747	      2424 ns/op	 105.61 MB/s	       256.0 state-bytes	    2800 B/op	      20 allocs/op
`

func TestBenchplot(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p.png")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-o", out, "-md"}, strings.NewReader(sample), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "| Seal/AES128GCM/256-2 | 184 |") {
		t.Errorf("markdown:\n%s", stdout.String())
	}
}

func TestBenchplotNoResults(t *testing.T) {
	var stdout, stderr bytes.Buffer
	out := filepath.Join(t.TempDir(), "p.png")
	if code := run([]string{"-o", out}, strings.NewReader("PASS\n"), &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}
