package graphfake

import "net/http/httptest"

// Server is a fake listening on loopback, for tests. URL is what a
// client uses as the Graph base URL (it appends /v23.0/…).
type Server struct {
	*Fake
	HTTP *httptest.Server
	URL  string
}

// NewServer starts a fake on a loopback port; Close stops both.
func NewServer(opt Options) *Server {
	f := New(opt)
	srv := httptest.NewServer(f)
	if opt.BaseURL == "" {
		f.SetBaseURL(srv.URL)
	}
	return &Server{Fake: f, HTTP: srv, URL: srv.URL}
}

// Close stops the listener and the fake.
func (s *Server) Close() {
	s.Fake.Close()
	s.HTTP.Close()
}
