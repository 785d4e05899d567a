package misp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/omen-tip/omen/internal/collect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Defaults are the source's settings for what an event does not say.
type Defaults struct {
	Confidence int       // used when no admiralty-scale or estimative-language tag gives one
	TLP        intel.TLP // used when neither the attribute nor the event has a tlp: tag
	Tags       []string  // added to every report
	ThreatType string    // used when an attribute has no category
}

// Reject is a to_ids attribute whose value does not normalise as its type says.
type Reject struct {
	UUID  string // the attribute's uuid (empty in exports that leave it out)
	Type  string // MISP attribute type
	Value string
	Err   error
}

func (r Reject) Error() string {
	return fmt.Sprintf("attribute %s (%s %.80q): %v", r.UUID, r.Type, r.Value, r.Err)
}

// Stats counts an event's attributes (those of its objects included; deleted ones left out).
type Stats struct {
	Attributes int // every attribute
	NotIDs     int // to_ids false: context (links, comments, analysis), never reported
	Skipped    int // to_ids true but of a type omen does not keep (filename, regkey, mutex, yara, ...)
	Rejected   int // to_ids true, a type omen keeps, a value that does not normalise
	Reports    int // reports made (a domain|ip attribute makes two)
}

// item is one reported attribute with its observables.
type item struct {
	reports  []intel.Report
	clusters []clusterRef // galaxy clusters named by the attribute's own tags
}

// extraction is what Reports, Entities and Stats share.
type extraction struct {
	items   []item
	rejects []Reject
	stats   Stats
}

// Reports maps the event's to_ids attributes (top level and inside objects) to reports of source.
//
// Mapping: ip-src, ip-dst (and their |port forms, the port as tag "port:N") give ipv4, ipv6 or a
// cidr; domain, hostname (and hostname|port) a domain; domain|ip both; url, and uri when it is a
// whole URL, a url; email, email-src, email-dst an email; md5, sha1, sha256, sha512 and the
// filename|<hash> forms a hash (the file name as tag "filename:<name>"); AS an asn; vulnerability a
// cve; ja3-fingerprint-md5 a ja3. Other types are counted as skipped (see [Event.Stats]).
//
// Dates: FirstSeen is the attribute's first_seen, else its timestamp, else the event's date;
// LastSeen its last_seen, else its timestamp, else the event's timestamp or date. The dates are
// the feed's: MISP events assert attributes when they were published, not at every download. An
// event without any date (no timestamps, no date) gives zero dates; the collector uses the run's time.
//
// TLP, confidence and malware come from the attribute's tags first, then the event's (see the
// package documentation); the threat type is the attribute's category in lower case with hyphens
// ("Network activity" → "network-activity").
func (e *Event) Reports(source string, d Defaults) ([]intel.Report, []Reject) {
	x := e.extract(source, d)
	var out []intel.Report
	for _, it := range x.items {
		out = append(out, it.reports...)
	}
	return out, x.rejects
}

// Stats counts the event's attributes by what [Event.Reports] does with them.
func (e *Event) Stats() Stats {
	return e.extract("", Defaults{}).stats
}

func (e *Event) extract(source string, d Defaults) extraction {
	var x extraction
	evTags := tagNames(e.Tag)
	evTLP, hasTLP := tlpOf(evTags)
	if !hasTLP {
		evTLP = d.TLP
	}
	evConf, hasConf := confidenceOf(evTags)
	if !hasConf {
		evConf = d.Confidence
	}
	evMalware := malwareOf(e.eventClusters())
	evDate := e.date()
	evLast := unix(e.Timestamp)
	if evLast.IsZero() {
		evLast = evDate
	}
	do := func(a Attribute) {
		if a.Deleted {
			return
		}
		x.stats.Attributes++
		if !a.ToIDs {
			x.stats.NotIDs++
			return
		}
		obs, extra, ok, err := observables(a.Type, a.Value)
		if !ok {
			x.stats.Skipped++
			return
		}
		if err != nil {
			x.stats.Rejected++
			x.rejects = append(x.rejects, Reject{UUID: a.UUID, Type: a.Type, Value: a.Value, Err: err})
			return
		}
		atTags := tagNames(a.Tag)
		r := intel.Report{Source: source, TLP: evTLP, Confidence: evConf, Malware: evMalware, ThreatType: d.ThreatType}
		if t, ok := tlpOf(atTags); ok {
			r.TLP = t
		}
		if c, ok := confidenceOf(atTags); ok {
			r.Confidence = c
		}
		atClusters := clustersOfTags(atTags)
		if m := malwareOf(atClusters); m != "" {
			r.Malware = m
		}
		if c := threatType(a.Category); c != "" {
			r.ThreatType = c
		}
		r.FirstSeen, r.LastSeen = parseSeen(a.FirstSeen), parseSeen(a.LastSeen)
		ts := unix(a.Timestamp)
		if r.FirstSeen.IsZero() {
			r.FirstSeen = firstNonZero(ts, evDate, evLast)
		}
		if r.LastSeen.IsZero() {
			r.LastSeen = firstNonZero(ts, evLast, r.FirstSeen)
		}
		if r.FirstSeen.After(r.LastSeen) {
			r.FirstSeen = r.LastSeen
		}
		r.Tags = reportTags(d.Tags, evTags, atTags, extra)
		it := item{clusters: atClusters}
		for _, o := range obs {
			rr := r
			rr.Observable = o
			rr.Tags = append([]string(nil), r.Tags...)
			it.reports = append(it.reports, rr)
		}
		x.stats.Reports += len(obs)
		x.items = append(x.items, it)
	}
	for _, a := range e.Attribute {
		do(a)
	}
	for _, o := range e.Object {
		if o.Deleted {
			continue
		}
		for _, a := range o.Attribute {
			do(a)
		}
	}
	return x
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// hashTypes maps MISP hash attribute types to omen's.
var hashTypes = map[string]intel.Type{"md5": intel.MD5, "sha1": intel.SHA1, "sha256": intel.SHA256, "sha512": intel.SHA512}

// observables maps one attribute value. ok is false for a type omen does not keep; err is set when
// the type is kept but the value does not normalise.
func observables(typ, value string) (obs []intel.Observable, tags []string, ok bool, err error) {
	typ = strings.ToLower(strings.TrimSpace(typ))
	one := func(t intel.Type, v string) ([]intel.Observable, []string, bool, error) {
		o, err := intel.Normalize(t, v)
		if err != nil {
			return nil, nil, true, err
		}
		return []intel.Observable{o}, tags, true, nil
	}
	switch typ {
	case "ip-src", "ip-dst":
		o, err := ip(value)
		if err != nil {
			return nil, nil, true, err
		}
		return []intel.Observable{o}, nil, true, nil
	case "ip-src|port", "ip-dst|port":
		host, port, okp := cutLast(value)
		if !okp {
			return nil, nil, true, fmt.Errorf("%s value without a \"|\"", typ)
		}
		o, err := ip(host)
		if err != nil {
			return nil, nil, true, err
		}
		if p, perr := strconv.ParseUint(strings.TrimSpace(port), 10, 16); perr == nil {
			tags = []string{"port:" + strconv.FormatUint(p, 10)}
		}
		return []intel.Observable{o}, tags, true, nil
	case "domain", "hostname":
		return one(intel.Domain, value)
	case "hostname|port":
		host, port, okp := cutLast(value)
		if !okp {
			return nil, nil, true, fmt.Errorf("%s value without a \"|\"", typ)
		}
		if p, perr := strconv.ParseUint(strings.TrimSpace(port), 10, 16); perr == nil {
			tags = []string{"port:" + strconv.FormatUint(p, 10)}
		}
		return one(intel.Domain, host)
	case "domain|ip":
		dom, addr, okp := strings.Cut(value, "|")
		if !okp {
			return nil, nil, true, fmt.Errorf("%s value without a \"|\"", typ)
		}
		d, err := intel.Normalize(intel.Domain, dom)
		if err != nil {
			return nil, nil, true, err
		}
		a, err := ip(addr)
		if err != nil {
			return nil, nil, true, err
		}
		return []intel.Observable{d, a}, nil, true, nil
	case "url":
		return one(intel.URL, value)
	case "uri":
		// A uri is often a bare path ("/gate.php"): only a whole URL is an observable.
		o, err := intel.Normalize(intel.URL, value)
		if err != nil {
			return nil, nil, false, nil
		}
		return []intel.Observable{o}, nil, true, nil
	case "email", "email-src", "email-dst":
		return one(intel.Email, value)
	case "md5", "sha1", "sha256", "sha512":
		return one(hashTypes[typ], value)
	case "filename|md5", "filename|sha1", "filename|sha256", "filename|sha512":
		name, h, okp := cutLast(value)
		if !okp {
			return nil, nil, true, fmt.Errorf("%s value without a \"|\"", typ)
		}
		if name = strings.TrimSpace(name); name != "" {
			tags = []string{"filename:" + clipTag(name)}
		}
		return one(hashTypes[strings.TrimPrefix(typ, "filename|")], h)
	case "as":
		return one(intel.ASN, value)
	case "vulnerability":
		return one(intel.CVE, value)
	case "ja3-fingerprint-md5":
		return one(intel.JA3, value)
	}
	return nil, nil, false, nil
}

// ip normalises an ip-src/ip-dst value: an IPv4 or IPv6 address, or a network in CIDR notation.
func ip(v string) (intel.Observable, error) {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "/") {
		return intel.Normalize(intel.CIDR, v)
	}
	if strings.Contains(v, ":") {
		return intel.Normalize(intel.IPv6, v)
	}
	return intel.Normalize(intel.IPv4, v)
}

func cutLast(s string) (string, string, bool) {
	i := strings.LastIndexByte(s, '|')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// clipTag keeps a tag value to 64 bytes, on a rune boundary.
func clipTag(s string) string {
	if len(s) <= 64 {
		return s
	}
	n := 64
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// threatType turns a MISP category into omen's threat type: "Network activity" → "network-activity".
func threatType(category string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(category)), " ", "-")
}

func tagNames(ts []Tag) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if n := strings.TrimSpace(t.Name); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// reportTags is the source's tags, then the event's and the attribute's, then extra, without
// duplicates and without the tags omen keeps elsewhere (tlp: as the TLP, misp-galaxy: as entities).
func reportTags(src, ev, at, extra []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]string{src, ev, at, extra} {
		for _, t := range list {
			l := strings.ToLower(t)
			if seen[t] || strings.HasPrefix(l, "tlp:") || strings.HasPrefix(l, "misp-galaxy:") {
				continue
			}
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// tlpOf returns the TLP of the first tlp: tag that parses ("tlp:white" is clear).
func tlpOf(tags []string) (intel.TLP, bool) {
	for _, t := range tags {
		if len(t) > 4 && strings.EqualFold(t[:4], "tlp:") {
			if v, err := intel.ParseTLP(t); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

var (
	credibility = map[string]int{"1": 90, "2": 75, "3": 50, "4": 25, "5": 10, "6": 50}
	likelihood  = map[string]int{"almost-certain": 95, "very-likely": 85, "likely": 70, "roughly-even-chance": 50,
		"unlikely": 30, "very-unlikely": 15, "almost-no-chance": 5}
)

// confidenceOf reads the MISP taxonomies that carry a confidence:
// admiralty-scale:information-credibility="N" and estimative-language:likelihood-probability="...".
func confidenceOf(tags []string) (int, bool) {
	for _, t := range tags {
		ns, pred, val, ok := machineTag(t)
		if !ok {
			continue
		}
		switch {
		case ns == "admiralty-scale" && pred == "information-credibility":
			if c, ok := credibility[val]; ok {
				return c, true
			}
		case ns == "estimative-language" && pred == "likelihood-probability":
			if c, ok := likelihood[val]; ok {
				return c, true
			}
		}
	}
	return 0, false
}

// machineTag splits `namespace:predicate="value"`; namespace and predicate come back in lower case.
func machineTag(t string) (ns, pred, val string, ok bool) {
	ns, rest, ok := strings.Cut(t, ":")
	if !ok {
		return "", "", "", false
	}
	pred, val, ok = strings.Cut(rest, "=")
	if !ok {
		return "", "", "", false
	}
	val = strings.TrimSpace(val)
	if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
		val = val[1 : len(val)-1]
	}
	return strings.ToLower(strings.TrimSpace(ns)), strings.ToLower(strings.TrimSpace(pred)), val, val != ""
}

// clusterRef is a galaxy cluster as an event refers to it: from its Galaxy array (with the
// cluster's data) or from a misp-galaxy:<type>="<value>" tag (type and value only).
type clusterRef struct {
	Type, Value string
	Cluster     *Cluster // nil for a tag
}

func (c clusterRef) key() string { return c.Type + "\x00" + strings.ToLower(c.Value) }

// clustersOfTags returns the clusters named by misp-galaxy: tags.
func clustersOfTags(tags []string) []clusterRef {
	var out []clusterRef
	for _, t := range tags {
		if ns, pred, val, ok := machineTag(t); ok && ns == "misp-galaxy" && pred != "" {
			out = append(out, clusterRef{Type: pred, Value: val})
		}
	}
	return out
}

// eventClusters returns the event-level clusters, Galaxy array first, without duplicates.
func (e *Event) eventClusters() []clusterRef {
	var all []clusterRef
	for gi := range e.Galaxy {
		g := &e.Galaxy[gi]
		for ci := range g.GalaxyCluster {
			c := &g.GalaxyCluster[ci]
			typ := strings.ToLower(strings.TrimSpace(c.Type))
			if typ == "" {
				typ = strings.ToLower(strings.TrimSpace(g.Type))
			}
			if v := strings.TrimSpace(c.Value); typ != "" && v != "" {
				all = append(all, clusterRef{Type: typ, Value: v, Cluster: c})
			}
		}
	}
	all = append(all, clustersOfTags(tagNames(e.Tag))...)
	return dedupClusters(all)
}

func dedupClusters(cs []clusterRef) []clusterRef {
	var out []clusterRef
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c.key()] {
			seen[c.key()] = true
			out = append(out, c)
		}
	}
	return out
}

// galaxyTypes maps galaxy types to entity types; the rest become "x-misp-galaxy-<type>".
// Banker, RAT, stealer, botnet, backdoor and android galaxies list malware families too.
var galaxyTypes = map[string]intel.EntityType{
	"threat-actor":           intel.ThreatActor,
	"malpedia":               intel.Malware,
	"ransomware":             intel.Malware,
	"mitre-malware":          intel.Malware,
	"banker":                 intel.Malware,
	"rat":                    intel.Malware,
	"stealer":                intel.Malware,
	"botnet":                 intel.Malware,
	"backdoor":               intel.Malware,
	"android":                intel.Malware,
	"tool":                   intel.Tool,
	"mitre-tool":             intel.Tool,
	"mitre-attack-pattern":   intel.AttackPattern,
	"mitre-intrusion-set":    intel.IntrusionSet,
	"mitre-course-of-action": intel.CourseOfAction,
}

func entityType(galaxy string) intel.EntityType {
	if t, ok := galaxyTypes[galaxy]; ok {
		return t
	}
	return intel.EntityType("x-misp-galaxy-" + galaxy)
}

// attackSuffix matches the ATT&CK id MISP's mitre-* clusters end their value with.
var attackSuffix = regexp.MustCompile(`^(.*\S) - ((?:TA|T|G|S|M|C)\d{4}(?:\.\d{3})?)$`)

// malwareOf returns the malware family when the clusters name exactly one (malware or tool
// galaxies, ATT&CK id dropped), "" otherwise.
func malwareOf(cs []clusterRef) string {
	name := ""
	for _, c := range cs {
		if t := entityType(c.Type); t != intel.Malware && t != intel.Tool {
			continue
		}
		v := c.Value
		if m := attackSuffix.FindStringSubmatch(v); m != nil {
			v = m[1]
		}
		switch {
		case name == "":
			name = v
		case !strings.EqualFold(name, v):
			return ""
		}
	}
	return name
}

// ClusterID is the entity ID of a galaxy cluster: "x-misp-galaxy--<type>--<value in lower case>".
// It is built from the name rather than the cluster's UUID because events name most clusters by
// tag only, without the UUID; this way every event naming a cluster refers to one entity.
func ClusterID(galaxyType, value string) string { return collect.ClusterID(galaxyType, value) }

// ReportID is the entity ID of the report entity of the event with that UUID.
func ReportID(eventUUID string) string { return "report--" + strings.ToLower(eventUUID) }

func clusterEntity(c clusterRef, source string, tlp intel.TLP) intel.Entity {
	e := intel.Entity{ID: ClusterID(c.Type, c.Value), Type: entityType(c.Type), Name: c.Value, Source: source, TLP: tlp,
		Attributes: map[string]any{"misp_galaxy": c.Type}}
	if m := attackSuffix.FindStringSubmatch(c.Value); m != nil && strings.HasPrefix(c.Type, "mitre-") {
		e.Attributes["attack_id"] = m[2]
	}
	if cl := c.Cluster; cl != nil {
		e.Description = cl.Description
		if cl.UUID != "" {
			e.Attributes["misp_uuid"] = cl.UUID
		}
		if syn, ok := cl.Meta["synonyms"].([]any); ok {
			for _, s := range syn {
				if s, ok := s.(string); ok && s != "" && !strings.EqualFold(s, c.Value) {
					e.Aliases = append(e.Aliases, s)
				}
			}
		}
		var related []string
		for _, r := range cl.Related {
			if r.DestUUID != "" {
				related = append(related, strings.ToLower(r.DestUUID))
			}
		}
		if len(related) > 0 {
			e.Attributes["related_uuids"] = related
		}
		if refs, ok := cl.Meta["refs"].([]any); ok && len(refs) > 0 {
			e.Attributes["refs"] = refs
		}
	}
	return e
}

// Entities returns the event's galaxy clusters (from its Galaxy array and its misp-galaxy: tags,
// and from the reported attributes' tags) as entities, a report entity for the event itself
// (ID [ReportID], name the event's info; none when the event has no UUID), and the relationships:
// "related-to" from each reported observable ([intel.Observable.String]) to the report entity,
// "indicates" from each reported observable to each event-level cluster and to the clusters of its
// attribute's own tags, and "related-to" from the report entity to every cluster.
//
// Entities carry the event's TLP (or d.TLP); a relationship from an observable carries its report's.
// Relationship IDs are derived from their source, type and ends, so a re-run replaces them.
func (e *Event) Entities(source string, d Defaults) ([]intel.Entity, []intel.Relationship) {
	x := e.extract(source, d)
	evTLP, ok := tlpOf(tagNames(e.Tag))
	if !ok {
		evTLP = d.TLP
	}
	var ents []intel.Entity
	entSeen := map[string]int{}
	addEnt := func(en intel.Entity) {
		if i, ok := entSeen[en.ID]; ok {
			if ents[i].Description == "" && en.Description != "" { // a Galaxy cluster beats a bare tag
				ents[i] = en
			}
			return
		}
		entSeen[en.ID] = len(ents)
		ents = append(ents, en)
	}
	var rels []intel.Relationship
	relSeen := map[string]bool{}
	addRel := func(typ, from, to string, tlp intel.TLP) {
		r := intel.Relationship{ID: relID(source, typ, from, to), Type: typ, SourceRef: from, TargetRef: to, Source: source, TLP: tlp}
		if !relSeen[r.ID] {
			relSeen[r.ID] = true
			rels = append(rels, r)
		}
	}
	created, modified := e.date(), unix(e.Timestamp)
	report := ""
	if e.UUID != "" {
		report = ReportID(e.UUID)
		attrs := map[string]any{"misp_event_uuid": e.UUID}
		if e.Orgc.Name != "" {
			attrs["misp_orgc"] = e.Orgc.Name
		}
		if e.Date != "" {
			attrs["misp_date"] = e.Date
		}
		if e.ThreatLevelID != 0 {
			attrs["misp_threat_level_id"] = int64(e.ThreatLevelID)
		}
		attrs["misp_analysis"] = int64(e.Analysis)
		addEnt(intel.Entity{ID: report, Type: intel.ReportEntity, Name: e.Info, Source: source, TLP: evTLP,
			Created: created, Modified: firstNonZero(modified, created), Attributes: attrs})
	}
	evClusters := e.eventClusters()
	for _, c := range evClusters {
		addEnt(clusterEntity(c, source, evTLP))
	}
	for _, it := range x.items {
		for _, c := range dedupClusters(it.clusters) {
			addEnt(clusterEntity(c, source, evTLP))
		}
	}
	for _, it := range x.items {
		for _, r := range it.reports {
			ref := r.Observable.String()
			if report != "" {
				addRel("related-to", ref, report, r.TLP)
			}
			for _, c := range evClusters {
				addRel("indicates", ref, ClusterID(c.Type, c.Value), r.TLP)
			}
			for _, c := range it.clusters {
				addRel("indicates", ref, ClusterID(c.Type, c.Value), r.TLP)
			}
		}
	}
	if report != "" {
		for _, en := range ents {
			if en.ID != report {
				addRel("related-to", report, en.ID, evTLP)
			}
		}
	}
	return ents, rels
}

// relID derives a relationship ID from what the relationship says and who says it.
func relID(source, typ, from, to string) string {
	h := sha256.Sum256([]byte(source + "\x00" + typ + "\x00" + from + "\x00" + to))
	s := hex.EncodeToString(h[:16])
	return "relationship--" + s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
