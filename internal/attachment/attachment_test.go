package attachment

import (
	"strings"
	"testing"
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head, name string
		ctype      string
		kind       Kind
	}{
		{"\xff\xd8\xff\xe0", "a.jpg", "image/jpeg", Image},
		{"\x89PNG\r\n\x1a\n....", "photo.jpeg", "image/png", Image}, // the content decides
		{"GIF89a", "a.gif", "image/gif", Image},
		{"RIFF\x00\x00\x00\x00WEBPVP8 ", "a.webp", "image/webp", Image},
		{"%PDF-1.7", "a.pdf", "application/pdf", Document},
		{"PK\x03\x04", "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Document},
		{"PK\x03\x04", "archive.jar", "", ""},
		{"\x00\x00\x00\x18ftypmp42", "clip.mp4", "video/mp4", Video},
		{"OggS", "voice.ogg", "audio/ogg", Audio},
		{"hello, world", "notes.txt", "text/plain", Document},
		{"a,b\n1,2", "data.csv", "text/csv", Document},
		{"hello", "notes.html", "", ""},
		{"<svg xmlns='http://www.w3.org/2000/svg'>", "logo.svg", "", ""},
		{"<html><script>", "x.png", "", ""},
		{"MZ\x90\x00", "setup.exe", "", ""},
		{"bin\x00ary", "x.txt", "", ""},
	} {
		ctype, kind := Sniff([]byte(tc.head), tc.name)
		if ctype != tc.ctype || kind != tc.kind {
			t.Errorf("Sniff(%q, %s) = %q, %q; want %q, %q", tc.head, tc.name, ctype, kind, tc.ctype, tc.kind)
		}
	}
}

func TestCleanFilename(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":                "passwd",
		`C:\Users\a\b.pdf`:                "b.pdf",
		"quote\"d\x00.txt":                "quoted.txt",
		"":                                "file",
		strings.Repeat("a", 300) + ".pdf": strings.Repeat("a", 196) + ".pdf",
	} {
		if got := cleanFilename(in, 200); got != want {
			t.Errorf("cleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
