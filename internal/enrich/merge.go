package enrich

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/omen-tip/omen/internal/jsonw"
)

// Addition sets Path in an event to Value (JSON). With Append, Value must be a JSON array, whose
// elements are appended to the array at Path (which is created when there is none).
type Addition struct {
	Path   string          // dotted: "threat.enrichments", "event.risk_score", "omen.priority"
	Value  json.RawMessage // one JSON value
	Append bool
}

// Merge appends to dst the event (a JSON object) with the additions applied in order, leaving every
// other byte of the event as it was: key order, spacing and number formatting are kept.
//
// For each addition, the path is looked up through the event's nested objects and dotted keys
// alike ("event.kind" and {"event":{"kind":...}} both hold event.kind):
//
//   - an existing value at Path is replaced, or, with Append, gets the new elements (a value that
//     is not an array becomes the first element of the new array; null is replaced);
//   - otherwise, when the event has the parent as a nested object, the value is inserted into it;
//     when the event uses dotted keys for the first segment of what is left of the path (it has
//     "event.kind" and the path is event.risk_score), a dotted key is written ("event.risk_score");
//     otherwise nested objects are created ({"omen":{"priority":...}}).
//
// New members go after the last member of their object. The event and the values are validated;
// errors name the addition and the byte offset of the problem.
func Merge(dst, event []byte, adds []Addition) ([]byte, error) {
	m := merger{}
	i := m.skipWS(event, 0)
	if i >= len(event) || event[i] != '{' {
		return dst, fmt.Errorf("merging into event: %w", &SyntaxError{Offset: i, Msg: "an event must be a JSON object"})
	}
	sc := scanner{data: event}
	end, err := sc.value(i, nil)
	if err != nil {
		return dst, fmt.Errorf("merging into event: %w", err)
	}
	if j := sc.ws(end); j != len(event) {
		return dst, fmt.Errorf("merging into event: %w", &SyntaxError{Offset: j, Msg: "unexpected data after the JSON object"})
	}
	for n, a := range adds {
		if err := a.check(); err != nil {
			return dst, fmt.Errorf("addition %d (%q): %w", n, a.Path, err)
		}
	}
	cur := event
	var bufs [2][]byte
	for n, a := range adds {
		next := bufs[n%2][:0]
		var err error
		next, err = m.apply(next, cur, a)
		if err != nil {
			return dst, fmt.Errorf("addition %d (%q): %w", n, a.Path, err)
		}
		bufs[n%2] = next
		cur = next
	}
	return append(dst, cur...), nil
}

// check validates the path and the value of a.
func (a Addition) check() error {
	if err := validPath(a.Path); err != nil {
		return err
	}
	v := trimWS(a.Value)
	if len(v) == 0 {
		return errors.New("empty value")
	}
	sc := scanner{data: v}
	end, err := sc.value(0, nil)
	if err != nil {
		return fmt.Errorf("value is not valid JSON: %w", err)
	}
	if end != len(v) {
		return fmt.Errorf("value is not valid JSON: %w", &SyntaxError{Offset: end, Msg: "unexpected data after the value"})
	}
	if a.Append && v[0] != '[' {
		return errors.New("an appended value must be a JSON array")
	}
	return nil
}

func trimWS(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// merger holds the scratch space of one Merge call.
type merger struct {
	key []byte // unescaped key
}

func (m *merger) skipWS(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

// member is one member of an object: the key's quotes at [keyStart, keyEnd), the value at
// [valStart, valEnd).
type member struct {
	keyStart, keyEnd, valStart, valEnd int
}

// apply writes data with addition a applied to out.
func (m *merger) apply(out, data []byte, a Addition) ([]byte, error) {
	i := m.skipWS(data, 0)
	start, end, ins, err := m.resolve(data, i, a.Path, a)
	if err != nil {
		return out, err
	}
	out = append(out, data[:start]...)
	out = append(out, ins...)
	return append(out, data[end:]...), nil
}

// resolve finds where addition a goes in the object at data[i], with path the part of a.Path left
// at this object. It returns the span of data to replace and the bytes to put there.
func (m *merger) resolve(data []byte, i int, path string, a Addition) (start, end int, ins []byte, err error) {
	var (
		exact, prefix   member
		found, nested   bool
		prefixLen       int
		dotted, blocked bool
		last            = -1 // end of the last member's value
	)
	first, _, _ := strings.Cut(path, ".")
	sc := scanner{data: data}
	j := m.skipWS(data, i+1)
	if data[j] != '}' {
		for {
			kend, esc, err := sc.str(j)
			if err != nil {
				return 0, 0, nil, err
			}
			key := data[j+1 : kend-1]
			if esc {
				m.key = appendUnescaped(m.key[:0], key)
				key = m.key
			}
			vs := m.skipWS(data, m.skipWS(data, kend)+1)
			ve, err := sc.value(vs, nil)
			if err != nil {
				return 0, 0, nil, err
			}
			switch {
			case string(key) == path:
				exact, found = member{j, kend, vs, ve}, true
			case len(key) < len(path) && path[len(key)] == '.' && string(key) == path[:len(key)]:
				if data[vs] == '{' && len(key) >= prefixLen {
					prefix, prefixLen, nested = member{j, kend, vs, ve}, len(key), true
				} else if data[vs] != '{' {
					blocked = true // a parent holds a non-object: nesting under it would lose it
				}
			}
			if len(key) > len(first) && key[len(first)] == '.' && string(key[:len(first)]) == first {
				dotted = true
			}
			last = ve
			j = m.skipWS(data, ve)
			if data[j] == '}' {
				break
			}
			j = m.skipWS(data, j+1) // ','
		}
	}
	v := trimWS(a.Value)
	switch {
	case found:
		if !a.Append {
			return exact.valStart, exact.valEnd, v, nil
		}
		return m.appendTo(data, exact.valStart, exact.valEnd, v)
	case nested:
		return m.resolve(data, prefix.valStart, path[prefixLen+1:], a)
	}
	// Insert a new member.
	var b []byte
	if last >= 0 {
		b = append(b, ',')
	}
	if dotted || blocked || !strings.Contains(path, ".") {
		b = jsonw.AppendString(b, path)
		b = append(b, ':')
		b = append(b, v...)
	} else {
		segs := strings.Split(path, ".")
		for n, s := range segs {
			b = jsonw.AppendString(b, s)
			b = append(b, ':')
			if n < len(segs)-1 {
				b = append(b, '{')
			}
		}
		b = append(b, v...)
		for range len(segs) - 1 {
			b = append(b, '}')
		}
	}
	at := last
	if at < 0 {
		at = i + 1
	}
	return at, at, b, nil
}

// appendTo appends the elements of the array arr to the value at data[vs:ve].
func (m *merger) appendTo(data []byte, vs, ve int, arr []byte) (int, int, []byte, error) {
	elems := trimWS(arr[1 : len(arr)-1])
	existing := data[vs:ve]
	switch {
	case string(existing) == "null":
		return vs, ve, arr, nil
	case existing[0] != '[':
		b := append([]byte{'['}, existing...)
		if len(elems) > 0 {
			b = append(b, ',')
			b = append(b, elems...)
		}
		return vs, ve, append(b, ']'), nil
	case len(elems) == 0:
		return vs, vs, nil, nil
	}
	// Find the end of the last element of the existing array.
	sc := scanner{data: data}
	j := m.skipWS(data, vs+1)
	if data[j] == ']' {
		return vs + 1, j, elems, nil
	}
	lastEnd := j
	for {
		e, err := sc.value(j, nil)
		if err != nil {
			return 0, 0, nil, err
		}
		lastEnd = e
		j = m.skipWS(data, e)
		if data[j] == ']' {
			break
		}
		j = m.skipWS(data, j+1)
	}
	b := append([]byte{','}, elems...)
	return lastEnd, lastEnd, b, nil
}
