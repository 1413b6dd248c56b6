// Command pricing is the price service of seam's example shop: it answers
// gRPC calls shop.pricing.v1.Pricing/Quote (see pricing.proto) from a
// price list kept in memory.
package main

//go:generate protoc -I . --go_out=pricingpb --go_opt=paths=source_relative --go-grpc_out=pricingpb --go-grpc_opt=paths=source_relative pricing.proto

import (
	"context"
	"flag"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seamtest/seam/examples/shop/pricing/pricingpb"
)

// server prices order lines; with broken set it has lost the price of C3
// and says so with FAILED_PRECONDITION, as a service with a bad price list
// would.
type server struct {
	pricingpb.UnimplementedPricingServer
	prices map[string]int64 // cents per unit
	broken bool
}

func (s *server) Quote(_ context.Context, req *pricingpb.QuoteRequest) (*pricingpb.QuoteReply, error) {
	if req.GetSku() == "" || req.GetQty() < 1 {
		return nil, status.Error(codes.InvalidArgument, "want a sku and qty > 0")
	}
	if s.broken && req.GetSku() == "C3" {
		log.Printf("quote %s x%d: failed: the price list has no entry for C3 (started with -broken)", req.GetSku(), req.GetQty())
		return nil, status.Error(codes.FailedPrecondition, "price list has no entry for C3")
	}
	unit, ok := s.prices[req.GetSku()]
	if !ok {
		log.Printf("quote %s x%d: unknown sku", req.GetSku(), req.GetQty())
		return nil, status.Error(codes.NotFound, "unknown sku")
	}
	total := unit * int64(req.GetQty())
	log.Printf("quote %s x%d: %d × %d = %d cents", req.GetSku(), req.GetQty(), req.GetQty(), unit, total)
	return &pricingpb.QuoteReply{UnitCents: unit, TotalCents: total, Currency: "EUR"}, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "address to serve gRPC on")
	broken := flag.Bool("broken", false, "fail every quote for C3 (to see how a broken gRPC call shows up in seam)")
	flag.Parse()
	log.SetFlags(0)

	srv := grpc.NewServer()
	pricingpb.RegisterPricingServer(srv, &server{
		prices: map[string]int64{"A1": 500, "B2": 1200, "C3": 250},
		broken: *broken,
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	// Said once the port is open: a readiness probe may wait for this line.
	log.Printf("pricing listening on %s (gRPC)", *listen)
	log.Fatal(srv.Serve(ln))
}
