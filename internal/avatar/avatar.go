// Package avatar keeps people's pictures. An upload (JPEG, PNG or WebP,
// at most 5 MB) is checked against what it claims to be, and it is never
// stored as it came: it is decoded by the node's raster.Decoder (which
// reads the header first and refuses a small file that would unpack into
// more memory than it allows), cropped to a centred square, scaled to
// 640×640 and encoded again as JPEG. Avatars live in the database, so
// every node serves them.
package avatar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"path"
	"strings"

	xdraw "golang.org/x/image/draw"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/raster"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Limits of an upload: the file's size here, what it unpacks into in the
// node's raster.Decoder.
const (
	MaxBytes = 5 << 20
	// Size is the side of a stored avatar.
	Size = 640
)

// claimed is the format a file says it is, by its name or content type
// ("" when it says nothing we know).
func claimed(filename, contentType string) raster.Format {
	switch strings.ToLower(path.Ext(filename)) {
	case ".jpg", ".jpeg", ".jfif":
		return raster.JPEG
	case ".png":
		return raster.PNG
	case ".webp":
		return raster.WebP
	}
	switch strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0])) {
	case "image/jpeg", "image/jpg":
		return raster.JPEG
	case "image/png":
		return raster.PNG
	case "image/webp":
		return raster.WebP
	}
	return ""
}

func invalid(format string, args ...any) error {
	return problem.Invalid("avatar", format, args...)
}

// Process checks an upload and returns the avatar to store: 640×640 JPEG.
// filename and contentType are what the browser said about the file. The
// picture is decoded by dec, within its limits, after its header has been
// read: one that would take too much memory to open is refused (413)
// before anything is decoded.
func Process(ctx context.Context, dec *raster.Decoder, data []byte, filename, contentType string) ([]byte, error) {
	if len(data) > MaxBytes {
		return nil, &problem.Error{Kind: problem.KindTooLarge, Message: "The image is larger than 5 MB.",
			Fields: map[string]string{"avatar": "The image is larger than 5 MB: choose a smaller one."}}
	}
	if len(data) == 0 {
		return nil, invalid("Choose an image file.")
	}
	got := raster.Sniff(data)
	if got == "" {
		return nil, invalid("This file is not an image: choose a JPEG, PNG or WebP picture.")
	}
	if want := claimed(filename, contentType); want != "" && want != got {
		return nil, invalid("This file says it is a %s image but it is a %s image: save it with the right type and try again.", string(want), string(got))
	}
	var out []byte
	err := dec.Decode(ctx, data, func(img image.Image, _ raster.Header) error {
		var err error
		out, err = encode(square(img))
		return err
	})
	if p, ok := problem.As(err); ok {
		// The decoder's problems are about the file the person chose.
		if p.Kind == problem.KindInvalid {
			return nil, invalid("%s", p.Message)
		}
		return nil, &problem.Error{Kind: p.Kind, Message: p.Message, Fields: map[string]string{"avatar": p.Message}}
	}
	return out, err
}

// square scales the centred square of img to Size×Size over white (for
// transparent pictures). A large picture is first shrunk by averaging
// blocks of pixels to less than twice the size: the kernel scaler's
// buffers grow with the height of what it scales (640×7000 pixels of
// four float64 are 143 MB).
func square(img image.Image) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	origin := image.Pt(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2)
	var src image.Image = img
	crop := image.Rectangle{Min: origin, Max: origin.Add(image.Pt(side, side))}
	if k := (side + 2*Size - 1) / (2 * Size); k > 1 {
		src = shrink(img, crop, k)
		crop = src.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, Size, Size))
	xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, xdraw.Src)
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, crop, xdraw.Over, nil)
	return dst
}

// shrink averages the k×k blocks of the square r of img (premultiplied,
// as RGBA64At gives them) into an image k times smaller, a row of blocks
// at a time.
func shrink(img image.Image, r image.Rectangle, k int) *image.RGBA {
	n := r.Dx() / k
	dst := image.NewRGBA(image.Rect(0, 0, n, n))
	at, fast := img.(image.RGBA64Image)
	sums := make([][4]uint64, n)
	area := uint64(k * k)
	for oy := range n {
		clear(sums)
		for y := r.Min.Y + oy*k; y < r.Min.Y+(oy+1)*k; y++ {
			for ox := range n {
				s := &sums[ox]
				for x := r.Min.X + ox*k; x < r.Min.X+(ox+1)*k; x++ {
					var c color.RGBA64
					if fast {
						c = at.RGBA64At(x, y)
					} else {
						cr, cg, cb, ca := img.At(x, y).RGBA()
						c = color.RGBA64{uint16(cr), uint16(cg), uint16(cb), uint16(ca)}
					}
					s[0] += uint64(c.R)
					s[1] += uint64(c.G)
					s[2] += uint64(c.B)
					s[3] += uint64(c.A)
				}
			}
		}
		row := dst.Pix[oy*dst.Stride:]
		for ox, s := range sums {
			for i := range 4 {
				row[4*ox+i] = uint8(s[i] / area >> 8)
			}
		}
	}
	return dst
}

func encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("avatar: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Store keeps avatars.
type Store struct {
	db  *db.DB
	log *event.Log
	dec *raster.Decoder
}

// NewStore returns the store, decoding uploads with dec.
func NewStore(d *db.DB, log *event.Log, dec *raster.Decoder) *Store {
	return &Store{db: d, log: log, dec: dec}
}

// Set processes an upload and makes it user id's avatar.
func (s *Store) Set(ctx context.Context, id int64, data []byte, filename, contentType string) (user.User, error) {
	img, err := Process(ctx, s.dec, data, filename, contentType)
	if err != nil {
		return user.User{}, err
	}
	sum := sha256.Sum256(img)
	version := hex.EncodeToString(sum[:6])
	var u user.User
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO avatars (user_id, image, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET image = excluded.image, updated_at = excluded.updated_at`, id, img, db.Now())
		if err != nil {
			return fmt.Errorf("avatar: store: %w", err)
		}
		u, err = user.SetAvatarVersion(ctx, tx, id, version)
		return err
	})
	return u, err
}

// Delete removes user id's avatar.
func (s *Store) Delete(ctx context.Context, id int64) (user.User, error) {
	var u user.User
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM avatars WHERE user_id = $1`, id); err != nil {
			return err
		}
		var err error
		u, err = user.SetAvatarVersion(ctx, tx, id, "")
		return err
	})
	return u, err
}

// ErrNone means the user has no avatar.
var ErrNone = problem.NotFound("Avatar")

// Get returns user id's avatar (JPEG).
func (s *Store) Get(ctx context.Context, id int64) ([]byte, error) {
	var img []byte
	err := s.db.QueryRow(ctx, `SELECT image FROM avatars WHERE user_id = $1`, id).Scan(&img)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil, ErrNone
	}
	return img, err
}
