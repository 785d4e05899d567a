package enrich_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/enrich"
)

// benchLines are the genuine ECS events of testdata.
func benchLines(b *testing.B) ([][]byte, int64) {
	var lines [][]byte
	var n int64
	for _, name := range corpusFiles(b) {
		if strings.HasPrefix(name, "ecs-") {
			for _, l := range corpusLines(b, name) {
				lines = append(lines, l)
				n += int64(len(l))
			}
		}
	}
	return lines, n
}

// BenchmarkDecodeECS decodes the genuine ECS corpus (one op = the whole corpus) with the field
// extraction of the pipeline.
func BenchmarkDecodeECS(b *testing.B) {
	lines, size := benchLines(b)
	d := decoder(b, enrich.FormatECS)
	var ev enrich.Event
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if err := d.Decode(l, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
}

// ecsStruct holds the fields the decoder extracts, for the encoding/json baseline.
type ecsStruct struct {
	Timestamp   string `json:"@timestamp"`
	Source      endpointStruct
	Destination endpointStruct
	Client      endpointStruct
	Server      endpointStruct
	DNS         struct {
		Question struct{ Name string }
		Answers  any
	} `json:"dns"`
	URL  any `json:"url"` // an object, or an array of them (Sublime Security)
	HTTP struct {
		Request struct{ Referrer string }
	} `json:"http"`
	File    struct{ Hash hashStruct }
	Process struct {
		Hash   hashStruct
		Parent struct{ Hash hashStruct }
	}
	DLL   struct{ Hash hashStruct } `json:"dll"`
	Email struct {
		From, To, Sender struct{ Address any }
		ReplyTo          struct{ Address any } `json:"reply_to"`
		Attachments      []struct {
			File struct{ Hash hashStruct }
		}
	}
	User    struct{ Name, Email string }
	Related struct{ IP, Hosts, Hash, User any }
	TLS     struct {
		Client struct{ JA3 string }
		Server struct{ JA3S string }
	} `json:"tls"`
	Host struct {
		Name, Hostname string
		IP             any
	}
	Event struct {
		Outcome, Kind, Dataset, Module string
		Action                         any
	}
	Threat any
}

type endpointStruct struct {
	IP, Address, Domain string
	NAT                 struct{ IP string } `json:"nat"`
	User                struct{ Name string }
}

type hashStruct struct {
	MD5, SHA1, SHA256, SHA512 string
}

// BenchmarkDecodeStructBaseline decodes the same corpus into a Go struct holding the same fields
// with encoding/json: the baseline the issue compares enrichment speed to.
func BenchmarkDecodeStructBaseline(b *testing.B) {
	lines, size := benchLines(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			var v ecsStruct
			if err := json.Unmarshal(l, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMerge merges the pipeline's additions into the genuine ECS corpus.
func BenchmarkMerge(b *testing.B) {
	lines, size := benchLines(b)
	b.SetBytes(size)
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		for _, l := range lines {
			var err error
			if out, err = enrich.Merge(out[:0], l, omenAdds); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeCEF decodes the genuine CEF lines.
func BenchmarkDecodeCEF(b *testing.B) {
	lines := corpusLines(b, "cef.log")
	d := decoder(b, enrich.FormatCEF)
	var ev enrich.Event
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if err := d.Decode(l, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
}
