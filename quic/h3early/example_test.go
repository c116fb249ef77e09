package h3early_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/quic/h3early"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
	"github.com/tlsticket/tlsticket/seal"
)

// An HTTP/3 server of a fleet: tickets sealed under the fleet's key ring,
// each ticket's 0-RTT data accepted at most once across the fleet (a Redis
// replay store), and POST requests sent in 0-RTT answered 425 Too Early.
func Example() {
	var keys *seal.Keyring // the fleet's key ring, from a key file or keydist
	var cert tls.Certificate

	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	binding, err := tlsadapter.Binding(tlsConf)
	if err != nil {
		log.Fatal(err)
	}
	store, err := redisreplay.New(context.Background(), redis.NewClient(&redis.Options{Addr: "redis:6379"}), redisreplay.Options{})
	if err != nil {
		log.Fatal(err)
	}
	e, err := engine.New(&engine.Config{
		Keys:        keys,
		Binding:     binding,
		ReplayStore: store,
	})
	if err != nil {
		log.Fatal(err)
	}
	a := tlsadapter.New(e)
	a.EarlyDataContext = []byte("app v1") // change it when 0-RTT requests of old tickets would mean something else
	a.Install(tlsConf)                    // before http3 wraps the config

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello") // safe: may run in 0-RTT
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		// Never early: RejectUnsafe answered 425 to early POSTs.
	})
	srv := &http3.Server{
		Addr:        ":443",
		Handler:     h3early.Mark(h3early.RejectUnsafe(mux)),
		TLSConfig:   http3.ConfigureTLSConfig(tlsConf),
		QUICConfig:  &quic.Config{Allow0RTT: true},
		ConnContext: h3early.ConnContext,
	}
	log.Fatal(srv.ListenAndServe())
}
