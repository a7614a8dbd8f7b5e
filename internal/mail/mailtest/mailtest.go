// Package mailtest runs a real SMTP server in the test process (go-smtp),
// so that tests send mail over SMTP and read what arrived: invitation
// links, sign-in codes.
package mailtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is a message the server received.
type Mail struct {
	From    string
	To      []string
	Subject string
	Text    string
}

// Server is an SMTP server on loopback that keeps what it receives.
type Server struct {
	URL string // smtp://127.0.0.1:PORT

	srv *smtp.Server

	mu      sync.Mutex // guards mails, failures and arrived
	mails   []Mail
	fail    int  // refuse this many more messages
	failFor bool // … with a permanent (5xx) error rather than 4xx
	arrived chan struct{}
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "smtp://" + ln.Addr().String(), arrived: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// FailNext makes the server refuse the next n messages: with a temporary
// error (421), or a permanent one (550) when permanent.
func (s *Server) FailNext(n int, permanent bool) {
	s.mu.Lock()
	s.fail, s.failFor = n, permanent
	s.mu.Unlock()
}

// Mails returns what has arrived so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait returns the first mail to `to` whose subject or text contains
// want, waiting up to 15 s for it.
func (s *Server) Wait(t testing.TB, to, want string) Mail {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		for _, m := range s.mails {
			if containsFold(m.To, to) && (strings.Contains(m.Subject, want) || strings.Contains(m.Text, want)) {
				s.mu.Unlock()
				return m
			}
		}
		ch := s.arrived
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no mail to %s containing %q; received: %+v", to, want, s.Mails())
		}
	}
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// Code waits for a mail to `to` with a 6-digit code, looking at mails
// from index after on, and returns the code and the index to pass next
// time (so that a code read once is not read again).
func (s *Server) Code(t testing.TB, to string, after int) (string, int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		for i := after; i < len(s.mails); i++ {
			m := s.mails[i]
			if containsFold(m.To, to) {
				if c := codeRE.FindStringSubmatch(m.Text); c != nil {
					s.mu.Unlock()
					return c[1], i + 1
				}
			}
		}
		ch := s.arrived
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no mail with a code to %s; received: %+v", to, s.Mails())
		}
	}
}

// Count returns how many mails have arrived.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mails)
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// Link returns the first URL in a mail's text.
func (m Mail) Link() string { return linkRE.FindString(m.Text) }

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.fail > 0 {
		x.s.fail--
		if x.s.failFor {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
		}
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	m, err := parse(raw)
	if err != nil {
		return err
	}
	m.From, m.To = x.from, append([]string(nil), x.to...)
	x.s.mails = append(x.s.mails, m)
	close(x.s.arrived)
	x.s.arrived = make(chan struct{})
	return nil
}

// parse reads a single-part text message as go-mail writes it.
func parse(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		return Mail{}, errors.New("mailtest: base64 bodies are not expected")
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return Mail{}, err
	}
	return Mail{Subject: subject, Text: strings.TrimRight(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")}, nil
}
