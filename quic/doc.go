// Package quic is the root of the nested module that runs tlsticket under
// quic-go (github.com/quic-go/quic-go), kept apart so that the core module
// pulls no QUIC dependency.
//
// The glue itself is the crypto/tls adapter, engine/tlsadapter: install it
// on the tls.Config given to quic-go, with an engine that has a replay
// store, and quic-go accepts each ticket's 0-RTT data at most once across
// the servers sharing the store. This module holds what needs quic-go: the
// tests that run real quic-go servers and clients on loopback (resumption,
// 0-RTT, a replayed first flight, replicas on one Redis store, Redis down,
// changed transport parameters, the early-data context), the HTTP/3 helper
// [github.com/tlsticket/tlsticket/quic/h3early], the benchmark, and the
// demo (cmd/quicdemo).
package quic
