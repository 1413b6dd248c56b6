package wire

import (
	"fmt"
	"strings"
	"testing"
)

// natsInfoLine is a nats-server's greeting (as 2.9 sends it).
const natsInfoLine = `INFO {"server_id":"NBXYZ","server_name":"NBXYZ","version":"2.9.10","proto":1,"go":"go1.19","host":"127.0.0.1","port":4222,"headers":true,"auth_required":true,"max_payload":1048576,"client_id":5,"client_ip":"127.0.0.1"} ` + "\r\n"

// natsSecrets are the credentials natsConnectLine carries, none of which
// may reach an interaction.
var natsSecrets = []string{"s3cretpass", "tok3nvalue", "eyJhbGciOiJlZDI1NTE5LW5rZXkifQ.payload.sig", "c2lnbmF0dXJl", "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"}

// natsConnectLine is a client's CONNECT with every kind of credential.
func natsConnectLine(verbose bool) string {
	return fmt.Sprintf(`CONNECT {"verbose":%v,"pedantic":false,"user":"seam","pass":"s3cretpass","auth_token":"tok3nvalue",`+
		`"jwt":"eyJhbGciOiJlZDI1NTE5LW5rZXkifQ.payload.sig","sig":"c2lnbmF0dXJl","nkey":"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4",`+
		`"tls_required":false,"name":"orders","lang":"go","version":"1.55.0","protocol":1,"echo":true,"headers":true,"no_responders":true}`+"\r\n", verbose)
}

// feedIn hands b to f in steps of step bytes.
func feedIn(f func([]byte), b string, step int) {
	for len(b) > 0 {
		n := min(step, len(b))
		f([]byte(b[:n]))
		b = b[n:]
	}
}

// everything is every string an interaction holds, for looking for
// secrets.
func everything(in Interaction) string {
	req, resp := in.Headers()
	return strings.Join([]string{in.Op, in.Result, in.Note, in.Target, in.Key, in.Command, string(in.RequestBody), string(in.ResponseBody), req, resp}, "\n")
}

// A client's subscriptions, publishes (with headers, with a reply
// subject) and the messages delivered to it are interactions, however the
// bytes are cut; PING, PONG and +OK are not; CONNECT's credentials
// reach nothing; a -ERR is suspicious, and, the client not being
// verbose, one of its own.
func TestNATSMessagesAreDecoded(t *testing.T) {
	hdrs := "NATS/1.0\r\nTrace-Id: abc\r\nAuthorization: Bearer tok3nvalue\r\n\r\n"
	for _, step := range []int{1, 5, 1 << 20} {
		var s sink
		d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
		feedIn(d.fromServer, natsInfoLine, step)
		feedIn(d.fromClient, natsConnectLine(false)+"PING\r\n", step)
		feedIn(d.fromServer, "PONG\r\n", step)
		feedIn(d.fromClient, "SUB orders.* workers 1\r\nsub  replies.x\t2\r\n", step)
		feedIn(d.fromClient, "PUB orders.created 25\r\n{\"id\":7,\"password\":\"pw1\"}\r\n", step)
		feedIn(d.fromClient, fmt.Sprintf("HPUB orders.paid _INBOX.r1 %d %d\r\n%s{\"id\":7}\r\n", len(hdrs), len(hdrs)+8, hdrs), step)
		feedIn(d.fromServer, "MSG orders.created 1 25\r\n{\"id\":7,\"password\":\"pw1\"}\r\nPING\r\n", step)
		feedIn(d.fromClient, "PONG\r\n", step)
		feedIn(d.fromServer, "HMSG _INBOX.r1 9 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nok\r\n", step)
		feedIn(d.fromClient, "PUB orders.refunded 0\r\n\r\n", step)
		feedIn(d.fromServer, "-ERR 'Permissions Violation for Publish to \"orders.refunded\"'\r\n", step)
		d.close("connection closed", false)

		want := strings.Join([]string{
			"NATS SUB orders.* → subscribed",
			"NATS SUB replies.x → subscribed",
			"NATS PUB orders.created → published",
			"NATS PUB orders.paid → published",
			"NATS MSG orders.created → received",
			"NATS MSG _INBOX.r1 → received",
			"NATS PUB orders.refunded → published",
			"NATS -ERR → -ERR 'Permissions Violation for Publish to \"orders.refunded\"'",
		}, "\n")
		if got := strings.Join(s.lines(), "\n"); got != want {
			t.Fatalf("step %d: got\n%s\nwant\n%s", step, got, want)
		}
		all := s.all()
		for _, in := range all {
			for _, secret := range append(natsSecrets, "pw1") {
				if strings.Contains(everything(in), secret) {
					t.Errorf("step %d: %q recorded in %s", step, secret, in.Line())
				}
			}
			if in.Protocol != "nats" || in.Method != "NATS" || in.End.Before(in.Start) {
				t.Errorf("step %d: %+v", step, in)
			}
		}
		sub, pub, hpub, msg, reply, errIn := all[0], all[2], all[3], all[4], all[5], all[7]
		if sub.Target != "orders.*" || sub.Command != "SUB" || sub.Key != "orders.*" || sub.Note != "(queue workers)" {
			t.Errorf("step %d: the SUB: %+v", step, sub)
		}
		if pub.Target != "orders.created" || pub.Command != "PUB" || pub.Key != "orders.created" || pub.Note != "(25 B)" ||
			string(pub.RequestBody) != `{"id":7,"password":"***"}` || pub.Suspicious {
			t.Errorf("step %d: the PUB: %s %q", step, pub.Line(), pub.RequestBody)
		}
		req, _ := hpub.Headers()
		if hpub.Command != "PUB" || req != "Trace-Id: abc\nAuthorization: ***" || string(hpub.RequestBody) != `{"id":7}` ||
			hpub.Note != fmt.Sprintf("(8 B + %d B of headers, reply to _INBOX.r1)", len(hdrs)) {
			t.Errorf("step %d: the HPUB: %s, headers %q", step, hpub.Line(), req)
		}
		if msg.Command != "MSG" || msg.Target != "orders.created" || string(msg.ResponseBody) != `{"id":7,"password":"***"}` ||
			msg.Note != "(25 B; by SUB orders.*; queue workers)" {
			t.Errorf("step %d: the MSG: %s", step, msg.Line())
		}
		if _, resp := reply.Headers(); resp != "A: b" || string(reply.ResponseBody) != "ok" ||
			!strings.HasPrefix(reply.Note, "(2 B + 18 B of headers; the reply to a request on orders.paid, after ") {
			t.Errorf("step %d: the reply: %s", step, reply.Line())
		}
		if !errIn.Suspicious || errIn.Command != "-ERR" || !strings.Contains(errIn.Note, "refuses a publish to orders.refunded") {
			t.Errorf("step %d: the -ERR: %s", step, errIn.Line())
		}
		for _, in := range all[:7] {
			if in.Suspicious {
				t.Errorf("step %d: suspicious: %s", step, in.Line())
			}
		}
	}
}

// A verbose client's operations wait for their +OK or -ERR, which is
// their result; CONNECT's +OK tells nothing; one the connection ends
// before its answer is told unanswered.
func TestNATSVerbosePairsAnswers(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
	d.fromServer([]byte(natsInfoLine))
	d.fromClient([]byte(natsConnectLine(true) + "PING\r\n"))
	d.fromServer([]byte("+OK\r\nPONG\r\n"))
	d.fromClient([]byte("SUB a 1\r\nPUB a 2\r\nhi\r\nPUB secret.x 2\r\nno\r\nUNSUB 1\r\n"))
	if len(s.all()) != 0 {
		t.Fatalf("told before their answers: %s", s.lines())
	}
	d.fromServer([]byte("+OK\r\n+OK\r\n-ERR 'Permissions Violation for Publish to \"secret.x\"'\r\n+OK\r\n"))
	d.fromClient([]byte("PUB a 1\r\nx\r\n"))
	if n := d.close("closed by a fault after 200 bytes", true); n != 1 {
		t.Errorf("%d in flight, want 1", n)
	}
	want := strings.Join([]string{
		"NATS SUB a → subscribed",
		"NATS PUB a → published",
		"NATS PUB secret.x → -ERR 'Permissions Violation for Publish to \"secret.x\"'",
		"NATS PUB a → no response (closed by a fault after 200 bytes)",
	}, "\n")
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	all := s.all()
	if !all[2].Suspicious || all[1].Suspicious || !all[3].Injected || !all[3].Suspicious {
		t.Errorf("%+v", all)
	}
}

// A CONNECT the server refuses is told as CONNECT's, naming the client,
// never its credentials; verbose or not.
func TestNATSRefusedConnect(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var s sink
		d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
		d.fromServer([]byte(natsInfoLine))
		d.fromClient([]byte(natsConnectLine(verbose) + "PING\r\n"))
		d.fromServer([]byte("-ERR 'Authorization Violation'\r\n"))
		d.close("the callee closed the connection", false)
		if got := strings.Join(s.lines(), "\n"); got != "NATS CONNECT → -ERR 'Authorization Violation'" {
			t.Fatalf("verbose %v: %q", verbose, got)
		}
		in := s.all()[0]
		if !in.Suspicious || in.Note != "(orders go 1.55.0)" || in.Command != "CONNECT" {
			t.Errorf("verbose %v: %s", verbose, in.Line())
		}
		for _, secret := range natsSecrets {
			if strings.Contains(everything(in), secret) {
				t.Errorf("verbose %v: %q recorded", verbose, secret)
			}
		}
	}
}

// A request nobody answers comes back as a 503 status: suspicious, and
// named by the request it answers.
func TestNATSNoResponders(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
	d.fromServer([]byte(natsInfoLine))
	d.fromClient([]byte(natsConnectLine(false) + "PING\r\n"))
	d.fromServer([]byte("PONG\r\n"))
	d.fromClient([]byte("SUB _INBOX.abc.* 1\r\nPUB stock.reserve _INBOX.abc.1 2\r\nA1\r\n"))
	d.fromServer([]byte("HMSG _INBOX.abc.1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"))
	all := s.all()
	if len(all) != 3 {
		t.Fatalf("%s", s.lines())
	}
	if in := all[2]; in.Line() == "" || in.Result != "503 no responders" || !in.Suspicious ||
		in.Note != "(0 B + 16 B of headers; by SUB _INBOX.abc.*; nobody answers a request on stock.reserve)" {
		t.Errorf("%s", in.Line())
	}
}

// A payload larger than what is kept is counted, not kept; a publish the
// connection ends in the middle of is told cut.
func TestNATSLargePayloadIsCounted(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
	d.fromServer([]byte(natsInfoLine))
	d.fromClient([]byte(natsConnectLine(false)))
	const big = 8 << 20
	d.fromClient([]byte(fmt.Sprintf("PUB blob %d\r\n", big)))
	chunk := []byte(strings.Repeat("x", 32<<10))
	for range big / len(chunk) {
		d.fromClient(chunk)
	}
	d.fromClient([]byte("\r\n"))
	d.fromClient([]byte("PUB blob 100\r\n" + strings.Repeat("y", 40)))
	if n := d.close("closed by a fault after 1 MB", true); n != 1 {
		t.Errorf("%d in flight, want 1", n)
	}
	all := s.all()
	if len(all) != 2 {
		t.Fatalf("%s", s.lines())
	}
	if in := all[0]; len(in.RequestBody) != maxBodyKept || !in.reqCut || in.Note != "(8.0 MB)" || in.Result != "published" {
		t.Errorf("kept %d bytes, cut %v: %s", len(in.RequestBody), in.reqCut, in.Line())
	}
	if in := all[1]; in.Line() == "" || in.Result != "cut while being sent (closed by a fault after 1 MB)" || !in.Injected || in.Note != "(40 B of 100 B came)" {
		t.Errorf("%s", in.Line())
	}
}

// What a connection remembers is bounded: subscriptions, requests
// waiting for their reply, a verbose client's operations waiting for
// their +OK.
func TestNATSMemoryIsBounded(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
	d.fromServer([]byte(natsInfoLine))
	d.fromClient([]byte(natsConnectLine(false)))
	var b strings.Builder
	for i := range maxNATSSubs + 100 {
		fmt.Fprintf(&b, "SUB s.%d %d\r\nPUB q.%d _INBOX.%d 0\r\n\r\n", i, i, i, i)
	}
	d.fromClient([]byte(b.String()))
	if n := len(d.nats.subs); n != maxNATSSubs {
		t.Errorf("%d subscriptions remembered, want %d", n, maxNATSSubs)
	}
	if n := len(d.nats.asks); n != maxNATSAsks {
		t.Errorf("%d requests remembered, want %d", n, maxNATSAsks)
	}
	d.fromClient([]byte("UNSUB 0\r\nUNSUB 1 1\r\n"))
	d.fromServer([]byte("MSG s.1 1 0\r\n\r\n"))
	if _, ok := d.nats.subs["0"]; ok {
		t.Error("sid 0 outlived its UNSUB")
	}
	if _, ok := d.nats.subs["1"]; ok {
		t.Error("sid 1 outlived its last message")
	}

	s = sink{}
	d = newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
	d.fromServer([]byte(natsInfoLine))
	d.fromClient([]byte(natsConnectLine(true)))
	d.fromClient([]byte(strings.Repeat("PUB q 1\r\nx\r\n", maxNATSWaits+10)))
	if d.mode != raw || len(d.nats.waits) != 0 {
		t.Errorf("mode %v, %d waiting", d.mode, len(d.nats.waits))
	}
	if got := strings.Join(s.lines(), "\n"); !strings.Contains(got, fmt.Sprintf("not decoded from here: more than %d operations waiting", maxNATSWaits)) {
		t.Errorf("%s", got)
	}
}

// TLS (required by the server, or started by the client) and what the
// wire cannot read stop decoding, said once.
func TestNATSStoppedIsSaid(t *testing.T) {
	for _, c := range []struct {
		name       string
		feed       func(d *decoder)
		want       string
		suspicious bool
	}{
		{"TLS required", func(d *decoder) {
			d.fromServer([]byte(`INFO {"server_id":"N","tls_required":true}` + "\r\n"))
			d.fromClient([]byte("\x16\x03\x01\x02\x00"))
		}, "nats: connection → not decoded from here: the server requires TLS", false},
		{"TLS started", func(d *decoder) {
			d.fromServer([]byte(`INFO {"server_id":"N","tls_available":true}` + "\r\n"))
			d.fromClient([]byte("\x16\x03\x01\x02\x00"))
		}, "nats: connection → not decoded from here: the client started TLS", false},
		{"unknown operation", func(d *decoder) {
			d.fromServer([]byte(natsInfoLine))
			d.fromClient([]byte("GET / HTTP/1.1\r\n"))
		}, `nats: connection → not decoded from here: a client line the wire cannot read ("GET")`, true},
		{"bad size", func(d *decoder) {
			d.fromServer([]byte(natsInfoLine))
			d.fromClient([]byte("PUB a -1\r\n"))
		}, `nats: connection → not decoded from here: a client line the wire cannot read ("PUB")`, true},
		{"payload longer than said", func(d *decoder) {
			d.fromServer([]byte(natsInfoLine))
			d.fromClient([]byte("PUB a 1\r\nxy\r\n"))
		}, "nats: connection → not decoded from here: a payload not followed by CRLF", true},
		{"long line", func(d *decoder) {
			d.fromServer([]byte(natsInfoLine))
			d.fromServer([]byte("MSG " + strings.Repeat("a", maxHead)))
		}, "nats: connection → not decoded from here: a control line over 64 KiB", true},
	} {
		var s sink
		d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
		c.feed(d)
		d.fromClient([]byte("PUB after 1\r\nx\r\n"))
		d.close("connection closed", false)
		all := s.all()
		if len(all) != 1 || !strings.HasPrefix(all[0].Protocol+": "+all[0].Op+" → "+all[0].Result, c.want) || all[0].Suspicious != c.suspicious {
			t.Errorf("%s: got\n%s", c.name, strings.Join(s.lines(), "\n"))
		}
	}
}

// A NATS server is told by its INFO line whole, however it is cut; a
// greeting that only looks like one is not decoded.
func TestNATSDetection(t *testing.T) {
	for _, step := range []int{1, 3, 9, 1 << 20} {
		var s sink
		d := newDecoder(&Proxy{Edge: "orders→bus", report: s.add})
		feedIn(d.fromServer, natsInfoLine, step)
		if d.mode != decodingNATS {
			t.Errorf("step %d: mode %v", step, d.mode)
		}
	}
	for _, greeting := range []string{"INFO {}\r\n", "INFO hello\r\n", "INFORMATION\r\n", "+OK\r\n"} {
		d := newDecoder(&Proxy{Edge: "orders→bus", report: func(Interaction) {}})
		d.fromServer([]byte(greeting))
		if d.mode != raw || d.understood() {
			t.Errorf("%q: mode %v", greeting, d.mode)
		}
	}
}

// The fuzz target's seeds decode to NATS interactions.
func TestNATSSeedsDecode(t *testing.T) {
	for i, log := range natsSeeds() {
		for _, step := range []int{1, 16, 1 << 20} {
			n := 0
			for _, in := range replay(log, step, nil) {
				if in.Protocol == "nats" && in.Op != "connection" {
					n++
				}
			}
			if n == 0 {
				t.Errorf("seed %d in steps of %d: no NATS interaction", i, step)
			}
		}
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		want             bool
	}{
		{"orders.*", "orders.created", true},
		{"orders.*", "orders.eu.created", false},
		{"orders.>", "orders.eu.created", true},
		{"orders.>", "orders", false},
		{">", "a", true},
		{"orders.*.paid", "orders.eu.paid", true},
		{"orders.c*", "orders.created", true},
		{`orders.\*`, "orders.*", true},
		{`orders.\*`, "orders.x", false},
		{"orders.>.x", "orders.>.x", true},
		{"orders.>.x", "orders.a.x", false},
	} {
		if got := SubjectMatches(c.pattern, c.subject); got != c.want {
			t.Errorf("SubjectMatches(%q, %q) = %v", c.pattern, c.subject, got)
		}
	}
}
