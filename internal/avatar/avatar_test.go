package avatar_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/raster"
	"github.com/switchboardhq/switchboard/internal/raster/rastertest"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// wide is a 1200×600 PNG: red left quarter, blue middle, green right
// quarter, transparent top-left pixel block.
func wide(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 1200, 600))
	for y := range 600 {
		for x := range 1200 {
			c := color.NRGBA{0, 0, 255, 255}
			switch {
			case x < 300:
				c = color.NRGBA{255, 0, 0, 255}
			case x >= 900:
				c = color.NRGBA{0, 255, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a valid PNG header claiming w×h pixels (a decompression bomb
// needs no more than that to be refused).
func hugePNG(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestProcess(t *testing.T) {
	dec := raster.NewDecoder(raster.DefaultLimits)
	out, err := avatar.Process(t.Context(), dec, wide(t), "me.png", "image/png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 640 {
		t.Fatalf("size %v", b)
	}
	// The centre square of a wide picture keeps the blue middle and drops
	// the red and green sides.
	for _, x := range []int{5, 320, 634} {
		r, g, bl, _ := img.At(x, 320).RGBA()
		if bl>>8 < 200 || r>>8 > 60 || g>>8 > 60 {
			t.Errorf("pixel %d is %d,%d,%d; want blue", x, r>>8, g>>8, bl>>8)
		}
	}

	webp, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := avatar.Process(t.Context(), dec, webp, "photo.webp", "image/webp"); err != nil {
		t.Errorf("WebP: %v", err)
	} else if cfg, err := jpeg.DecodeConfig(bytes.NewReader(out)); err != nil || cfg.Width != 640 {
		t.Errorf("WebP result: %+v %v", cfg, err)
	}
}

func TestProcessRefuses(t *testing.T) {
	png := wide(t)
	cases := []struct {
		name, file, ctype string
		data              []byte
		kind              problem.Kind
		want              string
	}{
		{"too large", "big.png", "image/png", append(append([]byte{}, png...), make([]byte, 5<<20)...), problem.KindTooLarge, "larger than 5 MB"},
		{"not an image", "notes.png", "image/png", []byte("<html><script>alert(1)</script></html>"), problem.KindInvalid, "not an image"},
		{"SVG", "logo.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), problem.KindInvalid, "not an image"},
		{"lies about its type", "photo.jpg", "image/jpeg", png, problem.KindInvalid, "says it is a JPEG image but it is a PNG image"},
		{"truncated", "cut.png", "image/png", png[:len(png)/2], problem.KindInvalid, "not a valid PNG image"},
		{"bomb", "bomb.png", "image/png", hugePNG(100_000, 100_000), problem.KindInvalid, "100000×100000"},
		{"empty", "x.png", "image/png", nil, problem.KindInvalid, "Choose an image"},
	}
	for _, tc := range cases {
		_, err := avatar.Process(t.Context(), raster.NewDecoder(raster.DefaultLimits), tc.data, tc.file, tc.ctype)
		p, ok := problem.As(err)
		if !ok || p.Kind != tc.kind || !strings.Contains(p.Fields["avatar"], tc.want) {
			t.Errorf("%s: %v, want a %v problem on avatar saying %q", tc.name, err, tc.kind, tc.want)
		}
	}
}

// TestProcessLarge: a large picture is shrunk by averaging before it is
// scaled; the result keeps its parts where they were.
func TestProcessLarge(t *testing.T) {
	const side = 4000
	img := image.NewYCbCr(image.Rect(0, 0, side, side), image.YCbCrSubsampleRatio420)
	for y := range side {
		for x := range side {
			// Top half white, bottom half black, left of it all a thin
			// grey stripe that averaging must not lose.
			yy := uint8(255)
			if y >= side/2 {
				yy = 0
			}
			if x < 40 {
				yy = 128
			}
			img.Y[img.YOffset(x, y)] = yy
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	out, err := avatar.Process(t.Context(), raster.NewDecoder(raster.DefaultLimits), b.Bytes(), "big.jpg", "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil || got.Bounds().Dx() != 640 {
		t.Fatalf("result %v, %v", got.Bounds(), err)
	}
	for _, c := range []struct {
		x, y int
		want uint8
	}{{320, 100, 255}, {320, 540, 0}, {3, 100, 128}, {3, 540, 128}} {
		r, _, _, _ := got.At(c.x, c.y).RGBA()
		if d := int(r>>8) - int(c.want); d < -12 || d > 12 {
			t.Errorf("pixel (%d,%d) is %d, want about %d", c.x, c.y, r>>8, c.want)
		}
	}
}

// TestProcessRefusesBomb: a 381 KB PNG of 7000×7000 16-bit pixels, that
// decodes into 392 MB, is refused from its header (413, on the avatar
// field) without the memory being allocated.
func TestProcessRefusesBomb(t *testing.T) {
	bomb := rastertest.Bomb(7000, 7000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := avatar.Process(t.Context(), raster.NewDecoder(raster.DefaultLimits), bomb, "bomb.png", "image/png")
	runtime.ReadMemStats(&after)
	p, ok := problem.As(err)
	if !ok || p.Kind != problem.KindTooLarge || !strings.Contains(p.Fields["avatar"], "7000×7000 pixels in 16-bit colour, too large to open") {
		t.Fatalf("Process = %v, want a too-large problem on avatar", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing the bomb allocated %d bytes", n)
	}
}

func TestStore(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		log := event.NewLog(d, event.NewLocal(), nil)
		users := user.NewStore(d, log, func(string) (string, error) { return "x", nil })
		u, err := users.Create(ctx, user.NewUser{Email: "ana@example.com", Name: "Ana", Role: policy.Service, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		s := avatar.NewStore(d, log, raster.NewDecoder(raster.DefaultLimits))
		if _, err := s.Get(ctx, u.ID); err != avatar.ErrNone {
			t.Fatalf("no avatar yet: %v", err)
		}
		got, err := s.Set(ctx, u.ID, wide(t), "me.png", "image/png")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.AvatarURL, "/avatars/") || !strings.Contains(got.AvatarURL, "?v=") {
			t.Errorf("avatar URL %q", got.AvatarURL)
		}
		img, err := s.Get(ctx, u.ID)
		if err != nil || raster.Sniff(img) != raster.JPEG {
			t.Fatalf("stored avatar: %v", err)
		}
		if again, _ := users.Get(ctx, u.ID); again.AvatarURL != got.AvatarURL {
			t.Errorf("user says %q", again.AvatarURL)
		}
		if u2, err := s.Delete(ctx, u.ID); err != nil || u2.AvatarURL != "" {
			t.Errorf("delete: %+v %v", u2, err)
		}
		if _, err := s.Get(ctx, u.ID); err != avatar.ErrNone {
			t.Errorf("after delete: %v", err)
		}
	})
}
