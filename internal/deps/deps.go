// Package deps pins the module's chosen dependencies while the packages that
// use them are written. It is removed once every dependency has a real user.
package deps

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/redis/go-redis/v9"
	_ "golang.org/x/crypto/chacha20poly1305"
	_ "golang.org/x/crypto/cryptobyte"
	_ "golang.org/x/crypto/hkdf"
)
