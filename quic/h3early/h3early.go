// Package h3early marks HTTP/3 requests that a quic-go http3 server handles
// before the QUIC handshake completed, that is requests sent in 0-RTT data,
// with the Early-Data header of RFC 8470, so that handlers can refuse
// non-idempotent requests a network attacker could replay.
//
// # Which requests are early
//
// A request is early when its handler starts before the connection's
// handshake is complete. Such a request came, at least partly, in 0-RTT
// data, and may be a replay: a replayed first flight never completes the
// handshake. Once the handshake is complete the client has proved it holds
// the session's keys on this connection, so a request handled from then on
// is not a replay, even if some of its bytes came in 0-RTT (RFC 8470,
// Section 5.1 lets a server wait for the handshake instead of refusing).
//
// The engine's adapter (engine/tlsadapter) already lets quic-go accept a
// ticket's 0-RTT data at most once across the servers sharing a replay
// store; this package is the application's own defence in depth, and the
// only one for requests whose effects must not happen twice even if the
// store loses a record.
package h3early

import (
	"context"
	"net/http"

	"github.com/quic-go/quic-go"
)

// Header is the request header of RFC 8470, Section 5.1, set to "1" on
// early requests.
const Header = "Early-Data"

type connKey struct{}

// ConnContext is an http3.Server.ConnContext that keeps the QUIC connection
// in the connection's context, for [Mark].
func ConnContext(ctx context.Context, c *quic.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// Mark returns a handler that sets "Early-Data: 1" on every request handled
// before the connection's handshake completed, removes the header from
// every other request, so that the header is this server's verdict only,
// and calls h. The server must set ConnContext; without it every request is
// marked early (fail safe).
func Mark(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if early(r) {
			r.Header.Set(Header, "1")
		} else {
			r.Header.Del(Header)
		}
		h.ServeHTTP(w, r)
	})
}

func early(r *http.Request) bool {
	c, ok := r.Context().Value(connKey{}).(*quic.Conn)
	if !ok {
		return true
	}
	select {
	case <-c.HandshakeComplete():
		return false
	default:
		return true
	}
}

// IsEarly reports whether r carries "Early-Data: 1" (RFC 8470, Section 5.1).
func IsEarly(r *http.Request) bool {
	return r.Header.Get(Header) == "1"
}

// RejectUnsafe returns a handler that answers 425 Too Early (RFC 8470,
// Section 5.2) to early requests whose method is not safe (RFC 9110,
// Section 9.2.1: GET, HEAD, OPTIONS, TRACE), and passes every other request
// to h. A client that gets 425 retries after the handshake. Wrap it in
// [Mark].
func RejectUnsafe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsEarly(r) && !safe(r.Method) {
			http.Error(w, "request sent in 0-RTT data: retry after the handshake", http.StatusTooEarly)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func safe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
