package ctlog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultLogList is Chrome's list of Certificate Transparency logs, version 3: the logs browsers
// trust, with their keys, states and the certificate expiry range each shard takes.
const DefaultLogList = "https://www.gstatic.com/ct/log_list/v3/log_list.json"

// LogList is a CT log list in Chrome's version 3 format.
type LogList struct {
	Version   string     `json:"version"`
	Timestamp time.Time  `json:"log_list_timestamp"`
	Operators []Operator `json:"operators"`
}

// Operator is a log operator with its RFC 6962 logs and its tiled (static-ct) logs.
type Operator struct {
	Name      string      `json:"name"`
	Logs      []ListedLog `json:"logs"`
	TiledLogs []ListedLog `json:"tiled_logs"`
}

// ListedLog is one log of the list. RFC 6962 logs have URL; tiled logs SubmissionURL and
// MonitoringURL.
type ListedLog struct {
	Description      string                     `json:"description"`
	LogID            string                     `json:"log_id"`
	Key              string                     `json:"key"` // base64 DER SubjectPublicKeyInfo
	URL              string                     `json:"url"`
	SubmissionURL    string                     `json:"submission_url"`
	MonitoringURL    string                     `json:"monitoring_url"`
	MMD              int                        `json:"mmd"`
	State            map[string]json.RawMessage `json:"state"`
	TemporalInterval *struct {
		Start time.Time `json:"start_inclusive"`
		End   time.Time `json:"end_exclusive"`
	} `json:"temporal_interval"`
}

// StateName returns the log's state: pending, qualified, usable, readonly, retired or rejected
// ("" when the list gives none).
func (l ListedLog) StateName() string {
	for k := range l.State {
		return k
	}
	return ""
}

// ParseLogList parses a version 3 log list.
func ParseLogList(b []byte) (*LogList, error) {
	var l LogList
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("ct log list: %w", err)
	}
	if len(l.Operators) == 0 {
		return nil, errors.New("ct log list: no operators")
	}
	return &l, nil
}

// Follow returns the logs worth following at now to see new certificates: those in the usable or
// qualified state whose certificate expiry range has not ended, over the API each offers, with
// the key their tree heads are verified with. start is each log's Start (see LogConfig). A log
// the list describes badly is left out and named in the errors; the others are returned.
func (l *LogList) Follow(now time.Time, start string) ([]LogConfig, []error) {
	var out []LogConfig
	var errs []error
	for i, op := range l.Operators {
		for _, part := range []struct {
			kind API
			logs []ListedLog
		}{{RFC6962, op.Logs}, {Static, op.TiledLogs}} {
			kind := part.kind
			for j, ll := range part.logs {
				switch ll.StateName() {
				case "usable", "qualified":
				default:
					continue // pending logs take nothing yet; readonly and retired ones nothing more
				}
				if ll.TemporalInterval != nil && !ll.TemporalInterval.End.IsZero() && !now.Before(ll.TemporalInterval.End) {
					continue // every certificate it takes has expired
				}
				lc, err := ll.config(kind, start)
				if err != nil {
					field := "logs"
					if kind == Static {
						field = "tiled_logs"
					}
					errs = append(errs, fmt.Errorf("ct log list: operators[%d] (%s).%s[%d] (%s): %w", i, op.Name, field, j, ll.Description, err))
					continue
				}
				out = append(out, lc)
			}
		}
	}
	return out, errs
}

func (ll ListedLog) config(kind API, start string) (LogConfig, error) {
	key, err := base64.StdEncoding.DecodeString(ll.Key)
	if err != nil || len(key) == 0 {
		return LogConfig{}, fmt.Errorf("bad key %q", ll.Key)
	}
	lc := LogConfig{API: kind, Key: key, Start: start, Description: ll.Description}
	if kind == RFC6962 {
		lc.URL = ll.URL
	} else {
		lc.URL = ll.MonitoringURL
		u, err := url.Parse(ll.SubmissionURL)
		if err != nil || u.Host == "" {
			return LogConfig{}, fmt.Errorf("bad submission_url %q", ll.SubmissionURL)
		}
		// The checkpoint's origin is the submission prefix without its scheme (static-ct-api).
		lc.Origin = strings.TrimSuffix(u.Host+u.Path, "/")
	}
	if err := lc.Validate(); err != nil {
		return LogConfig{}, err
	}
	return lc, nil
}

// LogList reads a log list from src: an http(s) URL, fetched politely like the logs, or a file.
func (c *Client) LogList(ctx context.Context, src string) (*LogList, error) {
	var b []byte
	var err error
	if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://") {
		b, err = c.get(ctx, src)
	} else {
		b, err = os.ReadFile(src)
	}
	if err != nil {
		return nil, fmt.Errorf("ct log list %s: %w", src, err)
	}
	l, err := ParseLogList(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return l, nil
}
