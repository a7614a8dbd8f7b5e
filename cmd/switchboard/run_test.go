package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateUserText: "user create" applies the text rule of the API to
// what it is given, before it opens the database; a password with a
// control character could never be used to sign in.
func TestCreateUserText(t *testing.T) {
	for _, c := range []struct {
		name, email, fullName, password string
	}{
		{"email", "ada\x1b@example.com", "Ada", "long enough password"},
		{"name", "ada@example.com", "Ada\x07", "long enough password"},
		{"password", "ada@example.com", "Ada", "long enough\x00password"},
	} {
		dir := t.TempDir()
		err := createUser(t.Context(), []string{"--email", c.email, "--name", c.fullName, "--password-stdin", "--data-dir", dir},
			func(string) string { return "" }, strings.NewReader(c.password+"\n"), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.name+": This contains an invisible control character") {
			t.Errorf("%s: %v", c.name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "switchboard.db")); err == nil {
			t.Errorf("%s: a database was made", c.name)
		}
	}
}
