package secret

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
)

// Signer makes and checks signatures of short messages (the capability in
// a link, a ticket): HMAC-SHA256 under a key derived from the
// installation's secret key for one purpose, so that a signature made for
// one purpose is worthless for another and the secret key itself never
// signs anything.
type Signer struct {
	key []byte
}

// sigBytes is the length of a signature: 128 bits of HMAC-SHA256 (22
// characters in a link).
const sigBytes = 16

// NewSigner derives a signer for purpose from the 32-byte secret key.
func NewSigner(key []byte, purpose string) (*Signer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: key must be 32 bytes, got %d", len(key))
	}
	k, err := hkdf.Key(sha256.New, key, nil, "switchboard signer: "+purpose, 32)
	if err != nil {
		return nil, err
	}
	return &Signer{key: k}, nil
}

// mac computes the HMAC of parts, each prefixed with its length so that
// no two lists of parts sign the same bytes.
func (s *Signer) mac(parts []string) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		writeLen(m, len(p))
		m.Write([]byte(p))
	}
	return m.Sum(nil)[:sigBytes]
}

func writeLen(h hash.Hash, n int) {
	var b [binary.MaxVarintLen64]byte
	h.Write(b[:binary.PutUvarint(b[:], uint64(n))])
}

// Sign returns the signature of parts, in unpadded base64url.
func (s *Signer) Sign(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(parts))
}

// Verify reports whether sig is the signature of parts. The comparison
// takes the same time wherever the signatures differ.
func (s *Signer) Verify(sig string, parts ...string) bool {
	// Strict: a signature has one spelling (no stray bits in its last
	// character).
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sigBytes {
		return false
	}
	return hmac.Equal(got, s.mac(parts))
}
