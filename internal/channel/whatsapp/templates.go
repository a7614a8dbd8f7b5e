package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/problem"
)

const templateColumns = `id, inbox_id, meta_id, name, language, status, category, parameter_format, components, quality, reason, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (Template, error) {
	var t Template
	var comps string
	err := row.Scan(&t.ID, &t.InboxID, &t.MetaID, &t.Name, &t.Language, &t.Status, &t.Category, &t.ParameterFormat, &comps, &t.Quality, &t.Reason, &t.UpdatedAt)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(comps), &t.Components); err != nil {
		return t, errorf("template %d: components: %w", t.ID, err)
	}
	t.fillParams()
	return t, nil
}

// Templates lists a number's templates, by name and language; with
// approvedOnly, only those that can be sent.
func (s *Service) Templates(ctx context.Context, inboxID int64, approvedOnly bool) ([]Template, error) {
	q := `SELECT ` + templateColumns + ` FROM whatsapp_templates WHERE inbox_id = $1`
	if approvedOnly {
		q += ` AND status = 'APPROVED'`
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY name, language`, inboxID)
	if err != nil {
		return nil, errorf("templates: %w", err)
	}
	defer rows.Close()
	out := []Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// templateByName finds a template of a number by name and language (the
// only one of that name when language is empty).
func (s *Service) templateByName(ctx context.Context, inboxID int64, name, language string) (*Template, error) {
	var row interface{ Scan(...any) error }
	if language == "" {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM whatsapp_templates WHERE inbox_id = $1 AND name = $2`, inboxID, name).Scan(&n); err != nil {
			return nil, err
		}
		if n != 1 {
			return nil, problem.NotFound("Template")
		}
		row = s.db.QueryRow(ctx, `SELECT `+templateColumns+` FROM whatsapp_templates WHERE inbox_id = $1 AND name = $2`, inboxID, name)
	} else {
		row = s.db.QueryRow(ctx, `SELECT `+templateColumns+` FROM whatsapp_templates WHERE inbox_id = $1 AND name = $2 AND language = $3`, inboxID, name, language)
	}
	t, err := scanTemplate(row)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil, problem.NotFound("Template")
	} else if err != nil {
		return nil, err
	}
	return &t, nil
}

// SyncResult is what a synchronisation found.
type SyncResult struct {
	Templates int `json:"templates"`
	Approved  int `json:"approved"`
	Removed   int `json:"removed"`
}

// SyncTemplates reads every template of the number's business account
// from Graph, page by page, and replaces what the inbox keeps: new and
// changed templates are written, those Meta no longer has are removed.
// The outcome (or Graph's error) is recorded for the admin page.
func (s *Service) SyncTemplates(ctx context.Context, inboxID int64) (SyncResult, error) {
	n, err := s.number(ctx, inboxID)
	if err != nil {
		return SyncResult{}, err
	}
	var all []GraphTemplate
	after := ""
	for page := 0; ; page++ {
		if page > 500 {
			return SyncResult{}, s.syncFailed(ctx, n, errorf("templates: more than 500 pages"))
		}
		p, err := s.graph.Templates(ctx, n.AccessToken, n.WABAID, after)
		if err != nil {
			return SyncResult{}, s.syncFailed(ctx, n, err)
		}
		all = append(all, p.Templates...)
		if p.After == "" || p.After == after {
			break
		}
		after = p.After
	}
	s.clearToken(ctx, inboxID)
	var res SyncResult
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		res = SyncResult{} // the function may run more than once
		now := db.Now()
		keep := map[string]bool{}
		for _, g := range all {
			name, lang := clean(g.Name, 512), clean(g.Language, 20)
			if name == "" || lang == "" {
				continue
			}
			comps, _ := json.Marshal(g.Components)
			if g.Components == nil {
				comps = []byte("[]")
			}
			format := strings.ToUpper(clean(g.ParameterFormat, 20))
			if format == "" {
				format = "POSITIONAL"
			}
			quality := ""
			if g.QualityScore != nil {
				quality = clean(g.QualityScore.Score, 20)
			}
			_, err := tx.Exec(ctx, `INSERT INTO whatsapp_templates (inbox_id, meta_id, name, language, status, category, parameter_format, components, quality, reason, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
				ON CONFLICT (inbox_id, name, language) DO UPDATE SET meta_id = excluded.meta_id, status = excluded.status, category = excluded.category,
					parameter_format = excluded.parameter_format, components = excluded.components, quality = excluded.quality,
					reason = excluded.reason, updated_at = excluded.updated_at`,
				inboxID, clean(string(g.ID), 64), name, lang, strings.ToUpper(clean(g.Status, 40)), strings.ToUpper(clean(g.Category, 40)), format,
				string(comps), quality, clean(g.RejectedReason, 1000), now)
			if err != nil {
				return err
			}
			keep[name+"\x00"+lang] = true
			res.Templates++
			if strings.EqualFold(g.Status, StatusApproved) {
				res.Approved++
			}
		}
		rows, err := tx.Query(ctx, `SELECT id, name, language FROM whatsapp_templates WHERE inbox_id = $1`, inboxID)
		if err != nil {
			return err
		}
		var gone []int64
		for rows.Next() {
			var id int64
			var name, lang string
			if err := rows.Scan(&id, &name, &lang); err != nil {
				rows.Close()
				return err
			}
			if !keep[name+"\x00"+lang] {
				gone = append(gone, id)
			}
		}
		rows.Close()
		for _, id := range gone {
			if _, err := tx.Exec(ctx, `DELETE FROM whatsapp_templates WHERE id = $1`, id); err != nil {
				return err
			}
		}
		res.Removed = len(gone)
		_, err = tx.Exec(ctx, `INSERT INTO whatsapp_state (inbox_id, templates_synced_at, templates_error, updated_at) VALUES ($1, $2, '', $2)
			ON CONFLICT (inbox_id) DO UPDATE SET templates_synced_at = excluded.templates_synced_at, templates_error = '', updated_at = excluded.updated_at`, inboxID, now)
		return err
	})
	return res, err
}

// syncFailed records why a synchronisation failed and returns the error
// as an admin reads it.
func (s *Service) syncFailed(ctx context.Context, n *Number, err error) error {
	if ctx.Err() != nil {
		return err
	}
	f := classify(err)
	if f.Token {
		s.flagToken(ctx, n, f)
	}
	msg := f.Message
	if f.Details != "" {
		msg += ": " + f.Details
	}
	if _, derr := s.db.Exec(ctx, `INSERT INTO whatsapp_state (inbox_id, templates_error, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (inbox_id) DO UPDATE SET templates_error = excluded.templates_error, updated_at = excluded.updated_at`, n.InboxID, msg, db.Now()); derr != nil {
		s.logger.Error("whatsapp: record template sync failure", "inbox", n.InboxID, "err", derr)
	}
	return &SyncError{Message: msg, Retry: !f.Permanent, cause: err}
}

// SyncError is a synchronisation Graph refused or could not answer.
type SyncError struct {
	Message string
	Retry   bool
	cause   error
}

func (e *SyncError) Error() string { return "whatsapp: template sync: " + e.Message }
func (e *SyncError) Unwrap() error { return e.cause }

// handleTemplates is the periodic synchronisation job.
func (s *Service) handleTemplates(ctx context.Context, j *job.Job) error {
	var p inboxPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	_, err := s.SyncTemplates(ctx, p.InboxID)
	var se *SyncError
	switch {
	case isNotFound(err):
		return nil // the inbox is gone
	case errors.As(err, &se) && !se.Retry:
		return job.Permanent(err) // recorded for the admin; the next period tries again
	}
	return err
}

// applyTemplateEvent applies a template webhook (status, quality or
// category) to the number's copy; a template it does not know yet is
// fetched by a synchronisation.
func (s *Service) applyTemplateEvent(ctx context.Context, n *Number, field string, e *TemplateEvent) error {
	// which selects the template: by Meta's id, or by name and language.
	which, args := `inbox_id = $1 AND meta_id = $2`, []any{n.InboxID, e.TemplateID}
	if e.TemplateID == "" {
		which, args = `inbox_id = $1 AND name = $2 AND language = $3`, []any{n.InboxID, e.Name, e.Language}
	}
	next := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	var q string
	switch field {
	case FieldTemplateStatus:
		status := strings.ToUpper(e.Event)
		if status == "" {
			return nil
		}
		if status == "DELETED" {
			q = `DELETE FROM whatsapp_templates WHERE ` + which
			break
		}
		reason := e.Reason
		if reason == "NONE" {
			reason = ""
		}
		q = `UPDATE whatsapp_templates SET status = ` + next(status) + `, reason = ` + next(reason) + `, updated_at = ` + next(db.Now()) + ` WHERE ` + which
	case FieldTemplateQuality:
		q = `UPDATE whatsapp_templates SET quality = ` + next(strings.ToUpper(e.Quality)) + `, updated_at = ` + next(db.Now()) + ` WHERE ` + which
	case FieldTemplateCategory:
		q = `UPDATE whatsapp_templates SET category = ` + next(strings.ToUpper(e.Category)) + `, updated_at = ` + next(db.Now()) + ` WHERE ` + which
	default:
		return nil
	}
	res, err := s.db.Exec(ctx, q, args...)
	if err != nil {
		return errorf("template event: %w", err)
	}
	if k, _ := res.RowsAffected(); k == 0 && !strings.HasPrefix(q, "DELETE") {
		// A template created elsewhere: fetch the account's list.
		return s.enqueue(ctx, TemplatesJob, inboxPayload{InboxID: n.InboxID}, templatesKey(n.InboxID), time.Time{})
	}
	return nil
}
