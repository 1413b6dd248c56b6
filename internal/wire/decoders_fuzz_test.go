package wire

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// wireLog builds a connection log in replay's format: for each chunk a
// direction byte (0 client, 1 server), its length, big-endian, and the bytes.
func wireLog(chunks ...[]byte) []byte {
	var out []byte
	for i, c := range chunks {
		out = append(out, byte(i%2))
		out = binary.BigEndian.AppendUint32(out, uint32(len(c)))
		out = append(out, c...)
	}
	return out
}

// pgm is a PostgreSQL message: a type byte (none for the startup), its
// length including itself, and the body.
func pgm(typ byte, body string) []byte {
	var out []byte
	if typ != 0 {
		out = append(out, typ)
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)+4))
	return append(out, body...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Conversations as real clients and servers hold them; each seed is
// checked to decode (TestDecoderSeeds) before it seeds a fuzz target.
var (
	http1Seeds = [][]byte{
		wireLog([]byte("POST /orders?token=s3cret HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"sku\":\"A1\"}"),
			[]byte("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\n3\r\n:1}\r\n0\r\n\r\n"),
			[]byte("GET /health HTTP/1.1\r\nHost: a\r\n\r\n"),
			[]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
		wireLog([]byte("GET / HTTP/1.0\r\n\r\n"), []byte("HTTP/1.0 503 Service Unavailable\r\n\r\ndown")),
		wireLog([]byte("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"), []byte("HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n")),
	}
	pgSeeds = [][]byte{
		wireLog(pgm(0, "\x00\x03\x00\x00user\x00seam\x00database\x00shop\x00\x00"),
			cat(pgm('R', "\x00\x00\x00\x00"), pgm('S', "server_version\x0016\x00"), pgm('Z', "I")),
			pgm('Q', "select 1 as one\x00"),
			cat(pgm('T', "\x00\x01one\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00"), pgm('D', "\x00\x01\x00\x00\x00\x011"), pgm('C', "SELECT 1\x00"), pgm('Z', "I")),
			cat(pgm('P', "\x00insert into t values ($1)\x00\x00\x00"), pgm('B', "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02hi\x00\x00"), pgm('E', "\x00\x00\x00\x00\x00"), pgm('S', "")),
			cat(pgm('1', ""), pgm('2', ""), pgm('C', "INSERT 0 1\x00"), pgm('Z', "I")),
			pgm('Q', "select nope\x00"),
			cat(pgm('E', "SERROR\x00C42703\x00Mcolumn \"nope\" does not exist\x00\x00"), pgm('Z', "I")),
			pgm('X', "")),
		// pgx's default mode: a statement prepared on its own (Parse,
		// Describe, Sync), its parameters' types told, then bound in
		// binary; a prepare that fails.
		wireLog(pgm(0, "\x00\x03\x00\x00user\x00seam\x00\x00"),
			cat(pgm('R', "\x00\x00\x00\x00"), pgm('K', "\x00\x00\x30\x39\x01\x02\x03\x04"), pgm('Z', "I")),
			cat(pgm('P', "s1\x00insert into t values ($1, $2)\x00\x00\x00"), pgm('D', "Ss1\x00"), pgm('S', "")),
			cat(pgm('1', ""), pgm('t', "\x00\x02\x00\x00\x00\x14\x00\x00\x00\x19"), pgm('n', ""), pgm('Z', "I")),
			cat(pgm('B', "\x00s1\x00\x00\x02\x00\x01\x00\x00\x00\x02\x00\x00\x00\x08\x00\x20\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\x00\x00"), pgm('D', "P\x00"), pgm('E', "\x00\x00\x00\x00\x00"), pgm('S', "")),
			cat(pgm('2', ""), pgm('n', ""), pgm('C', "INSERT 0 1\x00"), pgm('Z', "I")),
			cat(pgm('P', "s2\x00select * from nope\x00\x00\x00"), pgm('D', "Ss2\x00"), pgm('S', "")),
			cat(pgm('E', "SERROR\x00C42P01\x00Mrelation \"nope\" does not exist\x00\x00"), pgm('Z', "I"))),
		wireLog(cat(binary.BigEndian.AppendUint32(nil, 8), binary.BigEndian.AppendUint32(nil, 80877103)), []byte("N")),
	}
	redisSeeds = [][]byte{
		wireLog([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"), []byte("+OK\r\n"),
			[]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), []byte("$1\r\nv\r\n"),
			[]byte("*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n"), []byte("$-1\r\n"),
			[]byte("*3\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$2\r\n-1\r\n"), []byte("*2\r\n$1\r\na\r\n:2\r\n"),
			[]byte("*1\r\n$4\r\nOOPS\r\n"), []byte("-ERR unknown command 'OOPS'\r\n")),
		wireLog([]byte("*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nPING\r\n"), []byte(":1\r\n+PONG\r\n")),
		// Commands whose key is not their first argument (redisKeysOf).
		wireLog([]byte("*5\r\n$4\r\nEVAL\r\n$33\r\nreturn redis.call('GET', KEYS[1])\r\n$1\r\n1\r\n$3\r\nk:1\r\n$1\r\nx\r\n"), []byte("$-1\r\n"),
			[]byte("*10\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$1\r\nc\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n$7\r\nSTREAMS\r\n$2\r\ns1\r\n$2\r\ns2\r\n$1\r\n>\r\n"), []byte("*-1\r\n"),
			[]byte("*9\r\n$7\r\nMIGRATE\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n$0\r\n\r\n$1\r\n0\r\n$4\r\n1000\r\n$4\r\nKEYS\r\n$2\r\nm1\r\n$2\r\nm2\r\n"), []byte("+NOKEY\r\n"),
			[]byte("*3\r\n$6\r\nOBJECT\r\n$8\r\nENCODING\r\n$3\r\nk:1\r\n*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n$2\r\npw\r\n"), []byte("$6\r\nembstr\r\n+OK\r\n"),
			[]byte("EVALSHA 8cd00688c05c46bde4a2e60658ef20a2e5c0b248 2 a b\r\n"), []byte("-NOSCRIPT No matching script.\r\n")),
	}
)

// mysqlSeeds: a MariaDB conversation (the server speaks first: an empty
// first chunk of the caller's).
func mysqlSeeds() [][]byte {
	caps := uint32(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	return [][]byte{
		wireLog(nil, myHandshake(caps), myLogin(caps), myOK(2, 0, 2),
			myPacket(0, []byte{0x03}, []byte("select id from t")),
			cat(myPacket(1, []byte{1}), myPacket(2, []byte("col")), myPacket(3, []byte("\x011")), myPacket(4, []byte{0xfe, 0, 0, 2, 0, 0, 0})),
			myPacket(0, []byte{0x16}, []byte("insert into t values (?)")),
			cat(myPacket(1, []byte{0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}), myPacket(2, []byte("param"))),
			myPacket(0, []byte{0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0}),
			myPacket(1, []byte{0xff, 0x26, 0x04}, []byte("#23000Duplicate entry")),
			myPacket(0, []byte{0x01})),
		// Executions with parameters (execParams): bound types, then
		// kept ones; long data; MariaDB's statement 0xffffffff sent with
		// its prepare, and a batch.
		wireLog(nil, myHandshake(caps), myLogin(caps), myOK(2, 0, 2),
			myPacket(0, []byte{0x16}, []byte("select ? as a, ? as b, ? as c")),
			cat(myPacket(1, []byte{0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0}), myPacket(2, []byte("param")), myPacket(3, []byte("param")), myPacket(4, []byte("param"))),
			cat(myPacket(0, []byte{0x18, 2, 0, 0, 0, 2, 0}, []byte("long")),
				myPacket(0, myExecute(2, []byte{0x02}, []byte{0x08, 0x80, 0x06, 0, 0xfc, 0}, le64(1)))),
			myOK(1, 0, 2),
			myPacket(0, myExecute(2, []byte{0}, nil, le64(2), []byte{}, lstr("x"))),
			myOK(1, 0, 2),
			myPacket(0, myExecute(2, []byte{0}, []byte{0x0c, 0, 0x0b, 0, 0xf6, 0}, []byte{7, 0xe8, 7, 5, 1, 12, 0, 0}, []byte{8, 0, 1, 0, 0, 0, 2, 3, 4}, lstr("1.5"))),
			myOK(1, 0, 2),
			cat(myPacket(0, []byte{0x16}, []byte("insert into t values (?, ?)")),
				myPacket(0, myExecute(0xffffffff, []byte{0}, []byte{0x03, 0, 0xfd, 0}, le32(1), lstr("one")))),
			cat(myPacket(1, []byte{0, 3, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0}), myPacket(2, []byte("param")), myPacket(3, []byte("param")), myOK(1, 1, 2)),
			myPacket(0, cat([]byte{0xfa}, le32(3), le16(0x80), []byte{0x03, 0, 0xfd, 0}, []byte{0}, le32(1), []byte{0}, lstr("a"), []byte{1, 2})),
			myOK(1, 2, 2)),
	}
}

// natsSeeds: NATS conversations (the server speaks first: an empty first
// chunk of the caller's), a plain client's and a verbose one's.
func natsSeeds() [][]byte {
	info := []byte(`INFO {"server_id":"NB","version":"2.9.10","headers":true,"max_payload":1048576} ` + "\r\n")
	return [][]byte{
		wireLog(nil, info,
			[]byte(`CONNECT {"verbose":false,"pass":"s3cret","name":"orders","lang":"go","version":"1.55.0","headers":true}`+"\r\nPING\r\n"),
			[]byte("PONG\r\n"),
			[]byte("SUB orders.* q 1\r\nSUB _INBOX.* 2\r\nPUB orders.created _INBOX.1 12\r\n{\"sku\":\"A1\"}\r\nHPUB orders.paid 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nok\r\n"),
			[]byte("MSG orders.created 1 _INBOX.1 12\r\n{\"sku\":\"A1\"}\r\nHMSG _INBOX.1 2 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPING\r\n"),
			[]byte("PONG\r\nUNSUB 1 5\r\nPUB denied 0\r\n\r\n"),
			[]byte("-ERR 'Permissions Violation for Publish to \"denied\"'\r\n")),
		wireLog(nil, info,
			[]byte(`CONNECT {"verbose":true,"auth_token":"t0ken"}`+"\r\nSUB a 1\r\nPUB a 2\r\nhi\r\n"),
			[]byte("+OK\r\n+OK\r\n-ERR 'Permissions Violation for Publish to \"a\"'\r\n"),
			[]byte("PUB a 5\r\nhel")),
	}
}

// recordedSeeds are the conversations recorded from real clients and
// servers in testdata/dir (*.log, in replay's format).
func recordedSeeds(tb testing.TB, dir string) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.log"))
	if len(files) == 0 {
		tb.Fatalf("no recorded conversations in testdata/%s", dir)
	}
	var seeds [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

func TestDecoderSeeds(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		seeds    [][]byte
	}{{"http", http1Seeds}, {"postgres", pgSeeds[:2]}, {"redis", append(append([][]byte(nil), redisSeeds...), recordedSeeds(t, "redis")...)},
		{"mysql", append(mysqlSeeds(), recordedSeeds(t, "mysql")...)}} {
		for i, log := range tc.seeds {
			// A first chunk too short to recognise the protocol is not
			// decoded (a proxy reads more at once than that).
			for _, step := range []int{16, 100, 1 << 20} {
				got := replay(log, step, nil)
				n := 0
				for _, in := range got {
					if in.Protocol == tc.protocol {
						n++
					}
				}
				if n == 0 {
					t.Errorf("%s seed %d in steps of %d: no %s interaction in %+v", tc.protocol, i, step, tc.protocol, got)
				}
			}
		}
	}
}

// fuzzDecoder feeds arbitrary conversations to the wire's decoder, cut in
// arbitrary steps: it may report anything but never panics, hangs, keeps
// more of a body than its limit, or ends an interaction before it starts.
func fuzzDecoder(f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s, uint16(0))
		f.Add(s, uint16(6))
		f.Add(s, uint16(4096))
	}
	f.Fuzz(func(t *testing.T, log []byte, step uint16) {
		for _, in := range replay(log, int(step)+1, nil) {
			if len(in.RequestBody) > maxBodyKept || len(in.ResponseBody) > maxBodyKept {
				t.Fatalf("kept %d and %d body bytes, limit %d", len(in.RequestBody), len(in.ResponseBody), maxBodyKept)
			}
			if in.End.Before(in.Start) {
				t.Fatalf("ends before it starts: %+v", in)
			}
		}
	})
}

func FuzzHTTP1(f *testing.F) { fuzzDecoder(f, http1Seeds) }
func FuzzPG(f *testing.F)    { fuzzDecoder(f, pgSeeds) }
func FuzzRedis(f *testing.F) {
	fuzzDecoder(f, append(append([][]byte(nil), redisSeeds...), recordedSeeds(f, "redis")...))
}
func FuzzMySQL(f *testing.F) { fuzzDecoder(f, append(mysqlSeeds(), recordedSeeds(f, "mysql")...)) }
func FuzzNATS(f *testing.F)  { fuzzDecoder(f, natsSeeds()) }
