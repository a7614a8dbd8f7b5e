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
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
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
	out, err := avatar.Process(wide(t), "me.png", "image/png")
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
	if out, err := avatar.Process(webp, "photo.webp", "image/webp"); err != nil {
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
		_, err := avatar.Process(tc.data, tc.file, tc.ctype)
		p, ok := problem.As(err)
		if !ok || p.Kind != tc.kind || !strings.Contains(p.Fields["avatar"], tc.want) {
			t.Errorf("%s: %v, want a %v problem on avatar saying %q", tc.name, err, tc.kind, tc.want)
		}
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
		s := avatar.NewStore(d, log)
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
		if err != nil || avatar.Sniff(img) != avatar.JPEG {
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
