package respond

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// lookTool finds a tool on PATH or in the sbin directories Debian installs daemons to.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Skipf("%s not installed (apt-get install %s); skipping", name, pkg)
	return ""
}

func writeZone(t *testing.T, entries []Entry, o WriteOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := rpz.Write(&buf, entries, o); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "omen.rpz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// named-checkzone accepts the zone of the fixed set, with NXDOMAIN and with a walled garden.
func TestRPZNamedCheckzone(t *testing.T) {
	tool := lookTool(t, "named-checkzone", "bind9-utils")
	for _, o := range []WriteOptions{
		goldOpts,
		{Name: "garden", Generated: t0, RPZ: RPZOptions{Origin: "rpz.example.org", CNAME: "walled-garden.example.org", Serial: 2026092901}},
	} {
		origin, _ := rpzOrigin(o)
		path := writeZone(t, fixedEntries(t), o)
		out, err := exec.Command(tool, "-k", "fail", "-i", "local", origin, path).CombinedOutput()
		if err != nil {
			zone, _ := os.ReadFile(path)
			t.Fatalf("named-checkzone %s: %v\n%s\nzone:\n%s", origin, err, out, zone)
		}
		if !strings.Contains(string(out), "OK") {
			t.Errorf("named-checkzone: %s", out)
		}
	}
}

// unboundConf is the resolver of the end-to-end test: loopback only, no forwarders, the zone as
// an RPZ, and ok.example answered locally as if it resolved normally.
var unboundConf = template.Must(template.ParseFiles(filepath.Join("testdata", "dns", "unbound.conf.tmpl")))

// The zone loaded into unbound: listed domains and their subdomains answer NXDOMAIN, a name not
// listed resolves.
func TestRPZUnbound(t *testing.T) {
	if testing.Short() {
		t.Skip("starts unbound")
	}
	tool := lookTool(t, "unbound", "unbound")
	dir := t.TempDir()
	zone := writeZone(t, fixedEntries(t), goldOpts)
	port := freeUDPPort(t)
	var conf bytes.Buffer
	if err := unboundConf.Execute(&conf, map[string]any{
		"Dir": dir, "Port": port, "Origin": DefaultRPZOrigin, "Zone": zone,
		"Root": mustAbs(t, filepath.Join("testdata", "dns", "root.zone")),
	}); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if check, err := exec.LookPath(filepath.Join(filepath.Dir(tool), "unbound-checkconf")); err == nil {
		if out, err := exec.Command(check, confPath).CombinedOutput(); err != nil {
			t.Fatalf("unbound-checkconf: %v\n%s", err, out)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, tool, "-d", "-c", confPath)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	server := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))

	// Wait until the resolver answers the local name (bounded: unbound starts in well under a second).
	var ok dnsAnswer
	for i := 0; ; i++ {
		var err error
		ok, err = queryA(server, "ok.example.")
		if err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("unbound exited: %v\n%s", err, logs.String())
		default:
		}
		if i == 100 {
			t.Fatalf("unbound does not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ok.rcode != dnsmessage.RCodeSuccess || len(ok.addrs) != 1 || ok.addrs[0] != netip.MustParseAddr("192.0.2.10") {
		t.Errorf("ok.example: %+v, want NOERROR 192.0.2.10\n%s", ok, logs.String())
	}
	for _, name := range []string{
		"evil.example.com.", "www.evil.example.com.", "a.b.evil.example.com.", "EVIL.example.COM.",
		"xn--e1afmkfd.xn--p1ai.", "mail.xn--e1afmkfd.xn--p1ai.", "_dmarc.bad.example.net.",
	} {
		a, err := queryA(server, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if a.rcode != dnsmessage.RCodeNameError {
			t.Errorf("%s: %v %v, want NXDOMAIN\n%s", name, a.rcode, a.addrs, logs.String())
		}
	}
	// rpz-ip triggers: names answering with a listed address (IPv4 /32, IPv6 in a /48).
	for _, q := range []struct {
		name string
		qt   dnsmessage.Type
	}{{"ipbad.example.", dnsmessage.TypeA}, {"ipbad6.example.", dnsmessage.TypeAAAA}} {
		a, err := query(server, q.name, q.qt)
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		if a.rcode != dnsmessage.RCodeNameError {
			t.Errorf("%s %v: %v %v, want NXDOMAIN (rpz-ip)\n%s", q.name, q.qt, a.rcode, a.addrs, logs.String())
		}
	}
	// The same resolver answers the name from its data when not asked about a listed address.
	if a, err := query(server, "ipbad6.example.", dnsmessage.TypeA); err != nil || a.rcode != dnsmessage.RCodeSuccess {
		t.Errorf("ipbad6.example A: %+v %v, want NOERROR", a, err)
	}
	// The NXDOMAINs are the policy's: the root zone has every listed name.
	if got := logs.String(); !strings.Contains(got, "rpz: applied [omen] ") {
		t.Errorf("unbound logged no rpz application:\n%s", got)
	}
}

type dnsAnswer struct {
	rcode dnsmessage.RCode
	addrs []netip.Addr
}

// queryA asks server for name's A records over UDP, once, waiting at most two seconds.
func queryA(server netip.AddrPort, name string) (dnsAnswer, error) {
	return query(server, name, dnsmessage.TypeA)
}

// query asks server for name's records of type qt (A or AAAA).
func query(server netip.AddrPort, name string, qt dnsmessage.Type) (dnsAnswer, error) {
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return dnsAnswer{}, err
	}
	const id = 0x6f6d
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: n, Type: qt, Class: dnsmessage.ClassINET}},
	}
	pkt, err := q.Pack()
	if err != nil {
		return dnsAnswer{}, err
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(server))
	if err != nil {
		return dnsAnswer{}, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return dnsAnswer{}, err
	}
	if _, err := conn.Write(pkt); err != nil {
		return dnsAnswer{}, err
	}
	buf := make([]byte, 4096)
	for {
		m, err := conn.Read(buf)
		if err != nil {
			return dnsAnswer{}, err
		}
		var r dnsmessage.Message
		if err := r.Unpack(buf[:m]); err != nil || r.Header.ID != id || !r.Header.Response {
			continue
		}
		out := dnsAnswer{rcode: r.Header.RCode}
		for _, a := range r.Answers {
			switch rr := a.Body.(type) {
			case *dnsmessage.AResource:
				out.addrs = append(out.addrs, netip.AddrFrom4(rr.A))
			case *dnsmessage.AAAAResource:
				out.addrs = append(out.addrs, netip.AddrFrom16(rr.AAAA))
			}
		}
		if out.rcode == dnsmessage.RCodeServerFailure {
			return out, errors.New("SERVFAIL for " + name)
		}
		return out, nil
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// freeUDPPort returns a loopback UDP port free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, p, _ := net.SplitHostPort(c.LocalAddr().String())
	port, _ := strconv.Atoi(p)
	return port
}

// syncBuffer collects a child's output from two pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
