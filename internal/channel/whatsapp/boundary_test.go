package whatsapp

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOwnTablesOnly: the channel reads and writes its own tables
// (whatsapp_*) and reaches conversations, messages and contacts through
// their packages, which own that SQL.
func TestOwnTablesOnly(t *testing.T) {
	t.Parallel()
	others := regexp.MustCompile(`(?i)\b(FROM|JOIN|UPDATE|INTO)\s+(conversations|messages|message_reactions|contacts|contact_identities|inboxes|inbox_members|attachments|events|jobs)\b`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := others.FindString(line); m != "" {
				t.Errorf("%s:%d: SQL on another package's table (%s): %s", f, i+1, m, strings.TrimSpace(line))
			}
		}
	}
}
