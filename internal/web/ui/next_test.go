package ui

import "testing"

// hostileNext are return paths that would leave the site (or could, after
// a browser's or a proxy's cleaning), as the value a form or query
// carries once decoded.
var hostileNext = []string{
	"",
	"inbox",
	"//evil.test",
	"///evil.test",
	"/\\evil.test",
	"\\/evil.test",
	"\\\\evil.test",
	"/\t/evil.test",     // browsers drop the tab: //evil.test
	"/\n/evil.test",     // and newlines
	"/\r/evil.test",     //
	"\t//evil.test",     // and trim controls and spaces at the ends
	" //evil.test",      //
	" /inbox",           // needs that trimming to be a path at all
	"/inbox ",           //
	"\x00/inbox",        //
	"/inbox\x7f",        //
	"https://evil.test", // absolute URLs
	"http:/evil.test",
	"HTTPS://evil.test",
	"javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"/%2F%2Fevil.test",    // decoded by a proxy or an old server: //evil.test
	"/%2f/evil.test",      //
	"/%5Cevil.test",       // /\evil.test
	"/%09/evil.test",      // an encoded tab
	"/%0d%0aSet-Cookie:x", // encoded CR/LF
	"/inbox%00",
	"/.//evil.test", // dot segments resolve to //evil.test
	"/./inbox",
	"/../inbox",
	"/%2e%2e/inbox",
	"/inbox/../../evil",
	"/inbox\u00a0",     // not ASCII: ours are always percent-encoded
	"/\u2215evil.test", // a division slash
	"/\uff0fevil.test", // a fullwidth solidus
	"/inbox?q=\xff",    // not UTF-8
}

// TestSafeNext: only paths of this site are followed after signing in;
// everything else goes to the inbox.
func TestSafeNext(t *testing.T) {
	for _, next := range hostileNext {
		if got := safeNext(next); got != "/inbox" {
			t.Errorf("safeNext(%q) = %q, want /inbox", next, got)
		}
		if got := keepNext(next); got != "" {
			t.Errorf("keepNext(%q) = %q, want nothing", next, got)
		}
	}
	for _, next := range []string{
		"/",
		"/inbox",
		"/inbox/conversations/12",
		"/inbox?view=mine&q=a%2Fb",       // encoded slashes in a query are fine
		"/inbox?q=%2F%2Fevil.test",       //
		"/inbox?next=//evil.test",        // the query is not the path
		"/widget/demo/abc-DEF_123",       //
		"/preferences/security#sessions", //
		"/admin/users/3?saved=1",         //
		"/inbox?q=caf%C3%A9",             //
		"/inbox/",                        //
	} {
		if got := safeNext(next); got != next {
			t.Errorf("safeNext(%q) = %q, want it kept", next, got)
		}
	}
}
