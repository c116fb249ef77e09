// Package testcert holds the certificates of the tests, the benchmarks and
// the QUIC demo: a test CA, a server certificate it signed for every name
// they dial (localhost, 127.0.0.1, ::1, a.example, b.example,
// tlsticket.test, quic.tlsticket.test) and a client certificate, ECDSA
// P-256, valid until 2126. They are files in testdata, made once by
// testdata/generate.sh with the openssl command, so that no test makes a
// certificate or sees one expire. Their private keys are public: nothing
// but a test may trust the CA.
package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"embed"
	"fmt"
	"sync"
)

//go:embed testdata/*.pem
var files embed.FS

// parsed holds the certificates, read once.
var parsed = sync.OnceValue(func() (c struct {
	server, client tls.Certificate
	roots          *x509.CertPool
}) {
	ca := read("ca.pem")
	c.roots = x509.NewCertPool()
	if !c.roots.AppendCertsFromPEM(ca) {
		panic("testcert: testdata/ca.pem holds no certificate")
	}
	c.server = pair("server", ca)
	c.client = pair("client", ca)
	return c
})

func read(name string) []byte {
	b, err := files.ReadFile("testdata/" + name)
	if err != nil {
		panic("testcert: " + err.Error())
	}
	return b
}

// pair returns the certificate name.pem with its key, followed in the
// chain by the CA certificate, as a server sends it.
func pair(name string, ca []byte) tls.Certificate {
	chain := append(read(name+".pem"), ca...)
	c, err := tls.X509KeyPair(chain, read(name+".key.pem"))
	if err != nil {
		panic(fmt.Sprintf("testcert: %s: %v", name, err))
	}
	return c
}

// Server returns the server certificate and its chain.
func Server() tls.Certificate { return parsed().server }

// Client returns the client certificate and its chain.
func Client() tls.Certificate { return parsed().client }

// Roots returns a new pool holding only the test CA, for RootCAs and
// ClientCAs.
func Roots() *x509.CertPool { return parsed().roots.Clone() }
