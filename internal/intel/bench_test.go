package intel_test

import (
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
)

// detectBench is a mix of the values an import or a search box sees.
var detectBench = []string{
	"1.2.3.4", "evil.com", "www.evil.co.uk", "https://evil.com/a/b.php?id=1", "hxxps://evil[.]com/x",
	"user@evil.com", "d41d8cd98f00b204e9800998ecf8427e",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "2001:db8::1", "10.0.0.0/8",
	"CVE-2021-44228", "AS13335", "bücher.de", "readme.txt",
}

func BenchmarkDetect(b *testing.B) {
	for _, in := range detectBench {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				intel.Detect(in)
			}
		})
	}
}

func BenchmarkExtract(b *testing.B) {
	report := strings.Repeat("APT report: the loader at hxxps://evil[.]com/a/b.php?id=1 drops "+
		"d41d8cd98f00b204e9800998ecf8427e and beacons to 1.2.3[.]4:443 and 2001:db8::1, exploiting "+
		"CVE-2021-44228 (see https://nvd.nist.gov/vuln/detail/CVE-2021-44228). Version 10.0.19041.1 at "+
		"12:30:45, readme.txt, e.g. contact user@example.org. The quick brown fox jumps over the lazy dog.\n", 20)
	inputs := map[string]string{
		"report":     report,
		"prose":      strings.Repeat("The quick brown fox jumps over the lazy dog, as one does. ", 100),
		"kev":        readTestdata(b, "kev-head.json.txt"),
		"misp-event": readTestdata(b, "misp-event-with-sightings.json"),
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				intel.Extract(in)
			}
		})
	}
}

func BenchmarkRefang(b *testing.B) {
	clean := strings.Repeat("The C2 at https://evil.com/a (see [1]) and user@example.org. ", 50)
	for name, in := range map[string]string{"clean": clean, "defanged": strings.ReplaceAll(clean, ".", "[.]")} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				intel.Refang(in)
			}
		})
	}
}
