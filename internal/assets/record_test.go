package assets_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      assets.Record
		values  []string
		attrs   map[string]string
		wantErr string
	}{
		{"network address kept as an IP", assets.Record{Kind: "Network", Name: "n", CIDRs: assets.List{"10.0.0.1/32 ::ffff:10.0.0.2"}},
			[]string{"10.0.0.1", "10.0.0.2"}, nil, ""},
		{"network cidr masked", assets.Record{Kind: "network", Name: "n", Values: assets.List{"10.1.2.3/16"}}, []string{"10.1.0.0/16"}, nil, ""},
		{"network defanged", assets.Record{Kind: "network", Name: "n", Values: assets.List{"10[.]1.0.0/16"}}, []string{"10.1.0.0/16"}, nil, ""},
		{"network no values", assets.Record{Kind: "network", Name: "n"}, nil, nil, "a network asset needs at least one value (cidrs)"},
		{"domain from name", assets.Record{Kind: "domain", Name: "Example.COM."}, []string{"example.com"}, nil, ""},
		{"domain idn", assets.Record{Kind: "domain", Name: "d", Domains: assets.List{"bücher.example.com"}}, []string{"xn--bcher-kva.example.com"}, nil, ""},
		{"domain internal suffix", assets.Record{Kind: "domain", Name: "ad", Domains: assets.List{"CORP.LOCAL"}}, []string{"corp.local"}, nil, ""},
		{"domain public suffix", assets.Record{Kind: "domain", Name: "d", Domains: assets.List{"co.uk"}}, nil, nil, `"co.uk" is a public suffix`},
		{"domain is an IP", assets.Record{Kind: "domain", Name: "d", Domains: assets.List{"10.0.0.1"}}, nil, nil, "is an IP address"},
		{"host values detected", assets.Record{Kind: "host", Name: "h", Values: assets.List{"WEB01;2001:DB8::1 web01.example.com"}},
			[]string{"2001:db8::1", "web01", "web01.example.com"}, nil, ""},
		{"host ip in hostnames", assets.Record{Kind: "host", Name: "h", Hostnames: assets.List{"10.0.0.1"}}, nil, nil, "is an IP address: put it in ips"},
		{"host bad name", assets.Record{Kind: "host", Name: "h", Hostnames: assets.List{"web$01"}}, nil, nil, `invalid host name "web$01"`},
		{"host bad ip in values", assets.Record{Kind: "host", Name: "h", Values: assets.List{"300.1.1.1"}}, nil, nil, `invalid ipv4 "300.1.1.1"`},
		{"host numeric name", assets.Record{Kind: "host", Name: "h", Hostnames: assets.List{"web.300"}}, nil, nil, `invalid domain "web.300"`},
		{"host bad ip", assets.Record{Kind: "host", Name: "h", IPs: assets.List{"300.1.1.1"}}, nil, nil, `invalid ipv4 "300.1.1.1"`},
		{"person", assets.Record{Kind: "person", Name: "p", Values: assets.List{"mailto:Bob@Example.com", "BOB"}, Privilege: "Tier-0"},
			[]string{"bob", "bob@example.com"}, map[string]string{"privilege": "admin"}, ""},
		{"person service account", assets.Record{Kind: "person", Name: "svc", Usernames: assets.List{"svc_backup"}, Privilege: "service"},
			[]string{"svc_backup"}, map[string]string{"privilege": "service"}, ""},
		{"person bad email", assets.Record{Kind: "person", Name: "p", Emails: assets.List{"bob@"}}, nil, nil, `invalid email "bob@"`},
		{"person internal email", assets.Record{Kind: "person", Name: "p", Emails: assets.List{"Bob@Corp.Local"}}, []string{"bob@corp.local"}, nil, ""},
		{"technology from fields", assets.Record{Kind: "technology", Name: "t", Vendor: "Microsoft", Product: "Exchange Server", Version: "2019 CU14"},
			[]string{"cpe:2.3:a:microsoft:exchange_server:2019_cu14:*:*:*:*:*:*:*"},
			map[string]string{"vendor": "Microsoft", "product": "Exchange Server", "version": "2019 CU14"}, ""},
		{"technology punctuation quoted", assets.Record{Kind: "technology", Name: "t", Vendor: "AT&T", Product: "x"},
			[]string{`cpe:2.3:a:at\&t:x:*:*:*:*:*:*:*:*`}, map[string]string{"vendor": "AT&T", "product": "x"}, ""},
		{"technology cpe fills fields", assets.Record{Kind: "technology", Name: "t", CPE: assets.List{`CPE:2.3:o:Cisco:IOS\_XE:17.9.1:*:*:*:*:*:*:*`}},
			[]string{`cpe:2.3:o:cisco:ios\_xe:17.9.1:*:*:*:*:*:*:*`}, map[string]string{"vendor": "cisco", "product": "ios_xe", "version": "17.9.1"}, ""},
		{"technology short cpe", assets.Record{Kind: "technology", Name: "t", CPE: assets.List{"cpe:2.3:a:apache:http_server"}}, nil, nil, "5 components, want 13"},
		{"technology bad part", assets.Record{Kind: "technology", Name: "t", CPE: assets.List{"cpe:2.3:x:a:b:*:*:*:*:*:*:*:*"}}, nil, nil, `part "x"`},
		{"technology unquoted", assets.Record{Kind: "technology", Name: "t", CPE: assets.List{"cpe:2.3:a:a&b:b:*:*:*:*:*:*:*:*"}}, nil, nil, "component 4: character '&' must be quoted"},
		{"technology not a cpe", assets.Record{Kind: "technology", Name: "t", CPE: assets.List{"apache"}}, nil, nil, "want a CPE 2.3 formatted string"},
		{"technology vendor only", assets.Record{Kind: "technology", Name: "t", Vendor: "x"}, nil, nil, "needs a cpe, or a vendor and a product"},
		{"brand", assets.Record{Kind: "brand", Name: "Acme", Values: assets.List{"ACME.com"}, Keywords: assets.List{"Acme  Corp;acme-corp"}},
			[]string{"acme", "acme corp", "acme-corp", "acme.com"}, nil, ""},
		{"aliases", assets.Record{Kind: "domain", Name: "example.com", Criticality: "High_Impact", DataClassification: "Regulated",
			Exposure: "internal_routable", ServiceTier: "Tier-0"}, []string{"example.com"}, map[string]string{"service_tier": "0"}, ""},
		{"missing kind and name", assets.Record{}, nil, nil, "kind is missing: want network, domain, host, person, technology, brand; name is missing"},
		{"bad tier", assets.Record{Kind: "domain", Name: "example.com", ServiceTier: "4"}, nil, nil, `service tier "4": want 0, 1, 2 or 3`},
		{"bad data class", assets.Record{Kind: "domain", Name: "example.com", DataClassification: "secret"}, nil, nil,
			`data classification "secret": want public, internal, confidential, restricted`},
		{"control character", assets.Record{Kind: "domain", Name: "example.com", Owner: "a\x00b"}, nil, nil, "owner \"a\\x00b\": control character"},
		{"long name", assets.Record{Kind: "domain", Name: strings.Repeat("a", 300)}, nil, nil, "name: longer than 256 bytes"},
		{"bad attribute name", assets.Record{Kind: "domain", Name: "example.com", Attributes: map[string]string{"Site Name": "x"}}, nil, nil, `attribute name "Site Name"`},
		{"misplaced fields", assets.Record{Kind: "domain", Name: "example.com", Privilege: "admin", CPE: assets.List{"x"}}, nil, nil,
			"cpe is not a field of a domain asset; privilege is not a field of a domain asset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := assets.Normalize(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Values, tc.values) {
				t.Errorf("values %q, want %q", a.Values, tc.values)
			}
			for k, v := range tc.attrs {
				if a.Attributes[k] != v {
					t.Errorf("attribute %s = %q, want %q (all %v)", k, a.Attributes[k], v, a.Attributes)
				}
			}
			again, err := assets.Normalize(recordOf(a))
			if err != nil || !assets.Same(a, again) {
				t.Errorf("not idempotent: %+v, %v", again, err)
			}
		})
	}
}

// recordOf turns a normalised asset back into a record.
func recordOf(a intel.Asset) assets.Record {
	r := assets.Record{Kind: a.Kind, Name: a.Name, Criticality: assets.Text(a.Criticality), DataClassification: assets.Text(a.DataClass),
		BusinessService: assets.Text(a.Service), Owner: assets.Text(a.Owner), Exposure: assets.Text(a.Exposure), Attributes: map[string]string{}}
	for k, v := range a.Attributes {
		switch k {
		case assets.AttrPrivilege:
			r.Privilege = assets.Text(v)
		case assets.AttrVendor:
			r.Vendor = assets.Text(v)
		case assets.AttrProduct:
			r.Product = assets.Text(v)
		case assets.AttrVersion:
			r.Version = assets.Text(v)
		case assets.AttrServiceTier:
			r.ServiceTier = assets.Text(v)
		default:
			r.Attributes[k] = v
		}
	}
	for _, v := range assets.Values(a) {
		if v.Type == assets.Keyword {
			r.Keywords = append(r.Keywords, v.Value)
		} else {
			r.Values = append(r.Values, v.Value)
		}
	}
	if a.Kind == assets.KindTechnology {
		r.CPE, r.Values = r.Values, nil
	}
	return r
}

func TestScalarsKeptAsWritten(t *testing.T) {
	for _, tc := range []struct {
		format assets.Format
		in     string
	}{
		{assets.YAML, "- {kind: technology, name: t, vendor: v, product: p, version: 7.10, service_tier: 1}"},
		{assets.JSON, `[{"kind": "technology", "name": "t", "vendor": "v", "product": "p", "version": 7.10, "service_tier": 1}]`},
	} {
		res, err := assets.Parse(strings.NewReader(tc.in), tc.format)
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v %v", tc.format, err, res.Rejects)
		}
		a := res.Entries[0].Asset
		if a.Attributes["version"] != "7.10" || a.Values[0] != "cpe:2.3:a:v:p:7.10:*:*:*:*:*:*:*" {
			t.Errorf("%s: version %q, cpe %q", tc.format, a.Attributes["version"], a.Values[0])
		}
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		kind  string
		value string
		want  assets.ValueType
	}{
		{"network", "10.0.0.0/8", assets.CIDR},
		{"network", "10.0.0.1", assets.IPv4},
		{"host", "2001:db8::1", assets.IPv6},
		{"host", "web01", assets.Hostname},
		{"host", "web01.example.com", assets.Domain},
		{"domain", "example.com", assets.Domain},
		{"person", "bob@example.com", assets.Email},
		{"person", `corp\bob`, assets.Account},
		{"technology", "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", assets.CPE},
		{"brand", "acme.com", assets.Domain},
		{"brand", "acme corp", assets.Keyword},
	}
	for _, tc := range tests {
		got := assets.Values(intel.Asset{Kind: tc.kind, Values: []string{tc.value}})
		if got[0].Type != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.kind, tc.value, got[0].Type, tc.want)
		}
	}
}

func TestKey(t *testing.T) {
	a := intel.Asset{Kind: "host", Name: "WEB01 "}
	b := intel.Asset{Kind: "host", Name: "web01"}
	c := intel.Asset{Kind: "domain", Name: "web01"}
	if assets.Key(a) != assets.Key(b) || assets.Key(b) == assets.Key(c) {
		t.Errorf("keys %q %q %q", assets.Key(a), assets.Key(b), assets.Key(c))
	}
}
