package web

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// webhooks take Meta's webhooks for every WhatsApp number.
type webhooks struct {
	whatsapp *whatsapp.Service
}

// whatsappVerify answers Meta's webhook handshake (GET with hub.mode,
// hub.verify_token and hub.challenge): the challenge, as plain text, when
// the token is one of the numbers' verify tokens.
func (s *webhooks) whatsappVerify(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	q := r.URL.Query()
	ok, err := s.whatsapp.VerifyToken(r.Context(), q.Get("hub.verify_token"))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("hub.mode")), []byte("subscribe")) != 1 || !ok {
		return problem.Forbidden("The verify token does not match any WhatsApp inbox.")
	}
	challenge := q.Get("hub.challenge")
	if len(challenge) > 256 {
		return httpx.Malformed("The challenge is too long.")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, challenge)
	return nil
}

// whatsappWebhook takes Meta's webhooks for every number: the signature
// is checked over the raw body before it is read, and the answer is 200
// only once everything in it is stored.
func (s *webhooks) whatsappWebhook(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, whatsapp.MaxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &problem.Error{Kind: problem.KindTooLarge, Message: "The webhook body is larger than Meta sends."}
		}
		return httpx.Malformed("The webhook body could not be read.")
	}
	res, err := s.whatsapp.Ingest(r.Context(), body, r.Header.Get("X-Hub-Signature-256"))
	switch {
	case errors.Is(err, whatsapp.ErrSignature):
		return &problem.Error{Kind: problem.KindUnauthorized, Message: "X-Hub-Signature-256 is missing or was not made with a number's app secret."}
	case errors.Is(err, whatsapp.ErrMalformed):
		return httpx.Malformed("The body is not a WhatsApp webhook: %v", err)
	case err != nil:
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}
