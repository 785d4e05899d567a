// Package list parses indicator lists: the plain-text, CSV, JSON and NDJSON files that threat feeds
// publish, and free text. It is the streaming parser behind `omen import` and the list feed collector.
//
// [Parse] reads its input once, in bounded memory, and hands every observable it finds to a callback
// as a [Record]; every bad line goes to another callback as a [Reject] naming its line, and the rest of
// the input goes on. It never panics on bad input.
//
// # Formats
//
//   - text: one value a line. Blank lines and lines starting with a comment prefix ("#", ";", "//" by
//     default) are skipped; so is an inline comment that follows whitespace ("1.2.3.0/24 ; SBL123").
//     The value is the first whitespace-separated token, except in hosts-file lines
//     ("0.0.0.0 evil.com", "127.0.0.1 evil.com"), where it is the second token and hosts boilerplate
//     (localhost, broadcasthost, ...) is skipped. What follows the value on the line — extra columns
//     and the inline comment, each taken whole — becomes a tag when it is short (at most 64 bytes of
//     printable text); a bare integer becomes "count:N" (IPsum's number of lists); longer text is
//     ignored. A "host:port" value gives the host and the tag "port:N".
//   - csv: quoted or bare fields, "," ";" tab or "|" (sniffed unless [Options.Delimiter] says),
//     spaces after separators (ThreatFox's `", "`), banner comment lines, a header line that is plain
//     (Feodo) or commented (URLhaus, ThreatFox: the last comment line before the data that splits into
//     known column names), quoted fields spanning up to 32 lines. A row whose field count differs from
//     the header's (or the first row's) is rejected.
//   - json: a top-level array of objects or strings, or an object whose array-valued fields hold the
//     records (CISA KEV's {"vulnerabilities":[...]}, ThreatFox's {"id":[{...}],...}); both are read
//     element by element with [encoding/json.Decoder] tokens. An object without any array is one
//     record. Several top-level values in a row (concatenated JSON) are read one after the other.
//     A syntax error stops the parse: it is rejected with its line, wrapping [ErrSyntax].
//   - ndjson: one JSON object (or string) a line; blank and comment lines are skipped, and so is an
//     object without a value field whose "type" is "metadata" (Spamhaus's trailer).
//   - freetext: [intel.Extract] over the text, line by line. A line longer than the read buffer
//     (64 KiB) is cut at its last whitespace and processed in chunks, so a 10 MB line is read in
//     bounded memory and a value is split only if it is itself longer than a chunk. Invalid UTF-8 is
//     replaced, never rejected. The same observable is emitted once (the memory of what was emitted
//     is bounded at 65,536 values and forgets when full). [Options.MaxLine] does not apply; blank
//     lines count as skipped, nothing is ever rejected.
//   - auto: sniffed from the first 32 KiB, and reported in [Stats.Format]: ndjson when the first
//     character is '{' and the first lines (two or more) are each a JSON object; json when it is '['
//     or '{' otherwise; text when the first value of the first data line (and of 80% of the sampled
//     lines) is an observable; csv when the lines split into the same number (2+) of fields on one
//     of , ; tab | (80% of them, or all but one under a header naming a known column); text when
//     there is no data line at all; freetext otherwise.
//
// # Fields
//
// The value of a CSV row or JSON object comes from [Options.Column], else from the first known value
// column in this order: ioc_value, ioc, indicator, observable, value, dst_ip, ip, ip_address, ipaddr,
// ipv4, ipv6, cidr, network, url, asn, domain, hostname, host, fqdn, sha256_hash, sha256, sha1_hash,
// sha1, md5_hash, md5, sha512, cve, cveID, cve_id, email, ja3; else the first column whose values
// detect as observables in the first 20 rows (CSV) or the first object that has one (JSON). Column
// names match case-insensitively, ignoring "_", "-", " " and ".". A value that does not detect is
// retried as the type its column names (asn 932 → AS932, cidr, cve, url, domain, hashes...), then
// without a ":port" suffix, which becomes the tag "port:N" (ThreatFox's ip:port).
//
// Other known columns fill the record: first seen (first_seen_utc, first_seen, dateadded, dateAdded,
// date_added, created), last seen (last_seen_utc, last_seen, last_online), valid until (valid_until,
// expiration), confidence (confidence_level, confidence; clamped to 0..100), threat type
// (threat_type, threat), malware (malware_printable, malware, signature, fk_malware; "n/a", "none"
// and alike ignored), tags (tags: split on commas if it has any, else on spaces; or a JSON array),
// sblid (Spamhaus: the value becomes a tag). A knownRansomwareCampaignUse column marks CISA KEV: each
// record gets the tag "kev", and "ransomware" when the column says Known. Dates are
// "2006-01-02 15:04:05" (UTC), RFC 3339, "2006-01-02" or Unix seconds; an unparsable date or
// confidence leaves the field zero rather than losing the indicator.
package list

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
)

// Format is an input format. The zero value means [Auto].
type Format string

// The formats [Parse] reads.
const (
	Auto     Format = "auto"
	Text     Format = "text"
	CSV      Format = "csv"
	JSON     Format = "json"
	NDJSON   Format = "ndjson"
	Freetext Format = "freetext"
)

// Formats lists the valid formats, [Auto] first.
var Formats = []Format{Auto, Text, CSV, JSON, NDJSON, Freetext}

// ParseFormat returns the [Format] named s ("" means [Auto]), or an error listing the valid names.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return Auto, nil
	}
	for _, f := range Formats {
		if Format(s) == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown list format %q: want auto, text, csv, json, ndjson or freetext", s)
}

// DefaultMaxLine is the default for [Options.MaxLine].
const DefaultMaxLine = 1 << 20

// DefaultComment holds the default comment prefixes for [Options.Comment].
var DefaultComment = []string{"#", ";", "//"}

// Options tell [Parse] how to read its input. The zero value reads anything it can recognise.
type Options struct {
	Format Format     // "" or [Auto]: sniff
	Type   intel.Type // force every value to this type with [intel.Normalize]; "" detects each value
	// Comment holds the comment prefixes for text and CSV; empty means [DefaultComment].
	Comment []string
	// Delimiter is the CSV field separator; 0 sniffs ',' ';' '\t' '|'. It must be ASCII.
	Delimiter rune
	// Column names the field that holds the value: for CSV a header name or a 1-based number, for
	// JSON a field name or a dotted path inside each element ("indicator.value", "details.0.ip").
	// "" chooses automatically (see the package doc).
	Column string
	// MaxLine is the longest line accepted, in bytes (and the largest JSON element); 0 means
	// [DefaultMaxLine]. A longer line is rejected and skipped without being held in memory whole.
	MaxLine int
}

// Record is one observable read from the input, with what the input says about it.
type Record struct {
	// Line is the 1-based line where the value's row, line or JSON element starts.
	Line       int
	Observable intel.Observable
	// FirstSeen, LastSeen and ValidUntil are zero when the input does not say.
	FirstSeen, LastSeen, ValidUntil time.Time
	Confidence                      int // 0..100; 0 when the input does not say
	Tags                            []string
	ThreatType                      string
	Malware                         string
}

// Reject is a line or element [Parse] could not turn into a record.
type Reject struct {
	Line  int
	Input string // the start of the offending input: at most 200 bytes, valid UTF-8
	Err   error  // starts with "line N: "
}

// Stats counts what [Parse] read.
type Stats struct {
	Format   Format // the format used: the sniffed one when [Options.Format] was [Auto]
	Lines    int    // physical lines read
	Records  int    // records emitted (and accepted by emit)
	Rejected int
	Skipped  int // comments, blank lines, headers, metadata lines
}

// ErrSyntax is wrapped by the [Reject] for a JSON syntax error (or a truncated document, or an
// element larger than [Options.MaxLine]), after which nothing more of the input could be read.
// A caller that must not act on partial data (a feed collector) checks for it with [errors.Is].
var ErrSyntax = errors.New("unreadable past this point")

const (
	readBuf   = 64 << 10 // bufio buffer; also the freetext chunk size
	sniffLen  = 32 << 10 // bytes sampled by auto-detection and delimiter sniffing
	inputClip = 200      // Reject.Input limit
)

// Parse reads r in the format opts says and calls emit for every record and reject (which may be nil)
// for every line or element it rejects. It streams: memory stays bounded whatever the input's size.
//
// Parse returns early with emit's error if emit returns one, with ctx's error if ctx is done, and
// with an error for invalid options, an unreadable reader or input it cannot read at all (UTF-16).
// Bad lines are not errors: they go to reject and the parse goes on. The [Stats] are valid in every
// case.
func Parse(ctx context.Context, r io.Reader, opts Options, emit func(Record) error, reject func(Reject)) (Stats, error) {
	p := &parser{ctx: ctx, emitFn: emit, rejectFn: reject}
	if err := p.setOptions(opts); err != nil {
		return p.st, err
	}
	br := bufio.NewReaderSize(r, readBuf)
	sample, err := br.Peek(sniffLen)
	complete := false
	switch {
	case err == nil:
	case errors.Is(err, io.EOF), errors.Is(err, bufio.ErrBufferFull):
		complete = errors.Is(err, io.EOF)
	default:
		return p.st, fmt.Errorf("reading input: %w", err)
	}
	if bytes.HasPrefix(sample, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
		sample = sample[3:]
	} else if bytes.HasPrefix(sample, []byte("\xff\xfe")) || bytes.HasPrefix(sample, []byte("\xfe\xff")) {
		return p.st, errors.New("input is UTF-16 (byte-order mark): convert it to UTF-8")
	}
	p.sample, p.complete = sample, complete

	f := p.opts.Format
	if f == Auto {
		f = p.sniff()
	}
	p.st.Format = f
	lr := &lineReader{br: br, max: p.opts.MaxLine}
	switch f {
	case Text:
		err = p.parseText(lr)
	case CSV:
		err = p.parseCSV(lr)
	case NDJSON:
		err = p.parseNDJSON(lr)
	case JSON:
		err = p.parseJSON(br)
	case Freetext:
		err = p.parseFreetext(br)
	}
	return p.st, err
}

// parser holds the state of one [Parse] call.
type parser struct {
	ctx       context.Context
	opts      Options
	emitFn    func(Record) error
	rejectFn  func(Reject)
	st        Stats
	ticks     int
	jsonKey   string // the JSON field chosen by detection when no known name says
	jsonKnown bool   // a JSON object had a known value field

	sample   []byte // the first bytes of the input (after a BOM), valid until reading starts
	complete bool   // sample holds the whole input
}

func (p *parser) setOptions(o Options) error {
	if p.emitFn == nil {
		return errors.New("list: emit is nil")
	}
	if o.Format == "" {
		o.Format = Auto
	}
	if _, err := ParseFormat(string(o.Format)); err != nil {
		return err
	}
	if o.Type != "" && !o.Type.Valid() {
		return fmt.Errorf("unknown observable type %q", o.Type)
	}
	if len(o.Comment) == 0 {
		o.Comment = DefaultComment
	}
	var cs []string
	for _, c := range o.Comment {
		if c != "" {
			cs = append(cs, c)
		}
	}
	o.Comment = cs
	if o.Delimiter != 0 && (o.Delimiter >= utf8.RuneSelf || o.Delimiter == '"' || o.Delimiter == '\n' || o.Delimiter == '\r') {
		return fmt.Errorf("invalid CSV delimiter %q: want an ASCII character other than a quote or a line break", o.Delimiter)
	}
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
	p.opts = o
	return nil
}

// tick returns ctx's error every 256 calls.
func (p *parser) tick() error {
	p.ticks++
	if p.ticks&255 == 0 {
		return p.ctx.Err()
	}
	return nil
}

// emit hands rec to the caller.
func (p *parser) emit(rec Record) error {
	if err := p.emitFn(rec); err != nil {
		return err
	}
	p.st.Records++
	return nil
}

// reject counts a rejected input and tells the caller; err gets the "line N: " prefix here.
func (p *parser) reject(line int, input []byte, err error) {
	p.st.Rejected++
	if p.rejectFn != nil {
		p.rejectFn(Reject{Line: line, Input: clip(input), Err: fmt.Errorf("line %d: %w", line, err)})
	}
}

// isComment reports whether the trimmed line s starts with a comment prefix.
func (p *parser) isComment(s []byte) bool {
	for _, c := range p.opts.Comment {
		if len(s) >= len(c) && string(s[:len(c)]) == c {
			return true
		}
	}
	return false
}

// clip returns the start of b as valid UTF-8 of at most inputClip bytes.
func clip(b []byte) string {
	if len(b) > inputClip+utf8.UTFMax {
		b = b[:inputClip+utf8.UTFMax]
	}
	s := string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	if len(s) <= inputClip {
		return s
	}
	n := inputClip
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// checkLine returns an error if b is not a line of text: NUL or other control bytes, invalid UTF-8.
func checkLine(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' || c == 0x7f {
				if c == 0 {
					return fmt.Errorf("NUL byte at byte %d: binary data, not text", i+1)
				}
				return fmt.Errorf("control character %#02x at byte %d", c, i+1)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i+1)
		}
		i += n
	}
	return nil
}
