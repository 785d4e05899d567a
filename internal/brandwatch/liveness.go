package brandwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/publicsuffix"

	"github.com/omen-tip/omen/internal/brand"
	"github.com/omen-tip/omen/internal/risk"
)

// Defaults of a [Prober].
const (
	DefaultProbeTimeout = 10 * time.Second
	DefaultMaxBody      = 1 << 20
	maxRedirects        = 3
	maxTitle            = 200
	minBrandWord        = 3 // shorter keywords are too common to say a page shows the brand
)

// Prober checks whether a lookalike domain is live: whether it resolves (A/AAAA), receives mail
// (MX), and serves a page that shows the brand. Those facts set omen-prio-1's visibility level
// of the lookalike. The zero value is usable; a Prober is safe for concurrent use.
type Prober struct {
	// Resolver is used for the A/AAAA and MX lookups and, with the default HTTP client, for the
	// addresses dialled; nil uses net.DefaultResolver.
	Resolver *net.Resolver
	// HTTP fetches http://domain/; nil uses a client whose dialer refuses private and loopback
	// addresses (unless AllowPrivate). A client given here is used as is, except that at most 3
	// redirects are followed.
	HTTP *http.Client
	// Timeout bounds a whole Probe (DNS and HTTP); 0 means DefaultProbeTimeout.
	Timeout time.Duration
	// MaxBody caps the bytes of the page read; 0 means DefaultMaxBody.
	MaxBody int64
	// AllowPrivate lets the HTTP check reach private, loopback and link-local addresses (tests).
	// By default the page is not fetched when every address of the domain is private, and the
	// Evidence says so.
	AllowPrivate bool
	// Log receives debug messages; nil discards them.
	Log *slog.Logger
}

// Liveness is what a [Prober] found about a domain.
type Liveness struct {
	Domain     string   `json:"domain"`
	Resolves   bool     `json:"resolves"`
	Addrs      []string `json:"addrs,omitempty"`
	MX         []string `json:"mx,omitempty"`
	HTTPStatus int      `json:"http_status,omitempty"` // of the last response, after redirects
	Title      string   `json:"title,omitempty"`
	ShowsBrand bool     `json:"shows_brand"`
	// Visibility is a risk.Visibility* level: registered (nothing resolves), resolving (A/AAAA),
	// content (an MX, or a page that shows the brand).
	Visibility string   `json:"visibility"`
	Evidence   []string `json:"evidence,omitempty"`
}

// Probe checks domain against b. It never fails: lookups and fetches that fail are reported in
// the Evidence and leave the corresponding fields empty.
func (p *Prober) Probe(ctx context.Context, domain string, b brand.Brand) Liveness {
	domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	lv := Liveness{Domain: domain, Visibility: risk.VisibilityRegistered}
	if domain == "" || strings.ContainsAny(domain, "/:@?# \t\r\n") {
		lv.Evidence = append(lv.Evidence, fmt.Sprintf("liveness: %q is not a domain name; not probed", domain))
		return lv
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := p.resolver()

	ips, err := r.LookupIPAddr(ctx, domain)
	if err != nil {
		lv.Evidence = append(lv.Evidence, "No A/AAAA record: "+dnsError(err)+".")
	}
	var addrs []netip.Addr
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip.IP); ok {
			a = a.Unmap()
			if !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
			}
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	for _, a := range addrs {
		lv.Addrs = append(lv.Addrs, a.String())
	}
	if len(addrs) > 0 {
		lv.Resolves = true
		lv.Evidence = append(lv.Evidence, fmt.Sprintf("Resolves to %s.", strings.Join(lv.Addrs, ", ")))
	}

	mxs, err := r.LookupMX(ctx, domain)
	if err != nil && len(mxs) == 0 {
		p.log().Debug("liveness: MX lookup", "domain", domain, "err", err)
	}
	for _, mx := range mxs {
		h := strings.ToLower(strings.TrimSuffix(mx.Host, "."))
		if h == "" { // null MX (RFC 7505): the domain accepts no mail
			continue
		}
		if !slices.Contains(lv.MX, h) {
			lv.MX = append(lv.MX, h)
		}
	}
	if len(lv.MX) > 0 {
		lv.Evidence = append(lv.Evidence, fmt.Sprintf("Accepts mail: MX %s.", strings.Join(lv.MX, ", ")))
	}

	if lv.Resolves {
		p.fetch(ctx, domain, addrs, b, &lv)
	}

	switch {
	case len(lv.MX) > 0 || lv.ShowsBrand:
		lv.Visibility = risk.VisibilityContent
	case lv.Resolves:
		lv.Visibility = risk.VisibilityResolving
	}
	return lv
}

// fetch gets http://domain/ and fills the HTTP fields of lv.
func (p *Prober) fetch(ctx context.Context, domain string, addrs []netip.Addr, b brand.Brand, lv *Liveness) {
	if !p.AllowPrivate && !slices.ContainsFunc(addrs, public) {
		lv.Evidence = append(lv.Evidence, "HTTP not checked: every address is private, loopback or reserved.")
		return
	}
	target := "http://" + domain + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		lv.Evidence = append(lv.Evidence, fmt.Sprintf("HTTP not checked: %v.", err))
		return
	}
	req.Header.Set("User-Agent", "omen-brand-monitor (liveness check)")
	req.Header.Set("Accept", "text/html,*/*;q=0.5")
	resp, err := p.client().Do(req)
	if err != nil {
		lv.Evidence = append(lv.Evidence, fmt.Sprintf("HTTP GET %s failed: %s.", target, httpError(err)))
		return
	}
	defer resp.Body.Close()
	limit := p.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		p.log().Debug("liveness: reading page", "url", target, "err", err)
	}
	lv.HTTPStatus = resp.StatusCode
	final := resp.Request.URL.String()
	ev := fmt.Sprintf("HTTP GET %s: %d", target, resp.StatusCode)
	if final != target {
		ev += " (after redirects, at " + final + ")"
	}
	title, text := PageText(body)
	lv.Title = title
	if title != "" {
		ev += fmt.Sprintf(", title %q", title)
	}
	lv.Evidence = append(lv.Evidence, ev+".")
	if w := ShowsBrand(title+"\n"+text, b); w != "" {
		lv.ShowsBrand = true
		lv.Evidence = append(lv.Evidence, fmt.Sprintf("The page shows the brand: %q.", w))
	}
}

// PageText returns the title of an HTML page and its visible text (outside script, style and
// similar elements), read leniently from a page that may be truncated or malformed. Text that is
// not HTML comes back whole as the text.
func PageText(page []byte) (title, text string) {
	z := html.NewTokenizer(strings.NewReader(string(page)))
	var sb, tb strings.Builder
	inTitle, skip := false, 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return cleanSpace(tb.String(), maxTitle), sb.String()
		case html.StartTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Title:
				inTitle = tb.Len() == 0
			case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Textarea:
				skip++
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Title:
				inTitle = false
			case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Textarea:
				if skip > 0 {
					skip--
				}
			}
		case html.TextToken:
			t := z.Text()
			switch {
			case inTitle:
				tb.Write(t)
			case skip == 0:
				sb.Write(t)
				sb.WriteByte(' ')
			}
		}
	}
}

// ShowsBrand returns the first of b's words (its keywords, then the labels of its domains below
// the public suffix) found in text, case-insensitively and as a whole word, or "" if none is.
func ShowsBrand(text string, b brand.Brand) string {
	lower := strings.ToLower(text)
	for _, w := range brandWords(b) {
		if containsWord(lower, w) {
			return w
		}
	}
	return ""
}

// brandWords returns b's keywords and the registrable labels of its domains, lower-cased.
func brandWords(b brand.Brand) []string {
	var out []string
	add := func(w string) {
		w = strings.ToLower(strings.TrimSpace(w))
		if len([]rune(w)) >= minBrandWord && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	for _, k := range b.Keywords {
		add(k)
	}
	for _, d := range b.Domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if e, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
			d = e
		}
		label, _, _ := strings.Cut(d, ".")
		add(label)
	}
	return out
}

// containsWord reports whether w occurs in s not inside a longer word ("paypal" in "PayPal Login"
// and "paypal.com", not in "unpaypalled").
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if !wordByteAt(s, start-1) && !wordByteAt(s, end) {
			return true
		}
		i = start + 1
	}
}

func wordByteAt(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80
}

// cleanSpace collapses runs of white space and caps s at n runes.
func cleanSpace(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

func (p *Prober) resolver() *net.Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

func (p *Prober) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

// errRedirects stops a chain of redirects.
var errRedirects = errors.New("stopped after 3 redirects")

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return errRedirects
	}
	return nil
}

// client returns the HTTP client: p.HTTP limited to 3 redirects, or one that dials only the
// public addresses p's resolver gives (checked at dial time, so redirects and DNS changes
// cannot reach a private address).
func (p *Prober) client() *http.Client {
	if p.HTTP != nil {
		c := *p.HTTP
		c.CheckRedirect = checkRedirect
		return &c
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy:                 nil,
		DisableKeepAlives:     true,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			var ips []netip.Addr
			if a, err := netip.ParseAddr(host); err == nil {
				ips = []netip.Addr{a}
			} else if ips, err = p.resolver().LookupNetIP(ctx, "ip", host); err != nil {
				return nil, err
			}
			var lastErr error = fmt.Errorf("dialing %s: every address is private, loopback or reserved", host)
			for _, a := range ips {
				a = a.Unmap()
				if !p.AllowPrivate && !public(a) {
					continue
				}
				c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
				if err == nil {
					return c, nil
				}
				lastErr = err
			}
			return nil, lastErr
		},
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

// cgnat is the shared address space of RFC 6598, not reachable from the internet.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// public reports whether a is a global unicast address outside the private ranges.
func public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !cgnat.Contains(a)
}

// dnsError describes a failed lookup briefly: NXDOMAIN, no records, timeout or the error.
func dnsError(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "NXDOMAIN or no records"
		case de.IsTimeout:
			return "lookup timed out"
		}
		return de.Err
	}
	return err.Error()
}

// httpError drops the URL net/http repeats in its errors.
func httpError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}
