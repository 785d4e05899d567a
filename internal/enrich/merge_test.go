package enrich_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/enrich"
)

// omenAdds are the additions the pipeline makes to a matched event.
var omenAdds = []enrich.Addition{
	{Path: "threat.enrichments", Value: json.RawMessage(`[{"indicator":{"type":"ipv4-addr","ip":"1.128.3.4"},"matched":{"atomic":"1.128.3.4","field":"source.ip","type":"indicator_match_rule"}}]`), Append: true},
	{Path: "event.risk_score", Value: json.RawMessage(`82.0`)},
	{Path: "event.risk_score_norm", Value: json.RawMessage(`82.0`)},
	{Path: "omen.priority", Value: json.RawMessage(`{"score":82,"level":"act","model_version":"omen-prio-1"}`)},
}

func TestMergeGolden(t *testing.T) {
	auth := corpusLines(t, "ecs-auth.ndjson")[0]
	sysmon := corpusLines(t, "ecs-sysmon.ndjson")[1]
	endpoint := corpusLines(t, "ecs-endpoint.ndjson")[0]
	enr := string(omenAdds[0].Value[1 : len(omenAdds[0].Value)-1])
	prio := string(omenAdds[3].Value)
	tests := []struct {
		name  string
		event []byte
		adds  []enrich.Addition
		want  string
	}{
		{
			// Dotted top-level keys (event.kind): the event fields become dotted keys too; threat and
			// omen do not appear, so they are nested objects.
			"dotted keys", auth, omenAdds,
			string(auth[:len(auth)-1]) + `,"threat":{"enrichments":[` + enr + `]},"event.risk_score":82.0,"event.risk_score_norm":82.0,"omen":{"priority":` + prio + `}}`,
		},
		{
			// Nested "event" object: the scores go into it, after its last member.
			"nested", sysmon, omenAdds,
			strings.Replace(string(sysmon[:len(sysmon)-1]), `"type":["start"]}`, `"type":["start"],"risk_score":82.0,"risk_score_norm":82.0}`, 1) +
				`,"threat":{"enrichments":[` + enr + `]},"omen":{"priority":` + prio + `}}`,
		},
		{
			// Spaced JSON: spacing is kept; the existing event.risk_score (99) is replaced in place;
			// "threat" is an array, so threat.enrichments cannot nest under it and is a dotted key.
			"replace and blocked parent", endpoint, omenAdds,
			strings.Replace(strings.Replace(string(endpoint[:len(endpoint)-1]), `"risk_score": 99,`, `"risk_score": 82.0,`, 1),
				`"outcome": "success"}`, `"outcome": "success","risk_score_norm":82.0}`, 1) +
				`,"threat.enrichments":[` + enr + `],"omen":{"priority":` + prio + `}}`,
		},
		{
			"append to existing array", []byte(`{"threat": {"enrichments": [ {"a":1} ] }, "x": 1.50e2}`),
			[]enrich.Addition{{Path: "threat.enrichments", Value: json.RawMessage(` [{"b":2}, {"c":3}] `), Append: true}},
			`{"threat": {"enrichments": [ {"a":1},{"b":2}, {"c":3} ] }, "x": 1.50e2}`,
		},
		{
			"append to empty array and to a scalar", []byte(`{"related":{"ip":[ ],"hosts":"a.example.com","user":null}}`),
			[]enrich.Addition{
				{Path: "related.ip", Value: json.RawMessage(`["1.2.3.4"]`), Append: true},
				{Path: "related.hosts", Value: json.RawMessage(`["b.example.com"]`), Append: true},
				{Path: "related.user", Value: json.RawMessage(`["bob"]`), Append: true},
			},
			`{"related":{"ip":["1.2.3.4"],"hosts":["a.example.com","b.example.com"],"user":["bob"]}}`,
		},
		{
			"dotted key holding an object", []byte(`{"omen.priority":{"score":1},"event.kind":"alert"}`),
			[]enrich.Addition{{Path: "omen.priority.score", Value: json.RawMessage(`2`)}, {Path: "omen.asset", Value: json.RawMessage(`{}`)}},
			`{"omen.priority":{"score":2},"event.kind":"alert","omen.asset":{}}`,
		},
		{
			"empty object and escaped key", []byte(`{}`), []enrich.Addition{{Path: "a", Value: json.RawMessage(`"x\u00e9"`)}},
			`{"a":"x\u00e9"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix|")
			out, err := enrich.Merge(bytes.Clone(prefix), tc.event, tc.adds)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, prefix) {
				t.Fatalf("Merge did not append to dst: %s", out)
			}
			out = out[len(prefix):]
			if string(out) != tc.want {
				t.Errorf("Merge:\n got %s\nwant %s", out, tc.want)
			}
			checkMerge(t, tc.event, tc.adds, out)
		})
	}
}

// TestMergeCorpus merges the pipeline's additions into every genuine JSON event.
func TestMergeCorpus(t *testing.T) {
	for _, name := range corpusFiles(t) {
		if f, _ := corpusFormat(name); f == enrich.FormatCEF {
			continue
		}
		for i, line := range corpusLines(t, name) {
			out, err := enrich.Merge(nil, line, omenAdds)
			if err != nil {
				t.Fatalf("%s:%d: %v", name, i+1, err)
			}
			checkMerge(t, line, omenAdds, out)
			// Merging again appends a second enrichment and replaces the rest.
			out2, err := enrich.Merge(nil, out, omenAdds)
			if err != nil {
				t.Fatalf("%s:%d: second merge: %v", name, i+1, err)
			}
			checkMerge(t, out, omenAdds, out2)
		}
	}
}

func TestMergeErrors(t *testing.T) {
	tests := []struct {
		event string
		adds  []enrich.Addition
		msg   string
	}{
		{`[1]`, nil, "must be a JSON object"},
		{`{"a":}`, nil, "byte 5"},
		{`{"a":1} x`, nil, "unexpected data after"},
		{`{}`, []enrich.Addition{{Path: "a..b", Value: json.RawMessage(`1`)}}, `addition 0 ("a..b"): empty segment`},
		{`{}`, []enrich.Addition{{Path: "", Value: json.RawMessage(`1`)}}, "empty path"},
		{`{}`, []enrich.Addition{{Path: "a", Value: json.RawMessage(`{"x":}`)}}, "value is not valid JSON"},
		{`{}`, []enrich.Addition{{Path: "a", Value: json.RawMessage(`1 2`)}}, "unexpected data after the value"},
		{`{}`, []enrich.Addition{{Path: "a", Value: nil}}, "empty value"},
		{`{}`, []enrich.Addition{{Path: "a", Value: json.RawMessage(`{}`), Append: true}}, "must be a JSON array"},
	}
	for _, tc := range tests {
		out, err := enrich.Merge([]byte("keep"), []byte(tc.event), tc.adds)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %+v: error %v, want %q", tc.event, tc.adds, err, tc.msg)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed on error: %q", tc.event, out)
		}
	}
}

// checkMerge checks the output of Merge: valid JSON that decodes to the input plus the additions.
// Inputs whose flattened paths collide (both "a.b" and {"a":{"b"}}) are only checked for validity.
func checkMerge(t testing.TB, in []byte, adds []enrich.Addition, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("Merge output is not valid JSON:\n in %s\nout %s", in, out)
	}
	inObj, ok1 := decodeObj(in)
	outObj, ok2 := decodeObj(out)
	if !ok1 || !ok2 {
		t.Fatalf("cannot decode:\n in %s\nout %s", in, out)
	}
	want, clean := flattenChecked(inObj)
	if !clean {
		return
	}
	for _, a := range adds {
		var v any
		dec := json.NewDecoder(bytes.NewReader(a.Value))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		hasChildren := false
		for k := range want {
			if strings.HasPrefix(k, a.Path+".") {
				hasChildren = true
			}
		}
		if a.Append {
			if hasChildren {
				return // an object turned into an array element: not modelled
			}
			arr := v.([]any)
			switch old := want[a.Path].(type) {
			case nil:
				v = arr
			case []any:
				v = append(append([]any{}, old...), arr...)
			default:
				v = append([]any{old}, arr...)
			}
		}
		for k := range want {
			if k == a.Path || strings.HasPrefix(k, a.Path+".") {
				delete(want, k)
			}
		}
		for p := a.Path; strings.Contains(p, "."); {
			p = p[:strings.LastIndexByte(p, '.')]
			if o, ok := want[p].(map[string]any); ok && len(o) == 0 {
				delete(want, p)
			}
		}
		if o, ok := v.(map[string]any); ok && len(o) > 0 {
			sub, clean := flattenChecked(o)
			if !clean {
				return
			}
			for k, x := range sub {
				want[a.Path+"."+k] = x
			}
		} else {
			want[a.Path] = v
		}
	}
	got, _ := flattenChecked(outObj)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Merge output does not decode to the input plus the additions:\n in %s\nout %s\n got %v\nwant %v", in, out, got, want)
	}
}

func decodeObj(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// flattenChecked is flatten that also reports whether no two values share a path.
func flattenChecked(obj map[string]any) (map[string]any, bool) {
	out := map[string]any{}
	clean := true
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if o, ok := v.(map[string]any); ok && (prefix == "" || len(o) > 0) {
			for k, x := range o {
				if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
					clean = false
				}
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x)
			}
			return
		}
		if _, dup := out[prefix]; dup {
			clean = false
		}
		out[prefix] = v
	}
	walk("", obj)
	// A leaf that is also a parent ("a": 1 and "a.b": 2) is a collision too.
	for k := range out {
		for p := k; strings.Contains(p, "."); {
			p = p[:strings.LastIndexByte(p, '.')]
			if _, ok := out[p]; ok {
				clean = false
			}
		}
	}
	return out, clean
}

func FuzzMerge(f *testing.F) {
	for _, name := range []string{"ecs-auth.ndjson", "ecs-sysmon.ndjson", "ecs-endpoint.ndjson", "ecs-zeek.ndjson", "ecs-email.ndjson", "suricata-eve.ndjson"} {
		for _, line := range corpusLines(f, name) {
			f.Add(line, "threat.enrichments", `[{"matched":{"field":"source.ip"}}]`, true)
			f.Add(line, "event.risk_score", `82.0`, false)
		}
	}
	f.Add([]byte(`{"a":{"b":[]},"a.c":null}`), "a.b", `[1,"x"]`, true)
	f.Add([]byte(`{"a\u002eb":1}`), "a.b", `{"c":{}}`, false)
	f.Fuzz(func(t *testing.T, event []byte, path, value string, appendMode bool) {
		adds := []enrich.Addition{{Path: path, Value: json.RawMessage(value), Append: appendMode}}
		out, err := enrich.Merge(nil, event, adds)
		inOK := json.Valid(event) && bytes.HasPrefix(bytes.TrimLeft(event, " \t\r\n"), []byte("{"))
		valOK := json.Valid([]byte(value)) && (!appendMode || strings.HasPrefix(strings.TrimLeft(value, " \t\r\n"), "["))
		pathOK := utf8.ValidString(path) && path != "" && !strings.Contains(path, "..") && !strings.HasPrefix(path, ".") && !strings.HasSuffix(path, ".")
		if err != nil {
			if inOK && valOK && pathOK && depthOK(event) && depthOK([]byte(value)) {
				t.Fatalf("Merge failed on valid input: %v\nevent %q path %q value %q", err, event, path, value)
			}
			return
		}
		if !inOK || !valOK || !pathOK {
			t.Fatalf("Merge accepted invalid input: event %q path %q value %q", event, path, value)
		}
		checkMerge(t, event, adds, out)
	})
}

// depthOK reports whether b nests at most 10000 levels (the limit of encoding/json and Merge).
func depthOK(b []byte) bool {
	d, max := 0, 0
	inStr := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			d++
			if d > max {
				max = d
			}
		case !inStr && (c == '}' || c == ']'):
			d--
		}
	}
	return max <= 10000
}
