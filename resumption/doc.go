// Package resumption implements the TLS 1.3 session resumption arithmetic of
// RFC 8446: the PSK part of the key schedule, ticket age and freshness, and
// 0-RTT anti-replay.
//
// # Key schedule
//
// The types follow the order of RFC 8446, Section 7.1, so that a value can
// only be derived from the one before it:
//
//	ResumptionMasterSecret -> PSK(ticket_nonce) -> EarlySecret -> BinderKey
//
// A server that issued a ticket stores the [PSK] (RFC 8446, Section 4.6.1) in
// it. When the ticket comes back in a pre_shared_key extension (RFC 8446,
// Section 4.2.11), the server rebuilds the PSK with [NewPSK] and checks the
// binder with [BinderKey.VerifyBinder] before it accepts the PSK.
//
// The TLS 1.3 cipher suites TLS_AES_128_GCM_SHA256,
// TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256 are supported
// (RFC 8446, Section B.4); see [HashForSuite].
//
// # Ticket age and freshness
//
// [TicketAge], [ExpectedArrival] and [Fresh] implement RFC 8446,
// Sections 4.2.11.1 and 8.3. Ages are uint32 milliseconds and all age
// arithmetic is modulo 2^32.
//
// # Anti-replay
//
// [ReplayStore] records validated binders of accepted 0-RTT ClientHellos
// (RFC 8446, Section 8.2) and single-use tickets (RFC 8446, Section 8.1,
// through [UseOnce]). [ReplayTTL] says how long a 0-RTT record must live
// for a fleet whose clocks are within a given skew of true time.
// [MemoryStore] serves one server instance; the redisreplay subpackage
// shares the record across a fleet; the replaytest subpackage holds the
// contract tests every store passes. Importing this package pulls in no
// Redis client.
//
// # What is not protected
//
// Freshness alone does not stop a replay that arrives inside the freshness
// window: only a [ReplayStore] does, and only within the zone that shares it
// (RFC 8446, Sections 8.2 and 8.3). A server clock off by more than the
// skew given to [ReplayTTL] can accept a replay after its record expired.
// Clock skew between the client and the server, and a network delay that
// differs from the estimated RTT, widen or shift the window; a client whose clock runs fast or slow by more than the
// window loses 0-RTT but keeps 1-RTT. The checks run once, at ClientHello
// time. Data that must not be replayed at all must not be sent as early data
// (RFC 8446, Section 8, and Appendix E.5).
package resumption
