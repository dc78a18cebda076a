package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/testenv"
)

// TestKannelInterop: Kannel (Debian's bearerbox + smsbox), an SMPP
// implementation we did not write, binds to our SMPP server as a platform
// ESME. A text sent through smsbox's sendsms reaches our pipeline
// (redacted, archived, sent to the carrier), Kannel receives the delivery
// receipt (its dlr-url is called with "delivered"), and a customer's text
// to the business number reaches Kannel's sms-service, redacted.
func TestKannelInterop(t *testing.T) {
	bearerbox, err1 := exec.LookPath("bearerbox")
	smsbox, err2 := exec.LookPath("smsbox")
	if err1 != nil || err2 != nil {
		testenv.RequireOrSkip(t, "Kannel (bearerbox, smsbox)", "Debian package kannel; scripts/test.sh installs it")
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("kpw123"), bcrypt.MinCost)
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SMPP.Accounts = []config.SMPPAccount{{SystemID: "kannel", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}}}
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")

	dlrs := make(chan url.Values, 10)
	mos := make(chan url.Values, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dlr":
			dlrs <- r.URL.Query()
		case "/mo":
			mos <- r.URL.Query()
		}
		w.WriteHeader(200) // empty body: no reply to the MO
	}))
	defer hook.Close()

	port := func() string { p := testenv.FreePort(t); return p[strings.LastIndexByte(p, ':')+1:] }
	admin, boxPort, sendPort := port(), port(), port()
	smppHost, smppPort, _ := strings.Cut(g.App.SMPPAddr(), ":")
	conf := fmt.Sprintf(`group = core
admin-port = %[1]s
admin-password = adm1n
smsbox-port = %[2]s
box-allow-ip = "127.0.0.1"
log-file = "%[4]s/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = smsgw
host = %[5]s
port = %[6]s
transceiver-mode = true
smsc-username = kannel
smsc-password = kpw123
system-type = ""
source-addr-ton = 1
source-addr-npi = 1
dest-addr-ton = 1
dest-addr-npi = 1
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = %[2]s
sendsms-port = %[3]s
log-file = "%[4]s/smsbox.log"
log-level = 0

group = sendsms-user
username = tester
password = s3nd3r
max-messages = 3
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "%[7]s/mo?from=%%p&to=%%P&text=%%a"
`, admin, boxPort, sendPort, dir, smppHost, smppPort, hook.URL)
	confFile := filepath.Join(dir, "kannel.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.StartProcess(t, dir, bearerbox, "-v", "1", confFile)
	// bearerbox reports the SMSC online once it has bound to us.
	eventually(t, "Kannel bound to our SMPP server", func() bool {
		r, err := http.Get("http://127.0.0.1:" + admin + "/status.txt?password=adm1n")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 8192)
		for {
			n, err := r.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return strings.Contains(sb.String(), "(online")
	})
	testenv.StartProcess(t, dir, smsbox, "-v", "1", confFile)
	// smsbox opens its HTTP port before it has connected to bearerbox, and
	// a sendsms in between makes it abort (gwlib/conn.c: lock_out:
	// Assertion `conn != NULL'): wait for the connection first.
	eventually(t, "smsbox connected to bearerbox", func() bool {
		data, _ := os.ReadFile(filepath.Join(dir, "smsbox.log"))
		return strings.Contains(string(data), "Connected to bearerbox")
	})

	// sendsms: Kannel's HTTP interface, as an application would use it.
	q := url.Values{"username": {"tester"}, "password": {"s3nd3r"}, "from": {bizNumber[1:]}, "to": {customer[1:]},
		"text": {"your card 4111 1111 1111 1111 is on file"}, "dlr-mask": {"3"}, "dlr-url": {hook.URL + "/dlr?type=%d&id=%F"}}
	eventually(t, "smsbox accepting sendsms", func() bool {
		r, err := http.Get("http://127.0.0.1:" + sendPort + "/cgi-bin/sendsms?" + q.Encode())
		if err != nil {
			return false
		}
		r.Body.Close()
		if r.StatusCode/100 != 2 {
			t.Fatalf("sendsms answered %d", r.StatusCode)
		}
		return true
	})
	subs, err := g.App.Sandbox.WaitSubmitted(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].Text != "your card **** **** **** 1111 is on file" {
		t.Errorf("carrier got %q, want the redacted text", subs[0].Text)
	}
	select {
	case v := <-dlrs:
		if v.Get("type") != "1" {
			t.Errorf("Kannel's DLR type = %q, want 1 (delivered); %v", v.Get("type"), v)
		}
		if id := v.Get("id"); len(id) == 26 {
			g.waitStatus(id, tok, "delivered")
		} else {
			t.Errorf("Kannel's DLR carries message id %q, want our ULID", id)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Kannel never reported the delivery receipt")
	}

	// MO: the customer texts the business number; Kannel, bound for it,
	// gets the redacted text.
	if err := g.App.Sandbox.SendMO(ctxT(t), customer[1:], bizNumber[1:], "ssn 123-45-6789 here"); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-mos:
		if v.Get("text") != "ssn ***-**-6789 here" || !strings.HasSuffix(v.Get("from"), customer[1:]) || !strings.HasSuffix(v.Get("to"), bizNumber[1:]) {
			t.Errorf("Kannel's sms-service got %v, want the redacted MO", v)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Kannel never received the MO")
	}
}
