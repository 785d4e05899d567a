package respond

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/omen-tip/omen/internal/intel"
)

// The misp-feed format: a MISP feed directory (MISP/MISP app/Model/Feed.php, PyMISP's feed
// generator) that another MISP instance, or omen's own misp collector, pulls.
//
// Layout: manifest.json (event UUID → Orgc, Tag, info, date, analysis, threat_level_id,
// timestamp), one <event-uuid>.json per event ({"Event": {...}}), and hashes.csv
// (md5(value),event-uuid per attribute).
//
// Grouping: one event per threat type and TLP level of the export ("omen feed <name>: c2
// (tlp:amber)"), so that an event carries one TLP tag and MISP's per-event distribution fits it.
// Identities are deterministic (UUID v5): the event's from the export name, threat type and TLP,
// an attribute's from the export name and the observable, the organisation's from "omen". A
// repeated export therefore keeps its event and attribute identities, and a consumer edits its
// copy instead of adding a duplicate.
//
// Every attribute has to_ids true (everything exported is meant for controls), the MISP type of
// its observable ([MISPType]), the category MISP's type defaults to, a tlp: tag and the entry's
// tags, a comment from [Entry.Description], first_seen and last_seen from the entry, and its
// LastSeen as timestamp. A malware family becomes a misp-galaxy:malpedia tag. The event's
// timestamp (and publish_timestamp) is the export's Generated time: the feed is regenerated only
// when the data changed, and a newer timestamp tells consumers to fetch the event again.
// The event's date is the earliest FirstSeen of its attributes.

// MISPFeedFormat is the name of the MISP feed format.
const MISPFeedFormat = "misp-feed"

func init() {
	Register(Format{
		Name:        MISPFeedFormat,
		Description: "MISP feed directory (manifest.json, one JSON file per event, hashes.csv) for other MISP instances",
		Types: []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR, intel.Domain, intel.URL, intel.Email,
			intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512, intel.JA3},
		ContentType: "application/json",
		WriteDir:    WriteMISPFeed,
	})
}

// mispNamespace is the UUID v5 namespace of omen's MISP identities.
var mispNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/omen-tip/omen/misp-feed"))

// mispOrg is the organisation (Orgc) of omen's events.
var mispOrg = mispOrgc{Name: "omen", UUID: uuid.NewSHA1(mispNamespace, []byte("org\x00omen")).String()}

// MISPType returns the MISP attribute type and category of an observable type ("" when the
// format cannot carry it).
func MISPType(t intel.Type) (typ, category string) {
	switch t {
	case intel.IPv4, intel.IPv6, intel.CIDR:
		return "ip-dst", "Network activity"
	case intel.Domain:
		return "domain", "Network activity"
	case intel.URL:
		return "url", "Network activity"
	case intel.Email:
		return "email-src", "Payload delivery"
	case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
		return string(t), "Payload delivery"
	case intel.JA3:
		return "ja3-fingerprint-md5", "Network activity"
	}
	return "", ""
}

// tlpColours are the colours of MISP's tlp taxonomy tags.
var tlpColours = map[intel.TLP]string{intel.TLPClear: "#ffffff", intel.TLPGreen: "#339900",
	intel.TLPAmber: "#ffc000", intel.TLPAmberStrict: "#ffc000", intel.TLPRed: "#cc0033"}

// mispDistribution is an event's distribution for its TLP: clear and green to all communities,
// amber to connected communities, amber+strict and red to the organisation only.
func mispDistribution(t intel.TLP) string {
	switch t {
	case intel.TLPClear, intel.TLPGreen:
		return "3"
	case intel.TLPAmber:
		return "2"
	}
	return "0"
}

type mispOrgc struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

type mispTag struct {
	Name       string `json:"name"`
	Colour     string `json:"colour"`
	Exportable bool   `json:"exportable"`
}

type mispAttribute struct {
	UUID      string    `json:"uuid"`
	Type      string    `json:"type"`
	Category  string    `json:"category"`
	Value     string    `json:"value"`
	ToIDs     bool      `json:"to_ids"`
	Comment   string    `json:"comment"`
	Timestamp string    `json:"timestamp"`
	FirstSeen string    `json:"first_seen,omitempty"`
	LastSeen  string    `json:"last_seen,omitempty"`
	Tag       []mispTag `json:"Tag"`
}

type mispEvent struct {
	UUID             string          `json:"uuid"`
	Info             string          `json:"info"`
	Date             string          `json:"date"`
	ThreatLevelID    string          `json:"threat_level_id"`
	Analysis         string          `json:"analysis"`
	Published        bool            `json:"published"`
	Timestamp        string          `json:"timestamp"`
	PublishTimestamp string          `json:"publish_timestamp"`
	Distribution     string          `json:"distribution"`
	Orgc             mispOrgc        `json:"Orgc"`
	Tag              []mispTag       `json:"Tag"`
	Attribute        []mispAttribute `json:"Attribute"`
}

type mispManifestEntry struct {
	Orgc          mispOrgc  `json:"Orgc"`
	Tag           []mispTag `json:"Tag"`
	Info          string    `json:"info"`
	Date          string    `json:"date"`
	Analysis      string    `json:"analysis"`
	ThreatLevelID string    `json:"threat_level_id"`
	Timestamp     string    `json:"timestamp"`
}

// mispSeen formats a first_seen/last_seen as MISP writes them.
func mispSeen(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func mispTLPTag(t intel.TLP) mispTag {
	return mispTag{Name: "tlp:" + t.String(), Colour: tlpColours[t], Exportable: true}
}

// threatLevel maps the highest score of an event to MISP's threat level (1 high, 2 medium, 3 low).
func threatLevel(score int) string {
	switch {
	case score >= 80:
		return "1"
	case score >= 50:
		return "2"
	}
	return "3"
}

// MISPFeed builds the files of a MISP feed directory: file name → content. Entries of a type the
// format cannot carry are an error (the pipeline drops them before).
func MISPFeed(entries []Entry, o WriteOptions) (map[string][]byte, error) {
	name := o.Name
	if name == "" {
		name = "omen"
	}
	gen := o.Generated.UTC()
	if gen.IsZero() {
		gen = time.Now().UTC()
	}
	ts := strconv.FormatInt(gen.Unix(), 10)
	type key struct {
		threat string
		tlp    intel.TLP
	}
	events := map[key]*mispEvent{}
	maxScore := map[key]int{}
	first := map[key]time.Time{}
	var order []key
	seen := map[intel.Observable]bool{}
	for i, e := range entries {
		typ, cat := MISPType(e.Observable.Type)
		if typ == "" {
			return nil, fmt.Errorf("misp-feed: entry %d (%s): type %s cannot be written", i, e.Observable, e.Observable.Type)
		}
		if e.Observable.Value == "" {
			return nil, fmt.Errorf("misp-feed: entry %d: empty %s value", i, e.Observable.Type)
		}
		if seen[e.Observable] {
			continue // one attribute per observable: its UUID is the observable's
		}
		seen[e.Observable] = true
		threat := e.ThreatType
		if threat == "" {
			threat = "malicious"
		}
		k := key{threat, e.TLP}
		ev := events[k]
		if ev == nil {
			ev = &mispEvent{
				UUID:         uuid.NewSHA1(mispNamespace, []byte("event\x00"+name+"\x00"+threat+"\x00"+e.TLP.String())).String(),
				Info:         fmt.Sprintf("omen feed %s: %s (tlp:%s)", name, threat, e.TLP),
				Analysis:     "2",
				Published:    true,
				Timestamp:    ts,
				Distribution: mispDistribution(e.TLP),
				Orgc:         mispOrg,
				Tag:          []mispTag{mispTLPTag(e.TLP)},
			}
			ev.PublishTimestamp = ts
			events[k] = ev
			order = append(order, k)
		}
		maxScore[k] = max(maxScore[k], e.Score)
		if f := e.FirstSeen; !f.IsZero() && (first[k].IsZero() || f.Before(first[k])) {
			first[k] = f
		}
		last := e.LastSeen
		if last.IsZero() {
			last = gen
		}
		a := mispAttribute{
			UUID:      uuid.NewSHA1(mispNamespace, []byte("attribute\x00"+name+"\x00"+e.Observable.String())).String(),
			Type:      typ,
			Category:  cat,
			Value:     e.Observable.Value,
			ToIDs:     true,
			Comment:   e.Description(),
			Timestamp: strconv.FormatInt(last.Unix(), 10),
			FirstSeen: mispSeen(e.FirstSeen),
			LastSeen:  mispSeen(e.LastSeen),
			Tag:       []mispTag{mispTLPTag(e.TLP)},
		}
		for _, t := range e.Tags {
			if t == "" || strings.HasPrefix(strings.ToLower(t), "tlp:") {
				continue
			}
			a.Tag = append(a.Tag, mispTag{Name: t, Colour: "#0088cc", Exportable: true})
		}
		if e.Malware != "" {
			a.Tag = append(a.Tag, mispTag{Name: `misp-galaxy:malpedia="` + strings.ReplaceAll(e.Malware, `"`, `'`) + `"`,
				Colour: "#0088cc", Exportable: true})
		}
		ev.Attribute = append(ev.Attribute, a)
	}

	files := map[string][]byte{}
	manifest := map[string]mispManifestEntry{}
	var hashes strings.Builder
	sort.Slice(order, func(i, j int) bool {
		if order[i].threat != order[j].threat {
			return order[i].threat < order[j].threat
		}
		return order[i].tlp < order[j].tlp
	})
	for _, k := range order {
		ev := events[k]
		ev.ThreatLevelID = threatLevel(maxScore[k])
		d := first[k]
		if d.IsZero() {
			d = gen
		}
		ev.Date = d.UTC().Format(time.DateOnly)
		b, err := json.Marshal(struct {
			Event *mispEvent `json:"Event"`
		}{ev})
		if err != nil {
			return nil, fmt.Errorf("misp-feed: encoding event %s: %w", ev.UUID, err)
		}
		files[ev.UUID+".json"] = append(b, '\n')
		manifest[ev.UUID] = mispManifestEntry{Orgc: ev.Orgc, Tag: ev.Tag, Info: ev.Info, Date: ev.Date,
			Analysis: ev.Analysis, ThreatLevelID: ev.ThreatLevelID, Timestamp: ev.Timestamp}
		for _, a := range ev.Attribute {
			h := md5.Sum([]byte(a.Value))
			hashes.WriteString(hex.EncodeToString(h[:]) + "," + ev.UUID + "\n")
		}
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		return nil, fmt.Errorf("misp-feed: encoding manifest: %w", err)
	}
	files["manifest.json"] = append(b, '\n')
	files["hashes.csv"] = []byte(hashes.String())
	return files, nil
}

// WriteMISPFeed writes a MISP feed directory into dir (which must exist): see [MISPFeed].
func WriteMISPFeed(dir string, entries []Entry, o WriteOptions) error {
	files, err := MISPFeed(entries, o)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return fmt.Errorf("misp-feed: %w", err)
		}
	}
	return nil
}
