package list_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/intel"
)

// repeat is an endless reader of one pattern, to build huge inputs without holding them.
type repeat struct {
	pat []byte
	i   int
}

func (r *repeat) Read(p []byte) (int, error) {
	for n := range p {
		p[n] = r.pat[r.i]
		r.i = (r.i + 1) % len(r.pat)
	}
	return len(p), nil
}

// hugeLine returns before + n bytes of pat + after as a stream.
func hugeLine(before string, pat string, n int64, after string) io.Reader {
	return io.MultiReader(strings.NewReader(before), io.LimitReader(&repeat{pat: []byte(pat)}, n), strings.NewReader(after))
}

// TestBrokenInputs feeds damaged inputs: each gives its rejects with their lines, and the rest.
func TestBrokenInputs(t *testing.T) {
	tests := []struct {
		name    string
		in      func() io.Reader
		opts    list.Options
		want    []string
		rejects []string
		lines   int
	}{
		{
			name:    "binary junk in a text list",
			in:      func() io.Reader { return strings.NewReader("1.2.3.4\n\x00\x01\x02\xff\xfe\x7fELF junk\n5.6.7.8\n") },
			opts:    list.Options{Format: list.Text},
			want:    []string{"1 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"},
			rejects: []string{"2: NUL byte at byte 1"},
			lines:   3,
		},
		{
			name:    "invalid UTF-8",
			in:      func() io.Reader { return strings.NewReader("1.2.3.4\nevil\xff.com\n5.6.7.8\n") },
			opts:    list.Options{Format: list.Text},
			want:    []string{"1 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"},
			rejects: []string{"2: invalid UTF-8 at byte 5"},
			lines:   3,
		},
		{
			name:    "10 MB line in a text list",
			in:      func() io.Reader { return hugeLine("1.2.3.4\n", "a", 10<<20, "\n5.6.7.8\n") },
			want:    []string{"1 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"},
			rejects: []string{"2: line longer than 1048576 bytes"},
			lines:   3,
		},
		{
			name:    "10 MB line at the end without a newline",
			in:      func() io.Reader { return hugeLine("1.2.3.4\n5.6.7.8\n", "b", 10<<20, "") },
			opts:    list.Options{Format: list.Text},
			want:    []string{"1 ipv4:1.2.3.4", "2 ipv4:5.6.7.8"},
			rejects: []string{"3: line longer than 1048576 bytes"},
			lines:   3,
		},
		{
			name:    "10 MB line in a CSV",
			in:      func() io.Reader { return hugeLine("ip,note\n1.2.3.4,x\n5.6.7.8,\"", "c", 10<<20, "\"\n9.9.9.9,y\n") },
			opts:    list.Options{Format: list.CSV},
			want:    []string{"2 ipv4:1.2.3.4", "4 ipv4:9.9.9.9"},
			rejects: []string{"3: line longer than 1048576 bytes"},
			lines:   4,
		},
		{
			name: "10 MB line in NDJSON",
			in: func() io.Reader {
				return hugeLine("{\"ip\":\"1.2.3.4\"}\n{\"ip\":\"", "d", 10<<20, "\"}\n{\"ip\":\"5.6.7.8\"}\n")
			},
			opts:    list.Options{Format: list.NDJSON},
			want:    []string{"1 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"},
			rejects: []string{"2: line longer than 1048576 bytes"},
			lines:   3,
		},
		{
			name: "CSV row with a missing column",
			in: func() io.Reader {
				return strings.NewReader("dst_ip,malware\n1.2.3.4,Emotet\n5.6.7.8\n9.9.9.9,Qakbot\n")
			},
			want:    []string{"2 ipv4:1.2.3.4 malware=Emotet", "4 ipv4:9.9.9.9 malware=Qakbot"},
			rejects: []string{"3: 1 fields, the header has 2"},
			lines:   4,
		},
		{
			name: "CRLF CSV with a NUL byte",
			in: func() io.Reader {
				return strings.NewReader("dst_ip,malware\r\n1.2.3.4,Emotet\r\n5.6.7.8,Qak\x00bot\r\n9.9.9.9,Qakbot\r\n")
			},
			want:    []string{"2 ipv4:1.2.3.4 malware=Emotet", "4 ipv4:9.9.9.9 malware=Qakbot"},
			rejects: []string{"3: NUL byte at byte 12"},
			lines:   4,
		},
		{
			name: "truncated JSON",
			in: func() io.Reader {
				return strings.NewReader("{\"vulnerabilities\": [\n{\"cveID\": \"CVE-2024-3400\"},\n{\"cveID\": \"CVE-20")
			},
			want:    []string{"2 cve:CVE-2024-3400"},
			rejects: []string{"3: after element 1: JSON ends early"},
			lines:   3,
		},
		{
			name:    "binary junk as JSON",
			in:      func() io.Reader { return strings.NewReader("[\"1.2.3.4\",\n\x00\x01\x02]") },
			opts:    list.Options{Format: list.JSON},
			want:    []string{"1 ipv4:1.2.3.4"},
			rejects: []string{"2: after element 1: invalid JSON"},
			lines:   2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parse(t, tc.in(), tc.opts)
			if res.err != nil {
				t.Fatalf("Parse: %v", res.err)
			}
			if got := sums(res.recs); !slices.Equal(got, tc.want) {
				t.Errorf("records:\n got %q\nwant %q", got, tc.want)
			}
			checkRejects(t, res.rejects, tc.rejects)
			if res.st.Lines != tc.lines {
				t.Errorf("lines %d, want %d", res.st.Lines, tc.lines)
			}
		})
	}
}

// peakHeap is a reader that samples the heap in use every MiB it hands out.
type peakHeap struct {
	r    io.Reader
	n    int
	peak uint64
}

func (p *peakHeap) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += n
	if p.n >= 1<<20 {
		p.n = 0
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.peak = max(p.peak, ms.HeapAlloc)
	}
	return n, err
}

// TestLongLinesBoundedMemory reads 24 MB lines and checks that they were never held whole: the
// line formats allocate less than the line in all, free text keeps a small heap.
func TestLongLinesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 24 MB lines")
	}
	const size = 24 << 20
	for _, format := range []list.Format{list.Auto, list.Text, list.CSV, list.NDJSON, list.Freetext} {
		t.Run(string(format), func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			in := &peakHeap{r: hugeLine("1.2.3.4\n", "x", size, "\n5.6.7.8\n")}
			res := parse(t, in, list.Options{Format: format})
			runtime.ReadMemStats(&after)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; format != list.Freetext && alloc > 8<<20 {
				t.Errorf("allocated %d MB in all for a %d MB line", alloc>>20, size>>20)
			}
			if peak := in.peak - min(in.peak, before.HeapAlloc); peak > 24<<20 {
				t.Errorf("heap grew by %d MB while reading a %d MB line", peak>>20, size>>20)
			}
			if got := sums(res.recs); !slices.Equal(got, []string{"1 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"}) {
				t.Errorf("records %q", got)
			}
		})
	}
}

// TestFreetext runs extraction over prose, and over a 10 MB line with values across chunk edges.
func TestFreetext(t *testing.T) {
	t.Run("prose", func(t *testing.T) {
		in := "Incident 42: the actor used hxxp://evil[.]com/payload and 1.2.3.4,\n\nthen\xff 1.2.3.4 again and CVE-2024-3400.\n"
		res := parseString(t, in, list.Options{Format: list.Freetext})
		if res.err != nil {
			t.Fatal(res.err)
		}
		got := sums(res.recs)
		for _, w := range []string{"1 url:http://evil.com/payload", "1 ipv4:1.2.3.4", "3 cve:CVE-2024-3400"} {
			if !slices.Contains(got, w) {
				t.Errorf("records %q lack %q", got, w)
			}
		}
		if n := strings.Count(strings.Join(got, "\n"), "ipv4:1.2.3.4"); n != 1 {
			t.Errorf("1.2.3.4 emitted %d times, want once", n)
		}
		if res.st.Lines != 3 || res.st.Skipped != 1 || res.st.Rejected != 0 {
			t.Errorf("stats %+v", res.st)
		}
	})
	t.Run("forced type", func(t *testing.T) {
		res := parseString(t, "see 1.2.3.4 and evil.com\n", list.Options{Format: list.Freetext, Type: intel.Domain})
		if got := sums(res.recs); !slices.Equal(got, []string{"1 domain:evil.com"}) {
			t.Errorf("records %q", got)
		}
	})
	t.Run("10 MB line", func(t *testing.T) {
		// "5.6.7.8" straddles the first 64 KiB chunk boundary; "9.9.9.9" ends the line.
		word := "lorem "
		pre := strings.Repeat(word, (64<<10)/len(word)) + "5.6.7.8 "
		in := hugeLine(pre, word, int64(len(word)*(10<<20/len(word))), "9.9.9.9\nlast line 1.2.3.4\n")
		res := parse(t, in, list.Options{Format: list.Freetext})
		if res.err != nil {
			t.Fatal(res.err)
		}
		want := []string{"1 ipv4:5.6.7.8", "1 ipv4:9.9.9.9", "2 ipv4:1.2.3.4"}
		if got := sums(res.recs); !slices.Equal(got, want) {
			t.Errorf("records %q, want %q", got, want)
		}
		if res.st.Lines != 2 {
			t.Errorf("lines %d, want 2", res.st.Lines)
		}
	})
}

// TestSniff checks what auto-detection picks on small inputs.
func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want list.Format
	}{
		{"text list", "# list\n1.2.3.4\n5.6.7.8\nevil.com\n", list.Text},
		{"text with inline comments", "1.2.3.0/24 ; SBL1\n5.6.7.0/24 ; SBL2\n", list.Text},
		{"hosts file", "127.0.0.1 localhost\n0.0.0.0 evil.com\n0.0.0.0 bad.net\n", list.Text},
		{"csv with header", "ip,threat\n1.2.3.4,c2\n5.6.7.8,scanner\n", list.CSV},
		{"csv without header", "1.2.3.4,c2,2024-01-01\n5.6.7.8,scanner,2024-01-02\n", list.CSV},
		{"quoted csv", "\"a\",\"b\"\n\"1.2.3.4\",\"x, y\"\n", list.CSV},
		{"ndjson", "{\"ip\":\"1.2.3.4\"}\n{\"ip\":\"5.6.7.8\"}\n", list.NDJSON},
		{"json one line", "{\"data\":[{\"ip\":\"1.2.3.4\"}]}\n", list.JSON},
		{"json array", "  [\n  \"1.2.3.4\"\n]\n", list.JSON},
		{"pretty json object", "{\n  \"a\": [\n  ]\n}\n", list.JSON},
		{"prose", "The actor, it seems, used 1.2.3.4 for staging.\nLater, the domain evil.com served payloads.\n", list.Freetext},
		{"empty", "", list.Text},
		{"only comments", "# nothing\n# here\n", list.Text},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseString(t, tc.in, list.Options{})
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.st.Format != tc.want {
				t.Errorf("format %q, want %q", res.st.Format, tc.want)
			}
		})
	}
}

// TestOptionErrors checks that bad options and unreadable input fail the call.
func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts list.Options
		want string
	}{
		{"unknown format", "", list.Options{Format: "xml"}, `unknown list format "xml"`},
		{"unknown type", "", list.Options{Type: "ip"}, `unknown observable type "ip"`},
		{"bad delimiter", "", list.Options{Delimiter: '"'}, "invalid CSV delimiter"},
		{"unknown column", "a,b\n1.2.3.4,x\n", list.Options{Format: list.CSV, Column: "ip"}, `column "ip" not in the header`},
		{"column out of range", "a,b\n1.2.3.4,x\n", list.Options{Format: list.CSV, Column: "3"}, "column 3 out of range"},
		{"named column without header", "1.2.3.4,x\n", list.Options{Format: list.CSV, Column: "ip"}, "no header line"},
		{"UTF-16", "\xff\xfe1\x00.\x002\x00", list.Options{}, "UTF-16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseString(t, tc.in, tc.opts)
			if res.err == nil || !strings.Contains(res.err.Error(), tc.want) {
				t.Errorf("error %v, want %q", res.err, tc.want)
			}
		})
	}
}

// TestStops checks that emit's error, ctx and a failing reader end the parse with their error.
func TestStops(t *testing.T) {
	var in bytes.Buffer
	for range 5000 {
		in.WriteString("1.2.3.4\n")
	}
	errBoom := errors.New("boom")
	for _, format := range []list.Format{list.Text, list.CSV, list.NDJSON, list.JSON, list.Freetext} {
		t.Run("emit error/"+string(format), func(t *testing.T) {
			src := in.String()
			switch format {
			case list.NDJSON:
				src = strings.Repeat("{\"ip\":\"1.2.3.4\"}\n", 10)
			case list.JSON:
				src = "[" + strings.Repeat("\"1.2.3.4\",", 10) + "\"1.2.3.4\"]"
			case list.Freetext:
				src = "1.2.3.4 5.6.7.8 9.9.9.9\n"
			}
			n := 0
			st, err := list.Parse(context.Background(), strings.NewReader(src), list.Options{Format: format},
				func(list.Record) error {
					n++
					if n == 2 {
						return errBoom
					}
					return nil
				}, nil)
			if !errors.Is(err, errBoom) || st.Records != 1 {
				t.Errorf("err %v, records %d; want boom after 1", err, st.Records)
			}
		})
	}
	t.Run("context canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := list.Parse(ctx, bytes.NewReader(in.Bytes()), list.Options{}, func(list.Record) error { return nil }, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		errRead := errors.New("connection reset")
		r := io.MultiReader(strings.NewReader(in.String()), &failing{errRead})
		_, err := list.Parse(context.Background(), r, list.Options{Format: list.Text}, func(list.Record) error { return nil }, nil)
		if !errors.Is(err, errRead) {
			t.Errorf("err %v, want %v", err, errRead)
		}
	})
	t.Run("nil emit", func(t *testing.T) {
		if _, err := list.Parse(context.Background(), strings.NewReader(""), list.Options{}, nil, nil); err == nil {
			t.Error("no error")
		}
	})
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }
