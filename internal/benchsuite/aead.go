package benchsuite

import (
	"crypto/aes"
	"crypto/cipher"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tlsticket/tlsticket/seal"
)

// aeadCase is one AEAD of the suite: the seal identifier and a constructor
// of the bare cipher.AEAD that the RawAEAD benchmarks compare against.
type aeadCase struct {
	aead seal.AEAD
	raw  func(key []byte) (cipher.AEAD, error)
}

// aeads lists the AEADs benchmarked. Adding one is one line.
var aeads = []aeadCase{
	{seal.AES128GCM, newGCM},
	{seal.AES256GCM, newGCM},
	{seal.ChaCha20Poly1305, chacha20poly1305.New},
	{seal.XChaCha20Poly1305, chacha20poly1305.NewX},
	{seal.XAES256GCM, seal.NewXAES256GCM},
}

// AEADNames returns the benchmark names of the AEADs, such as "AES128GCM",
// in the order the suite runs them.
func AEADNames() []string {
	var names []string
	for _, c := range aeads {
		names = append(names, c.name())
	}
	return names
}

// name returns the AEAD's name without dashes, as in benchmark names.
func (c aeadCase) name() string {
	return strings.ReplaceAll(c.aead.String(), "-", "")
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
