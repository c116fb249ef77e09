package resumption

import "time"

// DefaultFreshnessWindow is the default tolerance between the time a
// ClientHello arrives and the time its ticket age says it should arrive,
// RFC 8446, Section 8.3 ("on the order of ten seconds").
const DefaultFreshnessWindow = 10 * time.Second

// TicketAge returns the client's view of the ticket age in milliseconds,
// RFC 8446, Section 4.2.11.1:
//
//	age = (obfuscated_ticket_age - ticket_age_add) mod 2^32
//
// The subtraction is uint32 arithmetic, modulo 2^32, so it is correct
// whatever the value of ticket_age_add. The result is the client's claim, not
// a verified fact: use [Fresh] to compare it with the server's clock.
func TicketAge(obfuscatedTicketAge, ticketAgeAdd uint32) uint32 {
	return obfuscatedTicketAge - ticketAgeAdd
}

// ObfuscateTicketAge returns obfuscated_ticket_age = (age in milliseconds +
// ticket_age_add) mod 2^32, RFC 8446, Section 4.2.11.1, as a client computes
// it. The age is truncated to whole milliseconds; a negative age counts as 0.
// Ages of 2^32 ms (about 49.7 days) or more wrap, but no valid ticket is that
// old (see format.MaxTicketLifetime).
func ObfuscateTicketAge(age time.Duration, ticketAgeAdd uint32) uint32 {
	ms := max(age.Milliseconds(), 0)
	return uint32(ms) + ticketAgeAdd
}

// ExpectedArrival returns expected_arrival_time = adjusted_creation_time +
// clients_ticket_age, RFC 8446, Section 8.3. created is the
// adjusted_creation_time: the time the server issued the ticket plus its
// estimate of the round-trip time, which it may store in the ticket.
// clientAgeMS is the output of [TicketAge].
func ExpectedArrival(created time.Time, clientAgeMS uint32) time.Time {
	return created.Add(time.Duration(clientAgeMS) * time.Millisecond)
}

// Fresh reports whether a ClientHello that arrives at now is fresh, RFC 8446,
// Section 8.3: whether |now - expected_arrival_time| <= window, with
// expected_arrival_time computed by [ExpectedArrival]. A server that finds a
// ClientHello not fresh rejects 0-RTT and goes on with the 1-RTT handshake
// (RFC 8446, Section 4.2.10).
//
// Fresh does not protect against replay inside the window, nor against a
// client clock that runs at a different rate: see the package documentation.
// A negative window is never satisfied.
func Fresh(created time.Time, clientAgeMS uint32, now time.Time, window time.Duration) bool {
	if window < 0 {
		return false
	}
	// time.Time.Sub saturates, so the comparison cannot overflow.
	d := now.Sub(ExpectedArrival(created, clientAgeMS))
	return -window <= d && d <= window
}

// ReplayTTL returns how long a replay record of a 0-RTT ClientHello accepted
// at now must be kept, RFC 8446, Section 8.2, so that no server whose clock
// is within skew of true time accepts the same ClientHello again:
//
//	ttl = expected_arrival_time + window + 2*skew - now
//
// The argument: let t be true time and c_m = t + d_m the clock of a fleet
// member m, with |d_m| <= skew. Let X be expectedArrival (the ticket's
// creation time by the issuer's clock plus the client's reported age, a
// value fixed by the ClientHello). Member m finds the ClientHello fresh
// ([Fresh]) iff |X - c_m| <= window, so no member finds it fresh once true
// time is past X + window + skew. The accepting server reads now = t_a + d_a,
// so the record must live until true time X + window + skew, that is for
// X + window + skew - t_a = X + window + skew + d_a - now, which is at most
// X + window + 2*skew - now. Stores measure the ttl as true elapsed time
// (Redis PX, or a clock that does not step). A server whose own wall clock
// steps back by at most 2*skew is covered by the same margin: it is the
// same ClientHello seen by the same server at two clock offsets.
//
// Without the 2*skew term, a member whose clock is behind the accepting
// server's accepts the ClientHello again after the record has expired. A
// negative skew counts as zero. Because the window is closed at both ends
// and stores drop a record at the end of its ttl, the result is one
// millisecond longer than the bound above (so it is also always a valid,
// positive ttl for a [ReplayStore]).
func ReplayTTL(expectedArrival, now time.Time, window, skew time.Duration) time.Duration {
	skew = max(skew, 0)
	// time.Time.Sub saturates; the additions are of durations a server
	// configures (seconds to minutes), far from overflow.
	return max(expectedArrival.Add(window).Add(2*skew).Sub(now), 0) + time.Millisecond
}
