package secret

import (
	"bytes"
	"testing"
)

func TestSigner(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	links, err := NewSigner(key, "links")
	if err != nil {
		t.Fatal(err)
	}
	sig := links.Sign("attachment", "12", "1767225600")
	if len(sig) != 22 {
		t.Fatalf("signature %q: want 22 characters", sig)
	}
	if !links.Verify(sig, "attachment", "12", "1767225600") {
		t.Fatal("a signature does not verify")
	}
	again, _ := NewSigner(key, "links")
	if !again.Verify(sig, "attachment", "12", "1767225600") {
		t.Fatal("the same key and purpose make another signer")
	}
	tickets, _ := NewSigner(key, "tickets")
	other, _ := NewSigner(bytes.Repeat([]byte{8}, 32), "links")
	for name, ok := range map[string]bool{
		"another id":      links.Verify(sig, "attachment", "13", "1767225600"),
		"another expiry":  links.Verify(sig, "attachment", "12", "1767229200"),
		"parts regrouped": links.Verify(sig, "attachment1", "2", "1767225600"),
		"fewer parts":     links.Verify(sig, "attachment", "12"),
		"another purpose": tickets.Verify(sig, "attachment", "12", "1767225600"),
		"another key":     other.Verify(sig, "attachment", "12", "1767225600"),
		"truncated":       links.Verify(sig[:21], "attachment", "12", "1767225600"),
		"not base64":      links.Verify("!!!!!!!!!!!!!!!!!!!!!!", "attachment", "12", "1767225600"),
		"empty":           links.Verify("", "attachment", "12", "1767225600"),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
	// One changed character anywhere fails.
	for i := range sig {
		b := []byte(sig)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if links.Verify(string(b), "attachment", "12", "1767225600") {
			t.Errorf("tampered at %d: verified", i)
		}
	}
	if _, err := NewSigner(key[:16], "links"); err == nil {
		t.Error("a short key was taken")
	}
}
