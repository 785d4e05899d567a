package list

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

const (
	maxRecordLines = 32 // a quoted field may span this many lines
	sampleRows     = 20 // rows sampled to find the value column when no name says
)

var errUnterminated = errors.New("quoted field not terminated")

// splitCSV splits one CSV record into dst. incomplete is true when a quoted field runs past the end
// of b (it may go on on the next line). Spaces around fields are trimmed (tabs too unless tab is the
// delimiter), a quote inside a bare field is kept as is.
func splitCSV(b []byte, delim byte, dst []string) (fields []string, incomplete bool, err error) {
	fields = dst[:0]
	blank := func(c byte) bool { return c == ' ' || c == '\t' && delim != '\t' }
	i, n := 0, len(b)
	for {
		j := i
		for j < n && blank(b[j]) {
			j++
		}
		if j < n && b[j] == '"' {
			var v []byte
			k := j + 1
			for {
				q := bytes.IndexByte(b[k:], '"')
				if q < 0 {
					return fields, true, nil
				}
				v = append(v, b[k:k+q]...)
				k += q + 1
				if k < n && b[k] == '"' {
					v = append(v, '"')
					k++
					continue
				}
				break
			}
			for k < n && blank(b[k]) {
				k++
			}
			fields = append(fields, string(v))
			if k == n {
				return fields, false, nil
			}
			if b[k] != delim {
				return fields, false, fmt.Errorf("text after the closing quote of field %d", len(fields))
			}
			i = k + 1
			continue
		}
		d := bytes.IndexByte(b[i:], delim)
		if d < 0 {
			fields = append(fields, string(trimSpace(b[i:])))
			return fields, false, nil
		}
		fields = append(fields, string(trimSpace(b[i:i+d])))
		i += d + 1
	}
}

// csvLine is a line kept for re-reading after a quoted field was found unterminated.
type csvLine struct {
	n       int
	b       []byte
	tooLong bool
}

// csvItem is one unit of CSV input: a record, a comment or blank line, or a line to reject.
type csvItem struct {
	line    int
	raw     []byte // the first line, for rejects; valid until the next item
	fields  []string
	comment bool // a comment line; raw holds it trimmed
	blank   bool
	err     error
}

// csvReader assembles CSV records from lines, joining lines inside quoted fields.
type csvReader struct {
	p       *parser
	lr      *lineReader
	delim   byte
	pending []csvLine // lines to read again before lr's
	fields  []string
	joined  []byte
}

// line returns the next physical line, pending ones first.
func (cr *csvReader) line() (csvLine, bool) {
	if len(cr.pending) > 0 {
		l := cr.pending[0]
		cr.pending = cr.pending[1:]
		return l, true
	}
	b, ok := cr.lr.next()
	if !ok {
		return csvLine{}, false
	}
	cr.p.st.Lines++
	return csvLine{n: cr.lr.n, b: b, tooLong: cr.lr.tooLong}, true
}

// next returns the next item; ok is false at the end of the input.
func (cr *csvReader) next() (it csvItem, ok bool) {
	l, ok := cr.line()
	if !ok {
		return it, false
	}
	it.line, it.raw = l.n, l.b
	if l.tooLong {
		it.err = cr.lr.tooLongErr()
		return it, true
	}
	if err := checkLine(l.b); err != nil {
		it.err = err
		return it, true
	}
	s := trimSpace(l.b)
	switch {
	case len(s) == 0:
		it.blank = true
		return it, true
	case cr.p.isComment(s):
		it.comment, it.raw = true, s
		return it, true
	}
	fields, incomplete, err := splitCSV(l.b, cr.delim, cr.fields)
	cr.fields = fields
	if !incomplete {
		it.fields, it.err = fields, err
		return it, true
	}
	// A quoted field goes on: join the following lines until it ends. If it does not end within
	// maxRecordLines lines or MaxLine bytes, reject the first line and read the others again.
	first := csvLine{n: l.n, b: append([]byte(nil), l.b...)}
	taken := []csvLine{}
	cr.joined = append(cr.joined[:0], l.b...)
	for len(taken) < maxRecordLines-1 {
		nl, ok := cr.line()
		if !ok {
			break
		}
		nl.b = append([]byte(nil), nl.b...)
		taken = append(taken, nl)
		if nl.tooLong || checkLine(nl.b) != nil || len(cr.joined)+1+len(nl.b) > cr.p.opts.MaxLine {
			break
		}
		cr.joined = append(append(cr.joined, '\n'), nl.b...)
		fields, incomplete, err = splitCSV(cr.joined, cr.delim, cr.fields)
		cr.fields = fields
		if !incomplete {
			it.raw, it.fields, it.err = first.b, fields, err
			return it, true
		}
	}
	cr.pending = append(taken, cr.pending...)
	it.raw, it.err = first.b, errUnterminated
	return it, true
}

// csvSchema says which columns hold what.
type csvSchema struct {
	header  []string // nil when the input has none
	nfields int      // expected fields per row; 0 until known
	value   int      // value column, -1 until known
	implied intel.Type
	roles   roleSet
}

// parseCSV reads the CSV format.
func (p *parser) parseCSV(lr *lineReader) error {
	delim := byte(p.opts.Delimiter)
	if delim == 0 {
		delim = sniffDelim(p.sampleLines(40))
	}
	cr := &csvReader{p: p, lr: lr, delim: delim}
	sc := csvSchema{value: -1}
	var commented []string // the latest commented line that reads as a header
	var sample []csvItem   // rows held back until the value column is known
	started := false       // a data row or plain header has been seen

	for {
		it, ok := cr.next()
		if !ok {
			break
		}
		if err := p.tick(); err != nil {
			return err
		}
		switch {
		case it.err != nil:
			p.reject(it.line, it.raw, it.err)
			continue
		case it.blank:
			p.st.Skipped++
			continue
		case it.comment:
			p.st.Skipped++
			if !started {
				if h := p.commentedHeader(it.raw, delim); h != nil {
					commented = h
				}
			}
			continue
		}
		if !started {
			started = true
			plain := p.isHeader(it.fields, commented)
			switch {
			case plain:
				sc.header = append([]string(nil), it.fields...)
			case commented != nil:
				sc.header = commented
			}
			if err := p.setSchema(&sc); err != nil {
				return err
			}
			if plain {
				p.st.Skipped++
				continue
			}
		}
		if sc.nfields == 0 {
			sc.nfields = len(it.fields)
		}
		if sc.value < 0 {
			it.fields = append([]string(nil), it.fields...)
			it.raw = append([]byte(nil), it.raw...)
			sample = append(sample, it)
			if len(sample) < sampleRows {
				continue
			}
			p.chooseColumn(&sc, sample)
			for _, s := range sample {
				if err := p.csvRow(&sc, s); err != nil {
					return err
				}
			}
			sample = nil
			continue
		}
		if err := p.csvRow(&sc, it); err != nil {
			return err
		}
	}
	if err := lr.readErr(); err != nil {
		return err
	}
	if len(sample) > 0 {
		p.chooseColumn(&sc, sample)
		for _, s := range sample {
			if err := p.csvRow(&sc, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// commentedHeader returns the column names in a comment line ("# id,dateadded,url,..."), or nil if
// it does not read as a header: at least two non-empty fields, one a known column name, none an
// observable.
func (p *parser) commentedHeader(s []byte, delim byte) []string {
	for _, c := range p.opts.Comment {
		if bytes.HasPrefix(s, []byte(c)) {
			s = trimSpace(s[len(c):])
			break
		}
	}
	fields, incomplete, err := splitCSV(s, delim, nil)
	if incomplete || err != nil || len(fields) < 2 {
		return nil
	}
	known := false
	for _, f := range fields {
		if f == "" || len(f) > 64 {
			return nil
		}
		known = known || isKnownColumn(normName(f))
	}
	if !known || p.anyDetects(fields) {
		return nil
	}
	return fields
}

// isHeader reports whether the first row is a plain header line: none of its fields is an
// observable and, when a commented header was seen, it repeats that header.
func (p *parser) isHeader(fields, commented []string) bool {
	if p.anyDetects(fields) {
		return false
	}
	if commented == nil {
		return true
	}
	if len(fields) != len(commented) {
		return false
	}
	for i := range fields {
		if normName(fields[i]) != normName(commented[i]) {
			return false
		}
	}
	return true
}

// anyDetects reports whether any of fields resolves to an observable.
func (p *parser) anyDetects(fields []string) bool {
	for _, f := range fields {
		if _, _, err := p.resolve(f, ""); err == nil {
			return true
		}
	}
	return false
}

// setSchema finds the value and role columns from the header and [Options.Column]. Errors are
// option errors: a column that is not there.
func (p *parser) setSchema(sc *csvSchema) error {
	if sc.header != nil {
		sc.nfields = len(sc.header)
		for i, h := range sc.header {
			sc.roles.add(i, normName(h))
		}
	}
	col := strings.TrimSpace(p.opts.Column)
	if col != "" {
		if n, err := strconv.Atoi(col); err == nil {
			if n < 1 || sc.header != nil && n > len(sc.header) {
				return fmt.Errorf("column %d out of range: the header has %d columns", n, len(sc.header))
			}
			sc.value = n - 1
		} else {
			if sc.header == nil {
				return fmt.Errorf("column %q: the input has no header line to find it in", col)
			}
			want := normName(col)
			for i, h := range sc.header {
				if h == col || sc.value < 0 && normName(h) == want {
					sc.value = i
				}
			}
			if sc.value < 0 {
				return fmt.Errorf("column %q not in the header %q", col, sc.header)
			}
		}
	} else if sc.header != nil {
		best := -1
		for i, h := range sc.header {
			if r := valueRank(normName(h)); r >= 0 && (best < 0 || r < best) {
				best, sc.value = r, i
			}
		}
	}
	if sc.value >= 0 && sc.header != nil && sc.value < len(sc.header) {
		sc.implied = impliedType(normName(sc.header[sc.value]))
	}
	return nil
}

// chooseColumn picks the value column from sample rows: the first column whose values resolve in
// at least half the rows (and one); column 1 when none does.
func (p *parser) chooseColumn(sc *csvSchema, sample []csvItem) {
	sc.value = 0
	ncol := 0
	for _, s := range sample {
		ncol = max(ncol, len(s.fields))
	}
	for c := range ncol {
		hits := 0
		for _, s := range sample {
			if c < len(s.fields) {
				if _, _, err := p.resolve(s.fields[c], ""); err == nil {
					hits++
				}
			}
		}
		if hits > 0 && 2*hits >= len(sample) {
			sc.value = c
			break
		}
	}
	if sc.header != nil && sc.value < len(sc.header) {
		sc.implied = impliedType(normName(sc.header[sc.value]))
	}
}

// csvRow turns one data row into a record or a reject.
func (p *parser) csvRow(sc *csvSchema, it csvItem) error {
	if len(it.fields) != sc.nfields {
		what := "the first row"
		if sc.header != nil {
			what = "the header"
		}
		p.reject(it.line, it.raw, fmt.Errorf("%d fields, %s has %d", len(it.fields), what, sc.nfields))
		return nil
	}
	if sc.value >= len(it.fields) {
		p.reject(it.line, it.raw, fmt.Errorf("no column %d", sc.value+1))
		return nil
	}
	o, port, err := p.resolve(it.fields[sc.value], sc.implied)
	if err != nil {
		if errors.Is(err, errEmpty) && sc.header != nil {
			err = fmt.Errorf("empty value in column %q", sc.header[sc.value])
		}
		p.reject(it.line, it.raw, err)
		return nil
	}
	rec := Record{Line: it.line, Observable: o}
	sc.roles.fill(&rec, func(i int) any {
		if i < len(it.fields) {
			return it.fields[i]
		}
		return nil
	})
	addTag(&rec, port)
	return p.emit(rec)
}
