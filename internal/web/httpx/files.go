package httpx

import (
	"mime"
	"net/http"

	"github.com/switchboardhq/switchboard/internal/attachment"
)

// ServeAttachment writes a stored file so that a browser never runs it:
// images inline, everything else as a download, always with nosniff and
// a sandboxing CSP.
func ServeAttachment(w http.ResponseWriter, r *http.Request, files *attachment.Store, a attachment.Attachment) error {
	f, err := files.Open(a)
	if err != nil {
		return err
	}
	defer f.Close()
	disposition := "attachment"
	if a.Kind == attachment.Image {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Filename}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "private, max-age=86400, immutable")
	}
	http.ServeContent(w, r, "", a.CreatedAt, f)
	return nil
}
