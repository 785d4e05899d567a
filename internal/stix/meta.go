package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// TLPMarking returns the TLP level of a TLP marking definition id (1.0 or 2.0); ok is false for any
// other marking.
func TLPMarking(id string) (tlp intel.TLP, ok bool) {
	tlp, ok = tlpMarkings[id]
	return tlp, ok
}

var (
	stixType = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$`)
	stixID   = regexp.MustCompile(`^([a-z0-9][a-z0-9-]{1,248}[a-z0-9])--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	specForm = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
)

// ObjectMeta reads the fields of a [store.STIXObject] from one STIX 2.0 or 2.1 object (Collection
// and DateAdded are left for the caller and the store):
//   - ID and Type, which must agree ("type--uuid");
//   - SpecVersion: the object's spec_version; without one, "2.1" for an object with neither
//     created nor modified (a 2.1 SCO) and "2.0" otherwise, as medallion decides;
//   - Created, and Modified: modified, else created, else zero (one version only);
//   - Revoked; Confidence (0..100, -1 when absent);
//   - TLP: the most restrictive TLP 1.0 or 2.0 marking in object_marking_refs (other markings are
//     ignored); an object without one is TLP:CLEAR.
//
// Raw is a copy of raw. An object that is not valid enough to be stored and served is an error.
func ObjectMeta(raw []byte) (store.STIXObject, error) {
	var o struct {
		Type        string   `json:"type"`
		ID          string   `json:"id"`
		SpecVersion *string  `json:"spec_version"`
		Created     *string  `json:"created"`
		Modified    *string  `json:"modified"`
		Revoked     *bool    `json:"revoked"`
		Confidence  *float64 `json:"confidence"`
		Markings    []string `json:"object_marking_refs"`
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return store.STIXObject{}, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return store.STIXObject{}, fmt.Errorf("decoding STIX object: %w", err)
	}
	m := store.STIXObject{ID: o.ID, Type: o.Type, Confidence: -1, Raw: bytes.Clone(raw)}
	if err := checkIdentity(o.Type, o.ID); err != nil {
		return m, err
	}
	var err error
	if m.Created, err = stixTimestamp("created", o.Created); err != nil {
		return m, err
	}
	if m.Modified, err = stixTimestamp("modified", o.Modified); err != nil {
		return m, err
	}
	if m.Modified.IsZero() {
		m.Modified = m.Created
	}
	if m.SpecVersion, err = metaSpecVersion(o.SpecVersion, o.Created != nil || o.Modified != nil); err != nil {
		return m, err
	}
	m.Revoked = o.Revoked != nil && *o.Revoked
	if c := o.Confidence; c != nil {
		if *c < 0 || *c > 100 || *c != float64(int(*c)) {
			return m, fmt.Errorf("confidence %v: want an integer 0..100", *c)
		}
		m.Confidence = int(*c)
	}
	for _, ref := range o.Markings {
		if t, ok := tlpMarkings[ref]; ok {
			m.TLP = max(m.TLP, t)
		}
	}
	return m, nil
}

// checkIdentity checks the type and the id of an object.
func checkIdentity(typ, id string) error {
	switch {
	case typ == "":
		return errors.New("no type")
	case !stixType.MatchString(typ):
		return fmt.Errorf("invalid type %q", typ)
	case typ == "bundle":
		return errors.New("a bundle is not a STIX object: send its objects")
	case id == "":
		return errors.New("no id")
	}
	sub := stixID.FindStringSubmatch(id)
	if sub == nil {
		return fmt.Errorf("invalid id %q: want type--uuid", id)
	}
	if sub[1] != typ {
		return fmt.Errorf("id %q does not match type %q", id, typ)
	}
	return nil
}

// stixTimestamp parses an optional RFC 3339 timestamp property.
func stixTimestamp(name string, s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %s %q: want an RFC 3339 timestamp", name, *s)
	}
	return t.UTC(), nil
}

// metaSpecVersion returns the object's spec version; without spec_version, versioned objects are 2.0
// and unversioned ones (2.1 SCOs) 2.1.
func metaSpecVersion(s *string, versioned bool) (string, error) {
	switch {
	case s != nil && specForm.MatchString(*s):
		return *s, nil
	case s != nil:
		return "", fmt.Errorf("invalid spec_version %q", *s)
	case versioned:
		return "2.0", nil
	}
	return "2.1", nil
}
