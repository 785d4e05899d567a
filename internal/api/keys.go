package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// KeyPrefix starts every omen API key, so that secret scanners can recognise leaked keys.
const KeyPrefix = "omen_"

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// HashKey returns the SHA-256 of a key: the only form in which keys are stored.
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// DefaultClearance is the TLP clearance a role gets unless told otherwise.
func DefaultClearance(r intel.Role) intel.TLP {
	switch r {
	case intel.RoleAdmin:
		return intel.TLPRed
	case intel.RoleAnalyst:
		return intel.TLPAmberStrict
	case intel.RoleReader:
		return intel.TLPAmber
	}
	return intel.TLPGreen
}

// CreateKey makes a new random key, stores its hash and returns the stored key and the secret, which
// is shown once and never kept.
func CreateKey(ctx context.Context, st store.Store, name string, role intel.Role, clearance *intel.TLP, actor string) (intel.APIKey, string, error) {
	if strings.TrimSpace(name) == "" {
		return intel.APIKey{}, "", fmt.Errorf("a key needs a name")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return intel.APIKey{}, "", err
	}
	secret := KeyPrefix + strings.ToLower(keyEncoding.EncodeToString(raw[:]))
	c := DefaultClearance(role)
	if clearance != nil {
		c = *clearance
	}
	k, err := st.CreateAPIKey(ctx, intel.APIKey{Name: name, Role: role, Prefix: secret[:len(KeyPrefix)+6],
		Hash: HashKey(secret), Clearance: c, CreatedAt: time.Now().UTC()})
	if err != nil {
		return k, "", fmt.Errorf("creating key %s: %w", name, err)
	}
	if err := st.AppendAudit(ctx, intel.AuditEntry{Time: time.Now().UTC(), Actor: actor, Action: "key.create",
		Object: fmt.Sprintf("key:%d", k.ID), Detail: fmt.Sprintf("name=%s role=%s clearance=%s prefix=%s", k.Name, k.Role, k.Clearance, k.Prefix)}); err != nil {
		return k, "", fmt.Errorf("auditing key creation: %w", err)
	}
	return k, secret, nil
}
