package stix_test

import (
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
)

func TestObjectMeta(t *testing.T) {
	const id = "indicator--252c7c11-daf2-42bd-843b-be65edca9f61"
	ts := time.Date(2016, 4, 6, 20, 3, 48, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want store.STIXObject
	}{
		{"spec example", `{"type": "indicator", "id": "` + id + `", "spec_version": "2.1", "created": "2016-04-06T20:03:48.000Z",
			"modified": "2016-04-06T20:03:48.000Z", "pattern": "[ file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' ]"}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", Created: ts, Modified: ts, Confidence: -1}},
		{"no modified: created is the version", `{"type": "indicator", "id": "` + id + `", "spec_version": "2.1",
			"created": "2016-04-06T20:03:48Z"}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", Created: ts, Modified: ts, Confidence: -1}},
		{"2.0 without spec_version", `{"type": "indicator", "id": "` + id + `", "created": "2016-04-06T20:03:48Z",
			"modified": "2017-04-06T20:03:48.123456Z", "revoked": true, "confidence": 85}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.0", Created: ts, Revoked: true, Confidence: 85,
				Modified: time.Date(2017, 4, 6, 20, 3, 48, 123456000, time.UTC)}},
		{"SCO without spec_version", `{"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "198.51.100.3"}`,
			store.STIXObject{ID: "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", Type: "ipv4-addr", SpecVersion: "2.1", Confidence: -1}},
		{"TLP 1.0 amber", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", TLP: intel.TLPAmber, Confidence: -1}},
		{"TLP 1.0 white", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", TLP: intel.TLPClear, Confidence: -1}},
		{"TLP 2.0 amber+strict and green, a statement", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": [
			"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
			"marking-definition--12345678-1234-4234-8234-123456789012"]}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", TLP: intel.TLPAmberStrict, Confidence: -1}},
		{"TLP 2.0 red", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", TLP: intel.TLPRed, Confidence: -1}},
		{"TLP 2.0 clear", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", TLP: intel.TLPClear, Confidence: -1}},
		{"TLP 1.0 red and 2.0 amber", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": [
			"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", TLP: intel.TLPRed, Confidence: -1}},
		{"TLP 1.0 green", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}`,
			store.STIXObject{ID: id, Type: "indicator", SpecVersion: "2.1", TLP: intel.TLPGreen, Confidence: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stix.ObjectMeta([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != strings.TrimSpace(tc.in) {
				t.Errorf("Raw %s", got.Raw)
			}
			got.Raw = nil
			if got.ID != tc.want.ID || got.Type != tc.want.Type || got.SpecVersion != tc.want.SpecVersion ||
				!got.Created.Equal(tc.want.Created) || !got.Modified.Equal(tc.want.Modified) || got.Revoked != tc.want.Revoked ||
				got.TLP != tc.want.TLP || got.Confidence != tc.want.Confidence {
				t.Errorf("ObjectMeta = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestObjectMetaInvalid(t *testing.T) {
	const id = "indicator--252c7c11-daf2-42bd-843b-be65edca9f61"
	tests := []struct{ name, in, wantErr string }{
		{"array", `[1]`, "not a JSON object"},
		{"number", `42`, "not a JSON object"},
		{"truncated", `{"type": "indicator"`, "decoding"},
		{"no type", `{"id": "` + id + `"}`, "no type"},
		{"no id", `{"type": "indicator"}`, "no id"},
		{"upper-case type", `{"type": "Indicator", "id": "` + id + `"}`, "invalid type"},
		{"id of another type", `{"type": "malware", "id": "` + id + `"}`, "does not match"},
		{"id without uuid", `{"type": "indicator", "id": "indicator--1"}`, "invalid id"},
		{"bundle", `{"type": "bundle", "id": "bundle--252c7c11-daf2-42bd-843b-be65edca9f61"}`, "bundle"},
		{"bad created", `{"type": "indicator", "id": "` + id + `", "created": "yesterday"}`, "invalid created"},
		{"bad modified", `{"type": "indicator", "id": "` + id + `", "modified": "2016-13-01T00:00:00Z"}`, "invalid modified"},
		{"confidence 101", `{"type": "indicator", "id": "` + id + `", "confidence": 101}`, "confidence"},
		{"confidence 1.5", `{"type": "indicator", "id": "` + id + `", "confidence": 1.5}`, "confidence"},
		{"bad spec_version", `{"type": "indicator", "id": "` + id + `", "spec_version": "two"}`, "spec_version"},
		{"markings not a list", `{"type": "indicator", "id": "` + id + `", "object_marking_refs": "x"}`, "decoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stix.ObjectMeta([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ObjectMeta error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestTLPMarking(t *testing.T) {
	if tlp, ok := stix.TLPMarking("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"); !ok || tlp != intel.TLPAmberStrict {
		t.Errorf("TLP 2.0 AMBER+STRICT = %v, %v", tlp, ok)
	}
	if _, ok := stix.TLPMarking("marking-definition--00000000-0000-4000-8000-000000000000"); ok {
		t.Error("an unknown marking is a TLP level")
	}
}

// FuzzObjectMeta checks that no input panics and that accepted objects are consistent.
func FuzzObjectMeta(f *testing.F) {
	f.Add([]byte(`{"type": "indicator", "id": "indicator--252c7c11-daf2-42bd-843b-be65edca9f61", "created": "2016-04-06T20:03:48.000Z"}`))
	f.Add([]byte(`{"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := stix.ObjectMeta(b)
		if err != nil {
			return
		}
		if !strings.HasPrefix(m.ID, m.Type+"--") || m.SpecVersion == "" || m.Confidence < -1 || m.Confidence > 100 {
			t.Errorf("accepted %s as %+v", b, m)
		}
	})
}
