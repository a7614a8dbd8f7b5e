package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Rating is the customer's answer to a conversation's survey.
type Rating struct {
	ConversationID int64     `json:"conversation_id"`
	Rating         int       `json:"rating"`
	Comment        string    `json:"comment"`
	RatedAt        time.Time `json:"rated_at"`
}

// RatingOf is the rating of conversation id; ok is false when
// the customer has not rated it (or was never asked). The caller checks
// that the reader may see the conversation.
func (s *Service) RatingOf(ctx context.Context, id int64) (r Rating, ok bool, err error) {
	var at *time.Time
	err = s.db.QueryRow(ctx, `SELECT rating, comment, rated_at FROM csat_ratings
		WHERE conversation_id = $1 AND rating IS NOT NULL`, id).Scan(&r.Rating, &r.Comment, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, false, nil
	case err != nil:
		return r, false, fmt.Errorf("report: rating of %d: %w", id, err)
	}
	r.ConversationID = id
	if at != nil {
		r.RatedAt = *at
	}
	return r, true, nil
}
