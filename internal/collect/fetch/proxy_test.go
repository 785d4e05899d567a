package fetch_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
)

func TestNewProxyValidation(t *testing.T) {
	tests := []struct {
		proxy   string
		wantErr bool
	}{
		{"", false},
		{"http://127.0.0.1:3128", false},
		{"https://proxy.example.org:443", false},
		{"socks5://127.0.0.1:9050", false},
		{"socks5h://user:pass@127.0.0.1:9050", false},
		{"socks5h://localhost", false}, // port 1080
		{"ftp://127.0.0.1:21", true},
		{"socks4://127.0.0.1:1080", true},
		{"http://", true},
		{"socks5://:1080", true},
		{"127.0.0.1:3128", true},
		{"http://[::1", true},
	}
	for _, tc := range tests {
		t.Run(tc.proxy, func(t *testing.T) {
			_, err := fetch.New(fetch.Options{Proxy: tc.proxy})
			if (err != nil) != tc.wantErr {
				t.Errorf("New(Proxy: %q) error = %v, want error %v", tc.proxy, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pass") {
				t.Errorf("error %q shows the proxy password", err)
			}
		})
	}
}

// TestFetchHTTPProxy fetches through a forward proxy that sends every request to the target
// server, whatever host the URL names: the fetch can only succeed through the proxy.
func TestFetchHTTPProxy(t *testing.T) {
	target := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, csvBody) })
	targetURL, _ := url.Parse(target.URL)
	var used atomic.Int64
	proxySrv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect || !r.URL.IsAbs() {
			http.Error(w, "forward proxy only", http.StatusBadRequest)
			return
		}
		used.Add(1)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Host = targetURL.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	c, _ := newClient(t, fetch.Options{Proxy: proxySrv.URL})
	dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: "http://feed.omen-test.invalid/list.csv"})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer dl.Close()
	if got := readFile(t, dl.Path); got != csvBody {
		t.Errorf("body = %q", got)
	}
	if used.Load() != 1 {
		t.Errorf("proxy used %d times, want 1", used.Load())
	}
}

func TestFetchSOCKS5Proxy(t *testing.T) {
	target := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, csvBody) })
	targetAddr := strings.TrimPrefix(target.URL, "http://")
	_, port, _ := net.SplitHostPort(targetAddr)

	tests := []struct {
		name, scheme, url, wantDest string
	}{
		{"socks5 to an IP", "socks5", target.URL + "/feed", targetAddr},
		// The name does not resolve: only the proxy may resolve it (Tor's .onion case).
		{"socks5h to a name", "socks5h", "http://feed.omen-test.invalid:" + port + "/feed", "feed.omen-test.invalid:" + port},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startSOCKS5(t, targetAddr)
			c, _ := newClient(t, fetch.Options{Proxy: tc.scheme + "://" + s.addr})
			dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: tc.url})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			defer dl.Close()
			if got := readFile(t, dl.Path); got != csvBody {
				t.Errorf("body = %q", got)
			}
			if dests := s.destinations(); len(dests) != 1 || dests[0] != tc.wantDest {
				t.Errorf("SOCKS5 CONNECT destinations %v, want [%s]", dests, tc.wantDest)
			}
		})
	}
}

// socks5Server is a minimal RFC 1928 server: no authentication, CONNECT only. It records the
// destination each client asked for and connects every one of them to dialAddr.
type socks5Server struct {
	addr string
	mu   sync.Mutex
	dest []string
}

func (s *socks5Server) destinations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dest...)
}

func startSOCKS5(t *testing.T, dialAddr string) *socks5Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socks5Server{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	var conns sync.Map
	t.Cleanup(func() { // runs first: unblock the copies
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			wg.Go(func() {
				defer c.Close()
				if err := s.handle(c, dialAddr, &conns); err != nil && !errors.Is(err, net.ErrClosed) {
					t.Logf("socks5 server: %v", err)
				}
			})
		}
	})
	return s
}

func (s *socks5Server) handle(c net.Conn, dialAddr string, conns *sync.Map) error {
	// Greeting: VER NMETHODS METHODS...
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return err
	}
	if hdr[0] != 5 {
		return errors.New("not SOCKS5")
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return err
	}
	if _, err := c.Write([]byte{5, 0}); err != nil { // no authentication
		return err
	}
	// Request: VER CMD RSV ATYP DST.ADDR DST.PORT
	req := make([]byte, 4)
	if _, err := io.ReadFull(c, req); err != nil {
		return err
	}
	if req[1] != 1 {
		c.Write([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0}) // command not supported
		return errors.New("not CONNECT")
	}
	var host string
	switch req[3] {
	case 1:
		b := make([]byte, 4)
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		host = net.IP(b).String()
	case 4:
		b := make([]byte, 16)
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		host = net.IP(b).String()
	case 3:
		n := make([]byte, 1)
		if _, err := io.ReadFull(c, n); err != nil {
			return err
		}
		b := make([]byte, n[0])
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		host = string(b)
	default:
		return errors.New("bad address type")
	}
	pb := make([]byte, 2)
	if _, err := io.ReadFull(c, pb); err != nil {
		return err
	}
	s.mu.Lock()
	s.dest = append(s.dest, net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(pb)))))
	s.mu.Unlock()

	up, err := net.Dial("tcp", dialAddr)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return err
	}
	conns.Store(up, true)
	defer up.Close()
	if _, err := c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0}); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.Close()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
	return nil
}
