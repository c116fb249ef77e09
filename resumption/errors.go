package resumption

import "errors"

// Sentinel errors returned by this package. Callers compare them with
// [errors.Is].
var (
	// ErrUnsupportedHash is returned for a hash that is not the KDF hash of a
	// supported TLS 1.3 cipher suite (RFC 8446, Section B.4).
	ErrUnsupportedHash = errors.New("resumption: unsupported hash")

	// ErrLength is returned when a secret or a transcript hash is not
	// Hash.length bytes long (RFC 8446, Section 7.1).
	ErrLength = errors.New("resumption: length does not match Hash.length")

	// ErrInvalidTTL is returned by a [ReplayStore] asked to record a key for a
	// zero or negative duration (RFC 8446, Section 8.2).
	ErrInvalidTTL = errors.New("resumption: replay record ttl must be positive")
)
