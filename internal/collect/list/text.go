package list

import (
	"bytes"
	"strings"
)

// hostsAddrs are the addresses hosts-file blocklists point names at; the name is the value.
var hostsAddrs = map[string]bool{"0.0.0.0": true, "127.0.0.1": true, "::1": true, "::": true, "0": true}

// hostsNames are the entries every hosts file has; they are skipped, not rejected.
var hostsNames = map[string]bool{
	"localhost": true, "localhost.localdomain": true, "local": true, "broadcasthost": true,
	"ip6-localhost": true, "ip6-loopback": true, "ip6-localnet": true, "ip6-mcastprefix": true,
	"ip6-allnodes": true, "ip6-allrouters": true, "ip6-allhosts": true, "0.0.0.0": true,
}

// textLine is a text-format line taken apart.
type textLine struct {
	value   string
	rest    string // the columns after the value, joined by one space
	comment string // the inline comment, without its prefix
	skip    bool   // a hosts-file boilerplate line
}

// splitText takes a trimmed, non-comment line apart.
func (p *parser) splitText(s []byte) textLine {
	var tl textLine
	if i := p.inlineComment(s); i >= 0 {
		c := trimSpace(s[i:])
		for _, pre := range p.opts.Comment {
			if bytes.HasPrefix(c, []byte(pre)) {
				c = trimSpace(c[len(pre):])
				break
			}
		}
		tl.comment = string(c)
		s = trimSpace(s[:i])
	}
	first, rest := nextToken(s)
	if hostsAddrs[string(first)] && len(rest) > 0 {
		first, rest = nextToken(rest)
		if hostsNames[strings.ToLower(string(first))] {
			tl.skip = true
		}
	}
	tl.value = string(first)
	if len(rest) > 0 {
		tl.rest = string(rest)
		if bytes.ContainsAny(rest, "\t\v\f\r") || bytes.Contains(rest, []byte("  ")) {
			tl.rest = strings.Join(strings.Fields(tl.rest), " ")
		}
	}
	return tl
}

// inlineComment returns the index of the white space before an inline comment in s, or -1.
func (p *parser) inlineComment(s []byte) int {
	for i := 1; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			continue
		}
		for _, c := range p.opts.Comment {
			if bytes.HasPrefix(s[i+1:], []byte(c)) {
				return i
			}
		}
	}
	return -1
}

// nextToken splits the first white-space-separated token off s.
func nextToken(s []byte) (tok, rest []byte) {
	s = trimSpace(s)
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return s[:i], trimSpace(s[i:])
}

// textTag turns what follows a value into a tag: a bare integer becomes "count:N", short printable
// text is kept whole, anything else is dropped.
func textTag(rec *Record, s string) {
	switch {
	case s == "":
	case isDigits(s) && len(s) <= 18:
		addTag(rec, "count:"+s)
	case len(s) <= maxTagLen:
		addTag(rec, s)
	}
}

// eachLine hands every data line of lr to fn, after counting it and rejecting or skipping what no
// format accepts: over-long lines, NUL or control bytes, invalid UTF-8, blanks and comments. raw is the
// whole line, s the same trimmed of spaces.
func (p *parser) eachLine(lr *lineReader, fn func(n int, raw, s []byte) error) error {
	for {
		b, ok := lr.next()
		if !ok {
			return lr.readErr()
		}
		p.st.Lines++
		if err := p.tick(); err != nil {
			return err
		}
		if lr.tooLong {
			p.reject(lr.n, b, lr.tooLongErr())
			continue
		}
		if err := checkLine(b); err != nil {
			p.reject(lr.n, b, err)
			continue
		}
		s := trimSpace(b)
		if len(s) == 0 || p.isComment(s) {
			p.st.Skipped++
			continue
		}
		if err := fn(lr.n, b, s); err != nil {
			return err
		}
	}
}

// parseText reads the text format: one value a line.
func (p *parser) parseText(lr *lineReader) error {
	return p.eachLine(lr, func(n int, b, s []byte) error {
		tl := p.splitText(s)
		if tl.skip {
			p.st.Skipped++
			return nil
		}
		o, port, err := p.resolve(tl.value, "")
		if err != nil {
			p.reject(n, b, err)
			return nil
		}
		rec := Record{Line: n, Observable: o}
		addTag(&rec, port)
		textTag(&rec, tl.rest)
		textTag(&rec, tl.comment)
		return p.emit(rec)
	})
}
