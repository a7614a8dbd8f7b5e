// Package simulator is a "customer phone" for trying Switchboard's
// WhatsApp channel without a Meta account: a page at /simulator where a
// person picks a name and a number (or hides the number behind a
// username) and chats with a business number of the Graph API fake
// (internal/graphfake) as a WhatsApp user would.
//
// Everything the page does travels the real paths: its small JSON API
// asks the fake to send the customer's messages, which the fake posts as
// signed webhooks to Switchboard; Switchboard answers through the fake's
// Graph endpoints; the page learns about the business's messages, the
// status ticks and the typing indicator from the fake (a server-sent
// event stream of graphfake.Subscribe), never from Switchboard.
//
// Routes (all under /simulator):
//
//	GET  /simulator                 the page
//	GET  /simulator/static/{file}   sim.js, sim.css
//	GET  /simulator/api/numbers     the business numbers with their ice breakers and commands
//	GET  /simulator/api/chat        ?number=&customer= → the chat as the phone shows it
//	POST /simulator/api/open        {number, customer} → "opened the chat" (request_welcome) on an empty chat
//	POST /simulator/api/send        {number, customer, message} → a text, a tap, a reaction, a location
//	POST /simulator/api/media       multipart: number, customer (JSON), file, caption → an image, video, audio or document
//	POST /simulator/api/read        {number, customer} → the customer read the chat (blue ticks)
//	GET  /simulator/api/events      ?number=&customer= → server-sent events of the chat
//	GET  /simulator/media/{id}      the bytes of a media object of the fake
package simulator

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/phone"
)

//go:embed templates static
var content embed.FS

// Options configure the simulator.
type Options struct {
	// Catalog translates the page (English when nil); the language comes
	// from Accept-Language.
	Catalog *i18n.Catalog
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Simulator is the customer phone's HTTP handler.
type Simulator struct {
	fake    *graphfake.Fake
	opt     Options
	logger  *slog.Logger
	page    *template.Template
	assets  map[string]asset
	mux     *http.ServeMux
	csrf    *http.CrossOriginProtection
	closing chan struct{}
}

type asset struct {
	body  []byte
	hash  string
	ctype string
}

// New returns the simulator of a fake. It fails if its template does
// not parse.
func New(fake *graphfake.Fake, opt Options) (*Simulator, error) {
	s := &Simulator{fake: fake, opt: opt, logger: opt.Logger, assets: map[string]asset{}, closing: make(chan struct{})}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	err := fs.WalkDir(content, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := content.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.assets[path.Base(p)] = asset{body: b, hash: hex.EncodeToString(sum[:])[:12], ctype: mime.TypeByExtension(path.Ext(p))}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.page, err = template.New("simulator.html").Funcs(template.FuncMap{
		"t": func(string) string { return "" }, // replaced per request
		"asset": func(name string) (string, error) {
			a, ok := s.assets[name]
			if !ok {
				return "", fmt.Errorf("simulator: no static file %q", name)
			}
			return "/simulator/static/" + name + "?v=" + a.hash, nil
		},
	}).ParseFS(content, "templates/simulator.html")
	if err != nil {
		return nil, fmt.Errorf("simulator: template: %w", err)
	}
	s.csrf = http.NewCrossOriginProtection()
	m := http.NewServeMux()
	m.HandleFunc("GET /simulator", s.index)
	m.HandleFunc("GET /simulator/{$}", s.index)
	m.HandleFunc("GET /simulator/static/{file}", s.static)
	m.HandleFunc("GET /simulator/api/numbers", s.wrap(s.numbers))
	m.HandleFunc("GET /simulator/api/chat", s.wrap(s.chat))
	m.HandleFunc("POST /simulator/api/open", s.wrap(s.open))
	m.HandleFunc("POST /simulator/api/send", s.wrap(s.send))
	m.HandleFunc("POST /simulator/api/media", s.wrap(s.media))
	m.HandleFunc("POST /simulator/api/read", s.wrap(s.read))
	m.HandleFunc("GET /simulator/api/events", s.events)
	m.HandleFunc("GET /simulator/media/{id}", s.file)
	s.mux = m
	return s, nil
}

// ServeHTTP serves the simulator's routes.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.csrf.Handler(s.mux).ServeHTTP(w, r)
}

// Close ends the event streams.
func (s *Simulator) Close() {
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
}

// lang picks the page's language.
func (s *Simulator) lang(r *http.Request) string {
	if s.opt.Catalog == nil {
		return i18n.Default
	}
	return s.opt.Catalog.Match(r.Header.Get("Accept-Language"))
}

func (s *Simulator) tr(lang string) func(string) string {
	return func(key string) string {
		if s.opt.Catalog == nil {
			return key
		}
		return s.opt.Catalog.T(lang, key)
	}
}

func (s *Simulator) index(w http.ResponseWriter, r *http.Request) {
	lang := s.lang(r)
	t, err := s.page.Clone()
	if err != nil {
		http.Error(w, "template", http.StatusInternalServerError)
		return
	}
	tr := s.tr(lang)
	t.Funcs(template.FuncMap{"t": tr})
	strs := map[string]string{}
	for _, k := range jsStrings {
		strs[k] = tr(k)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, map[string]any{"Lang": lang, "Strings": strs, "Numbers": s.numberViews()}); err != nil {
		s.logger.Error("simulator: render", "err", err)
		http.Error(w, "render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *Simulator) static(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	if r.URL.Query().Get("v") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Write(a.body)
}

// apiError is a refusal with a message for the person at the page.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func bad(format string, args ...any) error {
	return &apiError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf(format, args...)}
}

func (s *Simulator) wrap(h func(w http.ResponseWriter, r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out, err := h(w, r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.logger.Error("simulator", "path", r.URL.Path, "err", err)
				ae = &apiError{status: http.StatusInternalServerError, msg: "Something went wrong: " + err.Error()}
			}
			w.WriteHeader(ae.status)
			json.NewEncoder(w).Encode(map[string]string{"error": ae.msg})
			return
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		json.NewEncoder(w).Encode(out)
	}
}

// numberView is a business number as the page shows it.
type numberView struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Display      string               `json:"display"`
	Automation   graphfake.Automation `json:"automation"`
	WelcomeReady bool                 `json:"-"`
}

func (s *Simulator) numberViews() []numberView {
	var out []numberView
	for _, n := range s.fake.Numbers() {
		out = append(out, numberView{ID: n.ID, Name: n.VerifiedName, Display: n.DisplayPhoneNumber, Automation: s.fake.Automation(n.ID)})
	}
	return out
}

func (s *Simulator) numbers(w http.ResponseWriter, r *http.Request) (any, error) {
	return map[string]any{"numbers": s.numberViews()}, nil
}

// identity is who the person at the page is.
type identity struct {
	Name string `json:"name"`
	// Phone is any number in E.164 ("+16505551234"), or empty with
	// HidePhone.
	Phone     string `json:"phone"`
	HidePhone bool   `json:"hide_phone"`
	Username  string `json:"username"`
}

var usernameRE = regexp.MustCompile(`^@?[a-zA-Z0-9._]{3,30}$`)

// customer validates an identity and returns the fake's customer.
func (s *Simulator) customer(id identity) (graphfake.Customer, error) {
	name := strings.TrimSpace(id.Name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return graphfake.Customer{}, bad("Enter a name of up to 64 characters.")
	}
	c := graphfake.Customer{Name: name}
	if id.HidePhone {
		if !usernameRE.MatchString(id.Username) {
			return c, bad("Enter a username of 3 to 30 letters, digits, dots or underscores.")
		}
		c.Username = "@" + strings.TrimPrefix(id.Username, "@")
	} else {
		n, msg := phone.Normalize("+"+strings.TrimPrefix(strings.TrimSpace(id.Phone), "+"), phone.Possible)
		if msg != "" {
			return c, bad("Enter a phone number in international format, like +16505551234.")
		}
		c.Phone = strings.TrimPrefix(n, "+")
		if u := strings.TrimSpace(id.Username); u != "" {
			if !usernameRE.MatchString(u) {
				return c, bad("Enter a username of 3 to 30 letters, digits, dots or underscores.")
			}
			c.Username = "@" + strings.TrimPrefix(u, "@")
		}
	}
	return s.fake.AddCustomer(c), nil
}

// request is the body of the POST calls.
type request struct {
	Number   string   `json:"number"`
	Customer identity `json:"customer"`
	Message  struct {
		Type        string  `json:"type"` // text, button_reply, list_reply, quick_reply, reaction, location
		Text        string  `json:"text"`
		Context     string  `json:"context"`
		ID          string  `json:"id"`
		Title       string  `json:"title"`
		Description string  `json:"description"`
		Payload     string  `json:"payload"`
		Emoji       string  `json:"emoji"`
		Latitude    float64 `json:"latitude"`
		Longitude   float64 `json:"longitude"`
		Name        string  `json:"name"`
		Address     string  `json:"address"`
	} `json:"message"`
}

func (s *Simulator) decode(r *http.Request) (request, graphfake.Customer, error) {
	var req request
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		return req, graphfake.Customer{}, bad("The request is not valid JSON.")
	}
	if _, ok := s.fake.Number(req.Number); !ok {
		return req, graphfake.Customer{}, bad("Choose a business number.")
	}
	c, err := s.customer(req.Customer)
	return req, c, err
}

// chatView is a chat as the page shows it.
type chatView struct {
	Customer graphfake.Customer      `json:"customer"`
	Messages []graphfake.ChatMessage `json:"messages"`
	Typing   bool                    `json:"typing"`
}

func (s *Simulator) chatOf(number string, c graphfake.Customer) (chatView, error) {
	msgs, cust, err := s.fake.Chat(number, c.UserID)
	if err != nil {
		return chatView{}, err
	}
	return chatView{Customer: cust, Messages: msgs, Typing: s.fake.Typing(number, c.UserID)}, nil
}

func (s *Simulator) chat(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	if _, ok := s.fake.Number(q.Get("number")); !ok {
		return nil, bad("Choose a business number.")
	}
	var id identity
	if err := json.Unmarshal([]byte(q.Get("customer")), &id); err != nil {
		return nil, bad("Say who you are.")
	}
	c, err := s.customer(id)
	if err != nil {
		return nil, err
	}
	return s.chatOf(q.Get("number"), c)
}

// open is the customer opening the chat: on a chat with no messages yet,
// and if the number asked for welcome messages, the fake sends
// request_welcome.
func (s *Simulator) open(w http.ResponseWriter, r *http.Request) (any, error) {
	req, c, err := s.decode(r)
	if err != nil {
		return nil, err
	}
	msgs, _, err := s.fake.Chat(req.Number, c.UserID)
	if err != nil {
		return nil, err
	}
	welcomed := false
	if len(msgs) == 0 && s.fake.Automation(req.Number).EnableWelcomeMessage {
		if _, err := s.fake.Inbound(req.Number, c, graphfake.RequestWelcome()); err != nil {
			return nil, err
		}
		welcomed = true
	}
	view, err := s.chatOf(req.Number, c)
	return map[string]any{"chat": view, "welcome_requested": welcomed}, err
}

// send sends what the customer typed or tapped.
func (s *Simulator) send(w http.ResponseWriter, r *http.Request) (any, error) {
	req, c, err := s.decode(r)
	if err != nil {
		return nil, err
	}
	m := req.Message
	var in graphfake.In
	switch m.Type {
	case "text":
		text := strings.TrimSpace(m.Text)
		if text == "" || utf8.RuneCountInString(text) > 4096 {
			return nil, bad("Write a message of up to 4096 characters.")
		}
		in = graphfake.Text(text)
	case "button_reply":
		in = graphfake.ButtonReply(m.Context, m.ID, m.Title)
	case "list_reply":
		in = graphfake.ListReply(m.Context, m.ID, m.Title, m.Description)
	case "quick_reply":
		in = graphfake.QuickReply(m.Context, m.Payload, m.Text)
	case "reaction":
		in = graphfake.React(m.Context, m.Emoji)
	case "location":
		in = graphfake.Place(m.Latitude, m.Longitude, m.Name, m.Address)
	default:
		return nil, bad("Unknown message type %q.", m.Type)
	}
	if (m.Type == "button_reply" || m.Type == "list_reply" || m.Type == "quick_reply") && (m.Context == "" || m.Title+m.Text == "") {
		return nil, bad("A tap needs the message it answers and the choice.")
	}
	if m.Type != "text" && m.Type != "location" {
		if _, ok := s.fake.Message(m.Context); !ok {
			return nil, bad("That message is not in this chat.")
		}
	}
	id, err := s.fake.Inbound(req.Number, c, in)
	if err != nil {
		return nil, bad("%v", err)
	}
	return map[string]string{"id": id}, nil
}

// media sends a file the customer picked.
func (s *Simulator) media(w http.ResponseWriter, r *http.Request) (any, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 17<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, bad("The file is too large (16 MB at most).")
	}
	defer r.MultipartForm.RemoveAll()
	number := r.FormValue("number")
	if _, ok := s.fake.Number(number); !ok {
		return nil, bad("Choose a business number.")
	}
	var id identity
	if err := json.Unmarshal([]byte(r.FormValue("customer")), &id); err != nil {
		return nil, bad("Say who you are.")
	}
	c, err := s.customer(id)
	if err != nil {
		return nil, err
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return nil, bad("Choose a file.")
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil || len(data) == 0 {
		return nil, bad("The file is empty.")
	}
	ctype := http.DetectContentType(data)
	if t := hdr.Header.Get("Content-Type"); t != "" && t != "application/octet-stream" && !strings.HasPrefix(ctype, "image/") {
		ctype = t
	}
	base, _, _ := mime.ParseMediaType(ctype)
	caption := strings.TrimSpace(r.FormValue("caption"))
	var in graphfake.In
	switch {
	case base == "image/jpeg" || base == "image/png":
		if len(data) > 5<<20 {
			return nil, bad("Photos are 5 MB at most.")
		}
		in = graphfake.Image(data, base, caption)
	case base == "image/webp":
		in = graphfake.Sticker(data, false)
	case base == "video/mp4" || base == "video/3gpp":
		in = graphfake.Video(data, base, caption)
	case strings.HasPrefix(base, "audio/"):
		in = graphfake.Audio(data, base, false)
	case base == "application/pdf" || strings.HasPrefix(base, "text/plain"):
		in = graphfake.Document(data, base, path.Base(hdr.Filename), caption)
	default:
		return nil, bad("WhatsApp does not send %s files here: pick a photo (JPEG, PNG), a video (MP4), audio or a PDF.", base)
	}
	wamid, err := s.fake.Inbound(number, c, in)
	if err != nil {
		return nil, bad("%v", err)
	}
	return map[string]string{"id": wamid}, nil
}

func (s *Simulator) read(w http.ResponseWriter, r *http.Request) (any, error) {
	req, c, err := s.decode(r)
	if err != nil {
		return nil, err
	}
	return nil, s.fake.Read(req.Number, c.UserID)
}

// events streams the chat's changes as server-sent events.
func (s *Simulator) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	number := q.Get("number")
	var id identity
	if _, ok := s.fake.Number(number); !ok || json.Unmarshal([]byte(q.Get("customer")), &id) != nil {
		http.Error(w, "choose a number and say who you are", http.StatusUnprocessableEntity)
		return
	}
	c, err := s.customer(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	ch, stop := s.fake.Subscribe()
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	fmt.Fprint(w, "retry: 1000\n\n")
	rc.Flush()
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		case ev, ok := <-ch:
			if !ok {
				return // fell behind: the page reconnects and reloads
			}
			if ev.PhoneNumberID != number || (ev.Customer != "" && ev.Customer != c.UserID) {
				continue
			}
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Kind, b)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// file serves media the chat shows.
func (s *Simulator) file(w http.ResponseWriter, r *http.Request) {
	data, ctype, ok := s.fake.Media(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	base, _, _ := mime.ParseMediaType(ctype)
	switch {
	case strings.HasPrefix(base, "image/") && base != "image/svg+xml", strings.HasPrefix(base, "video/"), strings.HasPrefix(base, "audio/"):
		w.Header().Set("Content-Type", base)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "attachment")
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
