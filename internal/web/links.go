package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// The widget's session token reads the whole conversation, so it never
// travels in a URL (URLs end up in logs, in the browser's history, in a
// shared link). What a browser must load by URL carries a capability of
// its own instead, signed with Deps.Links (HMAC-SHA256 under a key derived
// from the secret key) and checked in constant time:
//
//   - an attachment: /public/v1/attachments/{id}?expires=UNIX&sig=…, that
//     one file until the expiry (an hour, rounded up to ten minutes so that
//     the link, and the browser's cache of it, stays the same for a while).
//     Every message the widget is given (history, stream, send) carries
//     fresh links; GET /public/v1/attachments/{id}/link makes a new one.
//   - an agent's avatar: /public/v1/avatars/{version}?sig=…, the picture of
//     that version (content-addressed, so it never expires).
//   - the event stream (EventSource cannot send headers): a ticket from
//     POST /public/v1/stream/tickets, made with the token in the
//     Authorization header, good for opening the visitor's stream for a
//     minute: /public/v1/stream?ticket=sbs_….

const (
	// attachmentLinkTTL is how long an attachment link works at least;
	// attachmentLinkStep is what its expiry is rounded up to.
	attachmentLinkTTL  = time.Hour
	attachmentLinkStep = 10 * time.Minute
	// streamTicketTTL is how long a stream ticket may be used to connect.
	streamTicketTTL = time.Minute
	// ticketPrefix marks a stream ticket.
	ticketPrefix = "sbs_"
)

// fileLink is a signed link to one attachment.
type fileLink struct {
	URL     string
	Expires time.Time
}

// links signs and checks those capabilities.
type links struct {
	signer *secret.Signer
	base   *url.URL
	now    func() time.Time
}

// attachment signs a link to attachment id.
func (l *links) attachment(id int64) fileLink {
	exp := l.now().Add(attachmentLinkTTL + attachmentLinkStep - 1).Truncate(attachmentLinkStep).UTC()
	e := strconv.FormatInt(exp.Unix(), 10)
	sid := strconv.FormatInt(id, 10)
	q := url.Values{"expires": {e}, "sig": {l.signer.Sign("attachment", sid, e)}}
	return fileLink{URL: l.base.String() + "/public/v1/attachments/" + sid + "?" + q.Encode(), Expires: exp}
}

// errLinkInvalid and errLinkExpired answer a link that is not ours, or
// not any more.
var (
	errLinkInvalid = problem.Forbidden("This link is not valid.")
	errLinkExpired = problem.Forbidden("This link has expired: open the chat again for a new one.")
)

// checkAttachment checks the capability of a request for attachment
// id.
func (l *links) checkAttachment(r *http.Request, id int64) error {
	q := r.URL.Query()
	e, sig := q.Get("expires"), q.Get("sig")
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || !l.signer.Verify(sig, "attachment", strconv.FormatInt(id, 10), e) {
		return errLinkInvalid
	}
	if !l.now().Before(time.Unix(exp, 0)) {
		return errLinkExpired
	}
	return nil
}

// avatar signs a link to the avatar of a version ("" for none).
func (l *links) avatar(version string) string {
	if version == "" {
		return ""
	}
	return l.base.String() + "/public/v1/avatars/" + url.PathEscape(version) + "?sig=" + l.signer.Sign("avatar", version)
}

// checkAvatar checks the signature of an avatar link: a picture the
// server did not link to is one that does not exist.
func (l *links) checkAvatar(r *http.Request, version string) error {
	if !l.signer.Verify(r.URL.Query().Get("sig"), "avatar", version) {
		return avatar.ErrNone
	}
	return nil
}

// ticket signs a ticket that opens visitor id's event stream.
func (l *links) ticket(visitorID int64) (string, time.Time) {
	exp := l.now().Add(streamTicketTTL).Truncate(time.Second).UTC()
	v, e := strconv.FormatInt(visitorID, 10), strconv.FormatInt(exp.Unix(), 10)
	return ticketPrefix + v + "." + e + "." + l.signer.Sign("stream", v, e), exp
}

// errTicket answers a stream ticket that does not open the stream.
var errTicket = problem.New(problem.KindUnauthorized, "This stream ticket is not valid or has expired: ask for a new one.")

// checkTicket returns the visitor a ticket opens the stream of.
func (l *links) checkTicket(ticket string) (int64, error) {
	rest, ok := strings.CutPrefix(ticket, ticketPrefix)
	parts := strings.Split(rest, ".")
	if !ok || len(parts) != 3 || len(ticket) > 100 {
		return 0, errTicket
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || !l.signer.Verify(parts[2], "stream", parts[0], parts[1]) || !l.now().Before(time.Unix(exp, 0)) {
		return 0, errTicket
	}
	return id, nil
}
