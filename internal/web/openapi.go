package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// The OpenAPI 3.1 document is generated from the route table and the Go
// types the handlers read and write, so it cannot drift from the code.

// openapiDoc is the rendered document, built on first request.
type openapiDoc struct {
	once sync.Once
	json []byte
}

// openapiJSON is the OpenAPI document, rendered once.
func (s *Server) openapiJSON() []byte {
	s.apiDoc.once.Do(func() {
		s.apiDoc.json, _ = json.MarshalIndent(s.OpenAPI(), "", "  ")
	})
	return s.apiDoc.json
}

// documented reports whether a route belongs in the OpenAPI document.
func (rt route) documented() bool {
	return rt.kind == apiRoute && rt.doc.summary != ""
}

// schemaNames name the schemas of types whose Go names say less outside
// their package (the settings of each channel).
var schemaNames = map[reflect.Type]string{
	reflect.TypeFor[apiInbox]():          "Inbox",
	reflect.TypeFor[newInboxRequest]():   "NewInbox",
	reflect.TypeFor[inboxPatch]():        "InboxPatch",
	reflect.TypeFor[webchat.Settings]():  "WebchatSettings",
	reflect.TypeFor[whatsapp.Settings](): "WhatsAppSettings",
	reflect.TypeFor[whatsapp.Config]():   "WhatsAppConfig",
	reflect.TypeFor[whatsapp.Patch]():    "WhatsAppPatch",
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI returns the API description.
func (s *Server) OpenAPI() map[string]any {
	g := &schemaGen{defs: map[string]any{}, names: maps.Clone(schemaNames)}
	paths := map[string]map[string]any{}
	errResp := map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(httpx.ErrorBody{}))}}}
	for _, rt := range s.routes {
		if !rt.documented() {
			continue
		}
		op := map[string]any{
			"summary":     rt.doc.summary,
			"tags":        []string{rt.doc.tag},
			"operationId": operationID(rt),
		}
		switch {
		case rt.action == policy.Public && strings.HasPrefix(rt.path, "/public/"):
			op["security"] = []any{map[string]any{}, map[string]any{"visitor": []string{}}}
		case rt.action == policy.Public:
			op["security"] = []any{}
		default:
			op["x-switchboard-action"] = string(rt.action)
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			typ := "string"
			if m[1] == "id" {
				typ = "integer"
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": typ}})
		}
		for _, p := range rt.doc.query {
			params = append(params, map[string]any{"name": p.name, "in": "query", "description": p.desc, "schema": map[string]any{"type": p.typ}})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case rt.doc.form:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"multipart/form-data": map[string]any{"schema": map[string]any{
				"type": "object", "required": []string{"file"},
				"properties": map[string]any{"file": map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}}}}}}
		case rt.doc.rawIn != "":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{rt.doc.rawIn: map[string]any{"schema": map[string]any{"type": "string"}}}}
		case rt.doc.in != nil:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.doc.in))}}}
		}
		status := rt.doc.status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		switch {
		case rt.doc.raw != "":
			ok["content"] = map[string]any{rt.doc.raw: map[string]any{}}
		case rt.doc.out != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.doc.out))}}
		}
		responses := map[string]any{strconv.Itoa(status): ok, "default": errResp}
		if rt.path == "/api/v1/ws" {
			responses = map[string]any{"101": map[string]any{"description": "Switching to the WebSocket protocol"}, "default": errResp}
		}
		op["responses"] = responses
		oapiPath := rt.path
		if paths[oapiPath] == nil {
			paths[oapiPath] = map[string]any{}
		}
		paths[oapiPath][strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Switchboard API",
			"version":     s.version,
			"description": "Agents' REST API (/api/v1, session cookie or personal API token) and the web chat widget's API (/public/v1, visitor token). Errors are {\"error\": {\"code\", \"message\", \"fields\"}}. Every string of a request (body, query, path) must be valid UTF-8 without control characters other than tab, line feed and carriage return; otherwise the answer is 422 with the field named by its path (like metadata.plan or tags.1).",
		},
		"servers": []any{map[string]any{"url": s.baseURL.String()}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"token":   map[string]any{"type": "http", "scheme": "bearer", "description": "A personal API token (sbt_…)."},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": httpx.SessionCookie},
				"visitor": map[string]any{"type": "http", "scheme": "bearer", "description": "A web chat visitor's session token (sbv_…)."},
			},
		},
		"security": []any{map[string]any{"token": []string{}}, map[string]any{"session": []string{}}},
	}
}

func operationID(rt route) string {
	p := strings.NewReplacer("/api/v1/", "", "/public/v1/", "public/", "{", "", "}", "", ".", "_").Replace(rt.path)
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '_' || r == '-' })
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, part := range parts {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// schemaGen turns Go types into JSON Schema, naming each struct type once
// in components.schemas.
type schemaGen struct {
	defs  map[string]any
	names map[reflect.Type]string
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"description": "Any JSON value."}
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner := g.schema(t.Elem())
		return map[string]any{"oneOf": []any{inner, map[string]any{"type": "null"}}}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := g.name(t)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, ok := g.defs[name]; ok {
			return ref
		}
		g.defs[name] = map[string]any{} // placeholder for recursive types
		props := map[string]any{}
		var required []string
		g.fields(t, props, &required)
		def := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			def["required"] = required
		}
		g.defs[name] = def
		return ref
	}
	return map[string]any{}
}

// fields adds the properties of struct t. The fields of an embedded
// struct are promoted; those of an embedded pointer tagged
// `json:",omitempty"` are absent when it is nil, so they are not required.
func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft, req := f.Type, required
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
				if strings.Contains(opts, "omitempty") {
					req = new([]string)
				}
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, req)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9]+`)

// name gives a struct type its schema name: the type's own name
// (Page[…Message] becomes PageMessage), prefixed with its package only when
// two packages use the same name.
func (g *schemaGen) name(t reflect.Type) string {
	if n, ok := g.names[t]; ok {
		return n
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		inner := name[i+1 : len(name)-1]
		if j := strings.LastIndexByte(inner, '.'); j >= 0 {
			inner = inner[j+1:]
		}
		name = name[:i] + upperFirst(inner)
	}
	name = nonIdent.ReplaceAllString(upperFirst(name), "")
	for _, taken := range g.names {
		if taken == name {
			pkg := t.PkgPath()
			if j := strings.LastIndexByte(pkg, '/'); j >= 0 {
				pkg = pkg[j+1:]
			}
			name = upperFirst(pkg) + name
			break
		}
	}
	g.names[t] = name
	return name
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// RouteInfo describes a served route, for tests and documentation.
type RouteInfo struct {
	Method     string
	Path       string
	Action     policy.Action
	API        bool // answers JSON (under /api or /public), as opposed to a page
	Documented bool // described in the OpenAPI document
}

// Routes lists every route the server serves.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, rt := range s.routes {
		out[i] = RouteInfo{Method: rt.method, Path: rt.path, Action: rt.action, API: rt.kind == apiRoute, Documented: rt.documented()}
	}
	return out
}
