package ctlog

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Entry is one logged certificate or precertificate, as handed to a [Monitor]'s callback.
type Entry struct {
	Log   string // the log's name
	Index int64  // the entry's index in the log
	// Names are the DNS names of the certificate: its subjectAltName dNSNames and its subject
	// common name when it looks like a host name, lower-cased, without a trailing dot, a wildcard
	// "*." prefix stripped (*.example.com gives example.com), deduplicated, sorted.
	Names     []string
	NotBefore time.Time
	NotAfter  time.Time
	Issuer    string // issuer distinguished name, RFC 2253 style (CN=R3,O=Let's Encrypt,C=US)
	Precert   bool
	Serial    string    // hex
	Logged    time.Time // the log's timestamp
	// Key identifies the certificate across its precertificate and final certificate and across
	// logs: SHA-256 of the issuer name (DER) and the serial number, which RFC 5280 makes unique
	// per issuer, and which a precertificate's TBSCertificate shares with its final certificate
	// (RFC 6962 §3.2 rewrites a precertificate signing certificate's issuer to the final issuer).
	Key [32]byte
}

// Decode parses the certificate (or precertificate TBSCertificate) of l into an Entry; Log and
// Index are left for the caller.
func Decode(l Leaf) (Entry, error) {
	var (
		c   *x509.Certificate
		err error
	)
	if l.Precert {
		c, err = parseTBS(l.Cert)
	} else {
		c, err = x509.ParseCertificate(l.Cert)
	}
	if err != nil {
		return Entry{}, err
	}
	e := Entry{
		Names:     Names(c),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		Issuer:    c.Issuer.String(),
		Precert:   l.Precert,
		Logged:    time.UnixMilli(int64(l.Timestamp)).UTC(),
	}
	if c.SerialNumber != nil {
		e.Serial = hex.EncodeToString(c.SerialNumber.Bytes())
	}
	h := sha256.New()
	h.Write(c.RawIssuer)
	if c.SerialNumber != nil {
		h.Write(c.SerialNumber.Bytes())
	}
	h.Sum(e.Key[:0])
	return e, nil
}

// Names returns the DNS names of c (see [Entry.Names]).
func Names(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+1)
	add := func(n string) {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		n = strings.TrimPrefix(n, "*.")
		if n != "" {
			out = append(out, n)
		}
	}
	for _, n := range c.DNSNames {
		add(n)
	}
	if cn := c.Subject.CommonName; looksLikeHost(cn) {
		add(cn)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// looksLikeHost reports whether a common name is a host name rather than a person or an
// organisation: at least one dot, and only letters, digits, '-', '_', '.' and a leading "*.".
func looksLikeHost(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if !strings.Contains(strings.Trim(s, "."), ".") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}

// parseTBS parses a precertificate's TBSCertificate with crypto/x509 by wrapping it in a
// Certificate with the TBS's own signature algorithm and an empty signature: the signature is
// never checked, and crypto/x509 requires the outer and inner algorithms to match.
func parseTBS(tbs []byte) (*x509.Certificate, error) {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(tbs, &seq)
	if err != nil {
		return nil, fmt.Errorf("tbs_certificate: %w", err)
	}
	if len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, errors.New("tbs_certificate: not a single DER SEQUENCE")
	}
	// version [0] EXPLICIT (optional), serialNumber, signature AlgorithmIdentifier, ...
	var el asn1.RawValue
	body := seq.Bytes
	for i := 0; i < 3; i++ {
		if body, err = asn1.Unmarshal(body, &el); err != nil {
			return nil, fmt.Errorf("tbs_certificate field %d: %w", i, err)
		}
		if i == 0 && !(el.Class == asn1.ClassContextSpecific && el.Tag == 0) {
			i++ // no version: this was the serial number
		}
	}
	if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
		return nil, errors.New("tbs_certificate: no signature AlgorithmIdentifier")
	}
	der, err := asn1.Marshal(struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, asn1.RawValue{FullBytes: el.FullBytes}, asn1.BitString{}})
	if err != nil {
		return nil, fmt.Errorf("tbs_certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tbs_certificate: %w", err)
	}
	return c, nil
}
