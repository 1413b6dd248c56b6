package wire

import (
	"fmt"
	"strings"
	"testing"
)

func respCmd(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// A pipeline longer than the decoding keeps waiting (redis-py's, a mass
// insert) is not reported as unanswered, and decoding goes on after it:
// the commands beyond are counted, then told in one line once answered.
func TestRedisLongPipeline(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	const n = 3000
	var cmds, replies strings.Builder
	for i := range n {
		cmds.WriteString(respCmd("SET", fmt.Sprintf("pipe:%d", i), "v"))
		replies.WriteString("+OK\r\n")
	}
	d.fromClient([]byte(cmds.String()))
	d.fromServer([]byte(replies.String()))
	d.fromClient([]byte(respCmd("GET", "after")))
	d.fromServer([]byte("$1\r\nx\r\n"))
	d.close("connection closed", false)
	var told, last string
	count := 0
	for _, in := range s.all() {
		switch {
		case in.Op == "connection":
			told = in.Result
		case strings.HasPrefix(in.Result, "no answer") || in.Suspicious:
			t.Errorf("a false blame: %s", in.Line())
		default:
			count++
			last = in.Op + " → " + in.Result
		}
	}
	if count != maxRedisPending+1 || last != "REDIS GET after → 1 bytes" {
		t.Errorf("%d commands told one by one, the last %q; want %d, then the GET after the pipeline", count, last, maxRedisPending+1)
	}
	if want := fmt.Sprintf("%d more commands answered", n-maxRedisPending); !strings.HasPrefix(told, want) {
		t.Errorf("the pipeline's rest: %q, want %q…", told, want)
	}
}

// RESP3 pushes (client tracking's invalidations) are no command's reply:
// the commands after them still pair with their replies.
func TestRedisRESP3PushesAreSkipped(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	d.fromClient([]byte(respCmd("GET", "tracked")))
	d.fromServer([]byte("$1\r\n1\r\n"))
	d.fromServer([]byte(">2\r\n$10\r\ninvalidate\r\n*1\r\n$7\r\ntracked\r\n"))
	d.fromClient([]byte(respCmd("INCR", "n1")))
	d.fromServer([]byte(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nn1\r\n:1\r\n"))
	want := "REDIS GET tracked → 1 bytes\nREDIS INCR n1 → 1"
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// A long key is kept whole for interactions to match (up to
// maxRedisKey), though the line shows its start.
func TestRedisLongKeyIsKeptWhole(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	key := "tenant:acme-corporation:user:00000000-1111-2222-3333-444444444444:profile"
	d.fromClient([]byte(respCmd("GET", key)))
	d.fromServer([]byte("$-1\r\n"))
	got := s.all()
	if len(got) != 1 || got[0].Key != key || got[0].Command != "GET" {
		t.Fatalf("got %+v, want the key whole", got)
	}
}
