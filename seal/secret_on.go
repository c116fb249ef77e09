//go:build goexperiment.runtimesecret

package seal

import "runtime/secret"

// withSecret calls f through [secret.Do], which erases the registers and
// stack f used when it returns, and the heap memory f allocated once the
// garbage collector finds it unreachable. Key derivation runs under it, so
// the cipher state of a Key (its expanded AES key or ChaCha20 key) is
// erased after the Key is dropped and collected, which nothing else in Go
// can do. runtime/secret exists only with GOEXPERIMENT=runtimesecret (Go
// 1.26) and erases only on linux/amd64 and linux/arm64.
func withSecret(f func()) { secret.Do(f) }
