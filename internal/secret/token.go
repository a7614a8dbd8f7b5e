package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewToken returns a random bearer token of 256 bits that starts with
// prefix ("sbi_": an invitation), and the hash under which it is stored:
// the token itself is shown once and never kept.
func NewToken(prefix string) (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token, to look it up by.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
