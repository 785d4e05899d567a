package stix

import (
	"encoding/json"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// The standard TLP marking definitions (formats.md 1.4): TLP 1.0 as predefined by STIX 2.1, and
// TLP 2.0 as published in oasis-open/cti-stix-common-objects.
var tlpMarkings = map[string]intel.TLP{
	// TLP 1.0
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": intel.TLPClear, // WHITE
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": intel.TLPGreen,
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": intel.TLPAmber,
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": intel.TLPRed,
	// TLP 2.0
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": intel.TLPClear,
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": intel.TLPGreen,
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": intel.TLPAmber,
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": intel.TLPAmberStrict,
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": intel.TLPRed,
}

// tlp2Extension is the extension definition the TLP 2.0 marking definitions use.
const tlp2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// tlp2IDs maps an omen TLP level to its TLP 2.0 marking definition id.
var tlp2IDs = [...]string{
	intel.TLPClear:       "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	intel.TLPGreen:       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	intel.TLPAmber:       "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	intel.TLPAmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	intel.TLPRed:         "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

// TLPMarkingID returns the id of the TLP 2.0 marking definition for t.
func TLPMarkingID(t intel.TLP) string {
	if int(t) < len(tlp2IDs) {
		return tlp2IDs[t]
	}
	return tlp2IDs[intel.TLPRed]
}

// tlpMarkingObject returns the TLP 2.0 marking definition object for t, as published in
// oasis-open/cti-stix-common-objects.
func tlpMarkingObject(t intel.TLP) map[string]any {
	name := "TLP:" + strings.ToUpper(t.String())
	return map[string]any{
		"type":         "marking-definition",
		"spec_version": "2.1",
		"id":           TLPMarkingID(t),
		"created":      "2022-10-01T00:00:00.000Z",
		"name":         name,
		"extensions": map[string]any{
			tlp2Extension: map[string]any{"extension_type": "property-extension", "tlp_2_0": t.String()},
		},
	}
}

// markingTLP returns the TLP level a marking-definition object defines, when it defines one: a
// TLP 1.0 definition ({"definition_type": "tlp", "definition": {"tlp": "amber"}}) or a TLP 2.0
// extension ({"tlp_2_0": "amber+strict"}).
func markingTLP(o *object) (intel.TLP, bool) {
	if t, ok := tlpMarkings[o.ID]; ok {
		return t, true
	}
	sp := o.props()
	if sp.DefinitionType == "tlp" && len(sp.Definition) > 0 {
		var d struct {
			TLP string `json:"tlp"`
		}
		if json.Unmarshal(sp.Definition, &d) == nil {
			if t, err := intel.ParseTLP(d.TLP); err == nil {
				return t, true
			}
		}
	}
	if ext, ok := sp.Extensions[tlp2Extension]; ok {
		var d struct {
			TLP string `json:"tlp_2_0"`
		}
		if json.Unmarshal(ext, &d) == nil {
			if t, err := intel.ParseTLP(d.TLP); err == nil {
				return t, true
			}
		}
	}
	return 0, false
}
