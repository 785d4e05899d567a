package stix

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// stream reads the top-level JSON object from dec: the elements of its "objects" array are
// queued one by one as they are read; the other members are kept, so that an input without
// "objects" can be taken as one STIX object.
func (ru *run) stream(ctx context.Context, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotSTIX, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%w: the input is not a JSON object", ErrNotSTIX)
	}
	var (
		members    []member
		topType    string
		sawObjects bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ru.truncated(members, sawObjects, err)
		}
		key, _ := tok.(string)
		if key == "objects" {
			m, next, err := ru.objectsMember(ctx, dec)
			if next != nil {
				dec = next
			}
			switch {
			case errors.Is(err, errStop):
				return nil
			case err != nil:
				return err
			case m != nil: // a 2.0 observed-data's "objects" dictionary: the input is one object
				members = append(members, member{key, m})
			default:
				sawObjects = true
			}
			continue
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ru.truncated(members, sawObjects, err)
		}
		members = append(members, member{key, v})
		switch key {
		case "type":
			json.Unmarshal(v, &topType)
		case "spec_version":
			json.Unmarshal(v, &ru.bundleSV)
		}
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return ru.truncated(members, sawObjects, err)
	}
	if !sawObjects && topType != "bundle" {
		if topType == "" {
			return fmt.Errorf("%w: no type and no objects", ErrNotSTIX)
		}
		return ru.add(ctx, joinMembers(members))
	}
	return nil
}

// truncated handles a syntax error outside the objects array: before any object it means the
// input is not STIX; after, the rest is lost and recorded as a rejected object.
func (ru *run) truncated(members []member, sawObjects bool, err error) error {
	if !sawObjects && ru.index == 0 {
		return fmt.Errorf("%w: %v", ErrNotSTIX, err)
	}
	ru.reject(ru.index, "", "", fmt.Errorf("reading the input: %w", err))
	return nil
}

// objectsMember reads the value of an "objects" member: an array is streamed (see streamArray),
// and next is the decoder to read the rest of the input with; an object (the "objects" dictionary
// of a STIX 2.0 observed-data) is returned whole.
func (ru *run) objectsMember(ctx context.Context, dec *json.Decoder) (obj json.RawMessage, next *json.Decoder, err error) {
	tok, err := dec.Token()
	if err != nil {
		ru.reject(ru.index, "", "", fmt.Errorf("reading the objects array: %w", err))
		return nil, nil, errStop
	}
	switch tok {
	case json.Delim('['):
		next, err := ru.streamArray(ctx, bufio.NewReaderSize(io.MultiReader(dec.Buffered(), ru.input), 1<<16))
		return nil, next, err
	case json.Delim('{'):
		var ms []member
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %v", ErrNotSTIX, err)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, nil, fmt.Errorf("%w: %v", ErrNotSTIX, err)
			}
			key, _ := k.(string)
			ms = append(ms, member{key, v})
		}
		if _, err := dec.Token(); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrNotSTIX, err)
		}
		return joinMembers(ms), nil, nil
	}
	return nil, nil, fmt.Errorf("%w: objects is neither an array nor an object", ErrNotSTIX)
}

// streamArray queues the elements of the "objects" array, whose '[' has been read, from br. The
// elements are cut out by a light scanner (strings and nesting only) and decoded later, once:
// encoding/json's own reader would scan each of them twice more. A truncated input ends the
// reading: it is recorded as a rejected object at its position, and what was read before it
// stays queued. After the ']' it returns a decoder for the rest of the enclosing object.
func (ru *run) streamArray(ctx context.Context, br *bufio.Reader) (*json.Decoder, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw, end, err := nextElement(br)
		if err != nil {
			ru.reject(ru.index, "", "", fmt.Errorf("reading the input (truncated or not JSON?): %w", err))
			return nil, errStop
		}
		if end {
			break
		}
		if err := ru.add(ctx, raw); err != nil {
			return nil, err
		}
	}
	// The rest of the enclosing object: ", more members }" or "}". A fresh decoder is put back
	// inside an object by feeding it the '{' it would have read.
	c, err := skipSpace(br)
	if err != nil {
		ru.reject(ru.index, "", "", fmt.Errorf("reading after the objects array: %w", err))
		return nil, errStop
	}
	prefix := "{"
	if c != ',' {
		br.UnreadByte()
		prefix = "{\"_\":0"
	}
	ru.input = br // the rest of the input now flows through br
	dec := json.NewDecoder(io.MultiReader(strings.NewReader(prefix), br))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if c != ',' {
		dec.Token() // "_"
		dec.Token() // 0
	}
	return dec, nil
}

// skipSpace returns the next byte that is not JSON white space.
func skipSpace(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, nil
		}
	}
}

// nextElement returns the next element of a JSON array as raw bytes, or end at the closing ']'.
// It only follows strings and nesting; the element's syntax is checked when it is decoded.
func nextElement(br *bufio.Reader) (raw []byte, end bool, err error) {
	c, err := skipSpace(br)
	if err != nil {
		return nil, false, io.ErrUnexpectedEOF
	}
	if c == ',' {
		if c, err = skipSpace(br); err != nil {
			return nil, false, io.ErrUnexpectedEOF
		}
	}
	if c == ']' {
		return nil, true, nil
	}
	raw = append(make([]byte, 0, 16), c)
	depth, inString, escaped := 0, c == '"', false
	switch c {
	case '{', '[':
		depth = 1
	case '"':
	default: // a scalar: up to the next delimiter
		for {
			c, err := br.ReadByte()
			if err != nil {
				return nil, false, io.ErrUnexpectedEOF
			}
			if c == ',' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				br.UnreadByte()
				return raw, false, nil
			}
			raw = append(raw, c)
		}
	}
	for depth > 0 || inString {
		// Scan what is buffered in one go, then take it.
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return nil, false, io.ErrUnexpectedEOF
			}
		}
		buf, _ := br.Peek(br.Buffered())
		i := 0
		for ; i < len(buf) && (depth > 0 || inString); i++ {
			c := buf[i]
			switch {
			case escaped:
				escaped = false
			case inString:
				switch c {
				case '\\':
					escaped = true
				case '"':
					inString = false
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
			}
		}
		if len(raw) == 1 && !(depth > 0 || inString) {
			// The usual case: the whole element was buffered; one allocation of its size.
			raw = append(append(make([]byte, 0, 1+i), raw[0]), buf[:i]...)
		} else {
			raw = append(raw, buf[:i]...)
		}
		br.Discard(i)
	}
	return raw, false, nil
}

// errStop ends the reading after a syntax error that has been recorded; it is not an error of the
// import.
var errStop = errors.New("stop reading")

// member is one member of the top-level object other than "objects".
type member struct {
	key string
	val json.RawMessage
}

// joinMembers rebuilds a JSON object from its members, in their order.
func joinMembers(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}
