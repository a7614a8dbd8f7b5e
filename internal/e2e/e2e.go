// Package e2e drives the agent workspace and the web chat widget in real
// headless Chromium against a whole Switchboard node (see testrig).
// Without Chromium the tests skip, except under CI=true, where they fail.
//
// Every tab of a browser that [Browser] starts is watched: an error that a
// page writes to its console, an exception that nothing catches and an
// error of the browser's log (a refused Content-Security-Policy, a failed
// load) fail the test at its end, with the list. A test that provokes an
// error on purpose says so with [AllowConsole]. With SWITCHBOARD_TEST_SHOTS
// set to a directory, [Shot] saves pictures of the pages there.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// chromium finds the browser binary.
func chromium() string {
	if p := os.Getenv("SWITCHBOARD_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser starts a headless Chromium with a fresh profile for the test
// and returns the context of its first tab. Each call is a separate
// browser: two calls are two people (an agent and a customer). The
// console of each of its tabs is watched (see the package doc).
func Browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is required under CI (apt-get install -y chromium)")
		}
		t.Skip("Chromium not installed (apt-get install -y chromium); set SWITCHBOARD_TEST_CHROMIUM to its path")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	// Start the browser now, so a missing library fails here and clearly.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	c := &console{tabs: map[target.ID]*tab{}}
	ctx = context.WithValue(ctx, consoleKey{}, c)
	c.watch(ctx, chromedp.FromContext(ctx).Target.TargetID, ctx)
	// Every other tab, opened by the test or by a page, is watched through
	// a session of its own, which leaves the tab to its opener.
	if err := chromedp.ListenBrowser(ctx, func(ev any) {
		if ev, ok := ev.(*target.EventTargetCreated); ok && ev.TargetInfo.Type == "page" {
			go func() {
				tctx, _ := chromedp.NewContext(ctx, chromedp.WithTargetID(ev.TargetInfo.TargetID), chromedp.WithDetachOnCancel())
				c.watch(ctx, ev.TargetInfo.TargetID, tctx)
			}()
		}
	}); err != nil {
		t.Fatalf("watch the tabs of Chromium: %v", err)
	}
	// Cleanups run last first: this one runs before the browser stops.
	t.Cleanup(func() { c.check(t) })
	return ctx
}

// AllowConsole lets the pages of the browser of ctx report errors whose
// text matches the regular expression pattern, for a test that provokes
// them on purpose (a server that goes away, a refused upload). Use it
// before the action that causes them.
func AllowConsole(ctx context.Context, pattern string) {
	c, ok := ctx.Value(consoleKey{}).(*console)
	if !ok {
		panic("e2e: AllowConsole needs a context from Browser")
	}
	re := regexp.MustCompile(pattern)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.allowed = append(c.allowed, re)
}

// AllowStatus lets the pages of the browser of ctx be answered status
// for the requests whose path matches the regular expression path: the
// browser reports each answer of 400 or more as an error, and a test
// that sends bad input on purpose expects them.
func AllowStatus(ctx context.Context, status int, path string) {
	AllowConsole(ctx, fmt.Sprintf(`^error \(network\): Failed to load resource: the server responded with a status of %d \(.*\) at https?://[^/]+%s(\?.*)?:\d+$`, status, path))
}

type consoleKey struct{}

// flushMarker is written to the console of each tab at the end of a test:
// once it is read back, every message written before it has been read.
const flushMarker = "switchboard-e2e: end of test"

// console collects the errors reported by the tabs of one browser.
type console struct {
	mu      sync.Mutex
	tabs    map[target.ID]*tab // guarded by mu
	errors  []string           // guarded by mu
	allowed []*regexp.Regexp   // guarded by mu
}

// tab is one watched tab: ctx runs actions in it, and flushed receives
// when its messages up to the flush marker have been read.
type tab struct {
	ctx     context.Context
	flushed chan struct{}
}

// watch reads the console of the tab id through tctx until browser ends.
// A tab is watched once.
func (c *console) watch(browser context.Context, id target.ID, tctx context.Context) {
	c.mu.Lock()
	if _, ok := c.tabs[id]; ok || browser.Err() != nil {
		c.mu.Unlock()
		return
	}
	tb := &tab{ctx: tctx, flushed: make(chan struct{}, 1)}
	c.tabs[id] = tb
	c.mu.Unlock()
	// Console attaches to the tab when it returns; a message written
	// before is sent again by the browser when the session enables its
	// log and runtime.
	messages := chromedp.Console(tctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleDebug && m.Text == flushMarker {
				select {
				case tb.flushed <- struct{}{}:
				default:
				}
				continue
			}
			if isError(m) {
				c.add(m)
			}
		}
	}()
}

// isError reports whether a message fails the test.
func isError(m chromedp.ConsoleMessage) bool {
	switch m.Type {
	case chromedp.ConsoleError, chromedp.ConsoleException, "assert":
		return true
	}
	return false
}

func (c *console) add(m chromedp.ConsoleMessage) {
	line := string(m.Type)
	if m.Source != "" {
		line += " (" + m.Source + ")"
	}
	line += ": " + m.Text
	if m.URL != "" {
		line += fmt.Sprintf(" at %s:%d", m.URL, m.Line+1)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors = append(c.errors, line)
}

// check fails the test with the errors that no AllowConsole accepted.
func (c *console) check(t *testing.T) {
	t.Helper()
	c.flush()
	if bad := c.unexpected(); len(bad) > 0 {
		t.Errorf("the browser's console reported %d error(s):\n\t%s", len(bad), strings.Join(bad, "\n\t"))
	}
}

// flush waits until what each open tab has written so far has been read.
func (c *console) flush() {
	c.mu.Lock()
	tabs := make([]*tab, 0, len(c.tabs))
	for _, tb := range c.tabs {
		tabs = append(tabs, tb)
	}
	c.mu.Unlock()
	for _, tb := range tabs {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		// A tab that is closed has nothing more to say.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.debug(%q)", flushMarker))); err == nil {
			select {
			case <-tb.flushed:
			case <-ctx.Done():
			}
		}
		cancel()
	}
}

// unexpected returns the errors reported so far that no AllowConsole
// accepted.
func (c *console) unexpected() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bad []string
next:
	for _, e := range c.errors {
		for _, re := range c.allowed {
			if re.MatchString(e) {
				continue next
			}
		}
		bad = append(bad, e)
	}
	return bad
}

// Shot saves a picture of the whole page as name.png in the directory
// SWITCHBOARD_TEST_SHOTS names, to look at what a test sees; without it,
// it does nothing.
func Shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_TEST_SHOTS")
	if dir == "" {
		return
	}
	b := Run(t, ctx, chromedp.FullScreenshot(100))
	file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// Do runs actions, failing the test on error.
func Do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// Run runs one action that returns a value, failing the test on error.
func Run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
