package rastertest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// TestBomb: the file is a valid PNG of the size it says, whose pixels
// all decode (checked on sizes that are cheap to decode, across the
// repeated blocks).
func TestBomb(t *testing.T) {
	for _, s := range []image.Point{{1, 1}, {300, 200}, {700, 400}} {
		img, err := png.Decode(bytes.NewReader(Bomb(s.X, s.Y)))
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		n, ok := img.(*image.NRGBA64)
		if !ok || n.Bounds().Size() != s {
			t.Fatalf("%v: decoded %T %v", s, img, img.Bounds())
		}
		if c := n.NRGBA64At(s.X-1, s.Y-1); c != (color.NRGBA64{}) {
			t.Fatalf("%v: last pixel %v", s, c)
		}
	}
	if n := len(Bomb(7000, 7000)); n > 500<<10 {
		t.Errorf("7000×7000 bomb is %d bytes", n)
	}
}
