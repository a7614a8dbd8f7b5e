-- Routing: an inbox's assignment rules, reception limits and the queue.

-- The basic rule replaces the on/off switch: 'none' was off,
-- 'available_in_turn' was on. The advanced rules (the contact's owner,
-- then the agent who last handled the contact in the inbox) run first
-- when advanced is on, each with its own switch, "only when Available"
-- and how long to wait for that agent in the queue (0: not at all).
-- default_limit is the reception limit of members without one of their
-- own (0: none); return_after_minutes returns the open, unanswered
-- conversations of an agent who leaves Available after that long (0: off).
-- The last two columns give the queue's estimated wait: when routing last
-- gave out a conversation and the moving average of the time between two.
ALTER TABLE inbox_assignment ADD COLUMN rule TEXT NOT NULL DEFAULT 'none'
	CHECK (rule IN ('none', 'available_in_turn', 'all_in_turn', 'least_busy'));
UPDATE inbox_assignment SET rule = CASE WHEN auto_assign THEN 'available_in_turn' ELSE 'none' END;
ALTER TABLE inbox_assignment DROP COLUMN auto_assign;
ALTER TABLE inbox_assignment ADD COLUMN advanced BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE inbox_assignment ADD COLUMN owner_on BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE inbox_assignment ADD COLUMN owner_only_available BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE inbox_assignment ADD COLUMN owner_wait_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox_assignment ADD COLUMN previous_on BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE inbox_assignment ADD COLUMN previous_only_available BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE inbox_assignment ADD COLUMN previous_wait_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox_assignment ADD COLUMN default_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox_assignment ADD COLUMN return_after_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox_assignment ADD COLUMN last_assigned_at TIMESTAMPTZ;
ALTER TABLE inbox_assignment ADD COLUMN interval_ms BIGINT NOT NULL DEFAULT 0;

-- A member's own reception limit in an inbox (0: none), over the inbox's
-- default. Apart from inbox_members, which is rewritten when an inbox's
-- members are set.
CREATE TABLE member_limits (
	inbox_id        BIGINT NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	reception_limit INTEGER NOT NULL CHECK (reception_limit >= 0),
	PRIMARY KEY (inbox_id, user_id)
);

-- The queue is state on the conversation: queued_at orders it (first in,
-- first out); queue_agent_id is the agent it waits for (the owner, the
-- previous agent) until queue_until, after which it falls through.
ALTER TABLE conversations ADD COLUMN queued_at TIMESTAMPTZ;
ALTER TABLE conversations ADD COLUMN queue_agent_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN queue_until TIMESTAMPTZ;
CREATE INDEX conversations_queue ON conversations (inbox_id, queued_at, id) WHERE queued_at IS NOT NULL;
-- An agent's load in an inbox: a count over this index, not a counter row.
CREATE INDEX conversations_load ON conversations (inbox_id, assignee_id) WHERE status = 'open';
