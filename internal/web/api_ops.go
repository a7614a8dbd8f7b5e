package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/metrics"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// opsAPI answers operations: health, readiness, metrics and the OpenAPI
// document.
type opsAPI struct {
	version string
	db      *db.DB
	life    *lifecycle // readiness ends with the server
	metrics *metrics.Metrics
	// metricsElsewhere says /metrics has a listener of its own: this
	// handler answers notFound there. metricsToken, when set, is the
	// bearer token /metrics requires.
	metricsElsewhere bool
	metricsToken     string
	notFound         http.Handler
	// openapi is the OpenAPI document.
	openapi func() []byte
}

func (s *opsAPI) healthz(w http.ResponseWriter, _ *http.Request, _ policy.Actor) error {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	return nil
}

// readyz answers 200 when the database answers and its schema is the
// binary's, 503 otherwise.
func (s *opsAPI) readyz(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.db.Ping(ctx)
	if err == nil {
		err = s.db.CheckSchema(ctx)
	}
	select {
	case <-s.life.closing:
		err = errors.New("shutting down")
	default:
	}
	if err != nil {
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *opsAPI) metricsEndpoint(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if s.metricsElsewhere {
		s.notFound.ServeHTTP(w, r)
		return nil
	}
	s.serveMetrics(w, r)
	return nil
}

// serveMetrics writes the metrics to a caller with the metrics token (when
// one is configured).
func (s *opsAPI) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metricsToken != "" && !bearerIs(r, s.metricsToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		http.Error(w, "The metrics need their bearer token.", http.StatusUnauthorized)
		return
	}
	promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// bearerIs reports whether r carries "Authorization: Bearer want". The
// comparison is of SHA-256 digests in constant time, so that neither the
// token's bytes nor its length show in how long a refusal takes.
func bearerIs(r *http.Request, want string) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (s *opsAPI) openapiDoc(w http.ResponseWriter, _ *http.Request, _ policy.Actor) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(s.openapi())
	return nil
}
