package ctlog

import "encoding/binary"

// Encoders of the log formats, the inverse of the parsers; the fake log uses them.

// appendTileLeaf encodes l as a TileLeaf (the inverse of ParseTileLeaf); the test log uses it.
func appendTileLeaf(b []byte, l Leaf) []byte {
	b = appendTimestampedEntry(b, l)
	if l.Precert {
		b = appendVec(b, 3, l.PreCertificate)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(32*len(l.ChainFingerprints)))
	for _, fp := range l.ChainFingerprints {
		b = append(b, fp[:]...)
	}
	return b
}

// appendMerkleTreeLeaf encodes l as an RFC 6962 leaf_input.
func appendMerkleTreeLeaf(b []byte, l Leaf) []byte {
	return appendTimestampedEntry(append(b, 0, 0), l)
}

// appendExtraData encodes l's extra_data (certificate_chain or PrecertChainEntry).
func appendExtraData(b []byte, l Leaf) []byte {
	if l.Precert {
		b = appendVec(b, 3, l.PreCertificate)
	}
	var chain []byte
	for _, c := range l.Chain {
		chain = appendVec(chain, 3, c)
	}
	return appendVec(b, 3, chain)
}

func appendTimestampedEntry(b []byte, l Leaf) []byte {
	b = binary.BigEndian.AppendUint64(b, l.Timestamp)
	if l.Precert {
		b = binary.BigEndian.AppendUint16(b, entryPrecert)
		b = append(b, l.IssuerKeyHash[:]...)
	} else {
		b = binary.BigEndian.AppendUint16(b, entryX509)
	}
	b = appendVec(b, 3, l.Cert)
	return append(b, 0, 0) // no extensions
}

func appendVec(b []byte, n int, v []byte) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(len(v)>>(8*i)))
	}
	return append(b, v...)
}
