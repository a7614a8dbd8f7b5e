package ui

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// ContactPages are the contacts page: the list with its search and
// filters, a contact's form and conversations, import and export. Admins
// and service agents see the contacts they may see; sales agents their
// own customers (the scope of policy.ConversationScope).
type ContactPages struct {
	Convs *conversation.Service
	Users *user.Store
	Pages *Renderer
}

// contactListRow is a contact as the list shows it: its owner by name, or a
// pending owner by address.
type contactListRow struct {
	contact.Contact
	Owner   string
	Pending bool
}

type contactsView struct {
	Rows    []contactListRow
	Owners  []ownerChoice
	Q, Tag  string
	Owner   string // the owner filter as the URL has it
	Export  string // the export's address, with the filters
	Next    string // the next page's URL, "" on the last
	Import  bool   // the actor may import
	Filters bool
}

type ownerChoice struct {
	ID    int64
	Name  string
	Email string
}

// owners are the agents who may own contacts, with their addresses.
func (u *ContactPages) owners(r *http.Request) ([]ownerChoice, map[int64]ownerChoice, error) {
	agents, err := u.Convs.Owners(r.Context())
	if err != nil {
		return nil, nil, err
	}
	users, err := u.Users.List(r.Context())
	if err != nil {
		return nil, nil, err
	}
	email := map[int64]string{}
	byID := map[int64]ownerChoice{}
	for _, us := range users {
		email[us.ID] = us.Email
		byID[us.ID] = ownerChoice{ID: us.ID, Name: us.Name, Email: us.Email}
	}
	out := make([]ownerChoice, 0, len(agents))
	for _, ag := range agents {
		out = append(out, ownerChoice{ID: ag.ID, Name: ag.Name, Email: email[ag.ID]})
	}
	return out, byID, nil
}

func row(c contact.Contact, byID map[int64]ownerChoice) contactListRow {
	cr := contactListRow{Contact: c}
	switch {
	case c.OwnerID != nil:
		cr.Owner = byID[*c.OwnerID].Name
	case c.OwnerEmail != nil:
		cr.Owner, cr.Pending = *c.OwnerEmail, true
	}
	return cr
}

// Contacts is the list: search by name, phone or email, filters by tag
// and owner, 50 a page.
func (u *ContactPages) Contacts(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	q := r.URL.Query()
	v := contactsView{Q: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag")), Owner: q.Get("owner"), Import: policy.Allow(a, policy.ImportContacts)}
	o := contact.ListOptions{Query: v.Q, Tag: v.Tag, Limit: 51}
	d := PageData{Title: "Contacts", Actor: a, Data: &v}
	var err error
	if o.Owner, err = contact.ParseOwnerFilter(v.Owner); err != nil {
		v.Owner = ""
	}
	if c, err := strconv.ParseInt(q.Get("cursor"), 10, 64); err == nil && c > 0 {
		o.Before = c
	}
	vals := url.Values{}
	for k, x := range map[string]string{"q": v.Q, "tag": v.Tag, "owner": v.Owner} {
		if x != "" {
			vals.Set(k, x)
		}
	}
	v.Export, v.Filters = "/api/v1/contacts/export", len(vals) > 0
	if v.Filters {
		v.Export += "?" + vals.Encode()
	}
	owners, byID, err := u.owners(r)
	if err != nil {
		return err
	}
	v.Owners = owners
	cs, err := u.Convs.Contacts(r.Context(), a, o)
	if err != nil {
		return err
	}
	if len(cs) > 50 {
		cs = cs[:50]
		next := url.Values{}
		for k, x := range vals {
			next[k] = x
		}
		next.Set("cursor", strconv.FormatInt(cs[49].ID, 10))
		v.Next = "/contacts?" + next.Encode()
	}
	for _, c := range cs {
		v.Rows = append(v.Rows, row(c, byID))
	}
	return u.Pages.Render(w, r, http.StatusOK, "contacts", d)
}

type contactPageView struct {
	Row           contactListRow
	Owners        []ownerChoice
	Write         bool
	OwnerEdit     bool
	Conversations []conversation.Conversation
	Saved         bool
}

func (u *ContactPages) load(r *http.Request, a policy.Actor) (*contactPageView, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return nil, contact.ErrNotFound
	}
	c, err := u.Convs.Contact(r.Context(), a, id)
	if err != nil {
		return nil, err
	}
	owners, byID, err := u.owners(r)
	if err != nil {
		return nil, err
	}
	v := &contactPageView{Row: row(c, byID), Owners: owners, Write: policy.Allow(a, policy.WriteContacts),
		OwnerEdit: policy.MayChangeOwner(a, derefID(c.OwnerID))}
	page, err := u.Convs.List(r.Context(), a, conversation.ListOptions{ContactID: c.ID, Limit: 50})
	if err != nil {
		return nil, err
	}
	v.Conversations = page.Items
	return v, nil
}

// ownerValue is the owner as the form's field shows it: the agent's
// address, or the pending address.
func (v *contactPageView) ownerValue() string {
	c := v.Row.Contact
	if c.OwnerEmail != nil {
		return *c.OwnerEmail
	}
	if c.OwnerID != nil {
		for _, o := range v.Owners {
			if o.ID == *c.OwnerID {
				return o.Email
			}
		}
	}
	return ""
}

func contactForm(v *contactPageView) map[string]string {
	c := v.Row.Contact
	return map[string]string{"name": c.Name, "phone": derefString(c.Phone), "email": derefString(c.Email),
		"tags": strings.Join(c.Tags, ", "), "owner": v.ownerValue()}
}

// Contact is a contact's page: its form and its conversations.
func (u *ContactPages) Contact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v, err := u.load(r, a)
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved") == "1"
	return u.Pages.Render(w, r, http.StatusOK, "contact", PageData{Title: "Contacts", Actor: a, Data: v, Form: contactForm(v)})
}

// UpdateContact saves the contact's form. The owner is an address: an
// agent's, or one with no account yet (a pending owner).
func (u *ContactPages) UpdateContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v, err := u.load(r, a)
	if err != nil {
		return err
	}
	refused, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	f := map[string]string{}
	for _, k := range []string{"name", "phone", "email", "tags", "owner"} {
		f[k] = r.PostForm.Get(k)
	}
	if len(refused) > 0 { // the text rule: nothing is written
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "contact", PageData{Title: "Contacts", Actor: a, Data: v, Form: f, Fields: refused})
	}
	var tags []string
	for _, t := range strings.Split(f["tags"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	p := contact.Patch{Name: new(f["name"]), Phone: new(strings.TrimSpace(f["phone"])), Email: new(strings.TrimSpace(f["email"])), Tags: &tags}
	if owner := strings.TrimSpace(f["owner"]); v.OwnerEdit && !strings.EqualFold(owner, v.ownerValue()) {
		p.OwnerEmail = &owner
	}
	_, err = u.Convs.UpdateContact(r.Context(), a, v.Row.ID, p)
	if pe, ok := problem.As(err); ok && (pe.Kind == problem.KindInvalid || pe.Kind == problem.KindForbidden) {
		fields := map[string]string{}
		for k, m := range pe.Fields {
			switch k {
			case "owner_id", "owner_email":
				k = "owner"
			}
			fields[k] = m
		}
		if pe.Kind == problem.KindForbidden {
			fields["owner"] = pe.Message
		}
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "contact", PageData{Title: "Contacts", Actor: a, Data: v, Form: f, Fields: fields})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(v.Row.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

type importView struct {
	Report  *contact.ImportReport
	Message string
	Country string
	Done    bool
}

// ImportPage is the import form: a file, a default country, a check
// (dry run) and the import.
func (u *ContactPages) ImportPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.Pages.Render(w, r, http.StatusOK, "contacts_import", PageData{Title: "Contacts", Actor: a, Data: &importView{}})
}

// Import checks or imports the uploaded file and shows the report: what
// would happen (or happened) and every error by line and column. With
// htmx only the report is sent, so that the chosen file stays in the
// form for the import that follows the check.
func (u *ContactPages) Import(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	const maxFile = 64 << 20
	r.Body = http.MaxBytesReader(w, r.Body, maxFile+1<<20)
	v := &importView{}
	render := func(status int) error {
		if IsHTMX(r) {
			return u.Pages.Partial(w, r, status, "contacts_import", "import-report", PageData{Title: "Contacts", Actor: a, Data: v})
		}
		return u.Pages.Render(w, r, status, "contacts_import", PageData{Title: "Contacts", Actor: a, Data: v})
	}
	// The parts are read as they come (the file first, as the form has
	// it); the small fields go through the text rule, the file through
	// ReadCSV's.
	mr, err := r.MultipartReader()
	if err != nil {
		return httpx.Malformed("The form could not be read.")
	}
	var file []byte
	gotFile, dryRun := false, true
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			v.Message = "A contacts file has at most 64 MB: split it."
			return render(http.StatusRequestEntityTooLarge)
		} else if err != nil {
			return httpx.Malformed("The form could not be read.")
		}
		switch part.FormName() {
		case "file":
			gotFile = part.FileName() != ""
			file, err = io.ReadAll(part)
		case "country", "dry_run":
			var b []byte
			b, err = io.ReadAll(io.LimitReader(part, 64))
			val := strings.TrimSpace(string(b))
			if m := text.Problem(val); m != "" {
				v.Message = m
				return render(http.StatusUnprocessableEntity)
			}
			if part.FormName() == "country" {
				v.Country = val
			} else {
				dryRun = val != "false"
			}
		}
		part.Close()
		if errors.As(err, &mbe) {
			v.Message = "A contacts file has at most 64 MB: split it."
			return render(http.StatusRequestEntityTooLarge)
		} else if err != nil {
			return httpx.Malformed("The form could not be read.")
		}
	}
	if !gotFile {
		v.Message = "Choose a CSV file."
		return render(http.StatusUnprocessableEntity)
	}
	im, err := contact.ReadCSV(bytes.NewReader(file), contact.ImportOptions{Region: v.Country})
	if p, ok := problem.As(err); ok {
		v.Message = p.Fields["country"]
		if v.Message == "" {
			v.Message = p.Message
		}
		return render(http.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	rep, err := u.Convs.ImportContacts(r.Context(), a, im, dryRun)
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		v.Report, v.Message = &rep, p.Message
		return render(http.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	v.Report, v.Done = &rep, !dryRun
	return render(http.StatusOK)
}
