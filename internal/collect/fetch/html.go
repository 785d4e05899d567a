package fetch

import (
	"bytes"
	"io"
	"os"
)

// htmlStarts are the openings of an HTML page, lower case.
var htmlStarts = [][]byte{[]byte("<!doctype html"), []byte("<html"), []byte("<head"), []byte("<body")}

// LooksLikeHTML reports whether the file at path starts, after an optional UTF-8 byte-order mark
// and whitespace, with "<!doctype html", "<html", "<head" or "<body" (any case) ending at a
// tag boundary: the captive-portal, login or error page a server sends where data was expected.
// It reads at most 512 bytes; an unreadable file is not HTML.
func LooksLikeHTML(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := io.ReadFull(f, buf)
	b := bytes.TrimPrefix(buf[:n], []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n\f\v")
	for _, s := range htmlStarts {
		if len(b) < len(s) || !bytes.EqualFold(b[:len(s)], s) {
			continue
		}
		if len(b) == len(s) {
			return true
		}
		switch b[len(s)] {
		case ' ', '\t', '\r', '\n', '\f', '>', '/':
			return true
		}
	}
	return false
}
