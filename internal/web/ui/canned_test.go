package ui

import (
	"reflect"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/reply"
)

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
