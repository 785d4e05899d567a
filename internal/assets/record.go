package assets

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"github.com/omen-tip/omen/internal/intel"
)

// Record is one asset as written in a file or sent to the API, before validation. Fields that hold
// several values take a list or one string of values separated by ';' or white space (keywords by
// ';' only, as they may contain spaces).
type Record struct {
	Kind string `json:"kind" yaml:"kind"`
	Name string `json:"name" yaml:"name"`

	// Values are read by the asset's kind: CIDRs, domains, host names or IPs, emails or user
	// names, CPEs, or brand domains.
	Values List `json:"values,omitempty" yaml:"values,omitempty"`

	CIDRs     List `json:"cidrs,omitempty" yaml:"cidrs,omitempty"`         // network
	Domains   List `json:"domains,omitempty" yaml:"domains,omitempty"`     // domain, brand
	Hostnames List `json:"hostnames,omitempty" yaml:"hostnames,omitempty"` // host
	IPs       List `json:"ips,omitempty" yaml:"ips,omitempty"`             // host
	Emails    List `json:"emails,omitempty" yaml:"emails,omitempty"`       // person
	Usernames List `json:"usernames,omitempty" yaml:"usernames,omitempty"` // person
	Keywords  List `json:"keywords,omitempty" yaml:"keywords,omitempty"`   // brand
	Privilege Text `json:"privilege,omitempty" yaml:"privilege,omitempty"` // person
	Vendor    Text `json:"vendor,omitempty" yaml:"vendor,omitempty"`       // technology
	Product   Text `json:"product,omitempty" yaml:"product,omitempty"`     // technology
	Version   Text `json:"version,omitempty" yaml:"version,omitempty"`     // technology
	CPE       List `json:"cpe,omitempty" yaml:"cpe,omitempty"`             // technology

	Criticality        Text              `json:"criticality,omitempty" yaml:"criticality,omitempty"`
	DataClassification Text              `json:"data_classification,omitempty" yaml:"data_classification,omitempty"`
	BusinessService    Text              `json:"business_service,omitempty" yaml:"business_service,omitempty"`
	ServiceTier        Text              `json:"service_tier,omitempty" yaml:"service_tier,omitempty"`
	Owner              Text              `json:"owner,omitempty" yaml:"owner,omitempty"`
	Exposure           Text              `json:"exposure,omitempty" yaml:"exposure,omitempty"`
	Attributes         map[string]string `json:"attributes,omitempty" yaml:"attributes,omitempty"`
}

// DecodeJSON decodes one JSON object into a Record strictly: unknown fields are refused, and a
// field of the wrong type is named in the error.
func DecodeJSON(b []byte) (Record, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Record{}, errors.New("want an object")
		}
		return Record{}, err
	}
	var r Record
	rv := reflect.ValueOf(&r).Elem()
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		i, ok := recordFields[k]
		if !ok {
			return Record{}, fmt.Errorf("unknown field %q", clip(k))
		}
		if err := json.Unmarshal(fields[k], rv.Field(i).Addr().Interface()); err != nil {
			return Record{}, fmt.Errorf("%s: %s", k, strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	return r, nil
}

// recordFields maps the JSON names of Record's fields to their index.
var recordFields = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Record]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

// List is a list of values that may also be written as one string, split on ';' and white space.
type List []string

// UnmarshalJSON accepts an array of strings or one string.
func (l *List) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = append(*l, one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or an array of strings")
	}
	*l = append(*l, many...)
	return nil
}

// UnmarshalYAML accepts a sequence of scalars or one scalar.
func (l *List) UnmarshalYAML(b []byte) error {
	var many []Text
	if err := yaml.Unmarshal(b, &many); err == nil {
		for _, t := range many {
			*l = append(*l, string(t))
		}
		return nil
	}
	var one Text
	if err := yaml.Unmarshal(b, &one); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = append(*l, string(one))
	return nil
}

// Text is a string field that also accepts a number or boolean ("service_tier: 1", "version: 2.4").
type Text string

// UnmarshalJSON accepts a JSON string, number or boolean; a number is kept as written.
func (t *Text) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return t.set(v, b)
}

// UnmarshalYAML accepts a YAML scalar; a number is kept as written ("version: 7.10" is "7.10").
func (t *Text) UnmarshalYAML(b []byte) error {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return err
	}
	return t.set(v, b)
}

func (t *Text) set(v any, raw []byte) error {
	switch x := v.(type) {
	case nil:
		*t = ""
	case string:
		*t = Text(x)
	case bool, float64, float32, int, int64, uint64:
		*t = Text(strings.TrimSpace(string(raw)))
	default:
		return errors.New("want a string")
	}
	return nil
}

// Normalize validates r and returns the asset it describes, with every value in canonical form,
// or an error listing every problem found.
func Normalize(r Record) (intel.Asset, error) {
	v := &validator{}
	a := intel.Asset{Kind: v.kind(r.Kind), Name: v.text("name", string(r.Name), true)}
	a.Criticality = intel.Criticality(v.word(string(r.Criticality), func(s string) (string, error) {
		c, err := ParseCriticality(s)
		return string(c), err
	}))
	a.DataClass = v.word(string(r.DataClassification), ParseDataClass)
	a.Service = v.text("business_service", string(r.BusinessService), false)
	a.Owner = v.text("owner", string(r.Owner), false)
	a.Exposure = v.word(string(r.Exposure), ParseExposure)
	a.Attributes = v.attributes(r.Attributes)
	v.setAttr(&a, AttrServiceTier, v.word(string(r.ServiceTier), ParseServiceTier))
	v.kindFields(&a, r)
	if len(v.problems) > 0 {
		return intel.Asset{}, errors.New(strings.Join(v.problems, "; "))
	}
	return a, nil
}

// validator collects the problems of one record.
type validator struct{ problems []string }

func (v *validator) fail(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) kind(s string) string {
	k := strings.ToLower(strings.TrimSpace(s))
	if k == "" {
		v.fail("kind is missing: want %s", strings.Join(Kinds, ", "))
		return ""
	}
	if !slices.Contains(Kinds, k) {
		v.fail("kind %q: want %s", clip(s), strings.Join(Kinds, ", "))
		return ""
	}
	return k
}

// text checks a free-text field: valid UTF-8, no control characters, at most maxText bytes.
func (v *validator) text(field, s string, required bool) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		v.fail("%s is missing", field)
	case !utf8.ValidString(s):
		v.fail("%s: invalid UTF-8", field)
	case len(s) > maxText:
		v.fail("%s: longer than %d bytes", field, maxText)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		v.fail("%s %q: control character", field, clip(s))
	default:
		return s
	}
	return ""
}

// word parses an optional closed-vocabulary field.
func (v *validator) word(s string, parse func(string) (string, error)) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	w, err := parse(s)
	if err != nil {
		v.fail("%s", err)
	}
	return w
}

var attrKey = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

func (v *validator) attributes(m map[string]string) map[string]string {
	var out map[string]string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		val := m[k]
		key := strings.ToLower(strings.TrimSpace(k))
		switch {
		case !attrKey.MatchString(key):
			v.fail("attribute name %q: want lower-case letters, digits, '_', '.' or '-'", clip(k))
		case reserved[key]:
			v.fail("attribute %q: set it with its own field", key)
		default:
			if out == nil {
				out = map[string]string{}
			}
			out[key] = v.text("attribute "+key, val, false)
		}
	}
	return out
}

// setAttr sets a kind-specific attribute when val is not empty.
func (v *validator) setAttr(a *intel.Asset, key, val string) {
	if key == "" || val == "" {
		return
	}
	if a.Attributes == nil {
		a.Attributes = map[string]string{}
	}
	a.Attributes[key] = val
}

// misplaced reports fields that do not belong to the record's kind.
func (v *validator) misplaced(kind string, fields map[string]bool) {
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		if fields[f] {
			v.fail("%s is not a field of a %s asset", f, kind)
		}
	}
}

// kindFields validates the fields of r's kind and fills a's values and attributes.
func (v *validator) kindFields(a *intel.Asset, r Record) {
	set := func(l List) bool { return len(l) > 0 }
	txt := func(t Text) bool { return strings.TrimSpace(string(t)) != "" }
	other := map[string]bool{
		"cidrs": set(r.CIDRs), "domains": set(r.Domains), "hostnames": set(r.Hostnames), "ips": set(r.IPs),
		"emails": set(r.Emails), "usernames": set(r.Usernames), "keywords": set(r.Keywords), "privilege": txt(r.Privilege),
		"vendor": txt(r.Vendor), "product": txt(r.Product), "version": txt(r.Version), "cpe": set(r.CPE),
	}
	var vals []string
	switch a.Kind {
	case "":
		return
	case KindNetwork:
		other["cidrs"] = false
		vals = v.each(join(r.Values, r.CIDRs), canonicalCIDR)
	case KindDomain:
		other["domains"] = false
		in := join(r.Values, r.Domains)
		if len(in) == 0 && a.Name != "" {
			in = []string{a.Name} // a domain asset named by its domain
		}
		vals = v.each(in, canonicalDomain)
	case KindHost:
		other["hostnames"], other["ips"] = false, false
		vals = append(v.each(split(r.Hostnames), canonicalHostname), v.each(split(r.IPs), canonicalIP)...)
		vals = append(vals, v.each(split(r.Values), canonicalHostValue)...)
	case KindPerson:
		other["emails"], other["usernames"], other["privilege"] = false, false, false
		vals = append(v.each(split(r.Emails), canonicalEmail), v.each(split(r.Usernames), canonicalAccount)...)
		vals = append(vals, v.each(split(r.Values), canonicalPersonValue)...)
		v.setAttr(a, AttrPrivilege, v.word(string(r.Privilege), ParsePrivilege))
	case KindTechnology:
		other["vendor"], other["product"], other["version"], other["cpe"] = false, false, false, false
		vals = v.technology(a, r)
	case KindBrand:
		other["domains"], other["keywords"] = false, false
		if k, err := canonicalKeyword(a.Name); err == nil {
			vals = append(vals, k) // the brand's own name is its first keyword
		}
		vals = append(vals, v.each(join(r.Domains), canonicalDomain)...)
		vals = append(vals, v.each(splitKeywords(r.Keywords), canonicalKeyword)...)
		vals = append(vals, v.each(split(r.Values), canonicalBrandValue)...)
	}
	v.misplaced(a.Kind, other)
	slices.Sort(vals) // a stable order, whichever fields the values came in
	a.Values = slices.Compact(vals)
	switch {
	case len(a.Values) > maxValues:
		v.fail("%d values: at most %d", len(a.Values), maxValues)
	case len(a.Values) == 0 && a.Kind != KindBrand && a.Kind != KindTechnology && len(v.problems) == 0:
		v.fail("a %s asset needs at least one value (%s)", a.Kind, valueFields[a.Kind])
	}
}

var valueFields = map[string]string{
	KindNetwork: "cidrs", KindDomain: "domains", KindHost: "hostnames or ips", KindPerson: "emails or usernames",
}

// each canonicalises every value with canon, recording the failures.
func (v *validator) each(in []string, canon func(string) (string, error)) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		c, err := canon(s)
		if err != nil {
			v.fail("%s", err)
			continue
		}
		out = append(out, c)
	}
	return out
}

// technology fills vendor, product and version, and the CPE: given, or made from them.
func (v *validator) technology(a *intel.Asset, r Record) []string {
	vendor := v.text("vendor", string(r.Vendor), false)
	product := v.text("product", string(r.Product), false)
	version := v.text("version", string(r.Version), false)
	cpes := v.each(split(r.CPE), CanonicalCPE)
	cpes = append(cpes, v.each(split(r.Values), CanonicalCPE)...)
	if len(cpes) == 0 {
		if vendor == "" || product == "" {
			if len(v.problems) == 0 {
				v.fail("a technology asset needs a cpe, or a vendor and a product")
			}
			return nil
		}
		cpes = []string{MakeCPE("a", vendor, product, version)}
	} else if vendor == "" && product == "" && len(cpes) == 1 {
		p := cpeParts(cpes[0])
		vendor, product = unescapeCPE(p[3]), unescapeCPE(p[4])
		if version == "" && p[5] != "*" && p[5] != "-" {
			version = unescapeCPE(p[5])
		}
	}
	v.setAttr(a, AttrVendor, vendor)
	v.setAttr(a, AttrProduct, product)
	v.setAttr(a, AttrVersion, version)
	return cpes
}

// join splits and concatenates lists.
func join(ls ...List) []string {
	var out []string
	for _, l := range ls {
		out = append(out, split(l)...)
	}
	return out
}

// split splits each element of l on ';' and white space, dropping empty parts.
func split(l List) []string {
	var out []string
	for _, s := range l {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })...)
	}
	return out
}

// splitKeywords splits each element of l on ';' only, trimming white space.
func splitKeywords(l List) []string {
	var out []string
	for _, s := range l {
		for p := range strings.SplitSeq(s, ";") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
