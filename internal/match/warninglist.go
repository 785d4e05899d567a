// Package match is omen's in-memory matching engine: exact sets, longest-prefix tables and
// parent-suffix lookups over indicators, and MISP warninglists of known-benign values.
package match

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Warninglist categories. MISP writes the first one as "false_positive"; [ParseWarninglist]
// accepts both spellings and stores [WarninglistFalsePositive].
const (
	// WarninglistFalsePositive marks lists of values that are benign and usually reported by
	// mistake (resolvers, private ranges, top sites, empty-file hashes). The default.
	WarninglistFalsePositive = "false-positive"
	// WarninglistKnown marks lists of values that are merely well known (cloud ranges, dynamic
	// DNS providers): worth knowing, not evidence of benignity.
	WarninglistKnown = "known"
)

// The five MISP match types, the values of [Warninglist.Type].
const (
	typeCIDR      = "cidr"      // entries are IPs or networks; a value matches if it lies inside one
	typeString    = "string"    // exact match
	typeHostname  = "hostname"  // the domain and its subdomains
	typeSubstring = "substring" // the value contains the entry
	typeRegex     = "regex"     // PCRE /pattern/flags, translated to RE2
)

// maxListBytes bounds the size of one list file. The largest MISP lists are a few tens of MB.
const maxListBytes = 256 << 20

// maxEntryErrors is how many bad entries of one list are reported one by one; the rest are
// counted in a final error.
const maxEntryErrors = 10

// Warninglist is one MISP warninglist: a named set of known values and how to match them.
// See https://github.com/MISP/misp-warninglists for the format.
type Warninglist struct {
	Name        string // unique; reported in [Hit.List]
	Description string
	// Type is the match type: "cidr", "string", "hostname", "substring" or "regex".
	Type    string
	Version int
	// Entries are the values, trimmed of surrounding white space, in file order.
	Entries []string
	// MatchingAttributes are the MISP attribute types the list applies to ("ip-src",
	// "domain", "url", "md5", ...). Empty means every type.
	MatchingAttributes []string
	// Category is [WarninglistFalsePositive] or [WarninglistKnown].
	Category string
}

// EntryError reports an entry of a warninglist that cannot be used. The entry is skipped; the
// rest of the list still loads.
type EntryError struct {
	File  string // the file name given to the parser
	Entry string
	Err   error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("warninglist %s: entry %q: %v", e.File, e.Entry, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// rawWarninglist is list.json as written by MISP. Fields that MISP requires are pointers or raw
// so that a missing field can be told from an empty one.
type rawWarninglist struct {
	Name               *string         `json:"name"`
	Version            json.RawMessage `json:"version"`
	Description        *string         `json:"description"`
	Type               json.RawMessage `json:"type"`
	List               json.RawMessage `json:"list"`
	MatchingAttributes []string        `json:"matching_attributes"`
	Category           *string         `json:"category"`
}

// ParseWarninglist parses a MISP warninglist file (list.json). name names the file in errors.
//
// The required fields are name, version (an integer), description, type (one of the five match
// types) and list; matching_attributes and category are optional. list is an array of strings, or
// an object whose keys are the entries (MISP's form with comments). A file that breaks these rules
// returns a nil list and an error naming the file and the problem.
//
// Entries are trimmed of white space; empty and null ones are dropped. An entry that cannot be
// used (a CIDR that does not parse, a regex RE2 cannot compile, ...) is skipped: ParseWarninglist
// then returns the list without it together with an error joining one [*EntryError] per bad
// entry (the first ten; the rest are counted). Callers that want the partial list keep it
// whenever it is not nil.
func ParseWarninglist(r io.Reader, name string) (*Warninglist, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("warninglist %s: reading: %w", name, err)
	}
	if len(data) > maxListBytes {
		return nil, fmt.Errorf("warninglist %s: larger than %d bytes", name, maxListBytes)
	}
	var raw rawWarninglist
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("warninglist %s: parsing JSON: %w", name, err)
	}
	fail := func(format string, args ...any) (*Warninglist, error) {
		return nil, fmt.Errorf("warninglist %s: %s", name, fmt.Sprintf(format, args...))
	}

	wl := &Warninglist{Category: WarninglistFalsePositive}
	switch {
	case isNull(raw.List):
		return fail(`missing required field "list"`)
	case raw.Description == nil:
		return fail(`missing required field "description"`)
	case isNull(raw.Version):
		return fail(`missing required field "version"`)
	case raw.Name == nil:
		return fail(`missing required field "name"`)
	case isNull(raw.Type):
		return fail(`missing required field "type"`)
	}
	if wl.Name = strings.TrimSpace(*raw.Name); wl.Name == "" {
		return fail(`field "name" is empty`)
	}
	if wl.Description = strings.TrimSpace(*raw.Description); wl.Description == "" {
		return fail(`field "description" is empty`)
	}
	if wl.Version, err = parseVersion(raw.Version); err != nil {
		return fail(`field "version": %v`, err)
	}
	if wl.Type, err = parseListType(raw.Type); err != nil {
		return fail(`field "type": %v`, err)
	}
	if raw.Category != nil {
		switch c := strings.ToLower(strings.TrimSpace(*raw.Category)); c {
		case "", "false_positive", WarninglistFalsePositive:
		case WarninglistKnown:
			wl.Category = WarninglistKnown
		default:
			return fail(`field "category": unknown category %q (want false_positive or known)`, *raw.Category)
		}
	}
	for _, a := range raw.MatchingAttributes {
		if a = strings.TrimSpace(a); a != "" {
			wl.MatchingAttributes = append(wl.MatchingAttributes, a)
		}
	}
	entries, entryErrs, err := parseEntries(raw.List)
	if err != nil {
		return fail(`field "list": %v`, err)
	}
	if len(entries) == 0 && len(entryErrs) == 0 {
		return fail(`field "list" is empty`)
	}

	var errs []error
	wl.Entries = entries[:0]
	bad := 0
	report := func(entry string, err error) {
		bad++
		if bad <= maxEntryErrors {
			errs = append(errs, &EntryError{File: name, Entry: entry, Err: err})
		}
	}
	for _, e := range entryErrs {
		report(e.entry, e.err)
	}
	for _, e := range entries {
		if err := checkEntry(wl.Type, e); err != nil {
			report(e, err)
			continue
		}
		wl.Entries = append(wl.Entries, e)
	}
	if bad > maxEntryErrors {
		errs = append(errs, fmt.Errorf("warninglist %s: %d more invalid entries skipped", name, bad-maxEntryErrors))
	}
	return wl, errors.Join(errs...)
}

func isNull(m json.RawMessage) bool {
	return len(m) == 0 || bytes.Equal(m, []byte("null"))
}

// parseVersion accepts an integer, or a string holding one (MISP validates it as numeric).
func parseVersion(m json.RawMessage) (int, error) {
	s := string(m)
	if m[0] == '"' {
		if err := json.Unmarshal(m, &s); err != nil {
			return 0, err
		}
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %s", m)
	}
	return v, nil
}

// parseListType accepts a type name, or an array whose first element is one (MISP's updater
// takes the first element of an array).
func parseListType(m json.RawMessage) (string, error) {
	var t string
	if m[0] == '[' {
		var ts []string
		if err := json.Unmarshal(m, &ts); err != nil {
			return "", fmt.Errorf("want a string, got %s", m)
		}
		if len(ts) == 0 {
			return "", errors.New("empty array")
		}
		t = ts[0]
	} else if err := json.Unmarshal(m, &t); err != nil {
		return "", fmt.Errorf("want a string, got %s", m)
	}
	switch lt := strings.ToLower(strings.TrimSpace(t)); lt {
	case typeCIDR, typeString, typeHostname, typeSubstring, typeRegex:
		return lt, nil
	}
	return "", fmt.Errorf("unknown type %q (want cidr, string, hostname, substring or regex)", t)
}

type rawEntryError struct {
	entry string
	err   error
}

// parseEntries reads the list field: an array of strings or an object keyed by entry. Items that
// are neither strings nor null are reported, not fatal.
func parseEntries(m json.RawMessage) ([]string, []rawEntryError, error) {
	var out []string
	var bad []rawEntryError
	switch m[0] {
	case '[':
		// Nearly always an array of strings, decoded in one go; null items decode as "" and are
		// dropped like empty ones. Otherwise each item is decoded alone to report the bad ones.
		var ss []string
		if err := json.Unmarshal(m, &ss); err == nil {
			out = ss[:0]
			for _, s := range ss {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			break
		}
		var items []json.RawMessage
		if err := json.Unmarshal(m, &items); err != nil {
			return nil, nil, err
		}
		out = make([]string, 0, len(items))
		for i, it := range items {
			var s string
			if err := json.Unmarshal(it, &s); err != nil {
				bad = append(bad, rawEntryError{string(it), fmt.Errorf("item %d is not a string", i)})
				continue
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case '{':
		dec := json.NewDecoder(bytes.NewReader(m))
		if _, err := dec.Token(); err != nil { // {
			return nil, nil, err
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, nil, err
			}
			key, _ := tok.(string)
			var comment json.RawMessage
			if err := dec.Decode(&comment); err != nil {
				return nil, nil, err
			}
			if key = strings.TrimSpace(key); key != "" {
				out = append(out, key)
			}
		}
	default:
		return nil, nil, fmt.Errorf("want an array of strings, got %.40s", m)
	}
	return out, bad, nil
}

// LoadWarninglistDir loads every warninglist under dir. It accepts the layout of the published
// repository (dir/lists/<name>/list.json), the lists folder itself (dir/<name>/list.json), and a
// flat folder of *.json list files; files whose names start with "_" or "." and schema.json are
// not lists and are ignored.
//
// A file that cannot be read or parsed is reported and skipped, as is a list whose name an earlier
// file already used; bad entries are reported and the rest of their list loads (see
// [ParseWarninglist]). The lists come back in file-name order and always build a
// [WarninglistSet].
func LoadWarninglistDir(dir string) ([]*Warninglist, []error) {
	fsys := os.DirFS(dir)
	root := "."
	if fi, err := fs.Stat(fsys, "lists"); err == nil && fi.IsDir() {
		root = "lists"
	}
	return loadWarninglistFS(fsys, root, dir)
}

// loadWarninglistFS loads the lists in root of fsys; display is the name of fsys in errors.
func loadWarninglistFS(fsys fs.FS, root, display string) ([]*Warninglist, []error) {
	where := filepath.Join(display, filepath.FromSlash(root))
	if display == "" {
		where = root
	}
	ents, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, []error{fmt.Errorf("reading warninglists in %s: %w", where, err)}
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "_") || strings.HasPrefix(n, ".") {
			continue
		}
		p := path.Join(root, n)
		if e.IsDir() {
			if fi, err := fs.Stat(fsys, path.Join(p, "list.json")); err == nil && !fi.IsDir() {
				files = append(files, path.Join(p, "list.json"))
			}
			continue
		}
		if strings.HasSuffix(n, ".json") && n != "schema.json" {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, []error{fmt.Errorf("reading warninglists in %s: no list files", where)}
	}

	var lists []*Warninglist
	var errs []error
	seen := make(map[string]string, len(files))
	for _, f := range files {
		shown := f
		if display != "" {
			shown = filepath.Join(display, filepath.FromSlash(f))
		}
		wl, err := parseWarninglistFile(fsys, f, shown)
		if err != nil {
			errs = append(errs, err)
		}
		if wl == nil {
			continue
		}
		if prev, dup := seen[wl.Name]; dup {
			errs = append(errs, fmt.Errorf("warninglist %s: name %q already used by %s; skipped", shown, wl.Name, prev))
			continue
		}
		seen[wl.Name] = shown
		lists = append(lists, wl)
	}
	return lists, errs
}

func parseWarninglistFile(fsys fs.FS, name, shown string) (*Warninglist, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("warninglist %s: %w", shown, err)
	}
	defer f.Close()
	return ParseWarninglist(f, shown)
}
