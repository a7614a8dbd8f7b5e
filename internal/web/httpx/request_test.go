package httpx

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/problem"
)

// TestCheckJSON: every string of a request body, at any depth, keys
// included, follows the text rule, and a refused one names its field by
// its path.
func TestCheckJSON(t *testing.T) {
	for _, c := range []struct {
		body, field string // field "" when accepted
	}{
		{`{"text":"line\r\n\ttab","n":1.5,"ok":true,"none":null}`, ""},
		{`{"text":"a\u0000b"}`, "text"},
		{`{"metadata":{"plan":"gold\u0000"}}`, "metadata.plan"},
		{`{"interactive":{"buttons":[{"title":"Yes"},{"title":"N\u0007o"}]}}`, "interactive.buttons.1.title"},
		{`{"metadata":{"pl\u0000an":"gold"}}`, "metadata"},
		{`{"a":[{"b":1},{"c":"ok"}],"d":{"e":{}},"f":"\u001b"}`, "f"},
		{`{"a":[[],["x","\u000b"]]}`, "a.1.1"},
		{`["ok",{"k":"v"},"\u0000"]`, "2"},
		{`"\u0000"`, "body"},
		{`{"text":"caf\u00e9 \ud83d\udc4d"}`, ""},
	} {
		err := checkJSON([]byte(c.body))
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		p, ok := problem.As(err)
		if !ok || p.Kind != problem.KindInvalid || len(p.Fields) != 1 || p.Fields[c.field] == "" {
			t.Errorf("%s: %v, want field %s refused", c.body, err, c.field)
		}
	}
}
