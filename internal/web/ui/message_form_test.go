package ui

import (
	"context"
	"net/url"
	"testing"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// TestReadMessage: two message forms in one post, each under its prefix,
// read on their own; a problem of Message.Check under a prefix lands on
// that form's input; a file only counts when the lookup knows it, and
// then heads buttons (a header text beside it is a problem).
func TestReadMessage(t *testing.T) {
	image := &attachment.Attachment{ID: 7, Kind: attachment.Image, Filename: "banner.png"}
	files := func(id int64) *attachment.Attachment {
		if id == 7 {
			return image
		}
		return nil
	}
	post := url.Values{
		"welcome.message.kind": {"buttons"}, "welcome.message.text": {"Hi {{contact.name}}\r\nHow can we help?"},
		"welcome.message.button.0": {"Orders"}, "welcome.message.button.2": {"A title far over twenty characters"},
		"welcome.message.attachment_id": {"7"},
		"queue.message.kind":            {"list"}, "queue.message.text": {"You are number {{queue.position}}"},
		"queue.message.list_button": {"Options"}, "queue.message.row.1": {"Wait"}, "queue.message.row_description.1": {"I will stay"},
		"queue.message.attachment_id": {"8"}, // not the poster's: dropped
		"other.message.kind":          {"link"}, "other.message.text": {"Track it"}, "other.message.header_text": {"Parcel"},
		"other.message.display_text": {"Track"}, "other.message.url": {" https://example.com/t "}, "other.message.attachment_id": {"7"},
	}
	w, wf, wp := ReadMessage(post, "welcome.message", files)
	if len(wp) != 0 || w.Kind != reply.Interactive || w.Text != "Hi {{contact.name}}\nHow can we help?" || w.AttachmentID != 7 ||
		w.Interactive == nil || w.Interactive.Type != "button" || len(w.Interactive.Buttons) != 2 || w.Interactive.Header == nil || w.Interactive.Header.Type != "image" {
		t.Fatalf("welcome: %+v %+v, problems %v", w, w.Interactive, wp)
	}
	q, qf, qp := ReadMessage(post, "queue.message", files)
	if len(qp) != 0 || q.AttachmentID != 0 || qf.File != nil || q.Interactive == nil || q.Interactive.ListButton != "Options" ||
		len(q.Interactive.Sections) != 1 || q.Interactive.Sections[0].Rows[0].Description != "I will stay" || q.Interactive.Buttons != nil {
		t.Fatalf("queue: %+v %+v, problems %v", q, q.Interactive, qp)
	}
	o, _, op := ReadMessage(post, "other.message", files)
	if op["other.message.interactive.header.text"] == "" || o.Interactive.URL != "https://example.com/t" {
		t.Fatalf("other: %+v, problems %v", o.Interactive, op)
	}

	// Check's problems, under the prefix, go to the inputs: the third
	// button typed is the message's second.
	w.AttachmentID, w.Interactive.Header = 0, nil
	err := w.Check(context.Background(), nil, "welcome.message")
	p, ok := problem.As(err)
	if !ok || p.Fields["welcome.message.interactive.buttons.1.title"] == "" {
		t.Fatalf("check: %v", err)
	}
	wf.SetProblems(p.Fields)
	qf.SetProblems(p.Fields)
	if wf.Buttons[2].TitleError == "" || wf.Buttons[0].TitleError != "" || wf.Buttons[1].TitleError != "" {
		t.Errorf("button problems %+v", wf.Buttons)
	}
	for _, r := range qf.Rows {
		if r.TitleError != "" {
			t.Errorf("the queue form got the welcome's problem: %+v", r)
		}
	}
	if wf.Name("text") != "welcome.message.text" || wf.ID("text") != "mf-welcome-message-text" || qf.ID("text") == wf.ID("text") {
		t.Errorf("names %q, ids %q %q", wf.Name("text"), wf.ID("text"), qf.ID("text"))
	}

	// A stored message fills the form it came from.
	again := NewMessageForm("queue.message", q, nil)
	if !again.Is("list") || again.ListButton != "Options" || again.Rows[0].Title != "Wait" || len(again.Rows) != 10 || len(again.Buttons) != 3 {
		t.Errorf("form of a stored list %+v", again)
	}
}
