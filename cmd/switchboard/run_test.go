package main

import (
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/config"
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

// TestDemoDefaultAddr: "switchboard demo" listens by default on a port of
// its own, so that it starts beside a server on the default address.
func TestDemoDefaultAddr(t *testing.T) {
	var help strings.Builder
	if err := demo(t.Context(), []string{"-h"}, func(string) string { return "" }, io.Discard, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("demo -h: %v", err)
	}
	if !strings.Contains(help.String(), `(default "127.0.0.1:8090")`) {
		t.Errorf("demo -h says:\n%s\nwant the default address 127.0.0.1:8090", help.String())
	}
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, port, _ := net.SplitHostPort(cfg.Addr); port == "8090" {
		t.Errorf("the server's default address %s is the demo's", cfg.Addr)
	}
}
