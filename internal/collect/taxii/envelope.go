package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// MediaType is the TAXII 2.1 media type, sent in Accept and expected in Content-Type.
const MediaType = "application/taxii+json;version=2.1"

// Envelope is the body of a TAXII 2.1 objects response: one page of STIX objects (not a bundle).
// Every member is optional: an empty collection may answer "{}".
type Envelope struct {
	More    bool              `json:"more"`
	Next    string            `json:"next"`
	Objects []json.RawMessage `json:"objects"`
}

// ParseEnvelope decodes one TAXII 2.1 envelope. An HTML page, a document that is not a JSON
// object, members of the wrong type, truncated JSON or data after the document are errors; the
// objects themselves are not checked (see [Shape]).
func ParseEnvelope(b []byte) (*Envelope, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	switch firstByte(b) {
	case '{':
	case '<':
		return nil, errors.New("an HTML page, not a TAXII envelope")
	case 0:
		return nil, errors.New("an empty body, not a TAXII envelope")
	default:
		return nil, errors.New("not a JSON object, not a TAXII envelope")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw struct {
		More    *bool             `json:"more"`
		Next    *string           `json:"next"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a TAXII envelope: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the TAXII envelope")
	}
	env := &Envelope{Objects: raw.Objects}
	if raw.More != nil {
		env.More = *raw.More
	}
	if raw.Next != nil {
		env.Next = *raw.Next
	}
	return env, nil
}

// Shape reports whether obj looks like a STIX object: a JSON object with a string "type" and a
// string "id". It is the cheap check made before a page is written; the importer does the rest.
func Shape(obj json.RawMessage) bool {
	if firstByte(obj) != '{' {
		return false
	}
	var o struct {
		Type json.RawMessage `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if json.Unmarshal(obj, &o) != nil {
		return false
	}
	var typ, id string
	return json.Unmarshal(o.Type, &typ) == nil && json.Unmarshal(o.ID, &id) == nil && typ != "" && id != ""
}

// checkContentType accepts application/taxii+json (version 2.1 or none) and, as many servers
// behind gateways send it, application/json. An absent Content-Type is let through: the body
// must parse as an envelope anyway.
func checkContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("unparsable Content-Type %q", ct)
	}
	switch mt {
	case "application/taxii+json":
		if v, ok := params["version"]; ok && v != "2.1" {
			return fmt.Errorf("media type %q: TAXII version %s, want 2.1", ct, v)
		}
		return nil
	case "application/json":
		return nil
	case "text/html", "application/xhtml+xml":
		return fmt.Errorf("an HTML page (Content-Type %q), not a TAXII envelope", ct)
	}
	return fmt.Errorf("unexpected Content-Type %q, want %s", ct, MediaType)
}

// errorBody is the TAXII error message a server may send with a 4xx or 5xx.
type errorBody struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

// errorTitle returns the title of a TAXII error body (for the error of a failed request), cut to
// 120 characters and stripped of control characters; "" when b is not one.
func errorTitle(b []byte) string {
	var e errorBody
	if firstByte(b) != '{' || json.Unmarshal(b, &e) != nil {
		return ""
	}
	s := e.Title
	if e.Description != "" {
		s += ": " + e.Description
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return strings.TrimSpace(s)
}

func firstByte(b []byte) byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
	}
	return 0
}
