package enrich

import (
	"embed"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
)

// Mapping maps the fields of a JSON event shape other than ECS to ECS fields, so that the decoder
// can extract observables from it.
type Mapping struct {
	// Name names the mapping in errors ("zeek", "suricata", ...).
	Name string `yaml:"name"`
	// Fields maps an input path (dotted, as in the event: "id.resp_h", "dns.answers.rdata") to the
	// ECS field it holds ("destination.ip"); the ECS field gives the observable type. The targets
	// must be among [ExtractedFields].
	Fields map[string]string `yaml:"fields"`
	// Context maps an input path to the context field it fills ("@timestamp", "host.name", ...);
	// the targets must be among [ContextFields].
	Context map[string]string `yaml:"context"`
}

//go:embed mappings/*.yaml
var shippedFS embed.FS

// ShippedMappings returns the names of the mappings shipped with omen, sorted.
func ShippedMappings() []string {
	ents, _ := shippedFS.ReadDir("mappings")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// ShippedMapping returns the mapping shipped with omen under name ("zeek" or "suricata").
func ShippedMapping(name string) (*Mapping, error) {
	b, err := shippedFS.ReadFile("mappings/" + name + ".yaml")
	if err != nil || strings.ContainsAny(name, "/\\.") {
		return nil, fmt.Errorf("no shipped mapping named %q (have %s)", name, strings.Join(ShippedMappings(), ", "))
	}
	m, err := ParseMapping(b)
	if err != nil {
		return nil, fmt.Errorf("shipped mapping %q: %w", name, err)
	}
	return m, nil
}

// LoadMapping reads and validates the YAML mapping in the file at path.
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading mapping: %w", err)
	}
	m, err := ParseMapping(b)
	if err != nil {
		return nil, fmt.Errorf("mapping file %s: %w", path, err)
	}
	return m, nil
}

// ParseMapping parses and validates a YAML mapping:
//
//	name: zeek
//	fields:
//	  id.orig_h: source.ip
//	  query: dns.question.name
//	context:
//	  ts: "@timestamp"
//
// Unknown keys, unknown target fields and malformed paths are errors naming the key.
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	if err := yaml.UnmarshalWithOptions(b, &m, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("parsing mapping: %s", yaml.FormatError(err, false, true))
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks the paths and targets of m.
func (m *Mapping) validate() error {
	if len(m.Fields) == 0 && len(m.Context) == 0 {
		return fmt.Errorf("mapping %q maps no fields", m.Name)
	}
	for _, in := range sortedKeys(m.Fields) {
		if err := validPath(in); err != nil {
			return fmt.Errorf("mapping %q: fields: key %q: %w", m.Name, in, err)
		}
		if _, ok := ecsFields[m.Fields[in]]; !ok {
			return fmt.Errorf("mapping %q: fields: key %q: unknown ECS target field %q (observables come from %s)",
				m.Name, in, m.Fields[in], strings.Join(ExtractedFields(), ", "))
		}
	}
	for _, in := range sortedKeys(m.Context) {
		if err := validPath(in); err != nil {
			return fmt.Errorf("mapping %q: context: key %q: %w", m.Name, in, err)
		}
		if _, ok := ctxFields[m.Context[in]]; !ok {
			return fmt.Errorf("mapping %q: context: key %q: unknown context field %q (want one of %s)",
				m.Name, in, m.Context[in], strings.Join(ContextFields(), ", "))
		}
	}
	return nil
}

// validPath checks a dotted input path: non-empty segments.
func validPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("path is not valid UTF-8")
	}
	for seg := range strings.SplitSeq(p, ".") {
		if seg == "" {
			return fmt.Errorf("empty segment in path")
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
