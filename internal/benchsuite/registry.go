// Package benchsuite holds the benchmark bodies of tlsticket, so that the
// same code runs under `go test -bench` (package benchmarks) and under
// `ticketctl bench` (through [testing.Benchmark]).
//
// Every benchmark is a [Benchmark]: a benchstat-friendly name such as
// "Seal/AES128GCM/256" and a func(*testing.B). The first element of the
// name is its group; package benchmarks runs each group under one top-level
// BenchmarkX, so the full name under go test is "BenchmarkSeal/AES128GCM/256".
//
// # Groups
//
//   - Seal/<AEAD>/<size>, Open/<AEAD>/<size>: [seal.Ring] Seal and Open of a
//     state of size bytes, reusing the output buffer.
//   - RawAEAD/Seal|Open/<AEAD>/<size>: the bare cipher.AEAD on the same
//     plaintexts, with a fresh nonce from crypto/rand per seal: the floor.
//   - CryptoTLS/EncryptTicket|DecryptTicket/<size>: crypto/tls's own ticket
//     encryption of the same plaintexts (a real crypto/tls TLS 1.3 session
//     state, padded with SessionState.Extra to size bytes).
//   - Engine/Issue|Open/TLS12|TLS13: [engine.Engine] Issue (encode, gen_cb,
//     seal, NewSessionTicket) and Open (open, parse, dec_cb, decision) of a
//     256-byte state.
//   - RingSize/Open/<n>keys: Open under a ring of n keys, with the ticket
//     sealed by the oldest.
//   - Parallel/Seal, Parallel/Open: [seal.Keyring] Seal and Open from
//     GOMAXPROCS goroutines (b.RunParallel). Run with -cpu=1,2 to see the
//     speed-up.
//   - Handshakes/Resumed/Adapter|CryptoTLS/TLS12|TLS13: resumed handshakes
//     over loopback TCP, with tickets from [tlsadapter] or from crypto/tls.
//
// Benchmarks with a plaintext report its real length as the "state-bytes"
// metric; handshake benchmarks report "handshakes/s".
package benchsuite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tlsticket/tlsticket/format"
)

// A Benchmark is one entry of the suite.
type Benchmark struct {
	// Name is the benchmark's name without the "Benchmark" prefix, such as
	// "Seal/AES128GCM/256". Its first element is the group.
	Name string
	// F is the benchmark body.
	F func(b *testing.B)
	// Parallel reports whether F uses b.RunParallel, so that its speed-up
	// from 1 to GOMAXPROCS goroutines is meaningful.
	Parallel bool
}

// Group returns the first element of the benchmark's name.
func (bm Benchmark) Group() string {
	g, _, _ := strings.Cut(bm.Name, "/")
	return g
}

// Sub returns the benchmark's name without its group, as passed to b.Run
// under the group's top-level benchmark.
func (bm Benchmark) Sub() string {
	_, s, _ := strings.Cut(bm.Name, "/")
	return s
}

// Groups lists the benchmark groups in the order [All] returns them.
func Groups() []string {
	return []string{"Seal", "Open", "RawAEAD", "CryptoTLS", "Engine", "RingSize", "Parallel", "Handshakes"}
}

// Sizes are the state sizes, in bytes, of the Seal, Open, RawAEAD and
// CryptoTLS benchmarks.
func Sizes() []int { return []int{64, 256, 1024, 4096} }

// RingSizes are the key counts of the RingSize benchmarks.
func RingSizes() []int { return []int{1, 8, 48} }

// All returns every benchmark of the suite, grouped in the order of
// [Groups]. Each call returns a new slice.
func All() []Benchmark {
	var all []Benchmark
	add := func(name string, f func(*testing.B)) {
		all = append(all, Benchmark{Name: name, F: f})
	}
	for _, op := range []string{"Seal", "Open"} {
		for _, c := range aeads {
			for _, n := range Sizes() {
				add(fmt.Sprintf("%s/%s/%d", op, c.name(), n), ringBench(op, c.aead, n))
			}
		}
	}
	for _, op := range []string{"Seal", "Open"} {
		for _, c := range aeads {
			for _, n := range Sizes() {
				add(fmt.Sprintf("RawAEAD/%s/%s/%d", op, c.name(), n), rawBench(op, c, n))
			}
		}
	}
	for _, op := range []string{"EncryptTicket", "DecryptTicket"} {
		for _, n := range Sizes() {
			add(fmt.Sprintf("CryptoTLS/%s/%d", op, n), cryptoTLSBench(op, n))
		}
	}
	for _, op := range []string{"Issue", "Open"} {
		for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
			add("Engine/"+op+"/"+versionName(v), engineBench(op, v))
		}
	}
	for _, n := range RingSizes() {
		add(fmt.Sprintf("RingSize/Open/%dkeys", n), ringSizeBench(n))
	}
	for _, op := range []string{"Seal", "Open"} {
		all = append(all, Benchmark{Name: "Parallel/" + op, F: parallelBench(op), Parallel: true})
	}
	for _, stack := range []string{"Adapter", "CryptoTLS"} {
		for _, v := range []uint16{format.VersionTLS13, format.VersionTLS12} {
			add("Handshakes/Resumed/"+stack+"/"+versionName(v), handshakeBench(stack == "Adapter", v))
		}
	}
	return all
}

// Lookup returns the body of the benchmark named name.
func Lookup(name string) (func(*testing.B), bool) {
	for _, bm := range All() {
		if bm.Name == name {
			return bm.F, true
		}
	}
	return nil, false
}

// versionName returns "TLS12" or "TLS13".
func versionName(v uint16) string {
	if v == format.VersionTLS12 {
		return "TLS12"
	}
	return "TLS13"
}
