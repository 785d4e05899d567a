package misp

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteFeed writes a MISP feed directory in dir from event documents ({"Event": {...}}), the way
// MISP's feed generator lays it out: each event verbatim as <uuid>.json, manifest.json from the
// events' own uuid, info, date, analysis, threat level, timestamp, Orgc and Tag fields, and
// hashes.csv with the md5 of each attribute value (each part of a composite value) and the event
// uuid. extra names manifest entries with no event file. Events without a uuid are skipped; the
// number written is returned.
func WriteFeed(dir string, events [][]byte, extra ...string) (int, error) {
	manifest := map[string]any{}
	var hashes strings.Builder
	n := 0
	for i, b := range events {
		var doc struct {
			Event struct {
				UUID          string          `json:"uuid"`
				Info          string          `json:"info"`
				Date          string          `json:"date"`
				Analysis      json.RawMessage `json:"analysis"`
				ThreatLevelID json.RawMessage `json:"threat_level_id"`
				Timestamp     json.RawMessage `json:"timestamp"`
				Orgc          json.RawMessage `json:"Orgc"`
				Tag           json.RawMessage `json:"Tag"`
				Attribute     []struct {
					Value string `json:"value"`
				} `json:"Attribute"`
			} `json:"Event"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return n, fmt.Errorf("event %d: %w", i, err)
		}
		e := doc.Event
		if !IsUUID(e.UUID) {
			continue // cannot be a feed file
		}
		if err := os.WriteFile(filepath.Join(dir, e.UUID+".json"), b, 0o644); err != nil {
			return n, err
		}
		manifest[e.UUID] = map[string]any{"Orgc": e.Orgc, "Tag": e.Tag, "info": e.Info, "date": e.Date,
			"analysis": e.Analysis, "threat_level_id": e.ThreatLevelID, "timestamp": e.Timestamp}
		for _, a := range e.Attribute {
			for part := range strings.SplitSeq(a.Value, "|") {
				h := md5.Sum([]byte(part))
				fmt.Fprintf(&hashes, "%s,%s\n", hex.EncodeToString(h[:]), e.UUID)
			}
		}
		n++
	}
	for _, id := range extra {
		manifest[id] = map[string]any{"info": "gone", "date": "2024-01-01", "timestamp": "1704067200", "Orgc": map[string]string{"name": "x"}}
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		return n, err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		return n, err
	}
	return n, os.WriteFile(filepath.Join(dir, "hashes.csv"), []byte(hashes.String()), 0o644)
}
