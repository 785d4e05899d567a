package pattern

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// Atom is one equality test of a pattern on a property that holds an IOC.
type Atom struct {
	Object string // STIX SCO type, e.g. "ipv4-addr", "file", "domain-name"
	// Path is the property path in plain dotted form, with the hash name in its STIX spelling:
	// "value", "hashes.SHA-256", "dst_ref.value".
	Path  string
	Value string // the literal as a string (its [Literal.Value])
	// Observable is the canonical omen observable; zero when Value is not a valid one.
	Observable intel.Observable
}

// Reduction is the result of [Pattern.Reduce].
type Reduction struct {
	// Reducible reports whether the whole pattern is an OR of plain equality and IN tests on IOC
	// properties, with at least one valid value, so that the IOCs in Atoms say all it says.
	Reducible bool
	// Atoms are the valid IOCs, in pattern order without duplicates. For a pattern that is not
	// reducible they are the IOC tests found in it (not under NOT), which may be empty.
	Atoms []Atom
	// Reason says why the pattern is not reducible: the first obstacle met, outermost first
	// ("FOLLOWEDBY", "AND between observations", "qualifier WITHIN", "AND across properties",
	// "operator LIKE", "operator NOT =", "path file:name", "no valid observable").
	Reason string
	// Invalid lists the IOC tests whose value is not a valid observable, as
	// "domain-name:value = 'domain autuo.xicp.net': <error>". They do not make a pattern
	// irreducible; the other values still count.
	Invalid []string
}

// Reduce works out whether p is a list of plain IOCs and returns them.
//
// These tests give IOCs, with "=" or IN:
//
//   - ipv4-addr:value and ipv6-addr:value: an address, or a network (a /32 or /128 is the address);
//   - domain-name:value, url:value, email-addr:value;
//   - file:, artifact: and x509-certificate:hashes.<MD5|SHA-1|SHA-256|SHA-512>, the hash name in
//     any case, with or without its hyphen, quoted or not;
//   - network-traffic:src_ref.value and dst_ref.value (an address or network);
//   - email-message:from_ref.value and sender_ref.value (an email address);
//   - user-account:account_login and user_id (an account);
//   - autonomous-system:number (an AS number, int or string).
//
// They may be joined by OR inside a bracket and across brackets. The one AND allowed is between
// such a test on a reference and tests of that reference's type, as in
// "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '1.2.3.4']";
// the type then decides how the value is read ('ipv4-addr', 'ipv6-addr' or 'domain-name').
func (p *Pattern) Reduce() Reduction {
	r := reducer{seen: map[intel.Observable]bool{}}
	if p != nil && p.Root != nil {
		r.obs(p.Root)
	}
	red := Reduction{Atoms: r.atoms, Invalid: r.invalid, Reason: r.reason}
	if red.Reason == "" && len(red.Atoms) == 0 {
		red.Reason = "no valid observable"
	}
	red.Reducible = red.Reason == ""
	return red
}

// reducer walks a pattern, collecting atoms and the first reason it is not reducible.
type reducer struct {
	atoms   []Atom
	invalid []string
	reason  string
	seen    map[intel.Observable]bool
}

func (r *reducer) fail(reason string) {
	if r.reason == "" {
		r.reason = reason
	}
}

func (r *reducer) obs(e ObsExpr) {
	switch e := e.(type) {
	case *Observation:
		r.comp(e.Comparison)
	case *ObsGroup:
		switch e.Op {
		case ObsFollowedBy:
			r.fail("FOLLOWEDBY")
		case ObsAnd:
			r.fail("AND between observations")
		}
		for _, o := range e.Operands {
			r.obs(o)
		}
	case *Qualified:
		if len(e.Qualifiers) > 0 {
			r.fail("qualifier " + e.Qualifiers[0].Kind.String())
		}
		r.obs(e.Expr)
	}
}

func (r *reducer) comp(e CompExpr) {
	switch e := e.(type) {
	case *Comparison:
		r.test(e, "")
	case *CompGroup:
		if e.Op == CompAnd {
			if c, refType, ok := refConstraint(e); ok {
				r.test(c, refType)
				return
			}
			r.fail("AND across properties")
		}
		for _, o := range e.Operands {
			r.comp(o)
		}
	}
}

// test handles one property test; refType, if set, is the type its reference is constrained to.
func (r *reducer) test(c *Comparison, refType string) {
	switch {
	case c.Negated:
		r.fail("operator NOT " + c.Op.String())
		return
	case c.Op != OpEq && c.Op != OpIn:
		r.fail("operator " + c.Op.String())
		return
	}
	kind, path, ok := iocPath(c.Path)
	if !ok {
		r.fail("path " + c.Path.String())
		return
	}
	if refType != "" {
		kind = refKinds[refType]
	}
	values := c.Set
	if c.Op == OpEq {
		values = []Literal{c.Value}
	}
	for _, l := range values {
		r.atom(c, kind, path, l)
	}
}

func (r *reducer) atom(c *Comparison, kind valueKind, path string, l Literal) {
	o, err := kind.normalize(l)
	if err != nil {
		eq := Comparison{Path: c.Path, Op: OpEq, Value: l}
		r.invalid = append(r.invalid, eq.String()+": "+err.Error())
		return
	}
	if r.seen[o] {
		return
	}
	r.seen[o] = true
	r.atoms = append(r.atoms, Atom{Object: c.Path.Object, Path: path, Value: l.Value, Observable: o})
}

// valueKind says how the value of an IOC property is read.
type valueKind uint8

const (
	kindIPv4   valueKind = iota + 1 // an IPv4 address or network
	kindIPv6                        // an IPv6 address or network
	kindIP                          // either
	kindDomain                      // a domain name
	kindURL
	kindEmail
	kindMD5
	kindSHA1
	kindSHA256
	kindSHA512
	kindAccount
	kindASN
)

var kindTypes = map[valueKind]intel.Type{
	kindDomain: intel.Domain, kindURL: intel.URL, kindEmail: intel.Email, kindMD5: intel.MD5,
	kindSHA1: intel.SHA1, kindSHA256: intel.SHA256, kindSHA512: intel.SHA512, kindAccount: intel.Account,
	kindASN: intel.ASN,
}

// normalize returns the observable for literal l.
func (k valueKind) normalize(l Literal) (intel.Observable, error) {
	if l.Kind != LitString && !(k == kindASN && l.Kind == LitInt) {
		return intel.Observable{}, fmt.Errorf("want a string literal, have %s", l.Kind)
	}
	switch k {
	case kindIPv4, kindIPv6, kindIP:
		return normalizeIP(k, l.Value)
	}
	return intel.Normalize(kindTypes[k], l.Value)
}

// normalizeIP reads v as an address or network of the family k asks for.
func normalizeIP(k valueKind, v string) (intel.Observable, error) {
	if !strings.Contains(v, "/") {
		t := intel.CIDR // an address of either family
		switch k {
		case kindIPv4:
			t = intel.IPv4
		case kindIPv6:
			t = intel.IPv6
		}
		return intel.Normalize(t, v)
	}
	o, err := intel.Normalize(intel.CIDR, v)
	if err != nil || k == kindIP {
		return o, err
	}
	is4 := o.Type == intel.IPv4
	if pfx, err := netip.ParsePrefix(o.Value); err == nil {
		is4 = pfx.Addr().Is4()
	}
	switch {
	case k == kindIPv4 && !is4:
		return intel.Observable{}, fmt.Errorf("invalid ipv4 %q: is an IPv6 network", v)
	case k == kindIPv6 && is4 && !strings.Contains(v, ":"):
		return intel.Observable{}, fmt.Errorf("invalid ipv6 %q: is an IPv4 network", v)
	}
	return o, nil
}

// simplePaths maps "type:property[.property]" to the kind of value the property holds.
var simplePaths = map[string]valueKind{
	"ipv4-addr:value":                kindIPv4,
	"ipv6-addr:value":                kindIPv6,
	"domain-name:value":              kindDomain,
	"url:value":                      kindURL,
	"email-addr:value":               kindEmail,
	"network-traffic:src_ref.value":  kindIP,
	"network-traffic:dst_ref.value":  kindIP,
	"email-message:from_ref.value":   kindEmail,
	"email-message:sender_ref.value": kindEmail,
	"user-account:account_login":     kindAccount,
	"user-account:user_id":           kindAccount,
	"autonomous-system:number":       kindASN,
}

// hashObjects are the object types whose hashes are IOCs.
var hashObjects = map[string]bool{"file": true, "artifact": true, "x509-certificate": true}

// hashNames maps a hash name, upper case without hyphens or underscores, to its kind and its
// STIX spelling.
var hashNames = map[string]struct {
	kind valueKind
	name string
}{
	"MD5":    {kindMD5, "MD5"},
	"SHA1":   {kindSHA1, "SHA-1"},
	"SHA256": {kindSHA256, "SHA-256"},
	"SHA512": {kindSHA512, "SHA-512"},
}

// hashKey folds the spellings of a hash name ("sha-256", "SHA_256") together.
var hashKey = strings.NewReplacer("-", "", "_", "")

// refKinds maps the types a reference may be constrained to by "x_ref.type = '…'".
var refKinds = map[string]valueKind{"ipv4-addr": kindIPv4, "ipv6-addr": kindIPv6, "domain-name": kindDomain}

// iocPath reports whether path names an IOC property, what kind of value it holds and its
// plain dotted form.
func iocPath(path Path) (valueKind, string, bool) {
	keys := make([]string, 0, len(path.Steps))
	for _, s := range path.Steps {
		if s.Kind != StepKey {
			return 0, "", false
		}
		keys = append(keys, s.Key)
	}
	if len(keys) == 2 && keys[0] == "hashes" && hashObjects[path.Object] {
		h, ok := hashNames[hashKey.Replace(strings.ToUpper(keys[1]))]
		return h.kind, "hashes." + h.name, ok
	}
	plain := strings.Join(keys, ".")
	k, ok := simplePaths[path.Object+":"+plain]
	return k, plain, ok
}

// refConstraint recognises an AND of one IOC test on a reference ("x:dst_ref.value = …") and
// tests of that reference's type ("x:dst_ref.type = 'ipv4-addr'"). It returns the IOC test and
// the type.
func refConstraint(g *CompGroup) (*Comparison, string, bool) {
	var value *Comparison
	var ref, refType string
	for _, o := range g.Operands {
		c, ok := o.(*Comparison)
		if !ok || c.Negated || c.Op != OpEq && c.Op != OpIn {
			return nil, "", false
		}
		if t, r, ok := typeTest(c); ok {
			if refType != "" && t != refType || ref != "" && r != ref {
				return nil, "", false
			}
			refType, ref = t, r
			continue
		}
		if value != nil {
			return nil, "", false
		}
		value = c
	}
	if value == nil || refType == "" || len(value.Path.Steps) != 2 {
		return nil, "", false
	}
	kind, _, ok := iocPath(value.Path)
	if !ok || value.Path.Object+":"+value.Path.Steps[0].Key != ref {
		return nil, "", false
	}
	switch {
	case kind == kindIP && refKinds[refType] != 0:
		return value, refType, true
	case kind == kindEmail && refType == "email-addr":
		return value, "", true // the type adds nothing to how the value is read
	}
	return nil, "", false
}

// typeTest recognises "obj:x_ref.type = 'name'" and returns the name and "obj:x_ref".
func typeTest(c *Comparison) (string, string, bool) {
	s := c.Path.Steps
	if c.Op != OpEq || c.Value.Kind != LitString || len(s) != 2 || s[0].Kind != StepKey || s[1].Kind != StepKey ||
		!strings.HasSuffix(s[0].Key, "_ref") || s[1].Key != "type" {
		return "", "", false
	}
	return c.Value.Value, c.Path.Object + ":" + s[0].Key, true
}
