package contact_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
)

// FuzzReadCSV reads any bytes as a contacts file: it never fails or
// panics on the content (only a wrong country is an error), every error
// has a line and a message, errors below the header name one of the
// columns, and Err agrees with the report.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"name,phone,email,tags,owner\nAna,+34612345678,ana@example.com,\"vip, new\",bo@example.com\n",
		"\uFEFFphone\r\n612345678\r\n",
		"email,name\n\"a@b.co\",\"multi\nline\"\n",
		"name,phone\nB\"o,+1\n",
		"phone,phone\n",
		"",
		"name,phone\n'=1+1,+34612345678\n",
		"phone\n+34612345678\n+34612345678\n",
	} {
		f.Add([]byte(s), "ES")
	}
	f.Fuzz(func(t *testing.T, data []byte, region string) {
		im, err := contact.ReadCSV(bytes.NewReader(data), contact.ImportOptions{Region: region})
		if err != nil {
			if !strings.Contains(err.Error(), "country") {
				t.Fatalf("ReadCSV: %v", err)
			}
			return
		}
		r := im.Report()
		for _, e := range r.Errors {
			if e.Line < 1 || e.Message == "" {
				t.Fatalf("error without a line or a message: %+v", e)
			}
			if e.Line > 1 && e.Column != "" && !slices.Contains(contact.Columns, e.Column) {
				t.Fatalf("error in an unknown column: %+v", e)
			}
		}
		if (len(r.Errors) == 0) != (im.Err() == nil) {
			t.Fatalf("Err() = %v with errors %+v", im.Err(), r.Errors)
		}
	})
}
