package pattern_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/stix/pattern"
)

// parseTests are valid patterns and their canonical forms ("" means the input is canonical).
var parseTests = []struct {
	in, want string
}{
	// Observations and white space.
	{"[ipv4-addr:value = '198.51.100.1']", ""},
	{"[ ipv4-addr:value = '10.0.0.0' ]", "[ipv4-addr:value = '10.0.0.0']"},
	{"[ a : b . c = 1 ]", "[a:b.c = 1]"},
	{"\t[a:b=1]\r\n", "[a:b = 1]"},
	{"[a:b\u00a0=\u30001]\u2028", "[a:b = 1]"},
	{"/* c2 */ [a:b = 1] // trailing", "[a:b = 1]"},
	{"[a:b = /* inline */ 1]", "[a:b = 1]"},

	// Comparison operators.
	{"[a:b == 1]", "[a:b = 1]"},
	{"[a:b != 1]", ""},
	{"[a:b <> 1]", "[a:b != 1]"},
	{"[file:size < 1024]", ""},
	{"[file:size <= 1024]", ""},
	{"[file:size > 1024]", ""},
	{"[file:size >= 1024]", ""},
	{"[file:size NOT > 1024]", ""},
	{"[a:b NOT = 'x']", ""},
	{"[a:b NOT != 'x']", ""},
	{"[a:b IN ('x', 'y')]", ""},
	{"[a:b IN ('x','y' , 'z')]", "[a:b IN ('x', 'y', 'z')]"},
	{"[a:b IN ()]", ""},
	{"[a:b NOT IN (1, 2.5, true, t'2016-01-01T00:00:00Z', h'ff', b'AAEC')]", ""},
	{"[file:name LIKE 'report%.exe']", ""},
	{"[file:name NOT LIKE 'a_b']", ""},
	{"[email-message:subject MATCHES '^[IMPORTANT] Please Review Before']", ""},
	{"[a:b NOT MATCHES 'x']", ""},
	{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", ""},
	{"[ipv4-addr:value NOT ISSUBSET '198.51.100.0/24']", ""},
	{"[ipv4-addr:value ISSUPERSET '198.51.100.1']", ""},
	{"[ipv4-addr:value NOT ISSUPERSET '198.51.100.1']", ""},
	{"[EXISTS windows-registry-key:values]", ""},
	{"[NOT EXISTS file:hashes.MD5]", ""},
	{"[EXISTS a:b AND a:c = 1]", ""},

	// Object paths.
	{"[email-message:body_multipart[*].body_raw_ref.name MATCHES 'x']", ""},
	{"[a:b[0] = 1]", ""},
	{"[a:b[-1] = 1]", ""},
	{"[a:b[+1] = 1]", "[a:b[1] = 1]"},
	{"[a:b [ * ] . c = 1]", "[a:b[*].c = 1]"},
	{"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]", ""},
	{"[x-acme-widget:'quoted-prop' = 1]", ""},
	{"[x_type:'simple'.'key' = 1]", "[x_type:simple.key = 1]"},
	{"[a:'AND' = 1]", ""},
	{"[a:b.'true'.'x y'.'it\\'s' = 1]", ""},
	{"[file:hashes.SHA-256 = 'x']", "[file:hashes.'SHA-256' = 'x']"},
	{"[file:hashes.'' = 'x']", ""},
	{"[_a-b-:c_1 = 1]", ""},

	// Literals.
	{"[a:b = 'it\\'s']", ""},
	{"[a:b = 'a\\\\b']", ""},
	{"[a:b = '\\d+\\.exe']", "[a:b = '\\\\d+\\\\.exe']"},
	{"[a:b = '']", ""},
	{"[a:b = 'línea\nnueva ☃']", ""},
	{"[a:b = +5]", "[a:b = 5]"},
	{"[a:b = -5]", ""},
	{"[a:b = 0]", ""},
	{"[a:b = -0]", ""},
	{"[a:b = .5]", ""},
	{"[a:b = -1.25]", ""},
	{"[a:b = +0.5]", "[a:b = 0.5]"},
	{"[a:b = true]", ""},
	{"[a:b = false]", ""},
	{"[file:created = t'2014-01-13T07:03:17Z']", ""},
	{"[file:created > t'2016-02-29T23:59:60.123456Z']", ""},
	{"[a:b = h'ff00AB']", ""},
	{"[a:b = h'']", ""},
	{"[artifact:payload_bin = b'AAEC']", ""},
	{"[a:b = b'QQ==']", ""},
	{"[a:b = b'QUI=']", ""},
	{"[a:b = 123456789012345678901234567890]", ""},

	// Observation operators and their precedence: FOLLOWEDBY < OR < AND.
	{"[a:b = 1] OR [c:d = 2]", ""},
	{"[a:b = 1] AND [c:d = 2]", ""},
	{"[a:b = 1] FOLLOWEDBY [c:d = 2]", ""},
	{"[a:b = 1] FOLLOWEDBY [a:b = 2] OR [a:b = 3] AND [a:b = 4]", ""},
	{"([a:b = 1] FOLLOWEDBY [a:b = 2]) AND [a:b = 3]", ""},
	{"([a:b = 1] OR [a:b = 2]) AND [a:b = 3]", ""},
	{"[a:b = 1] OR ([a:b = 2] AND [a:b = 3])", "[a:b = 1] OR [a:b = 2] AND [a:b = 3]"},
	{"[a:b = 1] FOLLOWEDBY ([a:b = 2] OR [a:b = 3])", "[a:b = 1] FOLLOWEDBY [a:b = 2] OR [a:b = 3]"},
	{"[a:b = 1] OR ([a:b = 2] OR [a:b = 3])", ""},
	{"([a:b = 1] OR [a:b = 2]) OR [a:b = 3]", ""},
	{"(([a:b = 1]))", "[a:b = 1]"},

	// Comparison operators and their precedence: OR < AND.
	{"[a:b = 1 OR a:c = 2 AND a:d = 3]", ""},
	{"[(a:b = 1 OR a:c = 2) AND a:d = 3]", ""},
	{"[a:b = 1 OR (a:c = 2 AND a:d = 3)]", "[a:b = 1 OR a:c = 2 AND a:d = 3]"},
	{"[a:b = 1 AND (a:c = 2 AND a:d = 3)]", ""},
	{"[((a:b = 1))]", "[a:b = 1]"},

	// Qualifiers.
	{"[a:b = 1] WITHIN 5 SECONDS", ""},
	{"[a:b = 1] WITHIN 2.5 SECONDS", ""},
	{"[a:b = 1] WITHIN +5 SECONDS", "[a:b = 1] WITHIN 5 SECONDS"},
	{"[a:b = 1] REPEATS 3 TIMES", ""},
	{"[a:b = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", ""},
	{"[a:b = 1] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'", ""},
	{"[a:b = 1] REPEATS 5 TIMES WITHIN 180 SECONDS", ""},
	{"([a:b = 1] OR [c:d = 2]) WITHIN 5 SECONDS", ""},
	{"([a:b = 1] WITHIN 5 SECONDS) REPEATS 2 TIMES", "[a:b = 1] WITHIN 5 SECONDS REPEATS 2 TIMES"},
	{"[a:b = 1] WITHIN 5 SECONDS OR [c:d = 2]", ""},
	{"[a:b = 1] OR [c:d = 2] WITHIN 5 SECONDS", ""},

	// Examples from the STIX 2.1 specification.
	{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']", ""},
	{"[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']", ""},
	{"[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul']", ""},
	{"[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1']", ""},
	{"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] REPEATS 5 TIMES WITHIN 1800 SECONDS", ""},
	{"([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS", ""},
	{"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']", ""},
	{"[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\CryptoLocker\\\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\Microsoft\\\\CurrentVersion\\\\Run\\\\CryptoLocker_0388']", ""},
	{"[domain-name:value = 'domain autuo.xicp.net' OR domain-name:value = 'autuo.xicp.net']", ""},
	{"[process:extensions.'windows-process-ext'.aslr_enabled = true]", ""},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.in, func(t *testing.T) {
			p := checkRoundTrip(t, tc.in)
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got := p.String(); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
		})
	}
}

// TestParseAST checks the tree, where String cannot show it.
func TestParseAST(t *testing.T) {
	p, err := pattern.Parse("[a:b = 1] FOLLOWEDBY [a:b = 2] OR [x-c:'d-e'[*].f NOT IN ('x', 2)] AND [a:b = 4] WITHIN 5 SECONDS")
	if err != nil {
		t.Fatal(err)
	}
	obs := func(path pattern.Path, lit pattern.Literal) *pattern.Observation {
		return &pattern.Observation{Comparison: &pattern.Comparison{Path: path, Op: pattern.OpEq, Value: lit}}
	}
	ab := pattern.Path{Object: "a", Steps: []pattern.Step{{Kind: pattern.StepKey, Key: "b"}}}
	one, two, four := pattern.Literal{Kind: pattern.LitInt, Value: "1"}, pattern.Literal{Kind: pattern.LitInt, Value: "2"}, pattern.Literal{Kind: pattern.LitInt, Value: "4"}
	want := &pattern.Pattern{Root: &pattern.ObsGroup{Op: pattern.ObsFollowedBy, Operands: []pattern.ObsExpr{
		obs(ab, one),
		&pattern.ObsGroup{Op: pattern.ObsOr, Operands: []pattern.ObsExpr{
			obs(ab, two),
			&pattern.ObsGroup{Op: pattern.ObsAnd, Operands: []pattern.ObsExpr{
				&pattern.Observation{Comparison: &pattern.Comparison{
					Path: pattern.Path{Object: "x-c", Steps: []pattern.Step{
						{Kind: pattern.StepKey, Key: "d-e"}, {Kind: pattern.StepAny}, {Kind: pattern.StepKey, Key: "f"}}},
					Negated: true,
					Op:      pattern.OpIn,
					Set:     []pattern.Literal{{Kind: pattern.LitString, Value: "x"}, two},
				}},
				&pattern.Qualified{Expr: obs(ab, four), Qualifiers: []pattern.Qualifier{
					{Kind: pattern.QualWithin, N: pattern.Literal{Kind: pattern.LitInt, Value: "5"}}}},
			}},
		}},
	}}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Parse gave %s, not the expected tree", p)
	}
}

// parseErrorTests are invalid patterns and their errors.
var parseErrorTests = []struct {
	in, err string
}{
	{"", "offset 0: expected '[' or '('"},
	{"   ", "offset 3: expected '[' or '('"},
	{"ipv4-addr:value = '1'", "offset 0: expected '[' or '('"},
	{"[ipv4-addr:value = '1.2.3.4'", "offset 28: expected ']'"},
	{"[ipv4-addr:value = '1.2.3.4' OR]", "offset 31: expected object path"},
	{"[ipv4-addr:value = '1'] OR", "offset 26: expected '[' or '('"},
	{"[ipv4-addr:value '1']", "offset 17: expected comparison operator"},
	{"[ipv4-addr = '1']", "offset 11: expected ':'"},
	{"[:value = '1']", "offset 1: expected object path"},
	{"[AND:value = 1]", "offset 1: expected object path"},
	{"[a:AND = 1]", "offset 3: expected property name"},
	{"[a:b.AND = 1]", "offset 5: expected property name"},
	{"[a:b. = 1]", "offset 6: expected property name"},
	{"[a:b = 'x", "offset 7: unterminated string"},
	{"[a:b = 'x\\']", "offset 7: unterminated string"},
	{"[a:b = t'2016-13-01T00:00:00Z']", "offset 7: invalid timestamp literal"},
	{"[a:b = t'2016-01-01 00:00:00Z']", "offset 7: invalid timestamp literal"},
	{"[a:b = t'2016-01-01T00:00:00']", "offset 7: invalid timestamp literal"},
	{"[a:b = t'2016-01-01T00:00:00.Z']", "offset 7: invalid timestamp literal"},
	{"[a:b = h'abc']", "offset 7: invalid hex literal"},
	{"[a:b = h'zz']", "offset 7: invalid hex literal"},
	{"[a:b = b'AAA']", "offset 7: invalid binary literal"},
	{"[a:b = b'']", "offset 7: invalid binary literal"},
	{"[a:b = 007]", "offset 7: invalid number: leading zero"},
	{"[a:b = -]", "offset 7: invalid number"},
	{"[a:b = 1.]", "offset 8: expected ']'"},
	{"[a:b = True]", "offset 7: expected a literal"},
	{"[a:b = c]", "offset 7: expected a literal"},
	{"[a:b < true]", "offset 7: expected an orderable literal"},
	{"[a:b LIKE 5]", "offset 10: expected a string literal"},
	{"[a:b MATCHES t'2016-01-01T00:00:00Z']", "offset 13: expected a string literal"},
	{"[a:b IN 'x']", "offset 8: expected '('"},
	{"[a:b IN ('x' 'y')]", "offset 13: expected ')'"},
	{"[a:b IN ('x',)]", "offset 13: expected a literal"},
	{"[a:b NOT EXISTS]", "offset 9: expected comparison operator"},
	{"[EXISTS]", "offset 7: expected object path"},
	{"[NOT a:b = 1]", "offset 5: expected EXISTS"},
	{"[a:b = 1] WITHIN -5 SECONDS", "offset 17: expected a positive number of seconds"},
	{"[a:b = 1] WITHIN 5", "offset 18: expected SECONDS"},
	{"[a:b = 1] WITHIN 5 MINUTES", "offset 19: expected SECONDS"},
	{"[a:b = 1] REPEATS 2.5 TIMES", "offset 18: expected a positive integer"},
	{"[a:b = 1] REPEATS 2", "offset 19: expected TIMES"},
	{"[a:b = 1] START t'2016-01-01T00:00:00Z'", "offset 39: expected STOP"},
	{"[a:b = 1] START 5 STOP 6", "offset 16: expected a timestamp"},
	{"[a:b = 1] START t'2016-01-01T00:00:00Z' STOP 6", "offset 45: expected a timestamp"},
	{"[a:b = 1] [c:d = 2]", "offset 10: expected end of pattern or FOLLOWEDBY, OR, AND, START, WITHIN, REPEATS"},
	{"[a:b = 1] and [c:d = 2]", "offset 10: expected end of pattern or FOLLOWEDBY, OR, AND, START, WITHIN, REPEATS"},
	{"([a:b = 1]", "offset 10: expected ')'"},
	{"[(a:b = 1]", "offset 9: expected ')'"},
	{"[a:b = 1 $]", "offset 9: unexpected character '$'"},
	{"[a:b = 1]\x00", "offset 9: unexpected character '\\x00'"},
	{"[a:b = 1]\xff", "offset 9: invalid UTF-8"},
	{"[a:b = 1] ☃", "offset 10: unexpected character '☃'"},
	{"[a:b[x] = 1]", "offset 5: expected list index or '*'"},
	{"[a:b[1.5] = 1]", "offset 5: expected list index or '*'"},
	{"[a:b[1 = 1]", "offset 7: expected ']'"},
	{"[a:b[99999999999999999999] = 1]", "offset 5: index out of range"},
	{"[a:b = 1 /* x", "offset 9: unterminated comment"},
	{"[a:b = true AND]", "offset 15: expected object path"},
	{"[a:b = 1]]", "offset 9: expected end of pattern or FOLLOWEDBY, OR, AND, START, WITHIN, REPEATS"},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrorTests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := pattern.Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error %q", tc.in, p, tc.err)
			}
			if want := "pattern: " + tc.err; err.Error() != want {
				t.Errorf("Parse(%q) error = %q, want %q", tc.in, err, want)
			}
			var se *pattern.SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error is %T, not *SyntaxError", err)
			}
		})
	}
}

func TestParseDepth(t *testing.T) {
	nest := func(n int) string {
		return strings.Repeat("(", n) + "[" + strings.Repeat("(", n) + "a:b = 1" + strings.Repeat(")", n) + "]" + strings.Repeat(")", n)
	}
	if _, err := pattern.Parse(nest(99)); err != nil {
		t.Errorf("199 levels: %v", err)
	}
	_, err := pattern.Parse(nest(100))
	if want := "pattern: offset 200: nesting deeper than 200"; err == nil || err.Error() != want {
		t.Errorf("201 levels: error %v, want %q", err, want)
	}
	_, err = pattern.Parse(strings.Repeat("(", 1<<20))
	if want := "pattern: offset 200: nesting deeper than 200"; err == nil || err.Error() != want {
		t.Errorf("1Mi parentheses: error %v, want %q", err, want)
	}
}

// TestParseLong checks that long flat chains parse, print and reduce without deep recursion.
func TestParseLong(t *testing.T) {
	const n = 100000
	obs := strings.TrimSuffix(strings.Repeat("[a:b = 1] OR ", n), " OR ")
	cmp := "[" + strings.TrimSuffix(strings.Repeat("a:b = 1 AND ", n), " AND ") + "]"
	quals := "[a:b = 1]" + strings.Repeat(" WITHIN 1 SECONDS", n)
	for _, in := range []string{obs, cmp, quals} {
		p, err := pattern.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != in {
			t.Errorf("long pattern does not print back as written")
		}
		p.Reduce()
	}
}

func BenchmarkParse(b *testing.B) {
	inputs := []string{
		"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
		"[domain-name:value = 'a.example.com' OR domain-name:value = 'b.example.com' OR ipv4-addr:value = '198.51.100.7']",
		"([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS",
		"[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
	}
	var size int64
	for _, in := range inputs {
		size += int64(len(in))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range inputs {
			if _, err := pattern.Parse(in); err != nil {
				b.Fatal(err)
			}
		}
	}
}
