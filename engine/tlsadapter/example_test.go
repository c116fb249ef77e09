package tlsadapter_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// An HTTPS server whose session tickets tlsticket seals, rotates and
// decides, and a client that resumes: the Quick start of the README, end to
// end, with public packages only. A real server loads its certificate with
// tls.LoadX509KeyPair; here one is made for 127.0.0.1.
func Example_httpsResumption() {
	cert, roots := selfSignedCert()
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}

	// Ticket keys generated in this process; call rot.Run to rotate them.
	rot, err := seal.NewRotator(seal.RotatorConfig{})
	if err != nil {
		log.Fatal(err)
	}
	binding, err := tlsadapter.Binding(tlsConfig)
	if err != nil {
		log.Fatal(err)
	}
	e, err := engine.New(&engine.Config{
		Keys:    rot.Keyring(),
		Binding: binding,
		DecryptTicket: func(t engine.TicketInfo) status.Return {
			return status.Default(t.Status) // OpenSSL's dec_cb
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	adapter := tlsadapter.New(e)
	adapter.OnDecision = func(cs tls.ConnectionState, d engine.Decision, err error) {
		fmt.Printf("ticket: status %v, return %v, resumed %v\n", d.Status, d.Return, d.Resumed)
	}
	adapter.Install(tlsConfig)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "resumed: %v\n", r.TLS.DidResume)
	}))
	srv.TLS = tlsConfig
	srv.StartTLS()
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(8)},
		DisableKeepAlives: true, // a new connection per request, to show resumption
	}}
	for range 2 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println("client resumed:", resp.TLS.DidResume)
	}
	// Output:
	// client resumed: false
	// ticket: status SuccessRenew, return UseRenew, resumed true
	// client resumed: true
}

// selfSignedCert returns a certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSignedCert() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
