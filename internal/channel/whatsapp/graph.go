package whatsapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Graph calls Meta's Graph API (the WhatsApp Cloud API): sends, read
// receipts, media, templates, conversational automation and the number
// itself. It is a thin client: requests in Meta's wire format, errors as
// *GraphError.
type Graph struct {
	base     string // scheme://host[/prefix], no trailing slash
	version  string // v23.0
	http     *http.Client
	timeouts Timeouts
}

// Timeouts bound each phase of a call to Graph. Calls that answer JSON
// have a total timeout; media have none that a large file on a slow link
// would overrun: a transfer fails when no byte has moved for Idle, or
// when it has run longer than its size takes at MinRate (plus a minute).
type Timeouts struct {
	// Connect, TLSHandshake and ResponseHeader bound establishing the
	// connection, its TLS handshake, and the wait from the request sent
	// to the answer's headers (10 s, 10 s, 30 s). They apply to the
	// client NewGraph makes, not to one it is given.
	Connect, TLSHandshake, ResponseHeader time.Duration
	// API bounds a whole call that answers JSON (30 s).
	API time.Duration
	// Idle is the longest a media transfer waits for its next byte (30 s).
	Idle time.Duration
	// MinRate is the slowest a media transfer may average, in bytes per
	// second (64 KiB/s: 100 MB may take 27 minutes).
	MinRate int64
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Connect, 10*time.Second)
	def(&t.TLSHandshake, 10*time.Second)
	def(&t.ResponseHeader, 30*time.Second)
	def(&t.API, 30*time.Second)
	def(&t.Idle, 30*time.Second)
	if t.MinRate <= 0 {
		t.MinRate = 64 << 10
	}
	return t
}

// NewGraph returns a client of base (https://graph.facebook.com, or a
// fake) speaking API version (v23.0). A nil client is made with t's
// connection timeouts.
func NewGraph(base, version string, client *http.Client, t Timeouts) *Graph {
	t = t.withDefaults()
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = t.TLSHandshake
		tr.ResponseHeaderTimeout = t.ResponseHeader
		// Sends to one host run side by side (hundreds a second): keep
		// their connections.
		tr.MaxIdleConnsPerHost = 100
		client = &http.Client{Transport: tr}
	}
	return &Graph{base: strings.TrimSuffix(base, "/"), version: version, http: client, timeouts: t}
}

// maxMediaSize is the largest file WhatsApp carries (a document).
const maxMediaSize = 100 << 20

// Why a media transfer was stopped.
var (
	errStalled = errors.New("no data moved for too long")
	errTooSlow = errors.New("the transfer is too slow for its size")
)

// transfer watches a media transfer: its context is cancelled when no
// byte has moved for the idle timeout, or once the transfer has taken
// longer than its size allows. Readers wrapped by progress move it on.
type transfer struct {
	ctx      context.Context
	cancel   context.CancelCauseFunc
	idle     time.Duration
	minRate  int64
	start    time.Time
	stalled  *time.Timer // fires after idle without a byte
	deadline *time.Timer // fires when the transfer is too slow for its size
}

// transfer starts watching a transfer of size bytes (an upper bound when
// the size is not known yet).
func (g *Graph) transfer(ctx context.Context, size int64) *transfer {
	t := &transfer{idle: g.timeouts.Idle, minRate: g.timeouts.MinRate, start: time.Now()}
	t.ctx, t.cancel = context.WithCancelCause(ctx)
	t.stalled = time.AfterFunc(t.idle, func() { t.cancel(fmt.Errorf("%w (%s)", errStalled, t.idle)) })
	t.deadline = time.AfterFunc(t.budget(size), func() { t.cancel(errTooSlow) })
	return t
}

// budget is how long a transfer of size bytes may take: a minute, and
// the size at the slowest rate.
func (t *transfer) budget(size int64) time.Duration {
	return time.Minute + time.Duration(float64(max(size, 0))/float64(t.minRate)*float64(time.Second))
}

// expect sets the transfer's size once the answer tells it.
func (t *transfer) expect(size int64) {
	t.deadline.Reset(t.budget(size) - time.Since(t.start))
}

// stop releases the transfer.
func (t *transfer) stop() {
	t.stalled.Stop()
	t.deadline.Stop()
	t.cancel(nil)
}

// err is what a failed transfer returns: the caller's error when the
// caller gave up, a network GraphError saying why when the transfer was
// stopped, err otherwise.
func (t *transfer) err(parent context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if t.ctx.Err() != nil {
		return &GraphError{Network: fmt.Errorf("media transfer stopped: %w", context.Cause(t.ctx))}
	}
	return err
}

// progress wraps r so that each read that moves bytes resets the idle
// timeout.
func (t *transfer) progress(r io.Reader) io.Reader { return &progressReader{r: r, t: t} }

type progressReader struct {
	r io.Reader
	t *transfer
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.t.stalled.Reset(p.t.idle)
	}
	return n, err
}

// GraphError is an error answer of the Graph API
// ({"error": {"message", "type", "code", …}}), or a failure to get one.
type GraphError struct {
	// HTTPStatus is the answer's status; 0 when none came (the network).
	HTTPStatus int
	Code       int
	Subcode    int
	Type       string
	Message    string
	Details    string // error_data.details
	UserTitle  string
	UserMsg    string
	Transient  bool
	TraceID    string
	// RetryAfter is when Meta says to come back (Retry-After, or the
	// business use case usage's time to regain access).
	RetryAfter time.Duration
	// Network is set when no answer came (timeout, refused connection):
	// the request may or may not have been carried out.
	Network error
}

func (e *GraphError) Error() string {
	if e.Network != nil {
		return "graph: " + e.Network.Error()
	}
	s := fmt.Sprintf("graph: (#%d) %s", e.Code, e.Message)
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s + fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
}

// Describe is the error as an agent or admin reads it: Meta's words, with
// the details.
func (e *GraphError) Describe() string {
	if e.Network != nil {
		return "WhatsApp could not be reached: " + e.Network.Error()
	}
	msg := e.Message
	if e.UserMsg != "" {
		msg = e.UserMsg
	}
	if e.Details != "" && !strings.Contains(msg, e.Details) {
		msg += ": " + e.Details
	}
	return msg
}

type graphErrorBody struct {
	Error *struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		Subcode   int    `json:"error_subcode"`
		UserTitle string `json:"error_user_title"`
		UserMsg   string `json:"error_user_msg"`
		Transient bool   `json:"is_transient"`
		TraceID   string `json:"fbtrace_id"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

func (g *Graph) url(path string, q url.Values) string {
	u := g.base + "/" + g.version + "/" + strings.TrimPrefix(path, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do sends a request that answers JSON, within the API timeout, and
// decodes a 2xx answer into out.
func (g *Graph) do(ctx context.Context, token, method, target string, ctype string, body io.Reader, out any) error {
	cctx, cancel := context.WithTimeout(ctx, g.timeouts.API)
	defer cancel()
	return g.send(ctx, cctx, token, method, target, ctype, body, -1, out)
}

// send is do on a context of the caller's choosing: parent is the
// caller's (its end is returned as it is), ctx the call's. size is the
// body's length, -1 when unknown.
func (g *Graph) send(parent, ctx context.Context, token, method, target, ctype string, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if size >= 0 {
		req.ContentLength = size
	}
	resp, err := g.http.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return parent.Err()
		}
		return &GraphError{Network: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		if parent.Err() != nil {
			return parent.Err()
		}
		return &GraphError{HTTPStatus: resp.StatusCode, Network: err}
	}
	if resp.StatusCode/100 != 2 {
		return graphError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &GraphError{HTTPStatus: resp.StatusCode, Code: -1, Message: "unexpected answer from Graph: " + err.Error()}
	}
	return nil
}

// graphError reads an error answer.
func graphError(resp *http.Response, data []byte) *GraphError {
	e := &GraphError{HTTPStatus: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
	var b graphErrorBody
	if json.Unmarshal(data, &b) == nil && b.Error != nil {
		x := b.Error
		e.Code, e.Subcode, e.Type, e.Message, e.Details = x.Code, x.Subcode, x.Type, x.Message, x.ErrorData.Details
		e.UserTitle, e.UserMsg, e.Transient, e.TraceID = x.UserTitle, x.UserMsg, x.Transient, x.TraceID
		// Meta prefixes messages with the code: "(#131009) Parameter…".
		e.Message = strings.TrimSpace(strings.TrimPrefix(e.Message, "(#"+strconv.Itoa(e.Code)+")"))
		return e
	}
	e.Message = http.StatusText(resp.StatusCode)
	if t := strings.TrimSpace(string(data)); t != "" && len(t) < 300 && !strings.ContainsAny(t, "<>") {
		e.Message = t
	}
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date) and Meta's
// X-Business-Use-Case-Usage (estimated_time_to_regain_access, minutes).
func retryAfter(h http.Header) time.Duration {
	var d time.Duration
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
			d = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var usage map[string][]struct {
			Minutes float64 `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &usage) == nil {
			for _, list := range usage {
				for _, u := range list {
					d = max(d, time.Duration(u.Minutes*float64(time.Minute)))
				}
			}
		}
	}
	return max(d, 0)
}

// SendResult is Graph's answer to a send.
type SendResult struct {
	MessagingProduct string `json:"messaging_product"`
	Contacts         []struct {
		Input  string `json:"input"`
		WaID   string `json:"wa_id"`
		UserID string `json:"user_id"`
	} `json:"contacts"`
	Messages []struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status"`
	} `json:"messages"`
}

// Send posts a message (a SendRequest) and returns its WhatsApp id.
func (g *Graph) Send(ctx context.Context, token, phoneNumberID string, req *SendRequest) (string, error) {
	return g.SendBefore(ctx, token, phoneNumberID, req, time.Time{})
}

// ErrLate is a send not made because its moment had passed.
var ErrLate = errors.New("whatsapp: too late for the send's slot")

// SendBefore is Send that gives up (ErrLate, nothing sent) if it cannot
// leave by notAfter: the last check before the request goes out.
func (g *Graph) SendBefore(ctx context.Context, token, phoneNumberID string, req *SendRequest, notAfter time.Time) (string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	var out SendResult
	target := g.url(phoneNumberID+"/messages", nil)
	if !notAfter.IsZero() && time.Now().After(notAfter) {
		return "", ErrLate
	}
	if err := g.do(ctx, token, http.MethodPost, target, "application/json", bytes.NewReader(body), &out); err != nil {
		return "", err
	}
	if len(out.Messages) == 0 || out.Messages[0].ID == "" {
		return "", &GraphError{HTTPStatus: 200, Code: -1, Message: "Graph accepted the message without giving its id"}
	}
	return out.Messages[0].ID, nil
}

// MarkRead marks a customer's message (and those before it) read.
func (g *Graph) MarkRead(ctx context.Context, token, phoneNumberID, messageID string) error {
	body, _ := json.Marshal(map[string]string{"messaging_product": "whatsapp", "status": "read", "message_id": messageID})
	var out struct {
		Success bool `json:"success"`
	}
	return g.do(ctx, token, http.MethodPost, g.url(phoneNumberID+"/messages", nil), "application/json", bytes.NewReader(body), &out)
}

// MediaInfo is what Graph says of a media id.
type MediaInfo struct {
	URL      string     `json:"url"`
	MimeType string     `json:"mime_type"`
	SHA256   string     `json:"sha256"`
	FileSize flexString `json:"file_size"`
	ID       string     `json:"id"`
}

// Size is the file size Graph announced, -1 when it did not.
func (m MediaInfo) Size() int64 {
	n, err := strconv.ParseInt(string(m.FileSize), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Media looks up a media id: where to download it (a URL valid for five
// minutes), its type, size and hash.
func (g *Graph) Media(ctx context.Context, token, mediaID, phoneNumberID string) (MediaInfo, error) {
	var out MediaInfo
	q := url.Values{}
	if phoneNumberID != "" {
		q.Set("phone_number_id", phoneNumberID)
	}
	err := g.do(ctx, token, http.MethodGet, g.url(url.PathEscape(mediaID), q), "", nil, &out)
	return out, err
}

// ErrTooLarge is a download larger than allowed.
var ErrTooLarge = errors.New("whatsapp: media too large")

// ErrChecksum is a download whose SHA-256 is not the one Meta announced.
var ErrChecksum = errors.New("whatsapp: media checksum mismatch")

// Download fetches media from its URL with the access token, into w: at
// most max bytes, and (when sum is Meta's base64 SHA-256) only if the
// content has that hash; on ErrChecksum, w holds bad bytes the caller
// throws away. The download has no total timeout: it fails when no byte
// has come for the idle timeout, or when it takes longer than its size
// (max, until the answer says) allows at the slowest rate.
func (g *Graph) Download(ctx context.Context, token, rawURL string, max int64, sum string, w io.Writer) (int64, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return 0, &GraphError{Code: -1, Message: "Graph gave an invalid media URL"}
	}
	t := g.transfer(ctx, max)
	defer t.stop()
	req, err := http.NewRequestWithContext(t.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := g.http.Do(req)
	if err != nil {
		return 0, t.err(ctx, &GraphError{Network: err})
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return 0, graphError(resp, data)
	}
	if resp.ContentLength > max {
		return 0, ErrTooLarge
	}
	if resp.ContentLength >= 0 {
		t.expect(resp.ContentLength) // the time its size allows
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(t.progress(resp.Body), max+1))
	if err != nil {
		return n, t.err(ctx, &GraphError{HTTPStatus: resp.StatusCode, Network: err})
	}
	if n > max {
		return n, ErrTooLarge
	}
	if sum != "" {
		want, err := base64.StdEncoding.DecodeString(sum)
		if err != nil {
			want, err = base64.RawStdEncoding.DecodeString(sum)
		}
		if err != nil || !bytes.Equal(want, h.Sum(nil)) {
			return n, ErrChecksum
		}
	}
	return n, nil
}

// Upload stores a file on Graph for sending and returns its media id. The
// file is streamed from r (size bytes; -1 when unknown), not held in
// memory, and like a download the upload has no total timeout: it fails
// when no byte has moved for the idle timeout, or when it takes longer
// than its size allows at the slowest rate.
func (g *Graph) Upload(ctx context.Context, token, phoneNumberID, filename, contentType string, r io.Reader, size int64) (string, error) {
	// The form's parts before and after the file are small: built here,
	// they give the body's exact length.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("messaging_product", "whatsapp")
	mw.WriteField("type", contentType)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(filename)))
	h.Set("Content-Type", contentType)
	if _, err := mw.CreatePart(h); err != nil {
		return "", err
	}
	ctype := mw.FormDataContentType()
	// The file's part ends with the closing delimiter (RFC 2046).
	closing := "\r\n--" + mw.Boundary() + "--\r\n"
	length := int64(-1)
	if size >= 0 {
		length = int64(head.Len()) + size + int64(len(closing))
	}
	bound := size
	if bound < 0 {
		bound = maxMediaSize
	}
	t := g.transfer(ctx, bound)
	defer t.stop()
	body := io.MultiReader(&head, t.progress(r), strings.NewReader(closing))
	var out struct {
		ID string `json:"id"`
	}
	if err := g.send(ctx, t.ctx, token, http.MethodPost, g.url(phoneNumberID+"/media", nil), ctype, body, length, &out); err != nil {
		return "", t.err(ctx, err)
	}
	if out.ID == "" {
		return "", &GraphError{HTTPStatus: 200, Code: -1, Message: "Graph stored the file without giving its id"}
	}
	return out.ID, nil
}

// PhoneNumber is a number as Graph describes it.
type PhoneNumber struct {
	ID                     string `json:"id"`
	VerifiedName           string `json:"verified_name"`
	DisplayPhoneNumber     string `json:"display_phone_number"`
	QualityRating          string `json:"quality_rating"`
	CodeVerificationStatus string `json:"code_verification_status"`
	PlatformType           string `json:"platform_type"`
	Throughput             struct {
		Level string `json:"level"`
	} `json:"throughput"`
}

// PhoneNumber reads the number: "test connection".
func (g *Graph) PhoneNumber(ctx context.Context, token, phoneNumberID string) (PhoneNumber, error) {
	var out PhoneNumber
	q := url.Values{"fields": {"id,verified_name,display_phone_number,quality_rating,code_verification_status,platform_type,throughput"}}
	err := g.do(ctx, token, http.MethodGet, g.url(phoneNumberID, q), "", nil, &out)
	return out, err
}

// GraphTemplate is a message template as Graph lists it.
type GraphTemplate struct {
	ID              flexString          `json:"id"`
	Name            string              `json:"name"`
	Language        string              `json:"language"`
	Status          string              `json:"status"`
	Category        string              `json:"category"`
	ParameterFormat string              `json:"parameter_format"`
	Components      []TemplateComponent `json:"components"`
	QualityScore    *struct {
		Score string `json:"score"`
	} `json:"quality_score"`
	RejectedReason string `json:"rejected_reason"`
}

// TemplatePage is one page of a template list; After is the cursor of the
// next page, "" on the last.
type TemplatePage struct {
	Templates []GraphTemplate
	After     string
}

// Templates lists a business account's templates, one page (after "" is
// the first).
func (g *Graph) Templates(ctx context.Context, token, wabaID, after string) (TemplatePage, error) {
	q := url.Values{"fields": {"id,name,language,status,category,parameter_format,components,quality_score,rejected_reason"}, "limit": {"100"}}
	if after != "" {
		q.Set("after", after)
	}
	var out struct {
		Data   []GraphTemplate `json:"data"`
		Paging struct {
			Cursors struct {
				After string `json:"after"`
			} `json:"cursors"`
			Next string `json:"next"`
		} `json:"paging"`
	}
	if err := g.do(ctx, token, http.MethodGet, g.url(wabaID+"/message_templates", q), "", nil, &out); err != nil {
		return TemplatePage{}, err
	}
	p := TemplatePage{Templates: out.Data}
	// Meta pages while "next" is present; the cursor is in the cursors,
	// or failing that in the next URL.
	if out.Paging.Next != "" {
		p.After = out.Paging.Cursors.After
		if p.After == "" {
			if u, err := url.Parse(out.Paging.Next); err == nil {
				p.After = u.Query().Get("after")
			}
		}
	}
	return p, nil
}

// SetAutomation sets a number's conversational components: its ice
// breakers (prompts) and whether Meta sends request_welcome when a
// customer opens the chat.
func (g *Graph) SetAutomation(ctx context.Context, token, phoneNumberID string, prompts []string, welcome bool) error {
	if prompts == nil {
		prompts = []string{}
	}
	body, _ := json.Marshal(map[string]any{"prompts": prompts, "enable_welcome_message": welcome})
	var out struct {
		Success bool `json:"success"`
	}
	if err := g.do(ctx, token, http.MethodPost, g.url(phoneNumberID+"/conversational_automation", nil), "application/json", bytes.NewReader(body), &out); err != nil {
		return err
	}
	if !out.Success {
		return &GraphError{HTTPStatus: 200, Code: -1, Message: "Graph did not confirm the change"}
	}
	return nil
}
