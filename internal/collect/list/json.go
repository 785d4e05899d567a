package list

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// field is one member of a JSON object, in document order.
type field struct {
	key, norm string
	val       any // string, json.Number, bool, nil, map[string]any, []any
}

// decodeObject decodes one JSON object into its members in document order. The error says why raw
// is not exactly one object.
func decodeObject(raw []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, field{key: key, norm: normName(key), val: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return fields, nil
}

// jsonSyntax describes a decoding error for a reject.
func jsonSyntax(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("JSON ends early (truncated?): %w", ErrSyntax)
	}
	return fmt.Errorf("invalid JSON: %v: %w", err, ErrSyntax)
}

// lookup returns the value at a dotted path in an object: the whole path as one key first, else
// key by key (folded names match too; numbers index arrays).
func lookup(fields []field, path string) (any, bool) {
	for _, f := range fields {
		if f.key == path {
			return f.val, true
		}
	}
	first, rest, dotted := strings.Cut(path, ".")
	var v any
	found := false
	for _, f := range fields {
		if f.key == first {
			v, found = f.val, true
			break
		}
	}
	if !found {
		want := normName(first)
		for _, f := range fields {
			if f.norm == want {
				v, found = f.val, true
				break
			}
		}
	}
	if !found || !dotted {
		return v, found
	}
	for seg := range strings.SplitSeq(rest, ".") {
		switch c := v.(type) {
		case map[string]any:
			if v, found = c[seg]; !found {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// element turns one JSON value (an array element, an NDJSON line) into a record, a reject or a skip.
// what names it in errors ("element 3: " or "").
func (p *parser) element(line int, raw []byte, what string) error {
	raw = trimSpace(raw)
	bad := func(err error) error {
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		p.reject(line, raw, err)
		return nil
	}
	if len(raw) == 0 {
		p.st.Skipped++
		return nil
	}
	switch raw[0] {
	case '{':
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return bad(err)
		}
		return p.jsonValue(line, s, "", nil, what, raw)
	case 'n':
		if string(raw) == "null" {
			p.st.Skipped++
			return nil
		}
		return bad(errors.New("not a JSON value"))
	case '[':
		return bad(errors.New("an array where an object or a value was expected"))
	default:
		if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
			return p.jsonValue(line, string(raw), "", nil, what, raw)
		}
		return bad(fmt.Errorf("unexpected JSON value %.20q", raw))
	}
	fields, err := decodeObject(raw)
	if err != nil {
		return bad(err)
	}
	return p.object(line, fields, what, raw)
}

// object turns a decoded JSON object into a record, a reject or a skip.
func (p *parser) object(line int, fields []field, what string, raw []byte) error {
	bad := func(err error) error {
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		p.reject(line, raw, err)
		return nil
	}
	key := ""
	var v any
	switch {
	case p.opts.Column != "":
		var ok bool
		if v, ok = lookup(fields, p.opts.Column); !ok {
			return bad(fmt.Errorf("no field %q", p.opts.Column))
		}
		key = p.opts.Column
	default:
		best := -1
		for _, f := range fields {
			if r := valueRank(f.norm); r >= 0 && (best < 0 || r < best) {
				best, key, v = r, f.key, f.val
			}
		}
		if best >= 0 {
			p.jsonKnown = true
			break
		}
		if t, _ := lookup(fields, "type"); scalarString(t) == "metadata" {
			p.st.Skipped++
			return nil
		}
		if p.jsonKey != "" {
			var ok bool
			if v, ok = lookup(fields, p.jsonKey); ok {
				key = p.jsonKey
				break
			}
		}
		if !p.jsonKnown && p.jsonKey == "" {
			// No known name in this input so far: take the first field that is an observable, and
			// the same field from the following objects.
			for _, f := range fields {
				if s, ok := f.val.(string); ok {
					if _, _, err := p.resolve(s, ""); err == nil {
						key, v = f.key, f.val
						p.jsonKey = f.key
						break
					}
				}
			}
			if key != "" {
				break
			}
		}
		return bad(errors.New("no field holds an observable"))
	}
	switch v.(type) {
	case string, json.Number:
	default:
		return bad(fmt.Errorf("field %q is not a string or a number", key))
	}
	return p.jsonValue(line, scalarString(v), key, fields, what, raw)
}

// jsonValue resolves a JSON value and emits its record, filled from the other fields.
func (p *parser) jsonValue(line int, s, key string, fields []field, what string, raw []byte) error {
	o, port, err := p.resolve(s, impliedType(normName(key)))
	if err != nil {
		if errors.Is(err, errEmpty) && key != "" {
			err = fmt.Errorf("empty value in field %q", key)
		}
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		p.reject(line, raw, err)
		return nil
	}
	rec := Record{Line: line, Observable: o}
	if len(fields) > 0 {
		var rs roleSet
		for i, f := range fields {
			rs.add(i, f.norm)
		}
		rs.fill(&rec, func(i int) any { return fields[i].val })
	}
	addTag(&rec, port)
	return p.emit(rec)
}

// parseNDJSON reads one JSON value a line.
func (p *parser) parseNDJSON(lr *lineReader) error {
	return p.eachLine(lr, func(n int, _, s []byte) error { return p.element(n, s, "") })
}

// trackReader feeds the JSON decoder: it remembers where lines end, so that a decoded element can be
// given its line, and it fails when one value grows past the limit, so that the decoder never
// buffers more than that.
type trackReader struct {
	r     io.Reader
	off   int64   // bytes handed out
	nl    []int64 // offsets of the newlines handed out and not yet passed by lineAt
	line  int     // newlines passed by lineAt
	lines int     // newlines handed out
	last  byte    // last byte handed out
	mark  int64   // offset where the current value starts
	limit int64
	err   error // the underlying reader's error other than EOF
}

var errTooLarge = errors.New("JSON value too large")

const trackChunk = 32 << 10

func (t *trackReader) Read(b []byte) (int, error) {
	if t.off-t.mark > t.limit+2*trackChunk {
		return 0, errTooLarge
	}
	if len(b) > trackChunk {
		b = b[:trackChunk]
	}
	n, err := t.r.Read(b)
	for i := 0; i < n; {
		j := bytes.IndexByte(b[i:n], '\n')
		if j < 0 {
			break
		}
		t.nl = append(t.nl, t.off+int64(i+j))
		t.lines++
		i += j + 1
	}
	if n > 0 {
		t.last = b[n-1]
	}
	t.off += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}

// lineAt returns the 1-based line of byte offset o. Offsets must not decrease from call to call.
func (t *trackReader) lineAt(o int64) int {
	i := 0
	for i < len(t.nl) && t.nl[i] < o {
		i++
	}
	t.line += i
	t.nl = t.nl[i:]
	if len(t.nl) == 0 {
		t.nl = nil
	}
	return t.line + 1
}

// totalLines returns the number of lines handed out.
func (t *trackReader) totalLines() int {
	if t.off > 0 && t.last != '\n' {
		return t.lines + 1
	}
	return t.lines
}

// jsonParser streams a JSON document.
type jsonParser struct {
	*parser
	t    *trackReader
	dec  *json.Decoder
	elem int
}

// parseJSON reads JSON documents: arrays element by element, objects member by member.
func (p *parser) parseJSON(r io.Reader) error {
	t := &trackReader{r: r, limit: int64(p.opts.MaxLine)}
	jp := &jsonParser{parser: p, t: t, dec: json.NewDecoder(t)}
	jp.dec.UseNumber()
	err := jp.run()
	p.st.Lines = t.totalLines()
	return err
}

func (jp *jsonParser) run() error {
	for {
		jp.t.mark = jp.dec.InputOffset()
		tok, err := jp.dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return jp.fail(decodeErr{err})
		}
		switch tok {
		case json.Delim('['):
			err = jp.array(nil)
		case json.Delim('{'):
			_, err = jp.object(0)
		default:
			jp.elem++
			line := jp.t.lineAt(jp.dec.InputOffset())
			err = jp.element(line, scalarJSON(tok), "")
		}
		if err != nil {
			return jp.fail(err)
		}
	}
}

// decodeErr marks errors that come from the JSON decoder, as opposed to emit's or ctx's.
type decodeErr struct{ error }

func (e decodeErr) Unwrap() error { return e.error }

// fail turns a decoding error into a reject that ends the parse (the document cannot be read past
// it); an error from the reader, emit or ctx is returned as is.
func (jp *jsonParser) fail(err error) error {
	var de decodeErr
	if !errors.As(err, &de) {
		return err
	}
	if jp.t.err != nil {
		return fmt.Errorf("reading line %d: %w", jp.t.totalLines(), jp.t.err)
	}
	// A syntax error's offset is where the decoder stopped in the stream (the offending byte's
	// offset, give or take one); a truncated document ends on the last line.
	off := jp.t.off
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = min(max(se.Offset+1, jp.dec.InputOffset()), jp.t.off)
	}
	line := min(jp.t.lineAt(off), jp.t.totalLines())
	if errors.Is(err, errTooLarge) {
		err = fmt.Errorf("JSON value longer than %d bytes: %w", jp.opts.MaxLine, ErrSyntax)
	} else {
		err = jsonSyntax(de.error)
	}
	if jp.elem > 0 {
		err = fmt.Errorf("after element %d: %w", jp.elem, err)
	}
	jp.reject(line, nil, err)
	return nil
}

// scalarJSON returns the JSON text of a scalar token.
func scalarJSON(tok json.Token) []byte {
	switch v := tok.(type) {
	case string:
		b, _ := json.Marshal(v)
		return b
	case json.Number:
		return []byte(v)
	case bool:
		return []byte(strconv.FormatBool(v))
	case nil:
		return []byte("null")
	}
	return nil
}

// array reads the elements of an array whose '[' was read. With collect nil each element is a
// record; otherwise the elements are decoded and appended to *collect (the array is a member of a
// record, such as its tags), at most MaxLine bytes of them.
func (jp *jsonParser) array(collect *[]any) error {
	size := 0
	for jp.dec.More() {
		if err := jp.tick(); err != nil {
			return err
		}
		jp.t.mark = jp.dec.InputOffset()
		var raw json.RawMessage
		if err := jp.dec.Decode(&raw); err != nil {
			return decodeErr{err}
		}
		if collect != nil {
			size += len(raw)
			var v any
			if size <= jp.opts.MaxLine && json.Unmarshal(raw, &v) == nil {
				*collect = append(*collect, v)
			}
			continue
		}
		jp.elem++
		line := jp.t.lineAt(jp.dec.InputOffset()) - bytes.Count(raw, []byte{'\n'})
		if err := jp.element(line, raw, fmt.Sprintf("element %d", jp.elem)); err != nil {
			return err
		}
	}
	if _, err := jp.dec.Token(); err != nil { // ']'
		return decodeErr{err}
	}
	return nil
}

const maxDepth = 8

// object walks an object whose '{' was read and returns how many record arrays it held, nested
// objects included. Arrays are streamed as records, except those of known record members (tags);
// nested objects are walked the same way. A top-level object without record arrays is itself one
// record, built from its scalar members and known arrays.
func (jp *jsonParser) object(depth int) (int, error) {
	line := jp.t.lineAt(jp.dec.InputOffset())
	arrays := 0
	var members []field
	size := 0
	for jp.dec.More() {
		jp.t.mark = jp.dec.InputOffset()
		tok, err := jp.dec.Token()
		if err != nil {
			return arrays, decodeErr{err}
		}
		key, _ := tok.(string)
		norm := normName(key)
		jp.t.mark = jp.dec.InputOffset()
		tok, err = jp.dec.Token()
		if err != nil {
			return arrays, decodeErr{err}
		}
		keep := depth == 0 && size <= jp.opts.MaxLine && len(members) < 10000
		switch tok {
		case json.Delim('['):
			if _, member := roleColumns[norm]; member && depth == 0 {
				var vs []any
				err = jp.array(&vs)
				if keep {
					members = append(members, field{key: key, norm: norm, val: vs})
				}
				break
			}
			arrays++
			err = jp.array(nil)
		case json.Delim('{'):
			if depth >= maxDepth {
				return arrays, decodeErr{errors.New("objects nested too deep")}
			}
			var n int
			n, err = jp.object(depth + 1)
			arrays += n
		default:
			if s, ok := tok.(string); ok {
				size += len(s)
			}
			size += len(key)
			if keep {
				members = append(members, field{key: key, norm: norm, val: tok})
			}
		}
		if err != nil {
			return arrays, err
		}
	}
	if _, err := jp.dec.Token(); err != nil { // '}'
		return arrays, decodeErr{err}
	}
	if depth == 0 && arrays == 0 {
		jp.elem++
		return 0, jp.parser.object(line, members, "", nil)
	}
	return arrays, nil
}
