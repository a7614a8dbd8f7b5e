// Package avatar keeps people's pictures. An upload (JPEG, PNG or WebP,
// at most 5 MB) is checked against what it claims to be, its dimensions
// are read from the header before anything is decoded (so a small file
// that unpacks into gigabytes is refused), and it is never stored as it
// came: it is decoded, cropped to a centred square, scaled to 640×640 and
// encoded again as JPEG. Avatars live in the database, so every node
// serves them.
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
	"image/png"
	"path"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Limits of an upload.
const (
	MaxBytes = 5 << 20
	// MaxPixels bounds the decoded size (about 200 MB of RGBA).
	MaxPixels = 50_000_000
	// MaxSide bounds either dimension.
	MaxSide = 12_000
	// Size is the side of a stored avatar.
	Size = 640
)

// Format is an accepted image format.
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

// claimed is the format a file says it is, by its name or content type
// ("" when it says nothing we know).
func claimed(filename, contentType string) Format {
	switch strings.ToLower(path.Ext(filename)) {
	case ".jpg", ".jpeg", ".jfif":
		return JPEG
	case ".png":
		return PNG
	case ".webp":
		return WebP
	}
	switch strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0])) {
	case "image/jpeg", "image/jpg":
		return JPEG
	case "image/png":
		return PNG
	case "image/webp":
		return WebP
	}
	return ""
}

func invalid(format string, args ...any) error {
	return problem.Invalid("avatar", format, args...)
}

// Process checks an upload and returns the avatar to store: 640×640 JPEG.
// filename and contentType are what the browser said about the file.
func Process(data []byte, filename, contentType string) ([]byte, error) {
	if len(data) > MaxBytes {
		return nil, &problem.Error{Kind: problem.KindTooLarge, Message: "The image is larger than 5 MB.",
			Fields: map[string]string{"avatar": "The image is larger than 5 MB: choose a smaller one."}}
	}
	if len(data) == 0 {
		return nil, invalid("Choose an image file.")
	}
	got := Sniff(data)
	if got == "" {
		return nil, invalid("This file is not an image: choose a JPEG, PNG or WebP picture.")
	}
	if want := claimed(filename, contentType); want != "" && want != got {
		return nil, invalid("This file says it is a %s image but it is a %s image: save it with the right type and try again.", string(want), string(got))
	}
	var cfg image.Config
	var err error
	switch got {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case WebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, invalid("This file is not a valid %s image.", string(got))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxSide || cfg.Height > MaxSide || cfg.Width*cfg.Height > MaxPixels {
		return nil, invalid("The image is %d×%d pixels: use one of at most %d pixels on each side.", cfg.Width, cfg.Height, MaxSide)
	}
	var img image.Image
	switch got {
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case WebP:
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, invalid("This file is not a valid %s image.", string(got))
	}
	return encode(square(img))
}

// square scales the centred square of img to Size×Size over white (for
// transparent pictures).
func square(img image.Image) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	origin := image.Pt(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2)
	src := image.Rectangle{Min: origin, Max: origin.Add(image.Pt(side, side))}
	dst := image.NewRGBA(image.Rect(0, 0, Size, Size))
	xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, xdraw.Src)
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, src, xdraw.Over, nil)
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
}

// NewStore returns the store.
func NewStore(d *db.DB, log *event.Log) *Store { return &Store{db: d, log: log} }

// Set processes an upload and makes it user id's avatar.
func (s *Store) Set(ctx context.Context, id int64, data []byte, filename, contentType string) (user.User, error) {
	img, err := Process(data, filename, contentType)
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
