package collect

import "strings"

// Entity IDs that several kinds must agree on, so that what one source says about a vulnerability,
// an actor or a malware family lands on the same entity as what another says. Kinds never import
// each other; they share these.

// VulnerabilityID is the entity ID of a CVE's vulnerability (kev writes it, epss scores it).
func VulnerabilityID(cve string) string { return "vulnerability--" + strings.ToLower(cve) }

// ClusterID is the entity ID of a named cluster: a MISP galaxy type ("threat-actor", "malpedia",
// "mitre-attack-pattern", ...) and its value. misp and otx name actors and families this way.
func ClusterID(galaxyType, value string) string {
	return "x-misp-galaxy--" + strings.ToLower(galaxyType) + "--" + strings.ToLower(strings.TrimSpace(value))
}
