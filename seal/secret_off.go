//go:build !goexperiment.runtimesecret

package seal

// withSecret calls f. Built with GOEXPERIMENT=runtimesecret, it calls f
// through runtime/secret.Do instead; see secret_on.go.
func withSecret(f func()) { f() }
