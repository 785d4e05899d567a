package list

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// lineReader splits a stream into lines without holding a line longer than max in memory: of such a
// line it keeps only the start, for the reject.
type lineReader struct {
	br      *bufio.Reader
	max     int
	n       int    // number of the last line returned
	tooLong bool   // the last line returned was longer than max; it holds only its start
	long    []byte // reused for lines longer than the bufio buffer
	err     error  // io.EOF at the end; another error if reading failed
}

// next returns the next line without its "\n" or "\r\n". The slice is valid until the next call.
// ok is false at the end of the input or on a read error (see [lineReader.readErr]).
func (lr *lineReader) next() (line []byte, ok bool) {
	if lr.err != nil {
		return nil, false
	}
	lr.tooLong = false
	b, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], b...)
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = lr.br.ReadSlice('\n')
			switch {
			case lr.tooLong:
			case len(lr.long)+len(b) > lr.max+2: // +2: room for "\r\n"
				lr.tooLong = true
				lr.long = lr.long[:min(len(lr.long), inputClip+8)]
			default:
				lr.long = append(lr.long, b...)
			}
		}
		b = lr.long
	}
	if err != nil {
		if !errors.Is(err, io.EOF) {
			lr.err = fmt.Errorf("reading line %d: %w", lr.n+1, err)
			return nil, false
		}
		lr.err = io.EOF
		if len(b) == 0 {
			return nil, false
		}
	}
	lr.n++
	if !lr.tooLong {
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
			if n := len(b); n > 0 && b[n-1] == '\r' {
				b = b[:n-1]
			}
		}
		if len(b) > lr.max {
			lr.tooLong = true
		}
	}
	return b, true
}

// readErr returns the error that ended reading, or nil at the normal end of the input.
func (lr *lineReader) readErr() error {
	if errors.Is(lr.err, io.EOF) {
		return nil
	}
	return lr.err
}

// tooLongErr is the reject error for a line longer than max.
func (lr *lineReader) tooLongErr() error {
	return fmt.Errorf("line longer than %d bytes: skipped", lr.max)
}

// isSpace reports whether c is ASCII white space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// trimSpace trims ASCII white space from both ends of b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
