package taxii

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Media types.
const (
	// MediaType is the TAXII 2.1 media type of every request and response body.
	MediaType = "application/taxii+json;version=2.1"
	// STIXMediaType is the media type of the objects a collection holds.
	STIXMediaType = "application/stix+json;version=2.1"
)

// Timestamp layouts: date_added and request timestamps always carry microseconds (TAXII), object
// versions the precision of the object's own timestamp, at least milliseconds (STIX).
const (
	microLayout = "2006-01-02T15:04:05.000000Z"
	milliLayout = "2006-01-02T15:04:05.000Z"
	nanoLayout  = "2006-01-02T15:04:05.000000000Z"
)

// FormatTimestamp formats t as a TAXII timestamp: UTC with microseconds
// ("2016-11-02T12:34:34.123456Z").
func FormatTimestamp(t time.Time) string { return t.UTC().Format(microLayout) }

// formatVersion formats an object version as STIX does: milliseconds, or more digits when needed.
func formatVersion(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Nanosecond()%int(time.Millisecond) == 0:
		return t.Format(milliLayout)
	case t.Nanosecond()%int(time.Microsecond) == 0:
		return t.Format(microLayout)
	}
	return t.Format(nanoLayout)
}

// acceptable reports whether an Accept header allows a TAXII 2.1 response: one of its media ranges
// is application/taxii+json with no version or version 2.1 (medallion accepts only this type;
// "*/*" is not enough).
func acceptable(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		if taxiiMediaType(part) {
			return true
		}
	}
	return false
}

// taxiiMediaType reports whether s is application/taxii+json, version 2.1 or unversioned.
func taxiiMediaType(s string) bool {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(s))
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	v, ok := params["version"]
	return !ok || v == "2.1"
}

// apiError is a TAXII error message.
type apiError struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status,omitempty"` // a string in TAXII 2.1
}

// writeError writes a TAXII error message with the status code's text as title.
func writeError(w http.ResponseWriter, code int, description string) {
	writeTitled(w, code, http.StatusText(code), description)
}

// writeTitled writes a TAXII error message with a title of its own (medallion uses
// "ProcessingError" for content it cannot process).
func writeTitled(w http.ResponseWriter, code int, title, description string) {
	writeJSON(w, code, apiError{Title: title, Description: description, HTTPStatus: strconv.Itoa(code)})
}

// writeJSON writes v with the TAXII media type.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"title":"Internal Server Error","http_status":"500"}`)
	}
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// writeEmpty writes a status code with no body.
func writeEmpty(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(code)
}

// setDateAddedHeaders sets X-TAXII-Date-Added-First and -Last to the range of a page.
func setDateAddedHeaders(w http.ResponseWriter, first, last time.Time) {
	w.Header().Set("X-TAXII-Date-Added-First", FormatTimestamp(first))
	w.Header().Set("X-TAXII-Date-Added-Last", FormatTimestamp(last))
}
