package resumption

// Accessors for tests in package resumption_test. They exist only in test
// builds.

// SecretBytes returns the secret held by a key schedule value.
func SecretBytes(x any) []byte {
	switch v := x.(type) {
	case *ResumptionMasterSecret:
		return v.secret()
	case *PSK:
		return v.secret()
	case *EarlySecret:
		return v.secret()
	case *BinderKey:
		return v.secret()
	}
	panic("SecretBytes: unexpected type")
}

// FinishedKey returns the binder finished_key (RFC 8446, Section 4.4.4).
func FinishedKey(b *BinderKey) []byte { return b.finishedKey() }

// HKDFLabel is the HkdfLabel encoder of RFC 8446, Section 7.1.
var HKDFLabel = hkdfLabel

// LiveLen returns the number of live records, after sweeping out the
// expired ones.
func (s *MemoryStore) LiveLen() int { return s.liveLen() }
