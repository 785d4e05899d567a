package enrich

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// kind is how the value of an extracted field becomes an observable.
type kind uint8

const (
	kindNone    kind = iota
	kindIP           // ipv4 or ipv6
	kindAny          // intel.Detect, any type
	kindHost         // intel.Detect, kept only when an IP address or a domain
	kindHash         // intel.Detect, kept only when a hash
	kindDomain       // domain
	kindURL          // url
	kindEmail        // email
	kindAccount      // account
	kindMD5          // md5
	kindSHA1         // sha1
	kindSHA256       // sha256
	kindSHA512       // sha512
	kindJA3          // ja3
)

// ctxKey is the Context field a value goes to.
type ctxKey uint8

const (
	ctxNone ctxKey = iota
	ctxTimestamp
	ctxHostName
	ctxHostHostname
	ctxHostIP
	ctxUserName
	ctxOutcome
	ctxAction
	ctxKind
	ctxTactic
	ctxDataset
	ctxModule
	ctxZeekHost // internal: Zeek http host, for the composed URL
	ctxZeekURI  // internal: Zeek http uri
)

// ecsFields maps every ECS field omen extracts observables from to the kind of its values.
//
// Beyond the fields the issue lists, it holds source.nat.ip and destination.nat.ip (CEF's translated
// addresses) and source.user.name and destination.user.name (CEF's suser and duser), which are ECS
// fields of the same nature. url.domain takes an IP address as well as a domain, as ECS allows.
var ecsFields = map[string]kind{
	"source.ip":              kindIP,
	"destination.ip":         kindIP,
	"client.ip":              kindIP,
	"server.ip":              kindIP,
	"source.nat.ip":          kindIP,
	"destination.nat.ip":     kindIP,
	"source.address":         kindAny,
	"destination.address":    kindAny,
	"client.address":         kindAny,
	"server.address":         kindAny,
	"source.domain":          kindDomain,
	"destination.domain":     kindDomain,
	"client.domain":          kindDomain,
	"server.domain":          kindDomain,
	"dns.question.name":      kindDomain,
	"dns.answers.data":       kindHost,
	"url.full":               kindURL,
	"url.original":           kindURL,
	"url.domain":             kindHost,
	"http.request.referrer":  kindURL,
	"email.from.address":     kindEmail,
	"email.to.address":       kindEmail,
	"email.sender.address":   kindEmail,
	"email.reply_to.address": kindEmail,
	"user.name":              kindAccount,
	"user.email":             kindEmail,
	"source.user.name":       kindAccount,
	"destination.user.name":  kindAccount,
	"related.ip":             kindIP,
	"related.hosts":          kindHost,
	"related.hash":           kindHash,
	"related.user":           kindAccount,
	"tls.server.ja3s":        kindJA3,
	"tls.client.ja3":         kindJA3,
}

func init() {
	hashes := map[string]kind{"md5": kindMD5, "sha1": kindSHA1, "sha256": kindSHA256, "sha512": kindSHA512}
	for _, p := range []string{"file", "process", "process.parent", "dll", "email.attachments.file"} {
		for h, k := range hashes {
			ecsFields[p+".hash."+h] = k
		}
	}
}

// ctxFields maps the ECS fields the Context is filled from to their context key.
var ctxFields = map[string]ctxKey{
	"@timestamp":         ctxTimestamp,
	"host.name":          ctxHostName,
	"host.hostname":      ctxHostHostname,
	"host.ip":            ctxHostIP,
	"user.name":          ctxUserName,
	"event.outcome":      ctxOutcome,
	"event.action":       ctxAction,
	"event.kind":         ctxKind,
	"threat.tactic.name": ctxTactic,
	"event.dataset":      ctxDataset,
	"event.module":       ctxModule,
}

// ExtractedFields returns the ECS fields observables are extracted from, sorted. Hash fields are
// listed one by one (file.hash.md5, file.hash.sha1, ...).
func ExtractedFields() []string {
	out := make([]string, 0, len(ecsFields))
	for f := range ecsFields {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// ContextFields returns the ECS fields the [Context] is filled from, sorted.
func ContextFields() []string {
	out := make([]string, 0, len(ctxFields))
	for f := range ctxFields {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// observable turns the value s of a field of kind k into an observable. ok is false when s is not a
// valid value of that kind (the field is then skipped).
func observable(k kind, s string) (intel.Observable, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return intel.Observable{}, false
	}
	var (
		o   intel.Observable
		err error
	)
	switch k {
	case kindIP:
		return ipObservable(s)
	case kindAny:
		if o, ok := fastIP(s); ok {
			return o, true
		}
		o, err = intel.Detect(s)
	case kindHost:
		if o, ok := fastIP(s); ok {
			return o, true
		}
		o, err = intel.Detect(s)
		if err == nil && o.Type != intel.Domain && o.Type != intel.IPv4 && o.Type != intel.IPv6 {
			return intel.Observable{}, false
		}
	case kindHash:
		o, err = intel.Detect(s)
		if err == nil && !o.Type.IsHash() {
			return intel.Observable{}, false
		}
	case kindDomain:
		o, err = intel.Normalize(intel.Domain, s)
	case kindURL:
		o, err = intel.Normalize(intel.URL, s)
	case kindEmail:
		o, err = intel.Normalize(intel.Email, s)
	case kindAccount:
		o, err = intel.Normalize(intel.Account, s)
	case kindMD5:
		o, err = intel.Normalize(intel.MD5, s)
	case kindSHA1:
		o, err = intel.Normalize(intel.SHA1, s)
	case kindSHA256:
		o, err = intel.Normalize(intel.SHA256, s)
	case kindSHA512:
		o, err = intel.Normalize(intel.SHA512, s)
	case kindJA3:
		o, err = intel.Normalize(intel.JA3, s)
	default:
		return intel.Observable{}, false
	}
	return o, err == nil
}

// fastIP returns s as an address observable when it is a plain IP address, without the cost of a
// failed parse for the names and URLs that fields of several types mostly hold.
func fastIP(s string) (intel.Observable, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':') {
			return intel.Observable{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return intel.Observable{}, false
	}
	if a.Is4() {
		return intel.Observable{Type: intel.IPv4, Value: s}, true
	}
	if a.Is4In6() {
		return intel.Observable{Type: intel.IPv4, Value: a.Unmap().String()}, true
	}
	return intel.Observable{Type: intel.IPv6, Value: a.String()}, true
}

// ipObservable is the fast path for addresses: netip accepts exactly the canonical inputs of
// intel.Normalize (no leading zeros in IPv4 octets), and anything else goes through Normalize.
func ipObservable(s string) (intel.Observable, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		if a.Is4() {
			return intel.Observable{Type: intel.IPv4, Value: s}, true
		}
		if a.Is4In6() {
			return intel.Observable{Type: intel.IPv4, Value: a.Unmap().String()}, true
		}
		return intel.Observable{Type: intel.IPv6, Value: a.String()}, true
	}
	t := intel.IPv4
	if strings.IndexByte(s, ':') >= 0 {
		t = intel.IPv6
	}
	o, err := intel.Normalize(t, s)
	if err != nil || (o.Type != intel.IPv4 && o.Type != intel.IPv6) {
		return intel.Observable{}, false
	}
	return o, true
}
