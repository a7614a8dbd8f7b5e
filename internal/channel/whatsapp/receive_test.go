package whatsapp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
)

var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// TestHandshakeAndSignatures: Meta's GET handshake, and POSTs refused
// before they are read when unsigned or signed wrong (counted in
// /metrics), malformed (400), or for a number no inbox has (200: Meta
// must not retry).
func TestHandshakeAndSignatures(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		if err := h.fake.VerifyWebhook(context.Background(), h.num.ID); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		anon := h.srv.Anonymous()
		r := anon.Do("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me", nil).Expect(200)
		if string(r.Body) != "1158201444" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("challenge: %q %s", r.Body, r.Header.Get("Content-Type"))
		}
		anon.Do("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong", nil).Expect(403)
		anon.Do("GET", "/webhooks/whatsapp?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me", nil).Expect(403)

		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + h.num.WABAID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"` + h.num.ID + `"},"contacts":[{"profile":{"name":"Eve"},"wa_id":"15550001111"}],"messages":[{"from":"15550001111","id":"wamid.SIG","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]}}]}]}`)
		post := func(b []byte, sig string) *http.Response {
			req, _ := http.NewRequest("POST", h.srv.URL+"/webhooks/whatsapp", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			if sig != "" {
				req.Header.Set("X-Hub-Signature-256", sig)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		for name, sig := range map[string]string{
			"missing":    "",
			"wrong key":  whatsapp.Sign(body, "another secret"),
			"not hex":    "sha256=zz",
			"sha1":       "sha1=" + fmt.Sprintf("%x", sha256.Sum256(body)),
			"other body": whatsapp.Sign(append(body, ' '), appSecret),
		} {
			if resp := post(body, sig); resp.StatusCode != 401 {
				t.Errorf("%s signature: %d, want 401", name, resp.StatusCode)
			}
		}
		if len(h.conversations()) != 0 {
			t.Fatal("a refused webhook stored something")
		}
		m := anon.Do("GET", "/metrics", nil).Expect(200)
		if !strings.Contains(string(m.Body), "switchboard_whatsapp_webhook_signature_failures_total 5") {
			t.Errorf("signature failures not counted:\n%s", grep(string(m.Body), "whatsapp"))
		}
		bad := []byte(`{"entry": [`)
		if resp := post(bad, whatsapp.Sign(bad, appSecret)); resp.StatusCode != 400 {
			t.Errorf("malformed: %d, want 400", resp.StatusCode)
		}
		unknown := bytes.ReplaceAll(body, []byte(h.num.ID), []byte("999999999"))
		if resp := post(unknown, whatsapp.Sign(unknown, appSecret)); resp.StatusCode != 200 {
			t.Errorf("unknown number: %d, want 200", resp.StatusCode)
		}
		if resp := post(body, whatsapp.Sign(body, appSecret)); resp.StatusCode != 200 {
			t.Fatalf("good: %d", resp.StatusCode)
		}
		// Delivered again: stored once.
		post(body, whatsapp.Sign(body, appSecret))
		cs := h.conversations()
		if len(cs) != 1 || len(h.messages(cs[0].ID)) != 1 {
			t.Fatalf("after a redelivery: %d conversations", len(cs))
		}
	})
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReceiveEveryType sends one customer message of every type through
// the fake's signed webhooks and checks what the inbox stored.
func TestReceiveEveryType(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
		send := func(in graphfake.In) string {
			t.Helper()
			id, err := h.fake.Inbound(h.num.ID, ann, in)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		pdf := []byte("%PDF-1.4\n% a receipt\n")
		ogg := append([]byte("OggS\x00\x02"), make([]byte, 200)...)
		mp4 := append([]byte("\x00\x00\x00\x18ftypmp42"), make([]byte, 200)...)
		webp := append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 40)...)
		send(graphfake.Text("Does it come in another color?"))
		send(graphfake.Image(pngBytes, "image/png", "my cat"))
		send(graphfake.Audio(ogg, "audio/ogg; codecs=opus", true))
		send(graphfake.Video(mp4, "video/mp4", "unboxing"))
		send(graphfake.Document(pdf, "application/pdf", "receipt.pdf", "my receipt"))
		send(graphfake.Sticker(webp, false))
		send(graphfake.Place(37.44221496582, -122.16165924072, "Philz Coffee", "101 Forest Ave"))
		send(graphfake.ContactCards(graphfake.SharedContact{Name: graphfake.ContactName{FormattedName: "Barbara J. Johnson"},
			Phones: []graphfake.ContactPhone{{Phone: "+1 (415) 555-0829", WaID: "14155550829", Type: "MOBILE"}}}))
		send(graphfake.UnsupportedType("poll_creation"))
		send(graphfake.RequestWelcome())
		h.waitWebhooks()

		c := h.conversationOf("Ann")
		if c.Contact.Phone == nil || *c.Contact.Phone != "+16505551234" {
			t.Errorf("contact phone: %v", c.Contact.Phone)
		}
		if c.ReplyWindowEndsAt != nil {
			t.Error("lists do not carry the window")
		}
		var full conversation.Conversation
		h.agent.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", c.ID), nil).Expect(200).Decode(&full)
		if full.ReplyWindowEndsAt == nil {
			t.Error("the conversation shows no reply window")
		}
		ms := h.messages(c.ID)
		if len(ms) != 10 {
			t.Fatalf("%d messages, want 10", len(ms))
		}
		byType := map[string]conversation.Message{}
		for _, m := range ms {
			byType[content(t, m).Kind] = m
		}
		if m := byType["text"]; m.Text != "Does it come in another color?" || m.Type != conversation.TypeText {
			t.Errorf("text: %+v", m)
		}
		// Media is fetched by a job, checked and attached.
		for _, kind := range []string{"image", "audio", "video", "document", "sticker"} {
			id := byType[kind].ID
			eventually(t, kind+" stored", func() bool {
				m, _ := h.srv.App.Conversations.LoadMessage(context.Background(), id)
				cc, _ := whatsapp.DecodeContent(&m)
				return cc.Media != nil && cc.Media.State != whatsapp.MediaPending
			})
			m, _ := h.srv.App.Conversations.LoadMessage(context.Background(), id)
			cc := content(t, m)
			if cc.Media.State != whatsapp.MediaStored || len(m.Attachments) != 1 {
				t.Errorf("%s: state %s (%s), %d attachments", kind, cc.Media.State, cc.Media.Error, len(m.Attachments))
			}
		}
		img, _ := h.srv.App.Conversations.LoadMessage(context.Background(), byType["image"].ID)
		if img.Text != "my cat" || img.Attachments[0].ContentType != "image/png" {
			t.Errorf("image: %q %+v", img.Text, img.Attachments)
		}
		got := h.agent.Do("GET", fmt.Sprintf("/api/v1/attachments/%d", img.Attachments[0].ID), nil).Expect(200)
		if !bytes.Equal(got.Body, pngBytes) {
			t.Error("the stored image is not what the customer sent")
		}
		doc, _ := h.srv.App.Conversations.LoadMessage(context.Background(), byType["document"].ID)
		if doc.Attachments[0].Filename != "receipt.pdf" || doc.Text != "my receipt" {
			t.Errorf("document: %+v %q", doc.Attachments, doc.Text)
		}
		if cc := content(t, byType["audio"]); !cc.Media.Voice {
			t.Error("voice note not marked")
		}
		if cc := content(t, byType["location"]); cc.Location == nil || cc.Location.Name != "Philz Coffee" || byType["location"].Type != conversation.TypeLocation {
			t.Errorf("location: %+v", cc.Location)
		}
		if cc := content(t, byType["contacts"]); len(cc.Contacts) != 1 || cc.Contacts[0].Phones[0].WaID != "14155550829" {
			t.Errorf("contacts: %+v", cc.Contacts)
		}
		if m := byType["unsupported"]; m.Type != conversation.TypeUnsupported || content(t, m).Unsupported != "poll_creation" {
			t.Errorf("unsupported: %+v", m)
		}
		if m := byType["request_welcome"]; m.Type != conversation.TypeSystem {
			t.Errorf("request_welcome: %+v", m)
		}

		// A file WhatsApp no longer has fails with the reason.
		mid, _ := h.fake.AddMedia(h.num.ID, pngBytes, "image/png")
		h.fake.ExpireMedia(mid)
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + h.num.WABAID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"` + h.num.ID + `"},"contacts":[{"profile":{"name":"Ann"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.EXPIRED","timestamp":"1749416383","type":"image","image":{"id":"` + mid + `","mime_type":"image/png","sha256":"x"}}]}}]}]}`)
		if _, err := h.fake.PostRaw(h.num.ID, body); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		var expired conversation.Message
		eventually(t, "expired media failed", func() bool {
			for _, m := range h.messages(c.ID) {
				if m.ChannelMessageID != nil && *m.ChannelMessageID == "wamid.EXPIRED" {
					expired = m
					cc, _ := whatsapp.DecodeContent(&m)
					return cc.Media.State == whatsapp.MediaFailed
				}
			}
			return false
		})
		if cc := content(t, expired); !strings.Contains(cc.Media.Error, "no longer") {
			t.Errorf("expired media error: %q", cc.Media.Error)
		}
	})
}

// TestContactsByBSUID: a customer who hides their number is a contact
// without a phone, known by the business-scoped id; usernames and profile
// names are kept; a phone learnt later joins the same contact.
func TestContactsByBSUID(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		sheena := h.fake.AddCustomer(graphfake.Customer{Name: "Sheena", Username: "@realsheena"})
		if _, err := h.fake.Inbound(h.num.ID, sheena, graphfake.Text("hello without a phone")); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		c := h.conversationOf("Sheena")
		if c.Contact.Phone != nil {
			t.Errorf("a hidden number shows: %v", *c.Contact.Phone)
		}
		var username string
		d.QueryRow(context.Background(), `SELECT username FROM whatsapp_contacts WHERE contact_id = $1`, c.ContactID).Scan(&username)
		if username != "@realsheena" {
			t.Errorf("username %q", username)
		}
		// The agent can answer within the window: sent to the BSUID.
		r := h.post(c.ID, map[string]any{"type": "text", "text": "Hi Sheena"}).Expect(201)
		var m conversation.Message
		r.Decode(&m)
		h.waitStatus(m.ID, conversation.Delivered)
		sent := h.fake.Sent()
		if len(sent) != 1 || !strings.Contains(string(sent[0].Body), `"recipient":"`+sheena.UserID+`"`) || strings.Contains(string(sent[0].Body), `"to"`) {
			t.Errorf("sent to: %s", sent[0].Body)
		}
	})
}

// TestControlCharacters: a customer's message and profile name with NUL
// and other control characters are never refused (Meta would retry the
// webhook for days and the message would be lost): the webhook is
// acknowledged the first time, and what the text rule refuses is stored
// as U+FFFD — on PostgreSQL too, which cannot store NUL. Tabs and line
// breaks are kept.
func TestControlCharacters(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		ada := graphfake.Customer{Name: "Ada\x00 Love\x07lace", Username: "@ada\x00", Phone: "15550001234"}
		if _, err := h.fake.Inbound(h.num.ID, ada, graphfake.Text("one\x00two\x1b[0m\tthree\r\nfour")); err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.Inbound(h.num.ID, ada, graphfake.Place(52.5, 13.4, "Caf\x00e", "Street\x0b1")); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		for _, dl := range h.fake.Deliveries() {
			if !dl.Acked || len(dl.Attempts) != 1 || dl.Attempts[0].Status != 200 {
				t.Errorf("delivery %d: acked %v, attempts %+v", dl.ID, dl.Acked, dl.Attempts)
			}
		}
		c := h.conversationOf("Ada\uFFFD Love\uFFFDlace")
		ms := h.messages(c.ID)
		if len(ms) != 2 {
			t.Fatalf("%d messages, want 2", len(ms))
		}
		for _, m := range ms {
			if loc := content(t, m).Location; loc != nil {
				if loc.Name != "Caf\uFFFDe" || loc.Address != "Street\uFFFD1" {
					t.Errorf("location stored as %+v", loc)
				}
			} else if m.Text != "one\uFFFDtwo\uFFFD[0m\tthree\r\nfour" {
				t.Errorf("text stored as %q", m.Text)
			}
		}
		var username string
		d.QueryRow(context.Background(), `SELECT username FROM whatsapp_contacts WHERE contact_id = $1`, c.ContactID).Scan(&username)
		if username != "@ada\uFFFD" {
			t.Errorf("username stored as %q", username)
		}
	})
}
