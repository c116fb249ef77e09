// Package keydist distributes ticket key schedules to the members of a
// fleet, sealed to each member with HPKE (RFC 9180) and signed by the
// fleet's publisher.
//
// A publisher holds the fleet's key schedule (the secrets and [seal.Phases]
// of its keys, as in a key file) and, for each publication, a new epoch. It
// seals a [Bundle] (fleet name, epoch, keys) to each member's
// [MemberPublicKey] with [Seal] and stores the result anywhere the member
// can read: a file, an object store, Redis (package rediskeys). The member
// opens it with its [MemberKey] and installs the keys with a [Member], the
// key source of the [seal.Rotator] that keeps the server's [seal.Keyring]
// current as the keys move through their phases.
//
// # Cryptography
//
// Version 1 of the sealed bundle fixes every algorithm:
//
//   - HPKE base mode (RFC 9180, Section 5.1.1) with KEM X-Wing
//     (draft-connolly-cfrg-xwing-kem: X25519 and ML-KEM-768, HPKE KEM
//     identifier 0x647a), KDF HKDF-SHA256 and AEAD AES-256-GCM. A recorded
//     bundle stays confidential against an attacker who later has a
//     quantum computer, as long as either X25519 or ML-KEM-768 holds.
//   - Ed25519 (RFC 8032) signatures by the publisher over the whole
//     container. HPKE base mode authenticates nothing about the sender:
//     anyone who knows a member's public key (it is public) and can write
//     where the member reads could otherwise install keys of their choice
//     and read every ticket the member then seals. The signature closes
//     that. It need only resist forgery while a bundle is in use, so a
//     classical signature suffices.
//
// The fleet name, the epoch and the recipient are in the container header,
// which is both the HPKE info (after a label) and the AEAD additional data,
// and is covered by the signature: none of them can be changed or swapped
// between bundles.
//
// # Roll-back protection
//
// The epoch increases with every publication. [Open] refuses a bundle whose
// epoch is not greater than the last one the member installed
// ([ErrRollback]), so an attacker who can replay an old, authentic bundle
// cannot bring back keys that were retired (and may since have leaked) or
// drop newer keys. A [Member] keeps its last epoch in memory: a process that
// restarts with a zero [MemberConfig.MinEpoch] accepts the first authentic
// bundle it finds, which is the intended recovery, but so is an older
// authentic bundle an attacker presents first. Persist [Member.Epoch] and
// pass it back as MinEpoch to close that window.
//
// # Not protected
//
// Bundles are not bound to a time: a member that is cut off keeps the keys
// it has. Revocation of a member is by not publishing to it any more; it
// keeps the keys it already holds until they retire. The publisher's
// signing key can forge any bundle and must be kept offline or in the
// publisher alone.
package keydist

import "errors"

// ErrMalformed means a sealed bundle, a key or a bundle's contents could not
// be parsed. Callers may branch on it, and on the errors of [Open] and
// [Member.Install], with [errors.Is]. No error of this package contains key
// bytes.
var ErrMalformed = errors.New("keydist: malformed encoding")
