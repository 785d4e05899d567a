// Package ctlog follows Certificate Transparency logs over both read APIs, RFC 6962
// (get-sth, get-entries) and the tiled static-ct API (checkpoint, data tiles), and hands every
// logged certificate's DNS names to a callback, with a cursor per log so that a restart resumes
// without a gap or a repeat.
//
// CT entries are not indicators, so ctlog is not a collect kind: a [Monitor] runs its own loop
// (Run) and keeps its position through a [Cursor]; [StoreCursor] keeps it in the store as the
// state of a source, like a collector's cursor.
package ctlog

import (
	"errors"
	"fmt"
)

// Entry types of a TimestampedEntry (RFC 6962 §3.4).
const (
	entryX509    = 0
	entryPrecert = 1
)

// Leaf is one parsed log entry, from an RFC 6962 MerkleTreeLeaf (leaf_input, with extra_data) or
// from a static-ct TileLeaf.
type Leaf struct {
	// Timestamp is the log's timestamp, milliseconds since the Unix epoch.
	Timestamp uint64
	// Precert says the entry is a precertificate; Cert is then the TBSCertificate (poison removed).
	Precert bool
	// Cert is the DER certificate of an x509 entry, or the DER TBSCertificate of a precert entry.
	Cert []byte
	// IssuerKeyHash is the SHA-256 of the issuer's SubjectPublicKeyInfo (precert entries only).
	IssuerKeyHash [32]byte
	// PreCertificate is the submitted precertificate, when the entry carries it (a TileLeaf or
	// RFC 6962 extra_data of a precert entry); nil otherwise.
	PreCertificate []byte
	// Chain is the issuers of the submitted chain: DER certificates from RFC 6962 extra_data, nil
	// from a tile (see ChainFingerprints).
	Chain [][]byte
	// ChainFingerprints is the SHA-256 of each issuer in the submitted chain (static-ct tiles only).
	ChainFingerprints [][32]byte
}

// reader reads TLS presentation-language values (big-endian) and remembers the first error.
type reader struct {
	b   []byte
	off int // bytes consumed, for error positions
	err error
}

func (r *reader) fail(what string, n int) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at byte %d: need %d bytes, have %d", what, r.off, n, len(r.b))
	}
}

func (r *reader) bytes(what string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail(what, n)
		return nil
	}
	v := r.b[:n:n]
	r.b, r.off = r.b[n:], r.off+n
	return v
}

func (r *reader) uint(what string, n int) uint64 {
	b := r.bytes(what, n)
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// vec reads an opaque vector with an n-byte length prefix.
func (r *reader) vec(what string, n int) []byte {
	l := r.uint(what+" length", n)
	if r.err != nil {
		return nil
	}
	return r.bytes(what, int(l))
}

// timestampedEntry reads an RFC 6962 TimestampedEntry into l.
func (r *reader) timestampedEntry(l *Leaf) {
	l.Timestamp = r.uint("timestamp", 8)
	switch t := r.uint("entry_type", 2); {
	case r.err != nil:
		return
	case t == entryX509:
		l.Cert = r.vec("x509_entry", 3)
	case t == entryPrecert:
		l.Precert = true
		copy(l.IssuerKeyHash[:], r.bytes("issuer_key_hash", 32))
		l.Cert = r.vec("tbs_certificate", 3)
	default:
		r.err = fmt.Errorf("entry_type at byte %d: unknown type %d", r.off-2, t)
		return
	}
	r.vec("extensions", 2)
	if r.err == nil && len(l.Cert) == 0 {
		r.err = errors.New("empty certificate")
	}
}

// ParseMerkleTreeLeaf parses an RFC 6962 leaf_input (a MerkleTreeLeaf) and, when extraData is
// not nil, the entry's extra_data (certificate_chain, or PrecertChainEntry for a precert).
func ParseMerkleTreeLeaf(leafInput, extraData []byte) (Leaf, error) {
	var l Leaf
	r := &reader{b: leafInput}
	if v := r.uint("version", 1); r.err == nil && v != 0 {
		return l, fmt.Errorf("leaf_input: unknown version %d", v)
	}
	if t := r.uint("leaf_type", 1); r.err == nil && t != 0 {
		return l, fmt.Errorf("leaf_input: unknown leaf_type %d", t)
	}
	r.timestampedEntry(&l)
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes at byte %d", len(r.b), r.off)
	}
	if r.err != nil {
		return Leaf{}, fmt.Errorf("leaf_input: %w", r.err)
	}
	if extraData == nil {
		return l, nil
	}
	r = &reader{b: extraData}
	if l.Precert {
		l.PreCertificate = r.vec("pre_certificate", 3)
	}
	chain := &reader{b: r.vec("certificate_chain", 3), off: r.off}
	for r.err == nil && chain.err == nil && len(chain.b) > 0 {
		l.Chain = append(l.Chain, chain.vec("chain certificate", 3))
	}
	if r.err == nil && chain.err != nil {
		r.err = chain.err
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes at byte %d", len(r.b), r.off)
	}
	if r.err != nil {
		return Leaf{}, fmt.Errorf("extra_data: %w", r.err)
	}
	return l, nil
}

// ParseTileLeaf parses the first TileLeaf of a static-ct data tile and returns the rest of the
// tile.
func ParseTileLeaf(tile []byte) (Leaf, []byte, error) {
	var l Leaf
	r := &reader{b: tile}
	r.timestampedEntry(&l)
	if l.Precert {
		l.PreCertificate = r.vec("pre_certificate", 3)
	}
	fps := r.vec("certificate_chain", 2)
	if r.err == nil && len(fps)%32 != 0 {
		r.err = fmt.Errorf("certificate_chain at byte %d: %d bytes is not a list of 32-byte fingerprints", r.off-len(fps), len(fps))
	}
	if r.err != nil {
		return Leaf{}, nil, r.err
	}
	for i := 0; i+32 <= len(fps); i += 32 {
		l.ChainFingerprints = append(l.ChainFingerprints, [32]byte(fps[i:i+32]))
	}
	return l, r.b, nil
}

// ParseDataTile parses a whole static-ct data tile (decompressed) into its leaves.
func ParseDataTile(tile []byte) ([]Leaf, error) {
	var out []Leaf
	total := len(tile)
	for len(tile) > 0 {
		off := total - len(tile)
		l, rest, err := ParseTileLeaf(tile)
		if err != nil {
			return out, fmt.Errorf("data tile entry %d (byte %d): %w", len(out), off, err)
		}
		out = append(out, l)
		tile = rest
	}
	return out, nil
}
