package tlsadapter_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/internal/selfsigned"
	"github.com/tlsticket/tlsticket/seal"
)

// An HTTPS server whose session tickets are sealed and decided by tlsticket.
// In production, set the same tls.Config as http.Server.TLSConfig.
func Example_httpServer() {
	cert, roots, err := selfsigned.Server(time.Now(), "127.0.0.1")
	if err != nil {
		panic(err)
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}

	key, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		panic(err)
	}
	ring, err := seal.NewRing(nil, key)
	if err != nil {
		panic(err)
	}
	binding, err := tlsadapter.Binding(tlsConfig) // tickets stay with this certificate and client-auth setup
	if err != nil {
		panic(err)
	}
	e, err := engine.New(&engine.Config{Keys: seal.NewKeyring(ring), Binding: binding})
	if err != nil {
		panic(err)
	}
	tlsadapter.New(e).Install(tlsConfig)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))
	srv.TLS = tlsConfig
	srv.StartTLS()
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(8)},
		DisableKeepAlives: true, // a new connection per request, to show resumption
	}}
	for i := 0; i < 2; i++ {
		resp, err := client.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println("resumed:", resp.TLS.DidResume)
	}
	fmt.Println("resumed by the engine:", e.Metrics().Resumed["TLS1.3"])
	// Output:
	// resumed: false
	// resumed: true
	// resumed by the engine: 1
}
