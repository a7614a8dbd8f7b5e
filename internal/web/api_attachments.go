package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// attachmentsAPI serves the files agents attach to replies and download from
// conversations.
type attachmentsAPI struct {
	convs *conversation.Service
	db    *db.DB
	files *attachment.Store
}

// readUpload reads the multipart "file" field and stores it.
func readUpload(w http.ResponseWriter, r *http.Request, files *attachment.Store, from attachment.From) (attachment.Attachment, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return attachment.Attachment{}, &problem.Error{Kind: problem.KindUnsupported, Message: "Upload the file as multipart/form-data in a field named file."}
	}
	// Allow the form's own overhead beyond the file limit; the store
	// checks the file's size exactly.
	r.Body = http.MaxBytesReader(w, r.Body, files.Limits.MaxFile+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return attachment.Attachment{}, httpx.Malformed("The multipart body could not be read.")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return attachment.Attachment{}, problem.Invalid("file", "Choose a file to upload.")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return attachment.Attachment{}, &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("Files may be at most %d MB.", files.Limits.MaxFile>>20)}
		}
		if err != nil {
			return attachment.Attachment{}, httpx.Malformed("The multipart body could not be read.")
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		a, err := files.Save(r.Context(), from, part.FileName(), part)
		part.Close()
		if p, ok := problem.As(err); ok && p.Kind == problem.KindMalformed {
			// The body ended early: was it cut off for being too large?
			if _, rerr := io.Copy(io.Discard, r.Body); errors.As(rerr, &mbe) {
				return a, &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("Files may be at most %d MB.", files.Limits.MaxFile>>20)}
			}
		}
		return a, err
	}
}

func (s *attachmentsAPI) apiUpload(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	att, err := readUpload(w, r, s.files, attachment.From{Uploader: attachment.Uploader("user", a.UserID)})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, att)
	return nil
}

// serveAttachment writes a stored file so that a browser never runs it
// (see httpx.ServeAttachment).
func serveAttachment(w http.ResponseWriter, r *http.Request, files *attachment.Store, a attachment.Attachment) error {
	return httpx.ServeAttachment(w, r, files, a)
}

func (s *attachmentsAPI) apiDownload(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Attachment")
	}
	ref, err := attachment.Get(r.Context(), s.db, id)
	if err != nil {
		return err
	}
	switch {
	case ref.MessageID != 0:
		// Visible with its message.
		if _, err := s.convs.Message(r.Context(), a, ref.MessageID); err != nil {
			return problem.NotFound("Attachment")
		}
	case ref.Uploader != attachment.Uploader("user", a.UserID):
		return problem.NotFound("Attachment")
	}
	return serveAttachment(w, r, s.files, ref.Attachment)
}
