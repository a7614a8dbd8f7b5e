package whatsapp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
)

// slowMedia is a media server on a slow link, in memory: chunks of the
// file come gap apart; from chunk stallAt on (if set), nothing more.
type slowMedia struct {
	chunks, chunkSize int
	gap               time.Duration
	stallAt           int
}

func (s slowMedia) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	ctx := req.Context()
	go func() {
		chunk := bytes.Repeat([]byte{'m'}, s.chunkSize)
		for i := range s.chunks {
			if s.stallAt > 0 && i == s.stallAt {
				<-ctx.Done()
				pw.CloseWithError(ctx.Err())
				return
			}
			if i > 0 {
				select {
				case <-time.After(s.gap):
				case <-ctx.Done():
					pw.CloseWithError(ctx.Err())
					return
				}
			}
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"video/mp4"}}, Body: pr,
		ContentLength: int64(s.chunks * s.chunkSize), Request: req}, nil
}

func download(t *testing.T, media slowMedia) (int64, time.Duration, error) {
	t.Helper()
	g := whatsapp.NewGraph("https://graph.example", "v23.0", &http.Client{Transport: media}, whatsapp.Timeouts{})
	start := time.Now()
	n, err := g.Download(context.Background(), "token", "https://lookaside.example/media/1", 100<<20, "", io.Discard)
	return n, time.Since(start), err
}

// TestDownloadSlowLink: a large file on a slow link downloads as long as
// bytes keep coming, for longer than the 30 s a whole call to Graph may
// take; one that stops, or trickles too slowly for its size, fails.
func TestDownloadSlowLink(t *testing.T) {
	t.Parallel()
	t.Run("progressing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// 10 MiB, a MiB every 10 s: 90 s in all.
			n, took, err := download(t, slowMedia{chunks: 10, chunkSize: 1 << 20, gap: 10 * time.Second})
			if err != nil || n != 10<<20 {
				t.Fatalf("download: %d bytes, %v", n, err)
			}
			if took < 90*time.Second {
				t.Fatalf("took %v", took)
			}
		})
	})
	t.Run("stalled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n, took, err := download(t, slowMedia{chunks: 10, chunkSize: 1 << 20, gap: time.Second, stallAt: 3})
			var ge *whatsapp.GraphError
			if !errors.As(err, &ge) || ge.Network == nil || !strings.Contains(err.Error(), "no data moved") {
				t.Fatalf("stalled download: %d bytes, %v", n, err)
			}
			// The last byte came at 2 s; the download gave up 30 s later.
			if took != 32*time.Second {
				t.Errorf("gave up after %v", took)
			}
		})
	})
	t.Run("too slow for its size", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// 10 MiB in 64 KiB pieces every 20 s (3 KiB/s): a minute and
			// the size at 64 KiB/s is 220 s.
			_, took, err := download(t, slowMedia{chunks: 160, chunkSize: 64 << 10, gap: 20 * time.Second})
			if err == nil || !strings.Contains(err.Error(), "too slow") {
				t.Fatalf("trickle: %v", err)
			}
			if took != 220*time.Second {
				t.Errorf("gave up after %v", took)
			}
		})
	})
}

// TestDownloadNoAnswer: a server that never sends the answer's headers is
// given up after the response header timeout.
func TestDownloadNoAnswer(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	g := whatsapp.NewGraph(srv.URL, "v23.0", nil, whatsapp.Timeouts{ResponseHeader: 50 * time.Millisecond, Idle: time.Minute})
	_, err := g.Download(context.Background(), "token", srv.URL+"/media/1", 1<<20, "", io.Discard)
	var ge *whatsapp.GraphError
	if !errors.As(err, &ge) || ge.Network == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") {
		t.Fatalf("no answer: %v", err)
	}
}

// TestUploadStreams: an agent's file goes to Graph as it is read, with
// the body's exact length, not after being held whole in memory.
func TestUploadStreams(t *testing.T) {
	t.Parallel()
	first := make(chan struct{}) // the server has the file's first bytes
	const size = 256 << 10
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if part.FormName() != "file" {
				continue
			}
			buf := make([]byte, 1024)
			if _, err := io.ReadFull(part, buf); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			close(first)
			rest, err := io.ReadAll(part)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			got = append(buf, rest...)
			if r.ContentLength <= size {
				http.Error(w, "no length", http.StatusLengthRequired)
				return
			}
			w.Write([]byte(`{"id":"4490709327384033"}`))
			return
		}
	}))
	t.Cleanup(srv.Close)
	g := whatsapp.NewGraph(srv.URL, "v23.0", nil, whatsapp.Timeouts{})
	file := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(file[:4096])
		select {
		case <-first:
			pw.Write(file[4096:])
			pw.Close()
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("the upload did not start before the whole file was read"))
		}
	}()
	id, err := g.Upload(context.Background(), "token", "106540352242922", "report.pdf", "application/pdf", pr, size)
	if err != nil || id != "4490709327384033" {
		t.Fatalf("upload: %q %v", id, err)
	}
	if !bytes.Equal(got, file) {
		t.Errorf("the server got %d bytes, not the file", len(got))
	}
}
