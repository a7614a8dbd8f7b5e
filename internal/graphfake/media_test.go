package graphfake_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
)

func upload(t *testing.T, e *env, product, typ, filename string, data []byte) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if product != "" {
		mw.WriteField("messaging_product", product)
	}
	if data != nil {
		fw, _ := mw.CreateFormFile("file", filename)
		fw.Write(data)
	}
	if typ != "" {
		mw.WriteField("type", typ)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.URL+"/v23.0/"+e.num.ID+"/media", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.num.Token)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func get(t *testing.T, e *env, url, token string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestMedia(t *testing.T) {
	now := time.Unix(1750000000, 0)
	e := setup(t, graphfake.Options{Now: func() time.Time { return now }})
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 1000)...)

	for _, c := range []struct {
		name, product, typ string
		data               []byte
		code               int
		text               string
	}{
		{"no product", "", "image/png", png, 100, "messaging_product"},
		{"no file", "whatsapp", "image/png", nil, 100, "Param file is required"},
		{"csv", "whatsapp", "text/csv", []byte("a,b"), 100, "Received file of type 'text/csv'"},
		{"image too big", "whatsapp", "image/jpeg", make([]byte, 5<<20+1), 131053, "over the"},
		{"sticker too big", "whatsapp", "image/webp", make([]byte, 500<<10+1), 131053, "over the"},
	} {
		st, out := upload(t, e, c.product, c.typ, "f", c.data)
		if st != 400 || errCode(out) != c.code || !strings.Contains(errDetails(out)+dig(out, "error", "message").(string), c.text) {
			t.Errorf("%s: %d %v", c.name, st, out)
		}
	}

	st, out := upload(t, e, "whatsapp", "image/png", "cat.png", png)
	if st != 200 || len(out) != 1 {
		t.Fatalf("upload: %d %v", st, out)
	}
	id := out["id"].(string)
	if strings.Trim(id, "0123456789") != "" {
		t.Errorf("media id %q is not digits", id)
	}

	_, desc, _ := e.graph(t, "GET", "/v23.0/"+id+"?phone_number_id="+e.num.ID, nil)
	sum := sha256.Sum256(png)
	if desc["messaging_product"] != "whatsapp" || desc["mime_type"] != "image/png" || desc["sha256"] != base64.StdEncoding.EncodeToString(sum[:]) ||
		desc["file_size"] != "1008" || desc["id"] != id {
		t.Errorf("descriptor %v", desc)
	}
	url := desc["url"].(string)
	if !strings.HasPrefix(url, e.URL+"/whatsapp_business/attachments/?") {
		t.Errorf("url %s", url)
	}
	if resp, _ := get(t, e, url, ""); resp.StatusCode != 401 {
		t.Errorf("download without token: %d", resp.StatusCode)
	}
	other := e.fake.AddNumber(graphfake.Number{})
	if resp, _ := get(t, e, url, other.Token); resp.StatusCode != 404 {
		t.Errorf("download with another number's token: %d", resp.StatusCode)
	}
	resp, body := get(t, e, url, e.num.Token)
	if resp.StatusCode != 200 || !bytes.Equal(body, png) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("download: %d %s", resp.StatusCode, resp.Header)
	}
	resp, body = get(t, e, url, e.num.Token, "Range", "bytes=0-7")
	if resp.StatusCode != 206 || string(body) != "\x89PNG\r\n\x1a\n" || resp.Header.Get("Content-Range") != "bytes 0-7/1008" {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}
	if st, out, _ := e.graph(t, "GET", "/v23.0/"+id+"?phone_number_id="+other.ID, nil); st != 400 || errCode(out) != 100 {
		t.Errorf("descriptor for another number: %d %v", st, out)
	}

	// The URL works for five minutes.
	now = now.Add(5*time.Minute + time.Second)
	if resp, _ := get(t, e, url, e.num.Token); resp.StatusCode != 404 {
		t.Errorf("expired URL: %d", resp.StatusCode)
	}

	if st, out, _ := e.graph(t, "DELETE", "/v23.0/"+id, nil); st != 200 || out["success"] != true {
		t.Errorf("delete: %d %v", st, out)
	}
	if st, out, _ := e.graph(t, "GET", "/v23.0/"+id, nil); st != 400 || errCode(out) != 100 || dig(out, "error", "error_subcode") != float64(33) {
		t.Errorf("deleted: %d %v", st, out)
	}
}

// TestInboundMedia: a customer's photo arrives with an id and a URL the
// business downloads with its token; ExpireMedia forgets it.
func TestInboundMedia(t *testing.T) {
	e := setup(t, graphfake.Options{})
	jpeg := []byte("\xff\xd8\xff\xe0 a photo")
	if _, err := e.fake.Inbound(e.num.ID, graphfake.Customer{Name: "Ann", Phone: "16505551234"}, graphfake.Image(jpeg, "", "look")); err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	img := dig(e.rc.values(t)[0], "messages", 0, "image").(map[string]any)
	if img["mime_type"] != "image/jpeg" || img["caption"] != "look" {
		t.Errorf("node %v", img)
	}
	resp, body := get(t, e, img["url"].(string), e.num.Token)
	if resp.StatusCode != 200 || !bytes.Equal(body, jpeg) {
		t.Errorf("download from the webhook url: %d", resp.StatusCode)
	}
	_, desc, _ := e.graph(t, "GET", "/v23.0/"+img["id"].(string), nil)
	if desc["sha256"] != img["sha256"] {
		t.Errorf("descriptor %v, node %v", desc, img)
	}
	e.fake.ExpireMedia(img["id"].(string))
	if st, _, _ := e.graph(t, "GET", "/v23.0/"+img["id"].(string), nil); st != 400 {
		t.Errorf("expired media: %d", st)
	}
	// Without "url" in the node the business resolves the id first.
	e2 := setup(t, graphfake.Options{OmitInboundMediaURL: true})
	e2.fake.Inbound(e2.num.ID, graphfake.Customer{Name: "Ann", Phone: "16505551234"}, graphfake.Document([]byte("%PDF-1.4"), "application/pdf", "a.pdf", ""))
	e2.wait(t)
	doc := dig(e2.rc.values(t)[0], "messages", 0, "document").(map[string]any)
	if doc["url"] != nil || doc["filename"] != "a.pdf" {
		t.Errorf("document node %v", doc)
	}
}
