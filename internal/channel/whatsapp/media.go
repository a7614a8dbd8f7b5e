package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// inboundLimit is the largest file WhatsApp sends of a kind (Meta's
// supported media table), which is what is accepted.
func inboundLimit(kind string) int64 {
	switch kind {
	case "image":
		return 5 << 20
	case "sticker":
		return 512 << 10
	case "audio", "video":
		return 16 << 20
	}
	return 100 << 20
}

// MediaLimits are the attachment limits of inbound WhatsApp media.
var MediaLimits = attachment.Limits{MaxImage: 5 << 20, MaxFile: 100 << 20, PerMessage: 1, MaxFilename: 200}

// handleMedia fetches an inbound message's media from Meta: the media id
// gives a short-lived URL, downloaded with the access token, its size and
// SHA-256 checked against what Meta announced, stored under the data
// directory and attached to the message. A file Meta no longer has (ids
// expire after 7 days), or one too large or of a refused type, marks the
// media failed with the reason; transient errors retry.
func (s *Service) handleMedia(ctx context.Context, j *job.Job) error {
	var p messagePayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	m, err := s.conv.LoadMessage(ctx, p.MessageID)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	c, ok := DecodeContent(&m)
	if !ok || c.Media == nil || c.Media.State != MediaPending {
		return nil // done before (a job run twice)
	}
	n, err := s.number(ctx, m.InboxID)
	if isNotFound(err) {
		return s.mediaFailed(ctx, m.ID, "The WhatsApp inbox no longer exists.")
	} else if err != nil {
		return err
	}
	a, err := s.fetchMedia(ctx, n.AccessToken, n.PhoneNumberID, m.InboxID, c.Kind, c.Media)
	if err != nil {
		var perm *mediaError
		if errors.As(err, &perm) || j.Final() {
			reason := err.Error()
			if perm != nil {
				reason = perm.reason
			}
			return s.mediaFailed(ctx, m.ID, reason)
		}
		if f := classify(err); f.Token {
			s.flagToken(ctx, n, f)
		}
		return err
	}
	uploader := mediaUploader(m.InboxID)
	_, err = s.conv.Amend(ctx, m.ID, func(tx *event.Tx, msg *conversation.Message) error {
		cur, _ := DecodeContent(msg)
		if cur.Media == nil || cur.Media.State != MediaPending {
			return errDone
		}
		linked, err := attachment.Link(ctx, tx.Tx, msg.ID, uploader, []int64{a.ID}, MediaLimits)
		if err != nil {
			return err
		}
		msg.Attachments = linked
		cur.Media.State = MediaStored
		msg.Content = cur.raw()
		return nil
	})
	if errors.Is(err, errDone) {
		return nil
	}
	return err
}

var errDone = errors.New("whatsapp: already done")

func mediaUploader(inboxID int64) string { return "whatsapp:" + strconv.FormatInt(inboxID, 10) }

// mediaError is a media failure that retrying cannot fix.
type mediaError struct{ reason string }

func (e *mediaError) Error() string { return e.reason }

// fetchMedia downloads a media id and stores it.
func (s *Service) fetchMedia(ctx context.Context, token, phoneNumberID string, inboxID int64, kind string, md *Media) (attachment.Attachment, error) {
	info, err := s.graph.Media(ctx, token, md.ID, phoneNumberID)
	if err != nil {
		var ge *GraphError
		if errors.As(err, &ge) && ge.Network == nil && ge.HTTPStatus < 500 && ge.HTTPStatus != 429 && ge.HTTPStatus != 401 && ge.Code != 190 && !ge.Transient {
			return attachment.Attachment{}, &mediaError{"WhatsApp no longer has this file (media are kept 7 days): " + ge.Describe()}
		}
		return attachment.Attachment{}, err
	}
	limit := inboundLimit(kind)
	if size := info.Size(); size > limit {
		return attachment.Attachment{}, &mediaError{"The file is larger than WhatsApp's limit for a " + kind + " (" + humanBytes(limit) + ")."}
	}
	sum := info.SHA256
	if sum == "" {
		sum = md.SHA256
	}
	tmpDir := filepath.Join(os.TempDir(), "switchboard-whatsapp")
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return attachment.Attachment{}, err
	}
	tmp, err := os.CreateTemp(tmpDir, "media-")
	if err != nil {
		return attachment.Attachment{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := s.graph.Download(ctx, token, info.URL, limit, sum, tmp); err != nil {
		switch {
		case errors.Is(err, ErrTooLarge):
			return attachment.Attachment{}, &mediaError{"The file is larger than WhatsApp's limit for a " + kind + " (" + humanBytes(limit) + ")."}
		case errors.Is(err, ErrChecksum):
			return attachment.Attachment{}, errorf("media %s: the download does not match Meta's SHA-256", md.ID) // retried
		}
		return attachment.Attachment{}, err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return attachment.Attachment{}, err
	}
	name := md.Filename
	if name == "" {
		name = kind + extensionOf(firstNonEmpty(info.MimeType, md.MimeType))
	}
	a, err := s.media.Save(ctx, attachment.From{Uploader: mediaUploader(inboxID)}, name, tmp)
	if p, ok := problem.As(err); ok {
		return a, &mediaError{"The file could not be kept: " + p.Message}
	}
	return a, err
}

// mediaFailed records why a message's media could not be fetched.
func (s *Service) mediaFailed(ctx context.Context, id int64, reason string) error {
	_, err := s.conv.Amend(ctx, id, func(tx *event.Tx, m *conversation.Message) error {
		c, _ := DecodeContent(m)
		if c.Media == nil || c.Media.State != MediaPending {
			return errDone
		}
		c.Media.State, c.Media.Error = MediaFailed, reason
		m.Content = c.raw()
		return nil
	})
	if errors.Is(err, errDone) {
		return nil
	}
	return err
}

func extensionOf(mimeType string) string {
	mt, _, _ := mime.ParseMediaType(mimeType)
	switch mt {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	case "audio/ogg":
		return ".ogg"
	case "audio/mpeg":
		return ".mp3"
	case "audio/mp4":
		return ".m4a"
	case "audio/aac":
		return ".aac"
	case "audio/amr":
		return ".amr"
	case "video/mp4":
		return ".mp4"
	case "video/3gpp", "video/3gp":
		return ".3gp"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
