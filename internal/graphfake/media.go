package graphfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type mediaObject struct {
	id       string
	pnid     string
	mime     string
	sha256   string // base64, as Meta writes it
	filename string
	data     []byte
	created  time.Time
	deleted  bool
}

type mediaURL struct {
	mediaID string
	expires time.Time
}

// mediaKinds is Meta's table of supported media (§7.3).
var mediaKinds = []struct {
	kind  string
	types []string
	max   int64
}{
	{"audio", []string{"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}, 16 << 20},
	{"document", []string{"text/plain", "application/pdf", "application/vnd.ms-excel",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/msword",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.ms-powerpoint",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation"}, 100 << 20},
	{"image", []string{"image/jpeg", "image/png"}, 5 << 20},
	{"sticker", []string{"image/webp"}, 500 << 10},
	{"video", []string{"video/mp4", "video/3gp", "video/3gpp"}, 16 << 20},
}

// kindOf returns the media kind of a MIME type and its size limit.
func kindOf(mimeType string) (string, int64) {
	base, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		base = strings.ToLower(strings.TrimSpace(mimeType))
	}
	for _, k := range mediaKinds {
		for _, t := range k.types {
			if t == base {
				return k.kind, k.max
			}
		}
	}
	return "", 0
}

func allMediaTypes() string {
	var all []string
	for _, k := range mediaKinds {
		all = append(all, k.types...)
	}
	return strings.Join(all, ", ")
}

// storeMedia keeps bytes as a media object of a number. f.mu is held.
func (f *Fake) storeMedia(pnid string, data []byte, mimeType, filename string) *mediaObject {
	sum := sha256.Sum256(data)
	o := &mediaObject{id: f.digits(16), pnid: pnid, mime: mimeType, sha256: base64.StdEncoding.EncodeToString(sum[:]),
		filename: filename, data: data, created: f.now()}
	f.media[o.id] = o
	return o
}

// mediaURL issues a download URL for an object, valid for MediaURLTTL.
// f.mu is held.
func (f *Fake) mediaURL(o *mediaObject, base string) string {
	if base == "" {
		base = f.opt.BaseURL
	}
	if base == "" {
		base = f.lastBase
	}
	token := f.alnum(32)
	f.mediaURLs[token] = mediaURL{mediaID: o.id, expires: f.now().Add(f.opt.MediaURLTTL)}
	q := url.Values{"mid": {o.id}, "ext": {unix(f.now())}, "hash": {token}}
	return strings.TrimRight(base, "/") + "/whatsapp_business/attachments/?" + q.Encode()
}

// AddMedia stores bytes as media of a number (as if uploaded) and
// returns the media id.
func (f *Fake) AddMedia(pnid string, data []byte, mimeType string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.numbers[pnid]; !ok {
		return "", fmt.Errorf("graphfake: no number %s", pnid)
	}
	return f.storeMedia(pnid, data, mimeType, "").id, nil
}

// Media returns a media object's bytes and type (deleted or not).
func (f *Fake) Media(id string) ([]byte, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.media[id]
	if !ok {
		return nil, "", false
	}
	return o.data, o.mime, true
}

// ExpireMedia makes a media id unknown to the Graph API, as Meta forgets
// inbound media after 7 days.
func (f *Fake) ExpireMedia(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.media[id]; ok {
		o.deleted = true
	}
}

// upload handles POST /{phone-number-id}/media.
func (c *call) upload() (any, *Error) {
	r := c.r
	r.Body = http.MaxBytesReader(c.w, r.Body, 110<<20)
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		if strings.Contains(err.Error(), "too large") {
			return nil, oauth(400, 131053, "Media upload error", "Uploaded file is too large.")
		}
		return nil, requiredParam("messaging_product")
	}
	defer r.MultipartForm.RemoveAll()
	switch mp := r.FormValue("messaging_product"); {
	case mp == "":
		return nil, requiredParam("messaging_product")
	case !strings.EqualFold(mp, "whatsapp"):
		return nil, invalidParam("Param messaging_product must be one of {WHATSAPP} - got %q.", mp)
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return nil, requiredParam("file")
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, oauth(400, 131053, "Media upload error", "Could not read the uploaded file.")
	}
	typ := r.FormValue("type")
	if typ == "" {
		typ = hdr.Header.Get("Content-Type")
	}
	kind, limit := kindOf(typ)
	if kind == "" {
		return nil, invalidParam("Param file must be a file with one of the following types: %s. Received file of type '%s'.", allMediaTypes(), typ)
	}
	if len(data) == 0 {
		return nil, oauth(400, 131053, "Media upload error", "The uploaded file is empty.")
	}
	if int64(len(data)) > limit {
		return nil, oauth(400, 131053, "Media upload error", fmt.Sprintf("Uploaded file size %d bytes is over the %d bytes allowed for %s.", len(data), limit, typ))
	}
	f := c.f
	f.mu.Lock()
	o := f.storeMedia(c.number.ID, data, typ, hdr.Filename)
	f.mu.Unlock()
	return object{{"id", o.id}}, nil
}

// mediaInfo handles GET /{media-id}.
func (c *call) mediaInfo(o *mediaObject) (any, *Error) {
	if pn := c.r.URL.Query().Get("phone_number_id"); pn != "" && pn != o.pnid {
		return nil, objectMissing(c.r.Method, o.id)
	}
	f := c.f
	f.mu.Lock()
	u := f.mediaURL(o, c.base)
	f.mu.Unlock()
	return object{
		{"messaging_product", "whatsapp"},
		{"url", u},
		{"mime_type", o.mime},
		{"sha256", o.sha256},
		{"file_size", fmt.Sprint(len(o.data))},
		{"id", o.id},
	}, nil
}

// deleteMedia handles DELETE /{media-id}.
func (c *call) deleteMedia(o *mediaObject) (any, *Error) {
	if pn := c.r.URL.Query().Get("phone_number_id"); pn != "" && pn != o.pnid {
		return nil, objectMissing(c.r.Method, o.id)
	}
	c.f.mu.Lock()
	o.deleted = true
	c.f.mu.Unlock()
	return object{{"success", true}}, nil
}

// download serves media bytes at the URL mediaInfo gave: Bearer token of
// the owning number required, Range supported, never a redirect.
func (f *Fake) download(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token := bearer(r)
	q := r.URL.Query()
	f.mu.Lock()
	if e := f.injection(EndpointDownload, ""); e != nil {
		f.mu.Unlock()
		http.Error(w, e.Message, e.status())
		return
	}
	u, ok := f.mediaURLs[q.Get("hash")]
	var o *mediaObject
	if ok {
		o = f.media[u.mediaID]
	}
	var owner *number
	if o != nil {
		owner = f.numbers[o.pnid]
	}
	expired := f.expired[token]
	now := f.now()
	f.mu.Unlock()
	switch {
	case token == "" || expired || !f.knownToken(token):
		w.Header().Set("WWW-Authenticate", `Bearer realm="lookaside"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	case o == nil || o.deleted || u.mediaID != q.Get("mid") || now.After(u.expires) || owner == nil || owner.Token != token:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", o.mime)
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(o.data))
	}
}
