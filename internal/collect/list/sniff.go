package list

import (
	"bytes"
	"encoding/json"
)

// delimiters are the CSV separators sniffed, in order of preference on a tie.
var delimiters = []byte{',', ';', '\t', '|'}

// sampleLines returns up to max complete, non-blank, non-comment lines of the sample, trimmed. The
// last line is left out when the sample was cut inside it.
func (p *parser) sampleLines(max int) [][]byte {
	s := p.sample
	if !p.complete {
		if i := bytes.LastIndexByte(s, '\n'); i >= 0 {
			s = s[:i+1]
		} else {
			s = nil
		}
	}
	var out [][]byte
	for len(s) > 0 && len(out) < max {
		var l []byte
		if i := bytes.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			l, s = s, nil
		}
		l = trimSpace(l)
		if len(l) == 0 || p.isComment(l) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// sniffDelim returns the separator that splits lines into the same number (two or more) of fields
// in at least 80% of them, preferring the most regular, then the most fields; ',' if none does.
func sniffDelim(lines [][]byte) byte {
	d, _ := sniffDelimOK(lines)
	return d
}

func sniffDelimOK(lines [][]byte) (byte, bool) {
	return sniffDelimWith(lines, false)
}

// sniffDelimWith is [sniffDelimOK]; lenient allows one line in any number to differ, for a short
// sample under a header.
func sniffDelimWith(lines [][]byte, lenient bool) (byte, bool) {
	best, bestFreq, bestCount := byte(','), 0, 0
	var fields []string
	for _, d := range delimiters {
		counts := map[int]int{}
		for _, l := range lines {
			f, incomplete, err := splitCSV(l, d, fields)
			fields = f
			if incomplete || err != nil {
				continue
			}
			counts[len(f)]++
		}
		count, freq := 0, 0
		for c, n := range counts {
			if n > freq || n == freq && c > count {
				count, freq = c, n
			}
		}
		if count < 2 || freq < 2 || 5*freq < 4*len(lines) && !(lenient && freq >= len(lines)-1) {
			continue
		}
		if freq > bestFreq || freq == bestFreq && count > bestCount {
			best, bestFreq, bestCount = d, freq, count
		}
	}
	return best, bestFreq > 0
}

// sniff picks the format of the input from its first bytes:
//
//   - ndjson: the first character is '{' and the first sampled lines (at least two) are each a
//     complete JSON object;
//   - json: otherwise, when the first character is '[' or '{';
//   - text: the first value (first token after the hosts-file address, if any) of the first
//     non-comment line is an observable, and so are those of at least 80% of the sampled lines;
//   - csv: at least two sampled lines split into the same number (2+) of fields with one of
//     , ; tab | in at least 80% of the lines;
//   - text again when the input has no data lines at all (empty, or all comments);
//   - freetext otherwise.
func (p *parser) sniff() Format {
	head := trimSpace(p.sample)
	if len(head) > 0 && (head[0] == '{' || head[0] == '[') {
		if head[0] == '{' && p.looksNDJSON() {
			return NDJSON
		}
		return JSON
	}
	lines := p.sampleLines(100)
	if len(lines) == 0 {
		if len(head) == 0 || p.complete {
			return Text
		}
		return Freetext // one huge first line
	}
	hits := 0
	for i, l := range lines {
		tl := p.splitText(l)
		if _, _, err := p.resolve(tl.value, ""); err == nil || tl.skip {
			hits++
		} else if i == 0 {
			break
		}
	}
	if hits > 0 && 5*hits >= 4*len(lines) {
		return Text
	}
	if len(lines) >= 2 {
		// A first line that names a known column allows one odd line in a short sample.
		d, ok := sniffDelimOK(lines)
		if !ok {
			for _, d = range delimiters {
				if p.commentedHeader(lines[0], d) != nil {
					_, ok = sniffDelimWith(lines, true)
					break
				}
			}
		}
		if ok {
			return CSV
		}
	}
	return Freetext
}

// looksNDJSON reports whether the sample's first lines (up to 20, at least 2) are JSON objects.
func (p *parser) looksNDJSON() bool {
	s := p.sample
	n := 0
	for len(s) > 0 && n < 20 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			if !p.complete {
				break
			}
			i = len(s)
		}
		l := trimSpace(s[:i])
		s = s[min(i+1, len(s)):]
		if len(l) == 0 {
			continue
		}
		if l[0] != '{' || !json.Valid(l) {
			return false
		}
		n++
	}
	return n >= 2
}
