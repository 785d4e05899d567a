package list

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
)

// maxSeen bounds the memory of observables already emitted by freetext.
const maxSeen = 1 << 16

// parseFreetext runs [intel.Extract] over the text line by line; a line longer than the read buffer
// is handled in chunks cut at white space.
func (p *parser) parseFreetext(br *bufio.Reader) error {
	seen := map[intel.Observable]bool{}
	var buf, carry []byte
	line := 1
	extract := func(b []byte) error {
		if len(trimSpace(b)) == 0 {
			return nil
		}
		if !utf8.Valid(b) {
			b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
		}
		for _, o := range intel.Extract(string(b)) {
			if p.opts.Type != "" && o.Type != p.opts.Type || seen[o] {
				continue
			}
			if len(seen) >= maxSeen {
				clear(seen)
			}
			seen[o] = true
			if err := p.emit(Record{Line: line, Observable: o}); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		if err := p.tick(); err != nil {
			return err
		}
		frag, err := br.ReadSlice('\n')
		buf = append(append(buf[:0], carry...), frag...)
		carry = carry[:0]
		if errors.Is(err, bufio.ErrBufferFull) {
			// Part of a long line: process up to its last white space, carry the rest over.
			cut := bytes.LastIndexAny(buf, " \t\r\f\v")
			if cut < 0 || len(buf)-cut > readBuf {
				cut = len(buf) // a token longer than a chunk: it is cut
			}
			if err := extract(buf[:cut]); err != nil {
				return err
			}
			carry = append(carry, buf[cut:]...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading line %d: %w", line, err)
		}
		if len(buf) == 0 && err != nil {
			return nil // end of input
		}
		p.st.Lines++
		if len(trimSpace(buf)) == 0 {
			p.st.Skipped++
		} else if err := extract(buf); err != nil {
			return err
		}
		line++
		if err != nil {
			return nil
		}
	}
}
