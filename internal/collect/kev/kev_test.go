package kev_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/collect/kev"
)

func TestParseGenuine(t *testing.T) {
	c, err := kev.Parse("testdata/known_exploited_vulnerabilities.head.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Vulnerabilities) != 80 || c.CatalogVersion != "2025.08.25" {
		t.Fatalf("%d vulnerabilities, version %s", len(c.Vulnerabilities), c.CatalogVersion)
	}
	v := c.Vulnerabilities[0]
	if v.CVE != "CVE-2025-48384" || v.Vendor != "Git" || v.DueDate != "2025-09-15" || len(v.CWEs) != 2 {
		t.Errorf("first entry %+v", v)
	}
	ransom := 0
	for _, v := range c.Vulnerabilities {
		if strings.EqualFold(v.KnownRansomware, "Known") {
			ransom++
		}
	}
	if ransom != 6 {
		t.Errorf("%d with known ransomware use, want 6", ransom)
	}
	if kev.EntityID("CVE-2025-48384") != "vulnerability--cve-2025-48384" {
		t.Error(kev.EntityID("CVE-2025-48384"))
	}
}

func TestParseBad(t *testing.T) {
	for name, in := range map[string]string{
		"html":      "<!DOCTYPE html><html></html>",
		"truncated": `{"title":"CISA Catalog","vulnerabilities":[{"cveID":"CVE-2025-48384"`,
		"no array":  `{"title":"something else"}`,
	} {
		p := filepath.Join(t.TempDir(), "kev.json")
		os.WriteFile(p, []byte(in), 0o644)
		if _, err := kev.Parse(p); err == nil || !strings.Contains(err.Error(), "rejected the input") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/known_exploited_vulnerabilities.head.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:4096])
	f.Add([]byte(`{"vulnerabilities":[{"cveID":"CVE-2021-44228","cwes":["CWE-20"]}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "kev.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		kev.Parse(p) // never panics; errors are fine
	})
}
