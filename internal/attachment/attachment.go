// Package attachment stores the files that travel with messages: images and
// documents a visitor or an agent uploads. Files are checked by their
// content (not by the name or the type the client claims), limited in size,
// and stored once per content under the data directory, named by their
// SHA-256. Anonymous uploads (a web chat visitor's) not yet sent are capped
// in number and bytes per uploader and per client address.
package attachment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Kind groups content types the way channels treat them.
type Kind string

// The kinds.
const (
	Image    Kind = "image"
	Video    Kind = "video"
	Audio    Kind = "audio"
	Document Kind = "document"
)

// Attachment is a stored file.
type Attachment struct {
	ID          int64     `json:"id"`
	Kind        Kind      `json:"kind"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// Limits bound uploads.
type Limits struct {
	MaxImage    int64 // bytes
	MaxFile     int64 // bytes, any other kind
	PerMessage  int   // attachments per message
	MaxFilename int   // characters
	// PerUploader and PerClient bound the anonymous uploads not yet sent
	// (they are removed after a day): an uploader's, and those from one
	// client address.
	PerUploader, PerClient Quota
}

// Quota bounds the files kept uploaded and not sent.
type Quota struct {
	Files int
	Bytes int64
}

// DefaultLimits fit what the channels accept. A visitor's widget sends the
// files of a message (at most 10) as soon as they are uploaded, so even
// its retries stay well within the quotas; an address may be shared by
// many visitors (an office, a mobile network).
var DefaultLimits = Limits{MaxImage: 10 << 20, MaxFile: 20 << 20, PerMessage: 10, MaxFilename: 200,
	PerUploader: Quota{Files: 20, Bytes: 100 << 20},
	PerClient:   Quota{Files: 200, Bytes: 1 << 30}}

// Store saves and opens attachments.
type Store struct {
	db     *db.DB
	dir    string
	Limits Limits
}

// NewStore returns a store keeping files under dir.
func NewStore(d *db.DB, dir string, limits Limits) *Store {
	return &Store{db: d, dir: dir, Limits: limits}
}

// Uploader names who uploaded a file that is not yet attached.
func Uploader(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

// From says who uploads a file.
type From struct {
	Uploader string // see Uploader
	// ClientIP is set for an anonymous upload: the address it came from.
	// Until the file is sent it counts against Limits.PerUploader and
	// Limits.PerClient.
	ClientIP string
}

// Save reads a file (at most MaxFile bytes, checked), recognises its type
// from its content, stores it and records it as uploaded by from. An
// anonymous upload over its quotas is refused before it is read (when the
// quota is full already) or before it is recorded: 429 for the number of
// files, 413 for their bytes.
func (s *Store) Save(ctx context.Context, from From, filename string, r io.Reader) (Attachment, error) {
	filename = cleanFilename(filename, s.Limits.MaxFilename)
	if err := s.checkQuota(ctx, s.db, from, 0); err != nil {
		return Attachment{}, err
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "tmp"), 0o750); err != nil {
		return Attachment{}, err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "upload-")
	if err != nil {
		return Attachment{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	head := &headBuffer{max: 512}
	n, err := io.Copy(io.MultiWriter(tmp, h, head), io.LimitReader(r, s.Limits.MaxFile+1))
	if err != nil {
		return Attachment{}, problem.New(problem.KindMalformed, "The upload was interrupted.")
	}
	if n == 0 {
		return Attachment{}, problem.Invalid("file", "The file is empty.")
	}
	if n > s.Limits.MaxFile {
		return Attachment{}, &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("Files may be at most %d MB.", s.Limits.MaxFile>>20)}
	}
	ctype, kind := Sniff(head.b, filename)
	if ctype == "" {
		return Attachment{}, &problem.Error{Kind: problem.KindUnsupported, Message: "This type of file is not accepted: send an image (JPEG, PNG, GIF, WebP), a PDF, an office document, a text file, audio or video.",
			Fields: map[string]string{"file": "This type of file is not accepted."}}
	}
	if kind == Image && n > s.Limits.MaxImage {
		return Attachment{}, &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("Images may be at most %d MB.", s.Limits.MaxImage>>20)}
	}
	if err := tmp.Sync(); err != nil {
		return Attachment{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := s.path(sum)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return Attachment{}, err
	}
	// Recorded first, within the quotas, then put in place: a refused
	// upload leaves no file behind. (On PostgreSQL, uploads racing from
	// one visitor may pass a quota by the few that commit side by side.)
	a := Attachment{Kind: kind, Filename: filename, ContentType: ctype, Size: n, SHA256: sum, CreatedAt: db.Now()}
	var ip *string
	if from.ClientIP != "" {
		ip = &from.ClientIP
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if err := s.checkQuota(ctx, tx, from, n); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO attachments (uploader, kind, filename, content_type, size, sha256, created_at, client_ip)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, from.Uploader, a.Kind, a.Filename, a.ContentType, a.Size, a.SHA256, a.CreatedAt, ip).Scan(&a.ID)
	})
	if err != nil {
		return Attachment{}, err
	}
	if _, err := os.Stat(final); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp.Name(), final); err != nil {
			ctx := context.WithoutCancel(ctx)
			s.db.Write(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `DELETE FROM attachments WHERE id = $1`, a.ID)
				return err
			})
			return Attachment{}, fmt.Errorf("attachment: save: %w", err)
		}
	}
	return a, nil
}

// checkQuota refuses an anonymous upload of n bytes (0: not read yet)
// that would take its uploader or its client address over their quota.
func (s *Store) checkQuota(ctx context.Context, q db.Querier, from From, n int64) error {
	if from.ClientIP == "" {
		return nil
	}
	for _, c := range []struct {
		column, value string
		quota         Quota
		files, bytes  string // what to tell about either limit
	}{
		{"uploader", from.Uploader, s.Limits.PerUploader,
			"You have %d files uploaded and not yet sent: send them before uploading more.",
			"Files uploaded and not yet sent may take at most %d MB: send them before uploading more."},
		{"client_ip", from.ClientIP, s.Limits.PerClient,
			"%d files uploaded from your network are not yet sent: send them, or try again later.",
			"Files uploaded from your network and not yet sent may take at most %d MB: send them, or try again later."},
	} {
		var files, bytes int64
		err := q.QueryRow(ctx, `SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM attachments
			WHERE `+c.column+` = $1 AND message_id IS NULL`, c.value).Scan(&files, &bytes)
		if err != nil {
			return fmt.Errorf("attachment: quota: %w", err)
		}
		if files+1 > int64(c.quota.Files) {
			return problem.New(problem.KindRateLimited, c.files, files)
		}
		if bytes+max(n, 1) > c.quota.Bytes {
			return problem.New(problem.KindTooLarge, c.bytes, c.quota.Bytes>>20)
		}
	}
	return nil
}

// Unattached counts the uploads not yet sent (and held by no stored
// message), and their bytes.
func (s *Store) Unattached(ctx context.Context) (files, bytes int64, err error) {
	err = s.db.QueryRow(ctx, `SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM attachments WHERE message_id IS NULL AND held_by IS NULL`).Scan(&files, &bytes)
	return files, bytes, err
}

func (s *Store) path(sum string) string {
	return filepath.Join(s.dir, sum[:2], sum[2:4], sum)
}

// Open returns the stored content of a.
func (s *Store) Open(a Attachment) (*os.File, error) {
	return os.Open(s.path(a.SHA256))
}

// Link attaches the uploader's unattached files to a message in tx. It
// fails, and so rolls back the message, when an id is unknown, already
// used, or someone else's.
func Link(ctx context.Context, tx *db.Tx, messageID int64, uploader string, ids []int64, limits Limits) ([]Attachment, error) {
	if len(ids) > limits.PerMessage {
		return nil, problem.Invalid("attachments", "At most %d attachments per message.", limits.PerMessage)
	}
	out := make([]Attachment, 0, len(ids))
	for _, id := range ids {
		var a Attachment
		// Sent: the client address is no longer kept.
		err := tx.QueryRow(ctx, `UPDATE attachments SET message_id = $1, client_ip = NULL WHERE id = $2 AND uploader = $3 AND message_id IS NULL AND held_by IS NULL
			RETURNING id, kind, filename, content_type, size, sha256, created_at`, messageID, id, uploader).
			Scan(&a.ID, &a.Kind, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedAt)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return nil, problem.Invalid("attachments", "Attachment %d does not exist, is not yours or is already sent.", id)
		}
		if err != nil {
			return nil, fmt.Errorf("attachment: link: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// ForMessages returns the attachments of the given messages, by message.
func ForMessages(ctx context.Context, q db.Querier, messageIDs []int64) (map[int64][]Attachment, error) {
	out := map[int64][]Attachment{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT message_id, id, kind, filename, content_type, size, sha256, created_at
		FROM attachments WHERE message_id IN (`+db.IDList(messageIDs)+`) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("attachment: for messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid int64
		var a Attachment
		if err := rows.Scan(&mid, &a.ID, &a.Kind, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedAt); err != nil {
			return nil, err
		}
		out[mid] = append(out[mid], a)
	}
	return out, rows.Err()
}

// Ref is a stored attachment with where it belongs.
type Ref struct {
	Attachment
	MessageID int64  // 0 while not yet sent
	Uploader  string // who uploaded it
}

// Get returns an attachment with its message and uploader; the caller
// decides who may see it.
func Get(ctx context.Context, q db.Querier, id int64) (Ref, error) {
	var r Ref
	var mid *int64
	err := q.QueryRow(ctx, `SELECT id, kind, filename, content_type, size, sha256, created_at, message_id, uploader FROM attachments WHERE id = $1`, id).
		Scan(&r.ID, &r.Kind, &r.Filename, &r.ContentType, &r.Size, &r.SHA256, &r.CreatedAt, &mid, &r.Uploader)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return r, problem.NotFound("Attachment")
	}
	if mid != nil {
		r.MessageID = *mid
	}
	return r, err
}

// DeleteUnattached removes uploads never sent within maxAge (but those a
// stored message holds, see Hold), and the files no attachment refers to
// any more.
func (s *Store) DeleteUnattached(ctx context.Context, maxAge time.Duration) (int, error) {
	var sums []string
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		sums = sums[:0] // the function may run more than once
		rows, err := tx.Query(ctx, `DELETE FROM attachments WHERE message_id IS NULL AND held_by IS NULL AND created_at < $1 RETURNING sha256`, db.Now().Add(-maxAge))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			sums = append(sums, s)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	for _, sum := range sums {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM attachments WHERE sha256 = $1`, sum).Scan(&n); err == nil && n == 0 {
			os.Remove(s.path(sum))
		}
	}
	return len(sums), nil
}

func cleanFilename(name string, max int) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '/' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if name == "." || name == "" {
		name = "file"
	}
	if utf8.RuneCountInString(name) > max {
		ext := filepath.Ext(name)
		runes := []rune(strings.TrimSuffix(name, ext))
		name = string(runes[:max-utf8.RuneCountInString(ext)]) + ext
	}
	return name
}

type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Sniff recognises the accepted types by their first bytes (and, for
// formats that are containers or plain text, by the file name too). It
// returns "" for anything else: HTML, SVG and scripts are never accepted.
func Sniff(head []byte, filename string) (string, Kind) {
	ext := strings.ToLower(filepath.Ext(filename))
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "image/jpeg", Image
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", Image
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "image/gif", Image
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "image/webp", Image
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf", Document
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		if string(head[8:11]) == "M4A" {
			return "audio/mp4", Audio
		}
		return "video/mp4", Video
	case bytes.HasPrefix(head, []byte("OggS")):
		return "audio/ogg", Audio
	case bytes.HasPrefix(head, []byte("ID3")), len(head) >= 2 && head[0] == 0xff && head[1]&0xe0 == 0xe0 && ext == ".mp3":
		return "audio/mpeg", Audio
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		switch ext {
		case ".docx":
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Document
		case ".xlsx":
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Document
		case ".pptx":
			return "application/vnd.openxmlformats-officedocument.presentationml.presentation", Document
		case ".zip":
			return "application/zip", Document
		}
	case ext == ".txt" || ext == ".csv":
		if utf8.Valid(trimPartialRune(head)) && !bytes.ContainsRune(head, 0) {
			if ext == ".csv" {
				return "text/csv", Document
			}
			return "text/plain", Document
		}
	}
	return "", ""
}

// trimPartialRune drops a UTF-8 sequence cut off at the end of head.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < 3 && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}
