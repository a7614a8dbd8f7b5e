package web

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// contactsAPI lists and changes contacts.
type contactsAPI struct {
	convs *conversation.Service
}

// contactListOptions reads the filters of the contact list and of its export:
// q, tag, owner (a user id, pending or none).
func contactListOptions(r *http.Request) (contact.ListOptions, error) {
	q := r.URL.Query()
	o := contact.ListOptions{Query: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag"))}
	var err error
	o.Owner, err = contact.ParseOwnerFilter(q.Get("owner"))
	return o, err
}

func (s *contactsAPI) apiContacts(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	o, err := contactListOptions(r)
	if err != nil {
		return err
	}
	limit, err := httpx.QueryInt(r, "limit", 25, 100)
	if err != nil {
		return err
	}
	o.Limit = limit + 1
	if c := r.URL.Query().Get("cursor"); c != "" {
		if o.Before, err = strconv.ParseInt(c, 10, 64); err != nil || o.Before <= 0 {
			return problem.Invalid("cursor", "The cursor is not valid; start again without it.")
		}
	}
	cs, err := s.convs.Contacts(r.Context(), a, o)
	if err != nil {
		return err
	}
	page := conversation.Page[contact.Contact]{Items: cs}
	if len(cs) > limit {
		page.Items = cs[:limit]
		page.NextCursor = strconv.FormatInt(cs[limit-1].ID, 10)
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (s *contactsAPI) apiContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return contact.ErrNotFound
	}
	c, err := s.convs.Contact(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *contactsAPI) apiUpdateContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return contact.ErrNotFound
	}
	var p contact.Patch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	c, err := s.convs.UpdateContact(r.Context(), a, id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *contactsAPI) apiSetOwner(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return contact.ErrNotFound
	}
	var ref contact.OwnerRef
	if err := httpx.Decode(w, r, &ref); err != nil {
		return err
	}
	c, err := s.convs.SetOwner(r.Context(), a, id, ref)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

// maxImportBody bounds a contacts file: 200,000 rows of generous width.
const maxImportBody = 64 << 20

// importAnswer is the answer to an import whose file has errors: the
// API's error, and the report with every error by line and column.
type importAnswer struct {
	Error  httpx.ErrorDetail    `json:"error"`
	Report contact.ImportReport `json:"report"`
}

func (s *contactsAPI) apiImport(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if !policy.Allow(a, policy.ImportContacts) {
		return problem.Forbidden("Only admins import contacts.")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "text/csv" && mt != "application/csv") {
		return &problem.Error{Kind: problem.KindUnsupported, Message: "Send the file as CSV (Content-Type: text/csv)."}
	}
	dryRun := true
	switch v := r.URL.Query().Get("dry_run"); v {
	case "", "true":
	case "false":
		dryRun = false
	default:
		return problem.Invalid("dry_run", "Say true or false.")
	}
	im, err := contact.ReadCSV(http.MaxBytesReader(w, r.Body, maxImportBody), contact.ImportOptions{Region: r.URL.Query().Get("country")})
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("A contacts file has at most %d MB: split it.", maxImportBody>>20)}
	} else if err != nil {
		return err
	}
	rep, err := s.convs.ImportContacts(r.Context(), a, im, dryRun)
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid && len(rep.Errors) > 0 {
		_, detail, _ := httpx.Classify(err, "")
		httpx.WriteJSON(w, http.StatusUnprocessableEntity, importAnswer{Error: detail, Report: rep})
		return nil
	} else if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// started records whether anything was written, so that an export that
// fails after its first bytes is cut off rather than ended with an error
// the file would take for contacts.
type started struct {
	http.ResponseWriter
	n int
}

func (s *started) Write(p []byte) (int, error) {
	s.n += len(p)
	return s.ResponseWriter.Write(p)
}

func (s *contactsAPI) apiExport(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	o, err := contactListOptions(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	sw := &started{ResponseWriter: w}
	if err := s.convs.ExportContacts(r.Context(), a, o, sw); err != nil {
		if sw.n == 0 {
			w.Header().Del("Content-Disposition")
			return err
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}
