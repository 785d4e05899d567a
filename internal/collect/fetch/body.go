package fetch

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// errOverLimit is the internal signal of a body over its limit; Fetch turns it into an error
// wrapping [ErrTooLarge] and naming the URL and the limit.
var errOverLimit = errors.New("over the size limit")

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zipMagic  = []byte("PK\x03\x04")
)

// store writes src to a new temporary file and returns its path and size. A body that starts
// with the gzip magic is gunzipped (EPSS's .csv.gz), one that starts with the zip local-file
// magic is extracted (see extractZip); detection is by content, not by the URL's extension,
// since a .gz served with Content-Encoding: gzip arrives here already decoded. Only one layer is
// unpacked. limit caps what is written. On error the file is removed.
func (c *Client) store(ctx context.Context, src io.Reader, limit int64) (path string, n int64, err error) {
	out, err := os.CreateTemp(c.opts.TempDir, "omen-fetch-*")
	if err != nil {
		return "", 0, fmt.Errorf("creating the temporary file: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing the temporary file: %w", cerr)
		}
		if err != nil {
			os.Remove(out.Name())
		}
	}()

	br := bufio.NewReaderSize(&ctxReader{ctx: ctx, r: src}, 64<<10)
	magic, err := br.Peek(len(zipMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", 0, err
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", 0, fmt.Errorf("gunzipping the body: %w", eofIsUnexpected(err))
		}
		n, err = copyLimited(out, zr, limit)
		if err != nil {
			return "", 0, fmt.Errorf("gunzipping the body: %w", err)
		}
	case bytes.Equal(magic, zipMagic):
		n, err = c.extractZip(br, out, limit)
		if err != nil {
			return "", 0, err
		}
	default:
		n, err = copyLimited(out, br, limit)
		if err != nil {
			return "", 0, err
		}
	}
	return out.Name(), n, nil
}

// extractZip saves the archive (zip needs random access), then extracts into out its only regular
// file or, when it holds several, the largest (ties: the first). Directories and symlinks are
// skipped. An archive with an entry name that is absolute or climbs out with ".." is rejected as
// a whole, although nothing but the one file is ever written, and only to out.
func (c *Client) extractZip(src io.Reader, out io.Writer, limit int64) (int64, error) {
	raw, err := os.CreateTemp(c.opts.TempDir, "omen-fetch-zip-*")
	if err != nil {
		return 0, fmt.Errorf("creating the temporary file: %w", err)
	}
	defer func() {
		raw.Close()
		os.Remove(raw.Name())
	}()
	size, err := copyLimited(raw, src, limit)
	if err != nil {
		return 0, err
	}
	zr, err := zip.NewReader(raw, size)
	if err != nil {
		return 0, fmt.Errorf("reading the zip archive: %w", err)
	}
	var pick *zip.File
	for _, f := range zr.File {
		if name := strings.ReplaceAll(f.Name, `\`, "/"); !filepath.IsLocal(name) {
			return 0, fmt.Errorf("reading the zip archive: entry %q is outside the archive", f.Name)
		}
		if !f.Mode().IsRegular() {
			continue
		}
		if pick == nil || f.UncompressedSize64 > pick.UncompressedSize64 {
			pick = f
		}
	}
	if pick == nil {
		return 0, errors.New("reading the zip archive: no regular file in it")
	}
	if pick.UncompressedSize64 > uint64(limit) {
		return 0, errOverLimit
	}
	rc, err := pick.Open()
	if err != nil {
		return 0, fmt.Errorf("extracting %q from the zip archive: %w", pick.Name, err)
	}
	defer rc.Close()
	n, err := copyLimited(out, rc, limit)
	if err != nil {
		return 0, fmt.Errorf("extracting %q from the zip archive: %w", pick.Name, err)
	}
	return n, nil
}

// copyLimited copies r to w and fails with errOverLimit once more than limit bytes came.
func copyLimited(w io.Writer, r io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, errOverLimit
	}
	return n, nil
}

// netReader is the raw body: it enforces the transfer limit and remembers a failed read, which
// tells a broken transfer (worth retrying) from bad content (not).
type netReader struct {
	r     io.Reader
	limit int64
	n     int64
	err   error // first read error other than io.EOF
}

func (nr *netReader) Read(p []byte) (int, error) {
	if nr.n > nr.limit {
		return 0, errOverLimit
	}
	if rest := nr.limit + 1 - nr.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := nr.r.Read(p)
	nr.n += int64(n)
	if err != nil && err != io.EOF && nr.err == nil {
		nr.err = err
	}
	if nr.n > nr.limit {
		return n, errOverLimit
	}
	return n, err
}

// lazyGzip decodes Content-Encoding: gzip, reading the gzip header on the first Read so that its
// errors surface where the body is read. An empty body is an empty body.
type lazyGzip struct {
	r  io.Reader
	zr *gzip.Reader
}

func (lg *lazyGzip) Read(p []byte) (int, error) {
	if lg.zr == nil {
		zr, err := gzip.NewReader(lg.r)
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			return 0, fmt.Errorf("decoding Content-Encoding gzip: %w", eofIsUnexpected(err))
		}
		lg.zr = zr
	}
	n, err := lg.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("decoding Content-Encoding gzip: %w", err)
	}
	return n, err
}

// ctxReader stops a copy once ctx is done (the transport does so for network bodies; this covers
// file URLs).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (cr *ctxReader) Read(p []byte) (int, error) {
	if err := cr.ctx.Err(); err != nil {
		return 0, err
	}
	return cr.r.Read(p)
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
