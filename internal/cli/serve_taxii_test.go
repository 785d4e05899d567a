package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/cli"
	"github.com/omen-tip/omen/internal/taxii"
)

// TestServeTAXII starts omen serve with the default configuration and reads the TAXII discovery
// and the default API root's collections with the initial admin key.
func TestServeTAXII(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(t.TempDir(), "omen-data")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	var errw syncBuffer
	go func() {
		done <- cli.Run(ctx, []string{"--data", data, "serve", "--collect=false", "--listen", addr}, strings.NewReader(""), io.Discard, &errw)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errw.String())
		}
	}()
	var key string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(data, "initial-admin-key")); err == nil {
			key = strings.TrimSpace(string(b))
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				break
			}
		}
	}
	if key == "" {
		t.Fatalf("no initial key: %s", errw.String())
	}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
		req.Header.Set("Accept", taxii.MediaType)
		req.SetBasicAuth("client", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, m := get("/taxii2/"); code != 200 || m["default"] != "http://"+addr+"/omen/" {
		t.Errorf("discovery: %d %v", code, m)
	}
	if code, m := get("/omen/collections/"); code != 200 || len(m["collections"].([]any)) != 7 {
		t.Errorf("collections: %d %v", code, m)
	}
}
