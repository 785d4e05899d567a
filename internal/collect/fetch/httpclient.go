package fetch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

// NewHTTPClient returns the HTTP client omen's collectors use: direct (or through the
// HTTP_PROXY/HTTPS_PROXY/NO_PROXY environment), or through proxyURL, an http, https, socks5 or
// socks5h URL (SOCKS5 for Tor). Redirects are followed up to 10 times, and every header but the
// harmless ones (auth, API keys) is dropped when a redirect leaves the first host or goes from https
// to http; net/http itself only drops Authorization and Cookie. It does no I/O.
func NewHTTPClient(proxyURL string, connectTimeout time.Duration) (*http.Client, error) {
	if connectTimeout <= 0 {
		connectTimeout = DefaultConnectTimeout
	}
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connectTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
	}
	if proxyURL != "" {
		pu, err := url.Parse(proxyURL)
		if err != nil {
			return nil, fmt.Errorf("parsing proxy URL: %w", err) // url.Error already redacts a password
		}
		if pu.Hostname() == "" {
			return nil, fmt.Errorf("proxy URL %s: no host", pu.Redacted())
		}
		switch pu.Scheme {
		case "http", "https":
			tr.Proxy = http.ProxyURL(pu)
		case "socks5", "socks5h":
			d, err := proxy.FromURL(pu, dialer)
			if err != nil {
				return nil, fmt.Errorf("proxy URL %s: %w", pu.Redacted(), err)
			}
			cd, ok := d.(proxy.ContextDialer)
			if !ok {
				return nil, fmt.Errorf("proxy URL %s: the SOCKS5 dialer does not take a context", pu.Redacted())
			}
			tr.Proxy, tr.DialContext = nil, cd.DialContext
		default:
			return nil, fmt.Errorf("proxy URL %s: unsupported scheme %q (want http, https, socks5 or socks5h)", pu.Redacted(), pu.Scheme)
		}
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}, nil
}

// checkRedirect is the redirect policy of [NewHTTPClient].
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errTooManyRedirects
	}
	first := via[0].URL
	if req.URL.Host != first.Host || (first.Scheme == "https" && req.URL.Scheme != "https") {
		for k := range req.Header {
			switch k {
			case "User-Agent", "Accept", "Accept-Encoding", "If-None-Match", "If-Modified-Since", "Referer":
			default:
				req.Header.Del(k)
			}
		}
	}
	return nil
}

var errTooManyRedirects = errors.New("stopped after 10 redirects")

// PermanentNetError reports errors from http.Client.Do that another attempt will not fix: too many
// redirects, and certificate and TLS failures.
func PermanentNetError(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
		notTLS    tls.RecordHeaderError
	)
	return errors.Is(err, errTooManyRedirects) || errors.As(err, &unknownCA) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &verify) || errors.As(err, &notTLS)
}

// Backoff is the wait after failed attempt n (1-based): base·2^(n-1), at most limit, plus up to
// 50% jitter.
func Backoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + rand.N(d/2+1)
}

// ParseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date; -1 when absent or
// unparsable. The caller caps it.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return -1
		}
		return time.Duration(min(s, 1<<31)) * time.Second // bounded: no overflow
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}
