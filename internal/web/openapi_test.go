package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestOpenAPI checks that every API route is in the document, that every
// operation in the document is served, and that the document's references
// resolve.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	admin := srv.NewUser("admin@example.com", policy.Admin)
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	resp := srv.Anonymous().Do("GET", "/api/v1/openapi.json", nil).Expect(200)
	resp.Decode(&doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, rt := range srv.App.Web.Routes() {
		underAPI := strings.HasPrefix(rt.Path, "/api/") || strings.HasPrefix(rt.Path, "/public/")
		if !underAPI || rt.Method == "OPTIONS" {
			continue
		}
		if !documented[rt.Method+" "+rt.Path] {
			t.Errorf("%s %s is served but not in the OpenAPI document", rt.Method, rt.Path)
		}
	}

	// Each documented operation answers with something other than the
	// "no such route" of the router.
	for op := range documented {
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{id}", "1", "{tag}", "x", "{token}", "x").Replace(path)
		if path == "/public/v1/stream" {
			continue // answers 401 without a visitor, but would stream with one
		}
		r := admin.Do(method, path, nil)
		if r.StatusCode == 405 || (r.StatusCode == 404 && strings.Contains(string(r.Body), "There is no")) {
			t.Errorf("%s is documented but not served: %d %s", op, r.StatusCode, r.Body)
		}
	}

	// Every $ref points at a schema that exists.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if _, ok := doc.Components.Schemas[name]; !ok {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var all any
	json.Unmarshal(resp.Body, &all)
	walk(all)
	if len(doc.Paths) < 30 {
		t.Errorf("only %d paths documented", len(doc.Paths))
	}
}
