package web_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// automationSettings is what the API says of a number's automation.
type automationSettings struct {
	Welcome struct {
		Enabled        bool `json:"enabled"`
		OnFirstMessage bool `json:"on_first_message"`
		Message        struct {
			Kind         string `json:"kind"`
			Text         string `json:"text"`
			AttachmentID int64  `json:"attachment_id"`
			Interactive  *struct {
				Type    string `json:"type"`
				Buttons []struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"buttons"`
				Sections []struct {
					Rows []struct {
						Title       string `json:"title"`
						Description string `json:"description"`
					} `json:"rows"`
				} `json:"sections"`
			} `json:"interactive"`
		} `json:"message"`
	} `json:"welcome"`
	Queue struct {
		Enabled bool `json:"enabled"`
		Message struct {
			Kind        string `json:"kind"`
			Text        string `json:"text"`
			Interactive *struct {
				Type     string `json:"type"`
				Sections []struct {
					Rows []struct {
						Title       string `json:"title"`
						Description string `json:"description"`
					} `json:"rows"`
				} `json:"sections"`
			} `json:"interactive"`
		} `json:"message"`
	} `json:"queue"`
	Reminder struct {
		Enabled      bool `json:"enabled"`
		AfterMinutes int  `json:"after_minutes"`
	} `json:"reminder"`
	AutoClose struct {
		Enabled      bool `json:"enabled"`
		AfterMinutes int  `json:"after_minutes"`
	} `json:"auto_close"`
	CSAT struct {
		Enabled bool   `json:"enabled"`
		Text    string `json:"text"`
		Button  string `json:"button"`
	} `json:"csat"`
}

// pageForm is the Automation page's form as the browser would post it:
// its fields as shown, then changes.
func pageForm(t *testing.T, c *testrig.Client, inboxID int64) url.Values {
	t.Helper()
	page := string(c.Do("GET", fmt.Sprintf("/admin/inboxes/%d/automation", inboxID), nil).Expect(http.StatusOK).Body)
	v := url.Values{}
	// The text fields and checked boxes of the page, as a browser sends
	// them (a good enough reading of this page's own markup).
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		attrs := m[1]
		name, value := attr(attrs, "name"), attr(attrs, "value")
		switch attr(attrs, "type") {
		case "file":
			continue
		case "checkbox", "radio":
			if !strings.Contains(attrs, " checked") {
				continue
			}
		}
		if name != "" {
			v.Add(name, value)
		}
	}
	for _, m := range textareaRE.FindAllStringSubmatch(page, -1) {
		v.Set(attr(m[1], "name"), htmlUnescape(m[2]))
	}
	for _, m := range selectRE.FindAllStringSubmatch(page, -1) {
		if sel := selectedRE.FindStringSubmatch(m[2]); sel != nil {
			v.Set(attr(m[1], "name"), sel[1])
		}
	}
	return v
}

func TestAutomationPage(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		in, _ := srv.NewWebchatInbox("Shop")
		path := fmt.Sprintf("/admin/inboxes/%d/automation", in.ID)
		post := func(v url.Values) *testrig.Response {
			return admin.Do("POST", path, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded")
		}
		get := func() automationSettings {
			var st automationSettings
			admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/automation", in.ID), nil).Expect(http.StatusOK).Decode(&st)
			return st
		}

		// The inbox's page links to it; it shows the defaults and the
		// survey's fixed scale, its variables filled.
		if p := string(admin.Do("GET", fmt.Sprintf("/admin/inboxes/%d", in.ID), nil).Expect(http.StatusOK).Body); !strings.Contains(p, `href="`+path+`"`) {
			t.Error("the inbox's page does not link to its automation")
		}
		page := string(admin.Do("GET", path, nil).Expect(http.StatusOK).Body)
		for _, want := range []string{`name="welcome.enabled"`, `name="welcome.on_first_message" value="1" checked`, `name="auto_close.after" min="1" inputmode="numeric" value="24"`,
			`<option value="hours" selected>`, `name="welcome.message.text"`, "Hi {{contact.name}}, welcome to {{inbox.name}}! How can we help?",
			`data-sample-contact="Maria"`, "⭐⭐⭐⭐⭐", "Excellent", "Very poor", `name="csat.button" value="Rate us"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %s", want)
			}
		}

		// Saved as a person fills it in: the welcome with two buttons (the
		// empty one between them dropped), the queue message as a list,
		// the reminder after 2 hours, auto-close after 90 minutes, the
		// survey on.
		v := pageForm(t, admin, in.ID)
		v.Set("welcome.enabled", "1")
		v.Set("welcome.message.kind", "buttons")
		v.Set("welcome.message.text", "Hello {{contact.name}}!")
		v.Set("welcome.message.button.0", "Orders")
		v.Set("welcome.message.button.2", "Returns")
		v.Set("queue.enabled", "1")
		v.Set("queue.message.kind", "list")
		v.Set("queue.message.text", "You are number {{queue.position}}.")
		v.Set("queue.message.list_button", "Meanwhile")
		v.Set("queue.message.row.1", "Track an order")
		v.Set("queue.message.row_description.1", "Where it is now")
		v.Set("reminder.enabled", "1")
		v.Set("reminder.after", "2")
		v.Set("reminder.unit", "hours")
		v.Set("auto_close.enabled", "1")
		v.Set("auto_close.after", "90")
		v.Set("auto_close.unit", "minutes")
		v.Set("csat.enabled", "1")
		v.Set("csat.text", "How did we do?")
		v.Del("welcome.on_first_message")
		r := post(v).Expect(http.StatusOK)
		if r.Request.URL.Path != path || r.Request.URL.Query().Get("saved") != "1" {
			t.Fatalf("saved to %s:\n%s", r.Request.URL, r.Body)
		}
		st := get()
		w := st.Welcome
		if !w.Enabled || w.OnFirstMessage || w.Message.Kind != "interactive" || w.Message.Interactive == nil || len(w.Message.Interactive.Buttons) != 2 ||
			w.Message.Interactive.Buttons[1].Title != "Returns" || w.Message.Interactive.Buttons[1].ID == "" {
			t.Errorf("welcome %+v", w)
		}
		if q := st.Queue; !q.Enabled || q.Message.Interactive == nil || len(q.Message.Interactive.Sections) != 1 || len(q.Message.Interactive.Sections[0].Rows) != 1 ||
			q.Message.Interactive.Sections[0].Rows[0].Description != "Where it is now" {
			t.Errorf("queue %+v", q)
		}
		if st.Reminder.AfterMinutes != 120 || !st.Reminder.Enabled || st.AutoClose.AfterMinutes != 90 || !st.AutoClose.Enabled || !st.CSAT.Enabled || st.CSAT.Text != "How did we do?" {
			t.Errorf("settings %+v", st)
		}
		// Shown again as saved, the buttons packed.
		page = string(admin.Do("GET", path+"?saved=1", nil).Expect(http.StatusOK).Body)
		for _, want := range []string{"Saved.", `name="welcome.message.button.1" value="Returns"`, `name="reminder.after" min="1" inputmode="numeric" value="2"`,
			`name="queue.message.row.0" value="Track an order"`, `name="queue.message.list_button" value="Meanwhile"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the saved page lacks %s", want)
			}
		}

		// Refused: each problem beside its field, nothing saved, what was
		// typed kept.
		v = pageForm(t, admin, in.ID)
		v.Set("welcome.message.button.0", strings.Repeat("x", 30))
		v.Set("auto_close.after", "73")
		v.Set("auto_close.unit", "hours")
		v.Set("reminder.after", "soon")
		r = post(v).Expect(http.StatusUnprocessableEntity)
		body := string(r.Body)
		for _, field := range []string{"auto_close.after_minutes", "reminder.after_minutes"} {
			if !strings.Contains(body, `data-field="`+field+`"`) {
				t.Errorf("no message beside %s", field)
			}
		}
		if !regexp.MustCompile(`name="welcome.message.button.0" value="x{30}"[^>]*aria-invalid="true"><p class="field-error">`).MatchString(body) {
			t.Error("no message beside the first button")
		}
		if !strings.Contains(body, `value="soon"`) {
			t.Error("the refused values are not kept")
		}
		if st := get(); st.AutoClose.AfterMinutes != 90 || st.Welcome.Message.Interactive.Buttons[0].Title != "Orders" {
			t.Errorf("a refused form changed the settings: %+v", st)
		}
		// What the service alone checks comes back beside its field too.
		v = pageForm(t, admin, in.ID)
		v.Set("csat.button", "")
		if r := post(v).Expect(http.StatusUnprocessableEntity); !strings.Contains(string(r.Body), `data-field="csat.button"`) {
			t.Error("no message beside csat.button")
		}

		// A file: uploaded (as the form's script does), it makes a media
		// welcome; another admin's page keeps it; a media message without
		// its file is refused beside the file.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "catalogue.png")
		png.Encode(fw, image.NewRGBA(image.Rect(0, 0, 4, 4)))
		mw.Close()
		var att struct {
			ID int64 `json:"id"`
		}
		admin.Do("POST", "/api/v1/attachments", &buf, "Content-Type", mw.FormDataContentType()).Expect(http.StatusCreated).Decode(&att)
		v = pageForm(t, admin, in.ID)
		v.Set("welcome.message.kind", "media")
		v.Set("welcome.message.text", "Our catalogue")
		v.Set("welcome.message.attachment_id", fmt.Sprint(att.ID))
		post(v).Expect(http.StatusOK)
		if st := get(); st.Welcome.Message.Kind != "media" || st.Welcome.Message.AttachmentID != att.ID {
			t.Fatalf("media welcome %+v", st.Welcome.Message)
		}
		other := srv.NewUser("other.admin@example.com", policy.Admin)
		page = string(other.Do("GET", path, nil).Expect(http.StatusOK).Body)
		if !strings.Contains(page, "catalogue.png") || !strings.Contains(page, fmt.Sprintf(`name="welcome.message.attachment_id" value="%d"`, att.ID)) {
			t.Error("the page does not show the welcome's file")
		}
		v = pageForm(t, other, in.ID)
		v.Set("welcome.message.text", "Our new catalogue")
		other.Do("POST", path, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded").Expect(http.StatusOK)
		if st := get(); st.Welcome.Message.AttachmentID != att.ID || st.Welcome.Message.Text != "Our new catalogue" {
			t.Errorf("another admin's save dropped the file: %+v", st.Welcome.Message)
		}
		v = pageForm(t, admin, in.ID)
		v.Set("welcome.message.attachment_id", "")
		if r := post(v).Expect(http.StatusUnprocessableEntity); !strings.Contains(string(r.Body), `data-field="welcome.message.attachment_id"`) {
			t.Error("a media message without its file is not refused beside the file")
		}

		// The survey's preview follows its text and button.
		prev := string(admin.Do("POST", path+"/preview?message=csat", strings.NewReader(url.Values{"csat.text": {"<b>Rate</b>"}, "csat.button": {"Go"}}.Encode()), "Content-Type", "application/x-www-form-urlencoded").Expect(http.StatusOK).Body)
		if !strings.Contains(prev, "&lt;b&gt;Rate&lt;/b&gt;") || !strings.Contains(prev, "☰ Go") || !strings.Contains(prev, "Very poor") || strings.Contains(prev, "<html") {
			t.Errorf("survey preview %s", prev)
		}
		admin.Do("POST", path+"/preview?message=welcome", strings.NewReader(""), "Content-Type", "application/x-www-form-urlencoded").Expect(http.StatusUnprocessableEntity)
		admin.Do("GET", "/admin/inboxes/99999/automation", nil).Expect(http.StatusNotFound)
	})
}

var (
	inputRE    = regexp.MustCompile(`<input([^>]*)>`)
	textareaRE = regexp.MustCompile(`(?s)<textarea([^>]*)>(.*?)</textarea>`)
	selectRE   = regexp.MustCompile(`(?s)<select([^>]*)>(.*?)</select>`)
	selectedRE = regexp.MustCompile(`<option value="([^"]*)" selected>`)
)

// attr is the value of attribute name in a tag's attributes.
func attr(attrs, name string) string {
	m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(attrs)
	if m == nil {
		return ""
	}
	return htmlUnescape(m[1])
}
