package ctlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrBadSignature is returned when a tree head's signature does not verify with the log's key.
var ErrBadSignature = errors.New("tree head signature does not verify with the log's key")

// STH is an RFC 6962 signed tree head, as get-sth returns it.
type STH struct {
	TreeSize  int64  `json:"tree_size"`
	Timestamp uint64 `json:"timestamp"`
	RootHash  []byte `json:"sha256_root_hash"`
	Signature []byte `json:"tree_head_signature"` // a DigitallySigned struct
}

// ParseSTH parses a get-sth answer.
func ParseSTH(b []byte) (STH, error) {
	var raw struct {
		TreeSize  *int64 `json:"tree_size"`
		Timestamp uint64 `json:"timestamp"`
		Root      string `json:"sha256_root_hash"`
		Sig       string `json:"tree_head_signature"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return STH{}, err
	}
	if raw.TreeSize == nil || *raw.TreeSize < 0 {
		return STH{}, errors.New("no valid tree_size")
	}
	sth := STH{TreeSize: *raw.TreeSize, Timestamp: raw.Timestamp}
	var err error
	if raw.Root != "" {
		if sth.RootHash, err = base64.StdEncoding.DecodeString(raw.Root); err != nil || len(sth.RootHash) != sha256.Size {
			return STH{}, fmt.Errorf("bad sha256_root_hash %q", raw.Root)
		}
	}
	if raw.Sig != "" {
		if sth.Signature, err = base64.StdEncoding.DecodeString(raw.Sig); err != nil {
			return STH{}, fmt.Errorf("bad tree_head_signature: %w", err)
		}
	}
	return sth, nil
}

// VerifySTH checks the signature of sth with the log's public key (DER SubjectPublicKeyInfo, as
// the log list gives it): RFC 6962 §3.5, ECDSA P-256 or RSA with SHA-256.
func VerifySTH(key []byte, sth STH) error {
	if len(sth.RootHash) != sha256.Size {
		return fmt.Errorf("%w: no root hash", ErrBadSignature)
	}
	return verifyDigitallySigned(key, treeHeadInput(sth.Timestamp, uint64(sth.TreeSize), sth.RootHash), sth.Signature)
}

// treeHeadInput is the signed TreeHeadSignature struct: version v1, signature type tree_hash,
// timestamp, tree size and root hash.
func treeHeadInput(timestamp, size uint64, root []byte) []byte {
	b := make([]byte, 0, 2+8+8+len(root))
	b = append(b, 0, 1)
	b = binary.BigEndian.AppendUint64(b, timestamp)
	b = binary.BigEndian.AppendUint64(b, size)
	return append(b, root...)
}

// TLS 1.2 algorithm numbers of a DigitallySigned struct.
const (
	hashSHA256 = 4
	sigRSA     = 1
	sigECDSA   = 3
)

// verifyDigitallySigned checks ds, a DigitallySigned struct (hash and signature algorithm, 16-bit
// length, signature) over data with key.
func verifyDigitallySigned(key, data, ds []byte) error {
	if len(ds) < 4 {
		return fmt.Errorf("%w: signature too short", ErrBadSignature)
	}
	hashAlg, sigAlg, n := ds[0], ds[1], int(binary.BigEndian.Uint16(ds[2:4]))
	sig := ds[4:]
	if hashAlg != hashSHA256 || len(sig) != n {
		return fmt.Errorf("%w: hash algorithm %d, %d signature bytes for a length of %d", ErrBadSignature, hashAlg, len(sig), n)
	}
	pub, err := x509.ParsePKIXPublicKey(key)
	if err != nil {
		return fmt.Errorf("the log's key: %w", err)
	}
	digest := sha256.Sum256(data)
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if sigAlg == sigECDSA && ecdsa.VerifyASN1(pub, digest[:], sig) {
			return nil
		}
	case *rsa.PublicKey:
		if sigAlg == sigRSA && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil {
			return nil
		}
	default:
		return fmt.Errorf("the log's key: unsupported %T", pub)
	}
	return ErrBadSignature
}

// VerifyCheckpoint parses a static-ct checkpoint and checks its RFC 6962 note signature
// (c2sp.org/static-ct-api): a signature line named origin whose key ID is derived from the log's
// key, over the tree head the checkpoint states. Other signature lines (witnesses, grease) are
// ignored.
func VerifyCheckpoint(b []byte, origin string, key []byte) (Checkpoint, error) {
	cp, err := ParseCheckpoint(b)
	if err != nil {
		return cp, err
	}
	if cp.Origin != origin {
		return cp, fmt.Errorf("%w: checkpoint of %q, want %q", ErrBadSignature, cp.Origin, origin)
	}
	_, sigs, _ := bytes.Cut(b, []byte("\n\n"))
	logID := sha256.Sum256(key)
	kh := sha256.Sum256(append(append([]byte(origin+"\n"), 0x05), logID[:]...))
	for _, line := range strings.Split(string(sigs), "\n") {
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok {
			continue
		}
		name, enc, ok := strings.Cut(rest, " ")
		if !ok || name != origin {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(sig) < 4+8 || !bytes.Equal(sig[:4], kh[:4]) {
			continue
		}
		ts := binary.BigEndian.Uint64(sig[4:12])
		if err := verifyDigitallySigned(key, treeHeadInput(ts, uint64(cp.Size), cp.RootHash), sig[12:]); err != nil {
			return cp, err
		}
		return cp, nil
	}
	return cp, fmt.Errorf("%w: no RFC 6962 signature of %s on the checkpoint", ErrBadSignature, origin)
}
