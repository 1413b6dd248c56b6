package stub

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/mask"
)

// TestAdminWantsTheTokenAndMasksTheJournal: with a token, the admin API
// refuses requests without it; the journal's listing is masked, the
// stubs themselves stay open.
func TestAdminWantsTheTokenAndMasksTheJournal(t *testing.T) {
	m, _ := mask.New(nil)
	s := New(Options{AdminToken: "t0ken-t0ken", Mask: m})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(ln, s)
	defer l.Close(context.Background())
	base := "http://" + ln.Addr().String()
	do := func(method, url, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do("GET", base+"/pay?api_key=K-SECRET-1&x=1", `{"password":"P-SECRET-2"}`, map[string]string{"Authorization": "Bearer B-SECRET-3xyz"}); code != 404 {
		t.Errorf("an unmatched stub request: %d, want 404 (the stub itself needs no token)", code)
	}
	if code, _ := do("GET", base+"/__admin/requests", "", nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	for _, hdr := range []map[string]string{{"X-Seam-Token": "t0ken-t0ken"}, {"Authorization": "Bearer t0ken-t0ken"}} {
		code, body := do("GET", base+"/__admin/requests", "", hdr)
		if code != 200 || !strings.Contains(body, "api_key") {
			t.Fatalf("with %v: %d %s", hdr, code, body)
		}
		for _, secret := range []string{"K-SECRET-1", "P-SECRET-2", "B-SECRET-3xyz", "UC1TRUNSRVQtM"} {
			if strings.Contains(body, secret) {
				t.Errorf("the journal listing holds %s:\n%s", secret, body)
			}
		}
	}
	code, body := do("GET", "http://seam:t0ken-t0ken@"+ln.Addr().String()+"/__admin/mappings", "", nil)
	if code != 200 {
		t.Errorf("basic auth from the URL: %d %s", code, body)
	}
}
