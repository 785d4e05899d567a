package assets_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
)

func parseFile(t *testing.T, name string) assets.Result {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	format, err := assets.FormatOf(name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := assets.Parse(f, format)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// wantGood is what every good.* file holds, in canonical form.
var wantGood = []intel.Asset{
	{Kind: "network", Name: "HQ LAN", Values: []string{"10.0.0.0/8", "192.168.10.0/24"}, Criticality: intel.CriticalityHigh,
		DataClass: "internal", Owner: "Network team", Exposure: "internal", Attributes: map[string]string{"location": "Paris"}},
	{Kind: "network", Name: "DMZ", Values: []string{"2001:db8:10::/48", "203.0.113.0/24"}, Criticality: intel.CriticalityExtreme,
		DataClass: "confidential", Service: "Web shop", Owner: "Network team", Exposure: "internet-facing",
		Attributes: map[string]string{"service_tier": "1"}},
	{Kind: "domain", Name: "example.com", Values: []string{"example.com", "shop.example.com"}, Criticality: intel.CriticalityHigh,
		DataClass: "public", Service: "Web shop", Owner: "Web team", Exposure: "internet-facing",
		Attributes: map[string]string{"service_tier": "1"}},
	{Kind: "host", Name: "fin-lt-0231", Values: []string{"10.20.30.40", "fin-lt-0231", "fin-lt-0231.corp.local"},
		Criticality: intel.CriticalityHigh, DataClass: "confidential", Service: "SAP-FI", Owner: "Finance", Exposure: "internal",
		Attributes: map[string]string{"service_tier": "2"}},
	{Kind: "person", Name: "Jane Doe", Values: []string{`corp\jdoe`, "jane.doe@example.com"}, Criticality: intel.CriticalityHigh,
		DataClass: "restricted", Owner: "IT", Exposure: "internal", Attributes: map[string]string{"privilege": "admin"}},
	{Kind: "technology", Name: "Edge VPN", Values: []string{"cpe:2.3:a:fortinet:fortios:7.2.4:*:*:*:*:*:*:*"},
		Criticality: intel.CriticalityExtreme, Service: "Remote access", Owner: "Network team", Exposure: "internet-facing",
		Attributes: map[string]string{"service_tier": "0", "vendor": "Fortinet", "product": "FortiOS", "version": "7.2.4"}},
	{Kind: "technology", Name: "Web server", Values: []string{"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*"},
		Criticality: intel.CriticalityMedium, Service: "Web shop", Owner: "Web team", Exposure: "internet-facing",
		Attributes: map[string]string{"vendor": "apache", "product": "http_server", "version": "2.4.58"}},
	{Kind: "brand", Name: "Example Bank", Values: []string{"example bank", "example-bank.com", "exbank"},
		Criticality: intel.CriticalityHigh, Owner: "Marketing", Exposure: "internet-facing"},
}

func TestParseGood(t *testing.T) {
	for _, name := range []string{"good.csv", "good.yaml", "good.json"} {
		t.Run(name, func(t *testing.T) {
			res := parseFile(t, name)
			if len(res.Rejects) > 0 {
				t.Fatalf("rejects: %v", res.Rejects)
			}
			if res.Read != len(wantGood) || len(res.Entries) != len(wantGood) {
				t.Fatalf("read %d, %d entries; want %d", res.Read, len(res.Entries), len(wantGood))
			}
			for i, e := range res.Entries {
				if !assets.Same(e.Asset, wantGood[i]) {
					t.Errorf("asset %d:\n got %+v\nwant %+v", i+1, e.Asset, wantGood[i])
				}
			}
		})
	}
}

func TestParseBroken(t *testing.T) {
	type reject struct {
		line, index int
		err         string // a part of the message
	}
	tests := []struct {
		file     string
		read     int
		accepted []int // lines of the accepted records
		rejects  []reject
	}{
		{"broken.csv", 11, []int{2, 13}, []reject{
			{3, 0, `invalid cidr "10.1.0.0/33"`},
			{4, 0, "a host asset needs at least one value (hostnames or ips)"},
			{5, 0, `privilege "root": want standard, service, privileged, admin`},
			{6, 0, `kind "planet"`},
			{7, 0, "3 fields, the header has 7"},
			{8, 0, "a CPE 2.2 URI"},
			{9, 0, `criticality "urgent": want low, medium, high, extreme; exposure "everywhere"`},
			{10, 0, `duplicate network asset "Good net": first at line 2`},
			{11, 0, `bare " in non-quoted-field`},
		}},
		{"broken.yaml", 8, []int{1, 20}, []reject{
			{4, 2, `invalid cidr "10.1.0.0/33"`},
			{9, 3, `unknown field "ipz"`},
			{10, 4, `privilege "root"`},
			{14, 5, "string was used where mapping is expected"},
			{15, 6, "a technology asset needs a cpe, or a vendor and a product"},
			{17, 7, `duplicate network asset "Good net": first at line 1`},
		}},
		{"syntax.yaml", 0, nil, []reject{{3, 0, "could not find end character of double-quoted text"}}},
		{"broken.json", 8, []int{2, 8}, []reject{
			{3, 2, `invalid cidr "10.1.0.0/33"`},
			{4, 3, `unknown field "ipz"`},
			{5, 4, "emails: want a string or an array of strings"},
			{6, 5, "want an object"},
			{7, 6, `duplicate network asset "Good net": first at line 2`},
			{10, 8, `invalid character '"' after object key:value pair`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			res := parseFile(t, tc.file)
			if res.Read != tc.read {
				t.Errorf("read %d, want %d", res.Read, tc.read)
			}
			var lines []int
			for _, e := range res.Entries {
				lines = append(lines, e.Line)
			}
			if !slices.Equal(lines, tc.accepted) {
				t.Errorf("accepted lines %v, want %v", lines, tc.accepted)
			}
			if len(res.Rejects) != len(tc.rejects) {
				t.Fatalf("%d rejects, want %d: %v", len(res.Rejects), len(tc.rejects), res.Rejects)
			}
			for i, want := range tc.rejects {
				got := res.Rejects[i]
				if got.Line != want.line || got.Index != want.index || !strings.Contains(got.Error, want.err) {
					t.Errorf("reject %d: %s, want line %d asset %d: %s", i+1, got, want.line, want.index, want.err)
				}
			}
		})
	}
}

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name, in string
		format   assets.Format
		entries  int
		reject   string // "line N: ..." of the first reject, "" for none
	}{
		{"empty csv", "", assets.CSV, 0, ""},
		{"csv header only", "kind,name\n", assets.CSV, 0, ""},
		{"csv unknown column", "kind,name,colour\nnetwork,a,red\n", assets.CSV, 0, `line 1: header: unknown column "colour"`},
		{"csv no name column", "kind,values\nnetwork,10.0.0.0/8\n", assets.CSV, 0, `line 1: header: no "name" column`},
		{"csv column twice", "kind,name,Name\n", assets.CSV, 0, `line 1: header: column "Name" appears twice`},
		{"csv comments and blank rows", "# inventory\nkind,name,cidrs\n\n# a comment\nnetwork,a,10.0.0.0/8\n,,\n", assets.CSV, 1, ""},
		{"csv bom and header aliases", "\ufeffKind,Name,Data Classification,Business-Service,cidrs\nnetwork,a,internal,x,10.0.0.0/8\n", assets.CSV, 1, ""},
		{"csv field of another kind", "kind,name,cidrs,emails\nnetwork,a,10.0.0.0/8,a@example.com\n", assets.CSV, 0,
			"line 2: emails is not a field of a network asset"},
		{"csv reserved attribute", "kind,name,cidrs,attr.privilege\nnetwork,a,10.0.0.0/8,admin\n", assets.CSV, 0,
			`line 2: attribute "privilege": set it with its own field`},
		{"csv hostnames and ips split", "kind,name,hostnames,ips\nhost,h,a;b c,10.0.0.1 10.0.0.2\n", assets.CSV, 1, ""},
		{"yaml empty", "", assets.YAML, 0, ""},
		{"yaml null assets", "assets:\n", assets.YAML, 0, ""},
		{"yaml scalar", "hello\n", assets.YAML, 0, "line 1: want a list of assets or {assets: [...]}"},
		{"yaml unknown key", "things: []\n", assets.YAML, 0, `line 1: unknown field "things": want assets`},
		{"yaml assets not a list", "assets: 3\n", assets.YAML, 0, "line 1: assets must be a list"},
		{"yaml flow list", "[{kind: domain, name: example.com}, {kind: domain, name: example.org}]", assets.YAML, 2, ""},
		{"yaml two documents", "- {kind: domain, name: example.com}\n---\n- {kind: domain, name: example.org}\n", assets.YAML, 2, ""},
		{"json empty", "", assets.JSON, 0, ""},
		{"json empty list", "[]", assets.JSON, 0, ""},
		{"json number", "42", assets.JSON, 0, `line 1: want a list of assets or {"assets": [...]}`},
		{"json unknown key", `{"items": [], "assets": [{"kind":"domain","name":"example.com"}]}`, assets.JSON, 1,
			`line 1: unknown field "items"`},
		{"json truncated", "[{\"kind\":\"domain\",\"name\":\"example.com\"},\n{\"kind\"", assets.JSON, 1,
			"line 2: asset 2: unexpected end of JSON input"},
		{"json null element", "[null]", assets.JSON, 0, "line 1: asset 1: kind is missing"},
		{"json wrong type", `[{"kind":"network","name":"n","cidrs":"10.0.0.0/8","attributes":{"a":1}}]`, assets.JSON, 0,
			"line 1: asset 1: attributes: cannot unmarshal number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := assets.Parse(strings.NewReader(tc.in), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Entries) != tc.entries {
				t.Errorf("%d entries, want %d (rejects %v)", len(res.Entries), tc.entries, res.Rejects)
			}
			switch {
			case tc.reject == "" && len(res.Rejects) > 0:
				t.Errorf("unexpected rejects: %v", res.Rejects)
			case tc.reject != "" && (len(res.Rejects) == 0 || !strings.HasPrefix(res.Rejects[0].String(), tc.reject)):
				t.Errorf("rejects %v, want first %q", res.Rejects, tc.reject)
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	for in, want := range map[string]assets.Format{"a.csv": assets.CSV, "b.YML": assets.YAML, "c.yaml": assets.YAML, "d.json": assets.JSON} {
		if got, err := assets.FormatOf(in); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"inventory", "a.txt"} {
		if _, err := assets.FormatOf(in); err == nil || !strings.Contains(err.Error(), "--format") {
			t.Errorf("FormatOf(%q): %v, want an error that mentions --format", in, err)
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := assets.Parse(strings.NewReader(strings.Repeat(" ", assets.MaxFileSize+1)), assets.JSON)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v, want larger than", err)
	}
}
