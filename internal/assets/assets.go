// Package assets is the organisation's inventory: its networks, domains, hosts, people,
// technologies and brands, with the business context the priority model needs (criticality, data
// classification, business service and tier, owner, exposure, identity privilege).
//
// It reads asset files (CSV, YAML, JSON), validates every record strictly, puts each value in
// omen's canonical form ([intel.Normalize] for IPs, CIDRs, domains, emails and user names; CPE 2.3
// for technologies) and upserts the result into a store on the natural key kind + name, so that
// importing the same file twice updates rather than duplicates. Which asset an observable belongs
// to is answered by the matching engine (match.Snapshot.Assets, fed by match.AssetValues).
//
// An asset is an [intel.Asset]. Values holds the canonical values that identify it; the
// kind-specific fields that are not values live in Attributes under the keys [AttrPrivilege],
// [AttrVendor], [AttrProduct], [AttrVersion] and [AttrServiceTier]. [Values] tells the type of
// each value.
package assets

import (
	"fmt"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// Kinds of asset.
const (
	KindNetwork    = "network"    // Values: CIDRs (a single address is kept as an IP)
	KindDomain     = "domain"     // Values: domains the organisation owns (sub-domains included when matching)
	KindHost       = "host"       // Values: host names and IP addresses
	KindPerson     = "person"     // Values: emails and user names; Attributes: privilege
	KindTechnology = "technology" // Values: CPE 2.3 names; Attributes: vendor, product, version
	KindBrand      = "brand"      // Values: brand domains and keywords
)

// Kinds lists the asset kinds in the order they are documented.
var Kinds = []string{KindNetwork, KindDomain, KindHost, KindPerson, KindTechnology, KindBrand}

// Data classifications (docs/soc-integration.md 3.3 C: public 0.1, internal 0.4, confidential 0.7,
// restricted/regulated 1.0). "regulated" is read as restricted.
const (
	DataPublic       = "public"
	DataInternal     = "internal"
	DataConfidential = "confidential"
	DataRestricted   = "restricted"
)

// Exposures (docs/soc-integration.md 3.3 D: internet-facing 1.2, internal and routable 1.0,
// segmented/isolated 0.8).
const (
	ExposureInternet  = "internet-facing"
	ExposureInternal  = "internal"
	ExposureSegmented = "segmented"
)

// Identity privileges of a person (docs/soc-integration.md 3.3 C: standard 0.3, privileged 0.75,
// tier-0 admin 1.0). A service account is a non-human identity, scored as privileged.
const (
	PrivilegeStandard   = "standard"
	PrivilegeService    = "service"
	PrivilegePrivileged = "privileged"
	PrivilegeAdmin      = "admin" // tier-0: domain, cloud tenant or identity-provider administrator
)

// Attribute keys that hold kind-specific fields. They may not be set through free attributes.
const (
	AttrPrivilege   = "privilege"    // person: standard, service, privileged or admin
	AttrVendor      = "vendor"       // technology
	AttrProduct     = "product"      // technology
	AttrVersion     = "version"      // technology
	AttrServiceTier = "service_tier" // any: business-service tier from the BIA, "0" (most critical) to "3"
)

var reserved = map[string]bool{AttrPrivilege: true, AttrVendor: true, AttrProduct: true, AttrVersion: true, AttrServiceTier: true}

// Limits on free-text fields.
const (
	maxText   = 256  // name, owner, business service, vendor, product, version, attribute values
	maxValues = 4096 // values of one asset
)

// Key is the natural key of an asset: its kind and its name, case-folded. Two assets with the same
// key are the same asset; an import updates rather than duplicates it.
func Key(a intel.Asset) string {
	return strings.ToLower(a.Kind) + "\x00" + strings.ToLower(strings.TrimSpace(a.Name))
}

// vocab is a closed vocabulary: its canonical words and other accepted spellings. Input is
// compared in lower case, with '_' and ' ' read as '-'.
type vocab struct {
	field string
	words []string
	alias map[string]string
}

func (v vocab) parse(s string) (string, error) {
	k := strings.NewReplacer("_", "-", " ", "-").Replace(strings.ToLower(strings.TrimSpace(s)))
	for _, w := range v.words {
		if k == w {
			return w, nil
		}
	}
	if w, ok := v.alias[k]; ok {
		return w, nil
	}
	return "", fmt.Errorf("%s %q: want %s", v.field, clip(s), strings.Join(v.words, ", "))
}

var (
	criticalities = vocab{"criticality", []string{"low", "medium", "high", "extreme"}, map[string]string{
		// Elastic's level names, and "critical" as CMDBs often write it.
		"low-impact": "low", "medium-impact": "medium", "high-impact": "high", "extreme-impact": "extreme",
		"critical": "extreme",
	}}
	dataClasses = vocab{"data classification", []string{DataPublic, DataInternal, DataConfidential, DataRestricted},
		map[string]string{"regulated": DataRestricted}}
	exposures = vocab{"exposure", []string{ExposureInternet, ExposureInternal, ExposureSegmented}, map[string]string{
		"internet": ExposureInternet, "external": ExposureInternet,
		"internal-routable": ExposureInternal, "isolated": ExposureSegmented,
	}}
	privileges = vocab{"privilege", []string{PrivilegeStandard, PrivilegeService, PrivilegePrivileged, PrivilegeAdmin},
		map[string]string{"user": PrivilegeStandard, "tier0": PrivilegeAdmin, "tier-0": PrivilegeAdmin, "tier-0-admin": PrivilegeAdmin}}
)

// ParseCriticality parses a criticality level: low, medium, high or extreme (also Elastic's
// "high_impact" forms, and "critical" for extreme).
func ParseCriticality(s string) (intel.Criticality, error) {
	c, err := criticalities.parse(s)
	return intel.Criticality(c), err
}

// ParseDataClass parses a data classification: public, internal, confidential or restricted
// ("regulated" is restricted).
func ParseDataClass(s string) (string, error) { return dataClasses.parse(s) }

// ParseExposure parses an exposure: internet-facing (also "internet", "external"), internal
// (also "internal_routable") or segmented (also "isolated").
func ParseExposure(s string) (string, error) { return exposures.parse(s) }

// ParsePrivilege parses a person's privilege: standard, service, privileged or admin (tier 0).
func ParsePrivilege(s string) (string, error) { return privileges.parse(s) }

// ParseServiceTier parses a business-service tier: 0 to 3, with or without a "tier" prefix.
func ParseServiceTier(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimLeft(strings.TrimPrefix(t, "tier"), " -_")
	if len(t) == 1 && t[0] >= '0' && t[0] <= '3' {
		return t, nil
	}
	return "", fmt.Errorf("service tier %q: want 0, 1, 2 or 3", clip(s))
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	n := 64
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
