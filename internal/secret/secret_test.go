package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal("the token")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "the token") || !strings.HasPrefix(sealed, "v1:") {
		t.Fatalf("sealed %q", sealed)
	}
	again, _ := b.Seal("the token")
	if again == sealed {
		t.Fatal("sealing twice gave the same ciphertext (nonce reuse)")
	}
	if got, err := b.Open(sealed); err != nil || got != "the token" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := NewBox(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("opened with another key")
	}
	if _, err := b.Open("v1:" + strings.Repeat("A", 10)); err == nil {
		t.Fatal("opened garbage")
	}
	if s, _ := b.Seal(""); s != "" {
		t.Fatalf("empty sealed to %q", s)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: %v, same=%v", err, bytes.Equal(k1, k2))
	}
	fi, _ := os.Stat(filepath.Join(dir, "secret.key"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	if _, err := ParseKey("too short"); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewBox(make([]byte, 16)); err == nil {
		t.Error("16-byte key accepted")
	}
}

func TestNewToken(t *testing.T) {
	a, ha := NewToken("sbx_")
	b, _ := NewToken("sbx_")
	if !strings.HasPrefix(a, "sbx_") || len(a) != 4+43 || a == b {
		t.Fatalf("tokens %q, %q", a, b)
	}
	if ha != HashToken(a) || len(ha) != 64 || strings.Contains(ha, a[4:]) {
		t.Fatalf("hash %q of %q", ha, a)
	}
}
