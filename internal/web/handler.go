package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// handler is what a route runs, an API call or a page: it writes a
// response or returns an error for the route to answer (writeError for
// the API, the renderer's error page for a page).
type handler func(w http.ResponseWriter, r *http.Request, a policy.Actor) error

// writeError answers err as JSON, logging it once if it is unexpected.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, detail, internal := httpx.Classify(err, httpx.RequestID(r))
	if strings.HasPrefix(r.URL.Path, "/public/") {
		detail = s.langs.Public(r, detail)
	} else {
		detail = s.langs.Detail(r, detail)
	}
	if internal {
		s.logger.Error("request failed", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r))
	}
	if p, ok := problem.As(err); ok && p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())))
	}
	httpx.WriteJSON(w, status, httpx.ErrorBody{Error: detail})
}

// checkURL applies the text rule to a request's path values (named by
// the route's wildcards) and query parameters, before any handler sees
// them: a refused one is a problem of its name (a key, of "query").
func checkURL(r *http.Request, wildcards []string) error {
	for _, name := range wildcards {
		if err := text.Check(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	for k, vs := range r.URL.Query() {
		if err := text.Check("query", k); err != nil {
			return err
		}
		if k == httpx.ReturnPath {
			continue
		}
		for _, v := range vs {
			if err := text.Check(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// wildcards lists the names of a route pattern's wildcards:
// "/api/v1/conversations/{id}/tags/{tag}" has id and tag.
func wildcards(pattern string) []string {
	var names []string
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.TrimSuffix(seg[1:len(seg)-1], "..."), "$")
			if name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}
