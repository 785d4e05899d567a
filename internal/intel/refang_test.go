package intel_test

import (
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
)

var refangTests = []struct{ in, want string }{
	// schemes
	{"hxxp://evil.com", "http://evil.com"},
	{"hxxps://evil.com", "https://evil.com"},
	{"hXXps://evil.com", "https://evil.com"},
	{"HXXPS://EVIL.COM", "https://EVIL.COM"},
	{"fxp://files.evil.com", "ftp://files.evil.com"},
	{"fxps://files.evil.com", "ftps://files.evil.com"},
	{"hxxp[:]//evil.com", "http://evil.com"},
	{"hxxps[://]evil.com", "https://evil.com"},
	{"(hxxp://evil.com)", "(http://evil.com)"},
	{"shxxp://evil.com", "shxxp://evil.com"}, // not at the start of a word
	{"hxxpd", "hxxpd"},
	{"hxxp is not a scheme here", "hxxp is not a scheme here"},
	// dots
	{"evil[.]com", "evil.com"},
	{"evil(.)com", "evil.com"},
	{"evil{.}com", "evil.com"},
	{"evil[dot]com", "evil.com"},
	{"evil(DOT)com", "evil.com"},
	{"evil{dot}com", "evil.com"},
	{"evil[ . ]com", "evil.com"},
	{"evil[ dot ]com", "evil.com"},
	{"evil [.] com", "evil.com"},
	{"evil [dot] com", "evil.com"},
	{`evil\.com`, "evil.com"},
	{"1[.]2[.]3[.]4", "1.2.3.4"},
	{"[[.]]", "."},
	{"evil[[dot]]com", "evil.com"},
	{`evil\\.com`, "evil.com"},
	// at, colon, slash
	{"user[@]evil.com", "user@evil.com"},
	{"user[at]evil.com", "user@evil.com"},
	{"user(at)evil.com", "user@evil.com"},
	{"user{AT}evil.com", "user@evil.com"},
	{"user [at] evil.com", "user@evil.com"},
	{"http[:]//evil.com", "http://evil.com"},
	{"http[://]evil.com", "http://evil.com"},
	{"http:[/][/]evil.com[/]a", "http://evil.com/a"},
	{`https:\/\/evil.com\/a`, "https://evil.com/a"},
	// " dot " only in a refangable context
	{"hxxp://evil dot com/a", "http://evil.com/a"},
	{"user@evil dot com", "user@evil.com"},
	{"user[at]mail dot evil dot co dot uk", "user@mail.evil.co.uk"},
	{"evil[.]example dot com", "evil.example.com"},
	{"evil dot com", "evil dot com"},
	{"a dot com company", "a dot com company"},
	{"see the dot product", "see the dot product"},
	{"https://x.com/ and dot com", "https://x.com/ and dot com"},
	// nothing to do
	{"", ""},
	{"evil.com", "evil.com"},
	{"[x] (y) {z} [..] (...) [dots] (at the end)", "[x] (y) {z} [..] (...) [dots] (at the end)"},
	{"array[i] = f(x)", "array[i] = f(x)"},
	{"\xff[.]\xfe", "\xff.\xfe"},
}

func TestRefang(t *testing.T) {
	for _, tc := range refangTests {
		t.Run(testName(tc.in), func(t *testing.T) {
			got := intel.Refang(tc.in)
			if got != tc.want {
				t.Fatalf("Refang(%q) = %q; want %q", tc.in, got, tc.want)
			}
			if again := intel.Refang(got); again != got {
				t.Errorf("Refang(%q) = %q; not a fixed point", got, again)
			}
		})
	}
}

func TestRefangNoAlloc(t *testing.T) {
	clean := strings.Repeat("The C2 at https://evil.com/a (see report [1]) and user@example.org, v1.2.3. ", 100)
	if n := testing.AllocsPerRun(100, func() { _ = intel.Refang(clean) }); n != 0 {
		t.Errorf("Refang of clean text: %v allocations; want 0", n)
	}
	defanged := clean + "evil[.]com"
	if n := testing.AllocsPerRun(100, func() { _ = intel.Refang(defanged) }); n > 2 {
		t.Errorf("Refang of defanged text: %v allocations; want at most 2", n)
	}
}
