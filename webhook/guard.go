package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// CodeForbidden is the error code of a webhook URL the guard refuses.
const CodeForbidden = "webhook_forbidden"

// Guard keeps webhooks off the gateway's own networks (SSRF): a webhook
// may reach public unicast addresses only, plus the networks in its
// allow-list. It refuses, whatever the allow-list says, URLs with
// credentials, cloud metadata host names and numeric host forms that are
// not a canonical IP address (0x7f000001, 2130706433, 127.1).
//
// Addresses are checked twice: when an admin sets a URL (Check resolves
// the host) and when the webhook client connects (the dialer checks the
// address it is about to connect to), so a name that resolves elsewhere
// later (DNS rebinding) gains nothing. The client follows no redirects and
// uses no proxy.
type Guard struct {
	allow []netip.Prefix
}

// NewGuard returns a guard that also lets webhooks reach the networks in
// allow (CIDRs, config webhook.allow_networks; for tests and receivers
// inside the deployment). config.Validate refuses an entry that is not a
// CIDR; here such an entry allows nothing.
func NewGuard(allow []string) *Guard {
	g := &Guard{}
	for _, s := range allow {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
			g.allow = append(g.allow, p.Masked())
		}
	}
	return g
}

// metadataHosts are cloud instance-metadata names: never a webhook.
var metadataHosts = map[string]bool{
	"metadata":                   true,
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
}

// special are the IP ranges that are not public unicast (RFC 6890 and
// its updates); IPv4-mapped IPv6 addresses are checked as IPv4.
var special = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("fc00::/7"), "a private (ULA) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

var (
	nat64    = netip.MustParsePrefix("64:ff9b::/96") // DNS64: the IPv4 address in the last 32 bits
	sixToFou = netip.MustParsePrefix("2002::/16")    // 6to4: the IPv4 address in bits 16-47
)

// forbidden says why a webhook may not connect to a ("" when it may).
func (g *Guard) forbidden(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(a) {
			return ""
		}
	}
	if !a.IsValid() {
		return "not an IP address"
	}
	// An IPv4 address carried in an IPv6 one is judged as itself.
	if b := a.As16(); nat64.Contains(a) {
		return g.forbidden(netip.AddrFrom4([4]byte(b[12:16])))
	} else if sixToFou.Contains(a) {
		return g.forbidden(netip.AddrFrom4([4]byte(b[2:6])))
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.what
		}
	}
	return ""
}

func forbiddenErr(format string, args ...any) error {
	return sms.Errorf(sms.Invalid, CodeForbidden, "webhook_url "+format, args...)
}

// parseTarget checks what can be checked without resolving the host: an
// absolute http(s) URL without credentials, whose host is neither a
// metadata name nor a numeric form other than a canonical IP address.
// The error never holds the URL (it may hold a credential).
func parseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return nil, sms.Errorf(sms.Invalid, "invalid_webhook_url", "webhook_url must be an absolute http or https URL")
	}
	if u.User != nil {
		return nil, forbiddenErr("must not carry credentials (user:password@): the signature authenticates the gateway")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return nil, sms.Errorf(sms.Invalid, "invalid_webhook_url", "webhook_url must name a host")
	}
	if metadataHosts[host] {
		return nil, forbiddenErr("must not point at a cloud metadata service")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		// A DNS name's last label is never all-numeric (RFC 3696 §2):
		// such a host is an IP address in a form resolvers read
		// differently (2130706433, 127.1, 0x7f000001, 0177.0.0.1).
		last := host[strings.LastIndexByte(host, '.')+1:]
		if numericLabel(last) {
			return nil, forbiddenErr("must name its host by a DNS name or a canonical IP address")
		}
	}
	return u, nil
}

// numericLabel: decimal, octal or 0x-hex digits only.
func numericLabel(s string) bool {
	if s == "" {
		return false
	}
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(s, "0123456789") == ""
}

// Check reports whether raw may be set as a webhook: the static checks of
// every POST, then the host's addresses — an IP literal, or every address
// the name resolves to now — must be public or allow-listed. A name that
// does not resolve now is accepted (the client checks again at connect
// time). Errors are *sms.Error: invalid_webhook_url or webhook_forbidden.
func (g *Guard) Check(ctx context.Context, raw string) error {
	u, err := parseTarget(raw)
	if err != nil {
		return err
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		if why := g.forbidden(a); why != "" {
			return forbiddenErr("must not point at %s", why)
		}
		return nil
	}
	var addrs []netip.Addr
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		addrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})} // RFC 6761, whatever the resolver says
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil
		}
	}
	for _, a := range addrs {
		if why := g.forbidden(a); why != "" {
			return forbiddenErr("must not point at %s (its host resolves to one)", why)
		}
	}
	return nil
}

// errDialForbidden is what the client's dialer answers for an address
// the guard refuses.
var errDialForbidden = errors.New("webhook target address is not allowed")

// control runs before every connect, on the address actually dialled.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return errDialForbidden
	}
	if why := g.forbidden(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s", errDialForbidden, why)
	}
	return nil
}

// NewClient returns the HTTP client webhooks are posted with: timeout per
// POST, no proxy (the connect-time check must see the real target), no
// redirects (a 3xx is the receiver's answer: the body is not re-posted
// elsewhere), and a dialer that refuses any address g forbids. A nil g
// allows public addresses only.
func NewClient(timeout time.Duration, g *Guard) *http.Client {
	if g == nil {
		g = NewGuard(nil)
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	return &http.Client{
		Timeout:   timeout,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
