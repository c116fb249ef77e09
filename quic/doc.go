// Package quic holds the tests, example and demo that run tlsticket under
// quic-go.
package quic
