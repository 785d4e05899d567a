package taxii_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/omen-tip/omen/internal/collect/taxii"
)

func TestParseEnvelope(t *testing.T) {
	manifest, err := os.ReadFile("testdata/get-manifest-response.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		in      string
		objects int
		more    bool
		next    string
	}{
		// The spec's manifest example is envelope-shaped: objects and no more.
		"spec manifest":     {in: string(manifest), objects: 2},
		"empty collection":  {in: `{}`},
		"more and next":     {in: `{"more": true, "next": "abc", "objects": [{"type": "x", "id": "x--1"}]}`, objects: 1, more: true, next: "abc"},
		"null members":      {in: `{"more": null, "next": null, "objects": null}`},
		"byte order mark":   {in: "\xef\xbb\xbf{\"objects\": []}"},
		"unknown members":   {in: `{"more": false, "x_extra": {"a": 1}, "objects": []}`},
		"surrounding space": {in: "\n {\"more\": false}\n"},
	} {
		env, err := taxii.ParseEnvelope([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(env.Objects) != tc.objects || env.More != tc.more || env.Next != tc.next {
			t.Errorf("%s: %+v", name, env)
		}
	}
	for name, in := range map[string]string{
		"empty":           "",
		"null":            "null",
		"array":           `[{"type": "indicator"}]`,
		"string":          `"x"`,
		"html":            "<!DOCTYPE html><html></html>",
		"truncated":       `{"more": true, "objects": [{"id": "x`,
		"trailing data":   `{"objects": []} {"objects": []}`,
		"more not a bool": `{"more": "yes"}`,
		"next not string": `{"next": 2}`,
		"objects object":  `{"objects": {}}`,
	} {
		if env, err := taxii.ParseEnvelope([]byte(in)); err == nil {
			t.Errorf("%s: no error, %+v", name, env)
		}
	}
}

func TestShape(t *testing.T) {
	obj, err := os.ReadFile("testdata/stix-object.json")
	if err != nil {
		t.Fatal(err)
	}
	if !taxii.Shape(obj) {
		t.Error("the spec's indicator is not shaped like a STIX object")
	}
	for _, bad := range []string{`1`, `"x"`, `[]`, `{}`, `{"type": "indicator"}`, `{"type": 1, "id": "x--1"}`, `{"type": "", "id": "x--1"}`} {
		if taxii.Shape(json.RawMessage(bad)) {
			t.Errorf("%s: shaped like a STIX object", bad)
		}
	}
}

func FuzzParseEnvelope(f *testing.F) {
	for _, p := range []string{"testdata/get-manifest-response.json", "testdata/stix-object.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"more": true, "next": "tok-3", "objects": [{"type": "indicator", "id": "indicator--1"}, 2]}`))
	f.Add([]byte("\xef\xbb\xbf<html>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := taxii.ParseEnvelope(b)
		if err != nil {
			return
		}
		for _, o := range env.Objects {
			if !json.Valid(o) {
				t.Fatalf("invalid object JSON %q from a parsed envelope", o)
			}
			taxii.Shape(o)
		}
	})
}
