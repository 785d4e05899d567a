package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
)

// registerEnrich mounts POST /api/v1/enrich when the server has an enricher.
func (s *Server) registerEnrich() {
	if s.deps.Enricher == nil {
		return
	}
	s.decoders = map[enrich.Format]*enrich.Decoder{}
	for _, f := range []enrich.Format{enrich.FormatECS, enrich.FormatZeek, enrich.FormatSuricata, enrich.FormatCEF} {
		d, err := enrich.NewDecoder(f, nil)
		if err != nil {
			panic(fmt.Sprintf("the shipped %s decoder: %v", f, err)) // a build defect, caught by the tests
		}
		s.decoders[f] = d
	}
	s.handle("POST /api/v1/enrich", intel.RoleReader, s.enrich)
}

// enrich enriches one event (Content-Type application/json: the body is one JSON object, pretty
// printed or not) or a batch (application/x-ndjson, or text/plain for CEF: one event a line). The
// answer has the same shape: the enriched event, or one enriched event a line in order. Query
// parameters: format (ecs, zeek, suricata, cef) and min_priority (a batch leaves out events below
// it). The output carries nothing above the caller's TLP clearance.
func (s *Server) enrich(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := enrich.FormatECS
	if v := q.Get("format"); v != "" {
		f, err := enrich.ParseFormat(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		format = f
	}
	output := enrich.OutputECS
	if v := q.Get("output"); v != "" {
		o, err := enrich.ParseOutput(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		output = o
	}
	minPriority := 0
	if v := q.Get("min_priority"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			writeError(w, http.StatusBadRequest, "min_priority: want 0..100")
			return
		}
		minPriority = n
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	en := s.deps.Enricher.WithClearance(caller(r).Clearance)
	wk := en.NewWorker(s.decoders[format])
	wk.SetOutput(output)
	if ct == "application/json" && format != enrich.FormatCEF {
		var line bytes.Buffer
		if err := json.Compact(&line, bytes.TrimSpace(body)); err != nil {
			writeError(w, http.StatusBadRequest, "invalid JSON event: "+err.Error())
			return
		}
		res, err := wk.Enrich(r.Context(), line.Bytes())
		if err != nil {
			var syn *enrich.SyntaxError
			if errors.As(err, &syn) {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			s.internalError(w, "enriching an event", err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Omen-Priority", strconv.Itoa(res.Priority))
		if len(res.Out) == 0 { // OCSF: no detection, no finding
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Write(res.Out)
		w.Write([]byte{'\n'})
		return
	}
	// A batch: one event a line; a line that does not decode is passed through and counted.
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), MaxBody)
	var n, matched, bad int
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		n++
		res, err := wk.Enrich(r.Context(), line)
		var syn *enrich.SyntaxError
		switch {
		case errors.As(err, &syn):
			bad++
			if minPriority == 0 && output == enrich.OutputECS {
				out.Write(line)
				out.WriteByte('\n')
			}
			continue
		case err != nil:
			s.internalError(w, "enriching events", err)
			return
		}
		if res.Matched {
			matched++
		}
		if len(res.Out) == 0 || minPriority > 0 && (!res.Matched || res.Priority < minPriority) {
			continue
		}
		out.Write(res.Out)
		out.WriteByte('\n')
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Omen-Events", strconv.Itoa(n))
	w.Header().Set("X-Omen-Matched", strconv.Itoa(matched))
	w.Header().Set("X-Omen-Invalid", strconv.Itoa(bad))
	w.Write(out.Bytes())
}
