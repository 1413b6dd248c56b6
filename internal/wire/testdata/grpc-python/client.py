"""A gRPC caller as a Python service is one: grpcio (C-core's HTTP/2 and
HPACK, not grpc-go's), raw protobuf bytes, metadata, a deadline on every
call. Used by internal/wire's TestGRPCFromPythonIsRecorded.

usage: client.py HOST:PORT CALLS
"""
import sys

import grpc

addr, calls = sys.argv[1], int(sys.argv[2])
ident = lambda b: b
with grpc.insecure_channel(addr) as ch:
    check = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=ident, response_deserializer=ident)
    count = ch.unary_stream("/seam.test.Echo/Count", request_serializer=ident, response_deserializer=ident)
    # HealthCheckRequest{service: "auth"}; the answer is {status: SERVING}.
    for i in range(calls):
        r = check(b"\x0a\x04auth", timeout=10, metadata=[("authorization", "Bearer tok-%d" % i), ("x-call", str(i))])
        assert r == b"\x08\x01", r
    # Without a token: UNAUTHENTICATED.
    try:
        check(b"\x0a\x04auth", timeout=10)
        sys.exit("a call without a token was answered")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
    # gzip-compressed: NOT_FOUND for a service the server does not know.
    try:
        check(b"\x0a\x06zipped", timeout=10, metadata=[("authorization", "Bearer z")], compression=grpc.Compression.Gzip)
        sys.exit("the compressed call was answered OK")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e
    # Server streaming: UInt32Value{3} → three StringValues.
    got = list(count(b"\x08\x03", timeout=10, metadata=[("authorization", "Bearer s")]))
    assert len(got) == 3, got
print("ok")
