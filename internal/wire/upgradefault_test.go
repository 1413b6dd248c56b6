package wire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2c serves h2c (prior knowledge and upgrade), answering each request
// with its path as JSON and counting them by path, until the test ends.
func (c *counted) h2c(t *testing.T) string {
	t.Helper()
	return serveH2C(t, func(w http.ResponseWriter, r *http.Request) {
		c.add(r.URL.Path)
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
}

// upgraded is what a caller saw of an h2c upgrade and one more stream,
// and its framer for more.
type upgraded struct {
	goAway     bool
	lastStream uint32 // the GOAWAY's
	ended      map[uint32]bool
	fr         *http2.Framer
}

// upgradeAndAsk upgrades c (RFC 9113 allows it no more, RFC 7540 §3.2 had
// it; Java's HttpClient still does it on http:// URLs) with GET /up, then
// asks GET second as stream 3, and reads until stream 1 ended and a
// GOAWAY came or stream 3 ended too.
func upgradeAndAsk(t *testing.T, c net.Conn, br *bufio.Reader, second string) upgraded {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "GET /up HTTP/1.1\r\nHost: api\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, br)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":path", second}, {":scheme", "http"}, {":authority", "api"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	u := upgraded{ended: map[uint32]bool{}, fr: fr}
	first := true
	for !u.ended[1] || !u.goAway && !u.ended[3] {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the upgraded connection: %v (so far %+v)", err, u)
		}
		if _, ok := f.(*http2.SettingsFrame); first && !ok {
			t.Fatalf("the callee's first frame is a %s, not its SETTINGS", f.Header().Type)
		}
		first = false
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.GoAwayFrame:
			u.goAway, u.lastStream = true, f.LastStreamID
		case *http2.DataFrame:
			u.ended[f.StreamID] = u.ended[f.StreamID] || f.StreamEnded()
		case *http2.HeadersFrame:
			u.ended[f.StreamID] = u.ended[f.StreamID] || f.StreamEnded()
		}
	}
	return u
}

// An answering fault reaches the streams of a connection upgraded to h2c:
// whether the fault came before the connection or while it spoke HTTP/1,
// the streams after the upgrading one are dropped and refused by a GOAWAY
// (last stream 1), so the caller sends them again on a new connection,
// where the fault answers them. The callee never sees them.
func TestH2CUpgradeMeetsTheFault(t *testing.T) {
	for _, when := range []string{"before the connection", "while it spoke HTTP/1"} {
		t.Run(when, func(t *testing.T) {
			var pc counted
			p, err := Listen("web→api", pc.h2c(t), func(Interaction) {})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			fault := Faults{HTTP: &HTTPFault{Path: "/second", Status: 503}}
			if when == "before the connection" {
				p.SetFaults(fault)
			}
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			if when == "while it spoke HTTP/1" {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprint(c, "GET /first HTTP/1.1\r\nHost: api\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("HTTP/1: %v %v", resp, err)
				}
				io.Copy(io.Discard, resp.Body)
				p.SetFaults(fault)
			}
			u := upgradeAndAsk(t, c, br, "/second")
			if !u.goAway || u.lastStream != 1 || u.ended[3] {
				t.Fatalf("the stream after the upgrade was not refused: %+v", u)
			}
			// The caller sends it again on a new connection: the fault answers.
			resp, err := h2cClient(t).Get("http://" + p.Addr() + "/second")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 503 {
				t.Errorf("again on a new connection: %s, want the fault's 503", resp.Status)
			}
			if n := pc.count("/second"); n != 0 {
				t.Errorf("the callee got /second %d times under the fault", n)
			}
			if n := pc.count("/up"); n != 1 {
				t.Errorf("the upgrading request reached the callee %d times, want 1", n)
			}
		})
	}
	// With no fault the same conversation is the callee's whole.
	t.Run("no fault", func(t *testing.T) {
		var pc counted
		p, err := Listen("web→api", pc.h2c(t), func(Interaction) {})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if u := upgradeAndAsk(t, c, bufio.NewReader(c), "/second"); u.goAway || !u.ended[3] || pc.count("/second") != 1 {
			t.Errorf("without a fault: %+v, the callee got /second %d times", u, pc.count("/second"))
		}
	})
}

// curl (nghttp2) upgrades to h2c on its own and sends its next requests
// as streams of the upgraded connection: under a fault for /second, that
// one is refused by the drain's GOAWAY, and curl sends it again on a new
// connection (upgrading again), where the fault answers it.
func TestH2CUpgradeFromCurlMeetsTheFault(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed (Debian package curl; scripts/test.sh installs it)")
	}
	var pc counted
	p, err := Listen("web→api", pc.h2c(t), func(Interaction) {})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/second", Status: 503}})
	base := "http://" + p.Addr()
	cmd := exec.Command(curl, "-sSv", "--max-time", "20", "--http2", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
		"-w", "%{http_code} %{http_version}\n", base+"/up", base+"/second", base+"/third")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, stderr.String())
	}
	// /second is refused by the GOAWAY. When the GOAWAY reaches curl
	// before it sent /second (it goes at the callee's first frame
	// boundary after its SETTINGS, most often before /up's answer), curl
	// sends it on a new connection and the fault answers. When it comes
	// after (the callee's SETTINGS and whole answer in one chunk, the
	// proxy slow to write the GOAWAY), curl 7.88 fails the request with
	// its error 16 instead of sending it again, as RFC 9113 §6.8 allows:
	// that is curl's, and the callee never saw the request either way.
	got := string(out)
	refusedLate := got == "200 2\n000 0\n200 2\n" && strings.Contains(stderr.String(), "(16)")
	if want := "200 2\n503 1.1\n200 2\n"; got != want && !refusedLate {
		t.Errorf("curl's answers (status, HTTP version):\n%swant\n%s\ncurl said:\n%s", got, want, stderr.String())
	}
	if n := pc.count("/second"); n != 0 {
		t.Errorf("the callee got /second %d times under the fault", n)
	}
	if up, third := pc.count("/up"), pc.count("/third"); up != 1 || third != 1 {
		t.Errorf("the callee got /up %d and /third %d times, want once each", up, third)
	}
}
