package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/omen-tip/omen/internal/collect"
)

// State is the conditional-GET state a source kind keeps between runs.
type State struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Source downloads env.Source's URL for a kind that reads its input whole: a conditional GET from
// the state of the last good run, the auth header taken from the environment, the source's size cap
// and timeout. A 304 returns a nil Download and a Result with NotModified set. An HTML page where
// `what` was expected is rejected (unless what is empty). The caller closes the Download.
func Source(ctx context.Context, env *collect.Env, what string) (*collect.Download, collect.Result, error) {
	src := env.Source
	var st State
	_ = json.Unmarshal(env.State, &st) // a bad state only costs a full download
	req := collect.FetchRequest{URL: src.URL, ETag: st.ETag, LastModified: st.LastModified,
		MaxBytes: src.MaxBytes, Timeout: time.Duration(src.Timeout)}
	h, err := collect.AuthHeaders(src)
	if err != nil {
		return nil, collect.Result{}, err
	}
	req.Headers = h
	dl, err := env.Fetch.Fetch(ctx, req)
	if err != nil {
		return nil, collect.Result{}, err
	}
	res := collect.Result{Fetched: dl.Bytes, NotModified: dl.NotModified}
	if dl.NotModified {
		dl.Close()
		return nil, res, nil
	}
	if what != "" && LooksLikeHTML(dl.Path) {
		dl.Close()
		return nil, res, fmt.Errorf("rejected the input: %s returned an HTML page, not %s", src.URL, what)
	}
	return dl, res, nil
}

// StateOf is the state to save after a good run of dl.
func StateOf(dl *collect.Download) []byte {
	b, _ := json.Marshal(State{ETag: dl.ETag, LastModified: dl.LastModified})
	return b
}
