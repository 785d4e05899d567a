package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/brand"
)

// runLookalike runs "lookalike ARGS" with stdin; the lead registers lookalikeCmd on the root, the
// test builds it on its own.
func runLookalike(t *testing.T, data, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errw, dataDir: data, logLevel: "error"}
	c := e.lookalikeCmd()
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errw)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(t.Context())
	return out.String(), errw.String(), err
}

func TestLookalikeCheckIssueExample(t *testing.T) {
	out, _, err := runLookalike(t, t.TempDir(), "", "check", "--brand", "paypal.com",
		"xn--pypal-4ve.com", "paypal-secure-login.com", "paypa1.com", "example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"xn--pypal-4ve.com: LOOKALIKE of paypal.com", "'а' (U+0430) for 'a'",
		"paypal-secure-login.com: LOOKALIKE of paypal.com", "combosquat",
		"paypa1.com: LOOKALIKE of paypal.com", "'1' for 'l'",
		"example.org: no lookalike",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runLookalike(t, t.TempDir(), "", "check", "--brand", "paypal.com", "--json", "paypa1.com", "example.org")
	var got struct{ Verdicts []lookalikeVerdict }
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.Verdicts) != 2 {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if v := got.Verdicts[0]; !v.Lookalike || v.Hits[0].Domain != "paypal.com" || v.Hits[0].Technique != "homoglyph" {
		t.Errorf("paypa1.com: %+v", v)
	}
	if v := got.Verdicts[1]; v.Lookalike || v.Hits != nil {
		t.Errorf("example.org: %+v", v)
	}
	if _, _, err := runLookalike(t, t.TempDir(), "", "check", "--brand", "com", "x.com"); err == nil {
		t.Error("--brand com: no error")
	}
}

func TestLookalikeCheckFromInventory(t *testing.T) {
	data := filepath.Join(t.TempDir(), "omen-data")
	csv := filepath.Join(t.TempDir(), "assets.csv")
	if err := os.WriteFile(csv, []byte("kind,name,values,keywords\nbrand,Contoso,contoso.com,contoso bank\ndomain,Fabrikam,fabrikam.net,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errw, dataDir: data, logLevel: "error"}
	c := e.assetsCmd()
	c.SetArgs([]string{"import", csv})
	c.SilenceUsage, c.SilenceErrors = true, true
	if err := c.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("import: %v %s", err, errw.String())
	}
	got, _, err := runLookalike(t, data, "", "check", "c0ntoso.com", "fabrlkam.net", "login.contoso.com", "contosobank-verify.com", "example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"c0ntoso.com: LOOKALIKE of contoso.com (Contoso)", "fabrlkam.net: LOOKALIKE of fabrikam.net (Fabrikam)",
		"login.contoso.com: no lookalike", "contosobank-verify.com: LOOKALIKE", "example.org: no lookalike"} {
		if !strings.Contains(got, want) {
			t.Errorf("check lacks %q:\n%s", want, got)
		}
	}
	// An empty inventory is an error that says what to do.
	if _, _, err := runLookalike(t, filepath.Join(t.TempDir(), "empty"), "", "check", "x.com"); err == nil || !strings.Contains(err.Error(), "--brand") {
		t.Errorf("empty inventory: %v", err)
	}
}

func TestLookalikeScan(t *testing.T) {
	in := "# names\nxn--pypal-4ve.com\n\nexample.org\npaypal.com.evil.net\nwww.paypal.com\npaypal-login.top\n"
	out, _, err := runLookalike(t, t.TempDir(), in, "scan", "--brand", "paypal.com")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "xn--pypal-4ve.com\tpaypal.com\thomoglyph") ||
		!strings.HasPrefix(lines[1], "paypal.com.evil.net\tpaypal.com\tsubdomain-trick") || !strings.HasPrefix(lines[2], "paypal-login.top\t") {
		t.Errorf("scan:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "names.txt")
	if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runLookalike(t, t.TempDir(), "", "scan", "--in", file, "--brand", "paypal.com", "--brand", "google.com", "--json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	n := 0
	for dec.More() {
		var f lookalikeFlag
		if err := dec.Decode(&f); err != nil {
			t.Fatal(err)
		}
		if f.Name == "" || f.Domain != "paypal.com" || f.Explanation == "" {
			t.Errorf("scan --json: %+v", f)
		}
		n++
	}
	if n != 3 {
		t.Errorf("scan --json: %d objects:\n%s", n, out)
	}
	if _, _, err := runLookalike(t, t.TempDir(), "", "scan", "--in", filepath.Join(t.TempDir(), "missing"), "--brand", "paypal.com"); err == nil {
		t.Error("missing file: no error")
	}
	if _, _, err := runLookalike(t, t.TempDir(), strings.Repeat("a", 70000), "scan", "--brand", "paypal.com"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("over-long line: %v", err)
	}
}

func TestLookalikeGenerate(t *testing.T) {
	out, _, err := runLookalike(t, t.TempDir(), "", "generate", "paypal.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"addition       paypala.com", "homoglyph", "tld-swap       paypal.net"} {
		if !strings.Contains(out, want) {
			t.Errorf("generate lacks %q", want)
		}
	}
	out, _, err = runLookalike(t, t.TempDir(), "", "generate", "--json", "paypal.com")
	var perms []brand.Permutation
	if err != nil || json.Unmarshal([]byte(out), &perms) != nil || len(perms) < 1000 {
		t.Fatalf("generate --json: %v, %d permutations", err, len(perms))
	}
	if _, _, err := runLookalike(t, t.TempDir(), "", "generate", "not a domain"); err == nil {
		t.Error("bad domain: no error")
	}
}
