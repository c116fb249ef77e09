package testcert

import (
	"crypto/x509"
	"testing"
	"time"
)

// TestCertificates checks that each certificate verifies under the CA for
// its names and use, today and in 2100, so that a regenerated file that
// drops a name or expires early fails here rather than in a handshake.
func TestCertificates(t *testing.T) {
	for _, at := range []time.Time{time.Now(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)} {
		for _, name := range []string{"localhost", "127.0.0.1", "::1", "a.example", "b.example", "tlsticket.test", "quic.tlsticket.test"} {
			verify(t, Server().Leaf, x509.VerifyOptions{DNSName: name, Roots: Roots(), CurrentTime: at})
		}
		verify(t, Client().Leaf, x509.VerifyOptions{DNSName: "client.tlsticket.test", Roots: Roots(), CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	}
	if n := len(Server().Certificate); n != 2 {
		t.Errorf("the server chain has %d certificates, want 2 (leaf and CA)", n)
	}
}

func verify(t *testing.T, leaf *x509.Certificate, opts x509.VerifyOptions) {
	t.Helper()
	if _, err := leaf.Verify(opts); err != nil {
		t.Errorf("%s for %q at %v: %v", leaf.Subject.CommonName, opts.DNSName, opts.CurrentTime.Format(time.DateOnly), err)
	}
}
