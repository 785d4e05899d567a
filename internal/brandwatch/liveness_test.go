package brandwatch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/omen-tip/omen/internal/brand"
	"github.com/omen-tip/omen/internal/risk"
)

// fakeDNS is an authoritative DNS server on 127.0.0.1 (UDP) answering A and MX queries for the
// planted names, an empty answer for other types of a planted name, and NXDOMAIN otherwise.
type fakeDNS struct {
	pc net.PacketConn
	a  map[string][4]byte // fqdn -> IPv4
	mx map[string]string  // fqdn -> mail host fqdn
	wg sync.WaitGroup
}

func newFakeDNS(t *testing.T, a map[string][4]byte, mx map[string]string) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeDNS{pc: pc, a: a, mx: mx}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() { pc.Close(); s.wg.Wait() })
	return s
}

func (s *fakeDNS) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, err := s.answer(buf[:n]); err == nil {
			s.pc.WriteTo(out, from)
		}
	}
}

func (s *fakeDNS) answer(in []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(in)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	_, hasA := s.a[name]
	_, hasMX := s.mx[name]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true}
	if !hasA && !hasMX {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch {
	case q.Type == dnsmessage.TypeA && hasA:
		if err := b.AResource(hdr, dnsmessage.AResource{A: s.a[name]}); err != nil {
			return nil, err
		}
	case q.Type == dnsmessage.TypeMX && hasMX:
		if err := b.MXResource(hdr, dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName(s.mx[name])}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// resolver returns a pure-Go resolver that sends every query to s.
func (s *fakeDNS) resolver() *net.Resolver {
	addr := s.pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// clientTo returns an HTTP client that dials srv whatever address the URL names.
func clientTo(srv *httptest.Server) *http.Client {
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr}
}

var paypal = brand.Brand{Name: "PayPal", Domains: []string{"paypal.com"}, Keywords: []string{"paypal"}}

const phishPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Log in to your PayPal account</title>
<script>var paypal = 1;</script></head>
<body><h1>Welcome back</h1><form action="/login"><input name="email"></form></body></html>`

const parkedPage = `<html><head><title>This domain may be for sale</title></head>
<body>Buy this domain. Contact the owner.</body></html>`

func TestProbe(t *testing.T) {
	loop := [4]byte{127, 0, 0, 1}
	dns := newFakeDNS(t,
		map[string][4]byte{
			"paypa1.test.":        loop,
			"paypal-login.test.":  loop,
			"paypal-mail.test.":   loop,
			"www.paypal-go.test.": loop,
			"paypal-go.test.":     loop,
		},
		map[string]string{
			"paypal-mail.test.": "mx1.paypal-mail.test.",
			"paypal-mx.test.":   "mail.elsewhere.test.",
		})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "paypal-login.test":
			fmt.Fprint(w, phishPage)
		case r.Host == "paypal-go.test":
			http.Redirect(w, r, "http://www.paypal-go.test/signin", http.StatusFound)
		case r.Host == "www.paypal-go.test":
			fmt.Fprint(w, phishPage)
		default:
			fmt.Fprint(w, parkedPage)
		}
	}))
	t.Cleanup(srv.Close)
	p := &Prober{Resolver: dns.resolver(), HTTP: clientTo(srv), AllowPrivate: true}

	tests := []struct {
		domain     string
		visibility string
		resolves   bool
		mx         []string
		status     int
		title      string
		shows      bool
	}{
		{"unregistered-paypal.test", risk.VisibilityRegistered, false, nil, 0, "", false},
		{"paypa1.test", risk.VisibilityResolving, true, nil, 200, "This domain may be for sale", false},
		{"paypal-login.test", risk.VisibilityContent, true, nil, 200, "Log in to your PayPal account", true},
		{"PayPal-Login.test.", risk.VisibilityContent, true, nil, 200, "Log in to your PayPal account", true},
		{"paypal-go.test", risk.VisibilityContent, true, nil, 200, "Log in to your PayPal account", true},
		{"paypal-mail.test", risk.VisibilityContent, true, []string{"mx1.paypal-mail.test"}, 200, "This domain may be for sale", false},
		{"paypal-mx.test", risk.VisibilityContent, false, []string{"mail.elsewhere.test"}, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			lv := p.Probe(t.Context(), tt.domain, paypal)
			t.Logf("evidence: %q", lv.Evidence)
			if lv.Visibility != tt.visibility {
				t.Errorf("Visibility = %q, want %q", lv.Visibility, tt.visibility)
			}
			if lv.Resolves != tt.resolves {
				t.Errorf("Resolves = %v, want %v", lv.Resolves, tt.resolves)
			}
			if tt.resolves && (len(lv.Addrs) != 1 || lv.Addrs[0] != "127.0.0.1") {
				t.Errorf("Addrs = %q, want [127.0.0.1]", lv.Addrs)
			}
			if fmt.Sprint(lv.MX) != fmt.Sprint(tt.mx) {
				t.Errorf("MX = %q, want %q", lv.MX, tt.mx)
			}
			if lv.HTTPStatus != tt.status || lv.Title != tt.title || lv.ShowsBrand != tt.shows {
				t.Errorf("HTTP = %d %q shows=%v, want %d %q shows=%v", lv.HTTPStatus, lv.Title, lv.ShowsBrand,
					tt.status, tt.title, tt.shows)
			}
			if len(lv.Evidence) == 0 {
				t.Error("no evidence")
			}
		})
	}
}

func TestProbeSkipsPrivateAddresses(t *testing.T) {
	dns := newFakeDNS(t, map[string][4]byte{"paypal-login.test.": {127, 0, 0, 1}}, nil)
	var hits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		fmt.Fprint(w, phishPage)
	}))
	t.Cleanup(srv.Close)
	for _, p := range []*Prober{
		{Resolver: dns.resolver(), HTTP: clientTo(srv)}, // the given client is not even asked
		{Resolver: dns.resolver()},                      // the default client
	} {
		lv := p.Probe(t.Context(), "paypal-login.test", paypal)
		if lv.Visibility != risk.VisibilityResolving || lv.HTTPStatus != 0 || lv.ShowsBrand {
			t.Errorf("Probe = %+v, want resolving without HTTP", lv)
		}
		if !strings.Contains(strings.Join(lv.Evidence, " "), "private") {
			t.Errorf("Evidence = %q, want it to say the addresses are private", lv.Evidence)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("server was fetched %d times", hits)
	}
}

func TestDefaultClientRefusesPrivateDial(t *testing.T) {
	// A redirect (or a DNS change) to a loopback address is refused by the default client's dialer.
	dns := newFakeDNS(t, map[string][4]byte{"inside.test.": {127, 0, 0, 1}}, nil)
	p := &Prober{Resolver: dns.resolver()}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://inside.test:1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := p.client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("dialled a loopback address")
	} else if !strings.Contains(err.Error(), "private") {
		t.Errorf("err = %v, want it to name private addresses", err)
	}
}

func TestProbeRedirectLimit(t *testing.T) {
	dns := newFakeDNS(t, map[string][4]byte{"loop.test.": {127, 0, 0, 1}}, nil)
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		http.Redirect(w, r, fmt.Sprintf("/r%d", i), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	p := &Prober{Resolver: dns.resolver(), HTTP: clientTo(srv), AllowPrivate: true}
	lv := p.Probe(t.Context(), "loop.test", paypal)
	mu.Lock()
	defer mu.Unlock()
	if n != 4 { // the first request and 3 redirects
		t.Errorf("server saw %d requests, want 4", n)
	}
	if lv.Visibility != risk.VisibilityResolving || lv.HTTPStatus != 0 {
		t.Errorf("Probe = %+v", lv)
	}
	if !strings.Contains(strings.Join(lv.Evidence, " "), "redirects") {
		t.Errorf("Evidence = %q, want the redirect limit", lv.Evidence)
	}
}

func TestProbeBodyCap(t *testing.T) {
	dns := newFakeDNS(t, map[string][4]byte{"big.test.": {127, 0, 0, 1}}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>Big</title><body>"+strings.Repeat("x ", 10000)+"PayPal</body></html>")
	}))
	t.Cleanup(srv.Close)
	p := &Prober{Resolver: dns.resolver(), HTTP: clientTo(srv), AllowPrivate: true, MaxBody: 1000}
	lv := p.Probe(t.Context(), "big.test", paypal)
	if lv.Title != "Big" || lv.ShowsBrand {
		t.Errorf("Probe = %+v, want title Big and the brand past the cap unseen", lv)
	}
}

func TestProbeBadInput(t *testing.T) {
	p := &Prober{Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, fmt.Errorf("no network in tests")
	}}}
	for _, d := range []string{"", " ", "http://paypal.test/", "a b", "paypal.test:80"} {
		lv := p.Probe(t.Context(), d, paypal)
		if lv.Visibility != risk.VisibilityRegistered || lv.Resolves || len(lv.Evidence) == 0 {
			t.Errorf("Probe(%q) = %+v", d, lv)
		}
	}
}

func TestPageText(t *testing.T) {
	tests := []struct {
		name, page, title, text string
	}{
		{"simple", phishPage, "Log in to your PayPal account", "Welcome back"},
		{"no title", "<p>hello</p>", "", "hello"},
		{"plain text", "just text", "", "just text"},
		{"truncated", "<html><title>Sign in to Pay", "Sign in to Pay", ""},
		{"entities", "<title>A &amp; B</title>", "A & B", ""},
		{"two titles", "<title>one</title><svg><title>two</title></svg>", "one", "two"},
		{"whitespace", "<title>\n  Log\tin \n</title>", "Log in", ""},
		{"style skipped", "<style>.paypal{}</style><body>ok</body>", "", "ok"},
		{"unclosed script", "<script>var x = '<title>no</title>'", "", ""},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, text := PageText([]byte(tt.page))
			if title != tt.title {
				t.Errorf("title = %q, want %q", title, tt.title)
			}
			if got := strings.Join(strings.Fields(text), " "); got != tt.text {
				t.Errorf("text = %q, want %q", got, tt.text)
			}
		})
	}
}

func TestShowsBrand(t *testing.T) {
	noKw := brand.Brand{Name: "Example Bank", Domains: []string{"examplebank.co.uk"}}
	tests := []struct {
		text string
		b    brand.Brand
		want string
	}{
		{"Log in to your PayPal account", paypal, "paypal"},
		{"visit PAYPAL.COM today", paypal, "paypal"},
		{"unpaypalled", paypal, ""},
		{"pay pal", paypal, ""},
		{"Welcome to ExampleBank online", noKw, "examplebank"},
		{"example bank", noKw, ""},
		{"", paypal, ""},
		{"ab", brand.Brand{Keywords: []string{"ab"}}, ""}, // too short to mean the brand
	}
	for _, tt := range tests {
		if got := ShowsBrand(tt.text, tt.b); got != tt.want {
			t.Errorf("ShowsBrand(%q, %v) = %q, want %q", tt.text, tt.b.Domains, got, tt.want)
		}
	}
}

func TestPublic(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1": true, "127.0.0.1": false, "10.1.2.3": false, "192.168.0.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false,
		"fc00::1": false, "::ffff:127.0.0.1": false, "224.0.0.1": false,
	} {
		if got := public(netip.MustParseAddr(s)); got != want {
			t.Errorf("public(%s) = %v, want %v", s, got, want)
		}
	}
}

// readGo1 returns the genuine page testdata/liveness_go1.html (see testdata/SOURCES.md).
func readGo1(tb testing.TB) []byte {
	tb.Helper()
	page, err := os.ReadFile("testdata/liveness_go1.html")
	if err != nil {
		tb.Fatal(err)
	}
	return page
}

func TestPageTextGenuine(t *testing.T) {
	page := readGo1(t)
	title, text := PageText(page)
	if want := "Go 1 Release Notes - The Go Programming Language"; title != want {
		t.Errorf("title = %q, want %q", title, want)
	}
	if !strings.Contains(text, "Introduction to Go 1") {
		t.Error("text lacks the heading \"Introduction to Go 1\"")
	}
	if strings.Contains(text, "_gaq") || strings.Contains(text, "_trackPageview") {
		t.Error("text includes script content")
	}
	golang := brand.Brand{Name: "Go", Domains: []string{"golang.org"}}
	if got := ShowsBrand(title+" "+text, golang); got != "golang" {
		t.Errorf("ShowsBrand(golang.org) = %q, want golang", got)
	}
	if got := ShowsBrand(title+" "+text, paypal); got != "" {
		t.Errorf("ShowsBrand(paypal) = %q, want none", got)
	}
	// Cut anywhere, the page still yields its title or nothing, never a panic.
	for _, n := range []int{0, 1, 100, 200, 1000, len(page) / 2} {
		PageText(page[:n])
	}
}

func TestProbeGenuinePage(t *testing.T) {
	page := readGo1(t)
	dns := newFakeDNS(t, map[string][4]byte{"go1ang.test.": {127, 0, 0, 1}}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	t.Cleanup(srv.Close)
	p := &Prober{Resolver: dns.resolver(), HTTP: clientTo(srv), AllowPrivate: true}
	golang := brand.Brand{Name: "Go", Domains: []string{"golang.org"}, Keywords: []string{"Go Programming Language"}}
	lv := p.Probe(t.Context(), "go1ang.test", golang)
	if lv.Visibility != risk.VisibilityContent || !lv.ShowsBrand || lv.HTTPStatus != 200 {
		t.Errorf("Probe = %+v, want content showing the brand", lv)
	}
	if lv = p.Probe(t.Context(), "go1ang.test", paypal); lv.Visibility != risk.VisibilityResolving || lv.ShowsBrand {
		t.Errorf("Probe(paypal) = %+v, want resolving", lv)
	}
}

func FuzzPageText(f *testing.F) {
	f.Add(readGo1(f))
	f.Add(readGo1(f)[:3000])
	for _, s := range []string{phishPage, parkedPage, "<title>x", "<script>", "<title>\xff\xfe</title>", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		title, text := PageText(page)
		if len([]rune(title)) > maxTitle+1 {
			t.Fatalf("title of %d runes", len([]rune(title)))
		}
		ShowsBrand(title+" "+text, paypal)
	})
}
