package sqlite

import "testing"

func TestPlainJSON(t *testing.T) {
	slow := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	base := "http://evil.example/path/a.php?x=1"
	for i := 0; i <= len(base); i++ {
		for _, c := range []byte{0, 0x1f, 0x20, '!', '"', '#', '\\', ']', 0x7e, 0x7f, 0x80, 0xff} {
			s := base[:i] + string([]byte{c}) + base[i:]
			if got, want := plainJSON(s), slow(s); got != want {
				t.Errorf("plainJSON(%q) = %v, want %v", s, got, want)
			}
		}
	}
	if !plainJSON("") || !plainJSON(base) {
		t.Error("plain strings not plain")
	}
}

func TestStringsRoundTrip(t *testing.T) {
	for _, in := range [][]string{
		nil, {""}, {"a"}, {"a", "b"}, {"botnet", "emotet", "c2"}, {`q"uote`, "back\\slash"}, {"ü", "日本"},
		{"a,b", `","`}, {"tab\there", "nul\x00"}, {"<script>&"},
	} {
		enc := encodeStrings(in)
		got, err := decodeStrings(enc)
		if err != nil {
			t.Fatalf("decodeStrings(%q): %v", enc, err)
		}
		if len(got) != len(in) {
			t.Fatalf("round trip of %q via %q = %q", in, enc, got)
		}
		for i := range in {
			if got[i] != in[i] {
				t.Errorf("round trip of %q via %q = %q", in, enc, got)
			}
		}
	}
	for _, bad := range []string{"[", `["a"`, `["a",]`, `["a" "b"]`, `[1]`, `x`} {
		if _, ok := decodePlainStrings(bad); ok {
			t.Errorf("decodePlainStrings(%q) accepted", bad)
		}
	}
}
