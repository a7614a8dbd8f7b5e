package bot

import (
	"context"

	"github.com/switchboardhq/switchboard/internal/event"
)

// HandleMessages is the bots' consumer's handler, for tests that hand it
// events again.
func HandleMessages(s *Service, ctx context.Context, events []event.Event) error {
	return s.handleMessages(ctx, events)
}
