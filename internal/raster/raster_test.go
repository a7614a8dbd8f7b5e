package raster_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color/palette"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/raster"
	"github.com/switchboardhq/switchboard/internal/raster/rastertest"
)

// allocated is how many bytes fn allocates (the test must not run in
// parallel with others for the figure to be its own).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBombRefusedBeforeDecoding: a 381 KB PNG of 7000×7000 16-bit RGBA
// pixels (392 MB decoded) is refused from its header, with a message
// that says what to do, without allocating its pixels and without taking
// a slot.
func TestBombRefusedBeforeDecoding(t *testing.T) {
	bomb := rastertest.Bomb(7000, 7000)
	if len(bomb) > 400<<10 {
		t.Fatalf("the bomb is %d bytes", len(bomb))
	}
	dec := raster.NewDecoder(raster.DefaultLimits)
	var err error
	called := false
	n := allocated(func() {
		err = dec.Decode(context.Background(), bomb, func(image.Image, raster.Header) error { called = true; return nil })
	})
	p, ok := problem.As(err)
	if !ok || p.Kind != problem.KindTooLarge {
		t.Fatalf("Decode = %v, want a too-large problem", err)
	}
	for _, want := range []string{"7000×7000", "16-bit", "8-bit colour", "at most 4096×4096"} {
		if !strings.Contains(p.Message, want) {
			t.Errorf("message %q does not say %q", p.Message, want)
		}
	}
	if called {
		t.Error("the image was decoded")
	}
	if n > 1<<20 {
		t.Errorf("refusing the bomb allocated %d bytes", n)
	}
	h, err := raster.ReadHeader(bomb)
	if err != nil || h.Bytes != 8*7000*7000 || !h.Deep {
		t.Errorf("header %+v, %v", h, err)
	}
}

// withInterlace sets the interlace byte of a PNG's header.
func withInterlace(b []byte) []byte {
	b = bytes.Clone(b)
	b[28] = 1
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// withSOF turns a baseline JPEG's frame marker into another's.
func withSOF(b []byte, marker byte) []byte {
	b = bytes.Clone(b)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	b[i+1] = marker
	return b
}

// TestHeaderBytes: the memory a header declares bounds what decoding
// takes, for each pixel format the decoders produce.
func TestHeaderBytes(t *testing.T) {
	const w, h = 600, 400
	rect := image.Rect(0, 0, w, h)
	gray := image.NewGray(rect)
	nrgba := image.NewNRGBA(rect)
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i)
	}
	rgba64 := image.NewNRGBA64(rect)
	for i := range rgba64.Pix {
		rgba64.Pix[i] = uint8(i * 7)
	}
	pal := image.NewPaletted(rect, palette.Plan9)
	for _, tc := range []struct {
		name  string
		data  []byte
		bytes int64 // what the header says
		deep  bool
	}{
		{"8-bit gray PNG", encodePNG(t, gray), w * h, false},
		{"8-bit RGBA PNG", encodePNG(t, nrgba), 4 * w * h, false},
		{"16-bit RGBA PNG", encodePNG(t, rgba64), 8 * w * h, true},
		{"paletted PNG", encodePNG(t, pal), w * h, false},
		// 4:2:0: a full Y plane and two quarter planes, in 16×16 MCUs.
		{"colour JPEG", encodeJPEG(t, nrgba), 608*400 + 2*304*200, false},
		{"gray JPEG", encodeJPEG(t, gray), w * h, false},
	} {
		hd, err := raster.ReadHeader(tc.data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if hd.Width != w || hd.Height != h || hd.Bytes != tc.bytes || hd.Deep != tc.deep {
			t.Errorf("%s: header %+v, want %d bytes", tc.name, hd, tc.bytes)
		}
		// What the decoder allocates beyond the header's figure is its
		// buffers (zlib's window, a row or two), never pixels.
		dec := raster.NewDecoder(raster.DefaultLimits)
		got := allocated(func() {
			err = dec.Decode(context.Background(), tc.data, func(image.Image, raster.Header) error { return nil })
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got > uint64(hd.Bytes)+256<<10 {
			t.Errorf("%s: decoding allocated %d bytes, the header said %d", tc.name, got, hd.Bytes)
		}
	}

	// What the decoders do beyond the pixels, from the header alone.
	interlaced, err := raster.ReadHeader(withInterlace(encodePNG(t, nrgba)))
	if err != nil || interlaced.Bytes != 4*w*h*3/2 {
		t.Errorf("interlaced PNG: %+v, %v", interlaced, err)
	}
	progressive, err := raster.ReadHeader(withSOF(encodeJPEG(t, nrgba), 0xC2))
	if err != nil || progressive.Bytes != 5*(608*400+2*304*200) {
		t.Errorf("progressive JPEG: %+v, %v", progressive, err)
	}
}

// TestCheck: what the limits refuse, and with which kind of problem.
func TestCheck(t *testing.T) {
	dec := raster.NewDecoder(raster.Limits{MaxSide: 600, MaxBytes: 1 << 20, Concurrent: 1})
	small := encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 400, 300)))
	for _, tc := range []struct {
		name string
		data []byte
		kind problem.Kind
		says string
	}{
		{"too wide", encodePNG(t, image.NewGray(image.Rect(0, 0, 601, 10))), problem.KindInvalid, "601×10 pixels: use one of at most 600 pixels on each side"},
		{"too much memory", encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 520, 520))), problem.KindTooLarge, "520×520 pixels, too large to open: use one of at most 512×512 pixels"},
		{"cut short", small[:30], problem.KindInvalid, "not a valid PNG image"},
		{"not an image", []byte("GIF89a......"), problem.KindUnsupported, "not an image"},
	} {
		_, err := dec.Check(tc.data)
		if p, ok := problem.As(err); !ok || p.Kind != tc.kind || !strings.Contains(p.Message, tc.says) {
			t.Errorf("%s: %v, want a %v problem saying %q", tc.name, err, tc.kind, tc.says)
		}
	}
	var got image.Point
	if err := dec.Decode(context.Background(), small, func(img image.Image, h raster.Header) error {
		got = img.Bounds().Size()
		return nil
	}); err != nil || got != image.Pt(400, 300) {
		t.Fatalf("Decode: %v, %v", got, err)
	}
	// A header that passes over pixels that do not decode.
	broken := bytes.Clone(small)
	copy(broken[len(broken)-40:], bytes.Repeat([]byte{0xAB}, 28))
	if err := dec.Decode(context.Background(), broken, func(image.Image, raster.Header) error { return nil }); err == nil {
		t.Error("a corrupt image decoded")
	}
	if err := dec.Decode(context.Background(), small, func(image.Image, raster.Header) error { return errors.ErrUnsupported }); err != errors.ErrUnsupported {
		t.Errorf("fn's error: %v", err)
	}
}

// TestDecodeSlots: however many decode at once, at most Concurrent are
// inside a decode (with fn), the others wait, and a waiter whose context
// ends gives up.
func TestDecodeSlots(t *testing.T) {
	data := encodePNG(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	synctest.Test(t, func(t *testing.T) {
		dec := raster.NewDecoder(raster.Limits{MaxSide: 100, MaxBytes: 1 << 20, Concurrent: 2})
		var inside, most atomic.Int32
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				err := dec.Decode(context.Background(), data, func(image.Image, raster.Header) error {
					n := inside.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					<-release
					inside.Add(-1)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait() // everyone is decoding or waiting for a slot
		if n := inside.Load(); n != 2 {
			t.Fatalf("%d decodes at once, want 2", n)
		}

		// A request that gives up while waiting.
		ctx, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error, 1)
		go func() {
			gaveUp <- dec.Decode(ctx, data, func(image.Image, raster.Header) error { t.Error("decoded after giving up"); return nil })
		}()
		synctest.Wait()
		cancel()
		if err := <-gaveUp; !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled wait returned %v", err)
		}

		// Each decode that ends lets one more in.
		for i := range 10 {
			release <- struct{}{}
			synctest.Wait()
			if want := min(2, int32(9-i)); inside.Load() != want {
				t.Fatalf("after %d ended: %d inside, want %d", i+1, inside.Load(), want)
			}
		}
		wg.Wait()
		if most.Load() != 2 {
			t.Errorf("at most %d at once, want 2", most.Load())
		}
	})
}

// TestEveryDecodeGoesThroughRaster: no other package decodes images
// itself, so that every picture the server opens is within the limits.
func TestEveryDecodeGoesThroughRaster(t *testing.T) {
	decodes := regexp.MustCompile(`\b(image|jpeg|png|gif|webp|bmp|tiff|vp8|vp8l)\.Decode(Config)?\(`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || p == filepath.Join(root, "internal", "raster")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if m := decodes.Find(b); m != nil {
			t.Errorf("%s calls %s: decode images with a raster.Decoder", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
