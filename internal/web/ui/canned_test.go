package ui

import (
	"context"
	"reflect"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// TestCannedForm: the form of a canned response reads into the stored
// message (its kind from what is filled in, the buttons and rows packed
// so that a problem of the nth is beside the nth input) and a stored
// message lays out in the form as it was.
func TestCannedForm(t *testing.T) {
	u := &CannedPages{}
	for _, tc := range []struct {
		name string
		form map[string]string
		want reply.Message
		// packed are the form's buttons and rows after reading.
		packed map[string]string
	}{
		{"text", map[string]string{"text": "Hi *there*", "itype": ""}, reply.Message{Kind: reply.Text, Text: "Hi *there*"}, nil},
		{"buttons, packed", map[string]string{"text": "Choose", "itype": "buttons", "button.0": " ", "button.1": "Yes", "button.2": "No", "footer": "Thanks", "header_text": "Question"},
			reply.Message{Kind: reply.Interactive, Text: "Choose", Interactive: &whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Footer: "Thanks",
				Header: &whatsapp.Header{Type: "text", Text: "Question"}, Buttons: []whatsapp.Button{{Title: "Yes"}, {Title: "No"}}}},
			map[string]string{"button.0": "Yes", "button.1": "No"}},
		{"list", map[string]string{"text": "Pick one", "itype": "list", "list_button": "Options", "section_title": "Sizes", "row.1": "Small", "row_description.1": "S", "row.3": "Large"},
			reply.Message{Kind: reply.Interactive, Text: "Pick one", Interactive: &whatsapp.Interactive{Type: whatsapp.InteractiveList, ListButton: "Options",
				Sections: []whatsapp.Section{{Title: "Sizes", Rows: []whatsapp.Row{{Title: "Small", Description: "S"}, {Title: "Large"}}}}}},
			map[string]string{"row.0": "Small", "row_description.0": "S", "row.1": "Large", "row_description.1": ""}},
		{"link", map[string]string{"text": "Our offer", "itype": "link", "display_text": "Open", "url": " https://example.com/offer "},
			reply.Message{Kind: reply.Interactive, Text: "Our offer", Interactive: &whatsapp.Interactive{Type: whatsapp.InteractiveLink, DisplayText: "Open", URL: "https://example.com/offer"}}, nil},
		{"an unknown kind of buttons is none", map[string]string{"text": "x", "itype": "carousel"}, reply.Message{Kind: reply.Text, Text: "x"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := map[string]string{}
			for k, v := range tc.form {
				form[k] = v
			}
			got, file := u.messageOfForm(context.Background(), form)
			if file != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("read %+v (file %v), want %+v", got, file, tc.want)
			}
			for k, v := range tc.packed {
				if form[k] != v {
					t.Errorf("after reading, %s is %q, want %q", k, form[k], v)
				}
			}
			// Laid out again, it reads the same.
			again, _ := u.messageOfForm(context.Background(), formOf(&reply.Canned{Message: got}))
			if !reflect.DeepEqual(again, got) {
				t.Errorf("laid out and read again: %+v, want %+v", again, got)
			}
		})
	}
}

// TestPickerInsert: what the picker inserts is the response with the
// conversation's values, its buttons as the rich composer's fields.
func TestPickerInsert(t *testing.T) {
	vars := reply.Vars{ContactName: "Maria", AgentPublicName: "Ana", InboxName: "Shop"}
	c := reply.Canned{ID: 7, Message: reply.Message{Kind: reply.Interactive, Text: "Hi {{contact.name}}, this is {{agent.public_name}} at {{inbox.name}}",
		Interactive: &whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Footer: "{{inbox.name}}", Buttons: []whatsapp.Button{{Title: "Yes"}, {Title: "No"}}}}}
	got := insertOf(c, vars)
	want := pickerInsert{Text: "Hi Maria, this is Ana at Shop", Kind: "buttons", Footer: "Shop", Buttons: []string{"Yes", "No"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("insert %+v, want %+v", got, want)
	}
	if got := insertOf(reply.Canned{Message: reply.Message{Kind: reply.Text, Text: "{{contact.name}}"}}, reply.Vars{}); got.Text != "" || got.Kind != "" {
		t.Errorf("an unknown name inserts %+v", got)
	}
}
