// Package raster opens pictures that come from outside (JPEG, PNG and
// WebP) without letting a small file unpack into more memory than a node
// can spare. Every image the server decodes goes through a Decoder.
//
// The header is read first: its dimensions and the pixel format it
// declares (8 or 16 bits per channel, alpha, chroma subsampling, a
// progressive JPEG's coefficients, an interlaced PNG's passes) give the
// memory the decoder will allocate, and an image over the budget is
// refused before any of it is. Decodes then take one of a few slots, so
// that a burst of uploads costs at most that many budgets at once; a
// request waiting for a slot gives up when its context ends.
package raster

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"

	"golang.org/x/image/webp"

	"github.com/switchboardhq/switchboard/internal/problem"
)

// Format is an image format the Decoder opens.
type Format string

// The formats.
const (
	JPEG Format = "JPEG"
	PNG  Format = "PNG"
	WebP Format = "WebP"
)

// Sniff tells the format from the first bytes, "" for anything else.
func Sniff(b []byte) Format {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return JPEG
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return PNG
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP
	}
	return ""
}

// Header is what an image declares before its pixels.
type Header struct {
	Format        Format
	Width, Height int
	// Deep is true for 16 bits per channel.
	Deep bool
	// Bytes is the memory that decoding the image allocates: its pixels in
	// the form the decoder produces, and the decoder's working buffers.
	Bytes int64
}

// ReadHeader reads the header of data without decoding its pixels. It
// fails with a problem for anything that is not a valid JPEG, PNG or
// WebP header.
func ReadHeader(data []byte) (Header, error) {
	f := Sniff(data)
	if f == "" {
		return Header{}, problem.New(problem.KindUnsupported, "This file is not an image: choose a JPEG, PNG or WebP picture.")
	}
	var cfg image.Config
	var err error
	switch f {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case WebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return Header{}, problem.New(problem.KindInvalid, "This file is not a valid %s image.", string(f))
	}
	h := Header{Format: f, Width: cfg.Width, Height: cfg.Height, Deep: deep(cfg.ColorModel)}
	pixels := int64(cfg.Width) * int64(cfg.Height)
	switch f {
	case JPEG:
		fr, ok := jpegFrame(data)
		if !ok {
			return Header{}, problem.New(problem.KindInvalid, "This file is not a valid %s image.", string(f))
		}
		h.Bytes = fr.bytes(cfg.Width, cfg.Height)
	case PNG:
		h.Bytes = int64(math.Ceil(bytesPerPixel(cfg.ColorModel) * float64(pixels)))
		// An interlaced PNG is decoded pass by pass into images of their
		// own, the largest half the size of the whole, before it is
		// merged into the whole.
		if len(data) > 28 && data[28] == 1 {
			h.Bytes += h.Bytes / 2
		}
	case WebP:
		h.Bytes = webpBytes(cfg)
	}
	return h, nil
}

// bytesPerPixel is the size of a pixel of a PNG decoded in model m.
func bytesPerPixel(m color.Model) float64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // a model we do not know: the widest there is
}

// deep reports whether m has 16 bits per channel.
func deep(m color.Model) bool {
	switch m {
	case color.Gray16Model, color.RGBA64Model, color.NRGBA64Model:
		return true
	}
	return false
}

// webpBytes is what golang.org/x/image/webp allocates for an image. Lossy
// images are 4:2:0 YCbCr in whole macroblocks; their alpha channel, when
// compressed, is first decoded as a lossless image of its own. Lossless
// images are NRGBA, and a colour-indexing transform expands them into a
// second buffer of the same size.
func webpBytes(cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	mbw, mbh := (w+15)/16, (h+15)/16
	lossy := mbw * mbh * 16 * 16 * 3 / 2
	switch cfg.ColorModel {
	case color.YCbCrModel:
		return lossy
	case color.NYCbCrAModel:
		return lossy + w*h + 8*w*h
	}
	return 8 * w * h
}

// frame is what a JPEG's start-of-frame segment says.
type frame struct {
	progressive bool
	comps       [][2]int // the sampling factors (h, v) of each component
}

// jpegFrame finds the start-of-frame segment of a JPEG (the standard
// decoder opens baseline, extended and progressive ones).
func jpegFrame(b []byte) (frame, bool) {
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return frame{}, false
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		i += 2
		if m == 0x01 || (m >= 0xD0 && m <= 0xD8) { // markers without a length
			continue
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 || i+n > len(b) {
			return frame{}, false
		}
		seg := b[i+2 : i+n]
		switch m {
		case 0xC0, 0xC1, 0xC2:
			if len(seg) < 6 {
				return frame{}, false
			}
			k := int(seg[5])
			if k == 0 || len(seg) < 6+3*k {
				return frame{}, false
			}
			f := frame{progressive: m == 0xC2}
			for c := range k {
				hv := seg[6+3*c+1]
				f.comps = append(f.comps, [2]int{max(1, int(hv>>4)), max(1, int(hv&0x0f))})
			}
			return f, true
		case 0xDA: // start of scan before any frame
			return frame{}, false
		}
		i += n
	}
	return frame{}, false
}

// bytes is what image/jpeg allocates for a w×h image of this frame: a
// sample per pixel of each component, in whole MCUs; a progressive image
// also keeps every block's coefficients (64 int32 per 8×8 block); and a
// four-component (CMYK) image is converted into an image of its own.
func (f frame) bytes(w, h int) int64 {
	h0, v0 := f.comps[0][0], f.comps[0][1]
	mxx := int64((w + 8*h0 - 1) / (8 * h0))
	myy := int64((h + 8*v0 - 1) / (8 * v0))
	var blocks int64
	for _, c := range f.comps {
		blocks += mxx * myy * int64(c[0]*c[1])
	}
	n := 64 * blocks
	if f.progressive {
		n += 256 * blocks
	}
	if len(f.comps) == 4 {
		n += 4 * int64(w) * int64(h)
	}
	return n
}

// Limits bound what a Decoder opens.
type Limits struct {
	MaxSide    int   // pixels on either side
	MaxBytes   int64 // memory one decode may take (Header.Bytes)
	Concurrent int   // decodes at once
}

// DefaultLimits take at most a quarter of a gigabyte for pictures on a
// node: two decodes of at most 128 MB.
var DefaultLimits = Limits{MaxSide: 12_000, MaxBytes: 128 << 20, Concurrent: 2}

// Decoder decodes images within limits. It is safe for concurrent use;
// one per node.
type Decoder struct {
	limits Limits
	slots  chan struct{} // a value in the channel is a decode in progress
}

// NewDecoder returns a decoder with limits.
func NewDecoder(l Limits) *Decoder {
	if l.Concurrent <= 0 {
		l.Concurrent = 1
	}
	return &Decoder{limits: l, slots: make(chan struct{}, l.Concurrent)}
}

// Limits returns the decoder's limits.
func (d *Decoder) Limits() Limits { return d.limits }

// Check reads the header of data and refuses an image over the limits:
// 422 for dimensions, 413 for what would take too much memory to open.
func (d *Decoder) Check(data []byte) (Header, error) {
	h, err := ReadHeader(data)
	if err != nil {
		return h, err
	}
	if h.Width > d.limits.MaxSide || h.Height > d.limits.MaxSide {
		return h, problem.New(problem.KindInvalid, "The image is %d×%d pixels: use one of at most %d pixels on each side.", h.Width, h.Height, d.limits.MaxSide)
	}
	if h.Bytes > d.limits.MaxBytes {
		// The largest square of the same kind that fits.
		perPixel := float64(h.Bytes) / (float64(h.Width) * float64(h.Height))
		side := min(d.limits.MaxSide, int(math.Sqrt(float64(d.limits.MaxBytes)/perPixel)))
		if h.Deep {
			return h, problem.New(problem.KindTooLarge, "The image is %d×%d pixels in 16-bit colour, too large to open: save it in 8-bit colour or use one of at most %d×%d pixels.", h.Width, h.Height, side, side)
		}
		return h, problem.New(problem.KindTooLarge, "The image is %d×%d pixels, too large to open: use one of at most %d×%d pixels.", h.Width, h.Height, side, side)
	}
	return h, nil
}

// Decode checks data, waits for a free slot (or for ctx to end), decodes
// the image and calls fn with it. The slot is held until fn returns, so
// that what fn does with the image counts among the decodes in progress;
// fn must not keep the image.
func (d *Decoder) Decode(ctx context.Context, data []byte, fn func(image.Image, Header) error) error {
	h, err := d.Check(data)
	if err != nil {
		return err
	}
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.slots }()
	var img image.Image
	switch h.Format {
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case WebP:
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return problem.New(problem.KindInvalid, "This file is not a valid %s image.", string(h.Format))
	}
	return fn(img, h)
}
