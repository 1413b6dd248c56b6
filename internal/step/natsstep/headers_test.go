package natsstep

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// oneMessage is a service that recorded one message.
type oneMessage struct{ msg step.Message }

func (oneMessage) URL(string) (string, error) { return "nats://127.0.0.1:1", nil }

func (o oneMessage) Messages(string) (step.MessageLog, error) { return o, nil }

func (o oneMessage) Wait(context.Context, string, time.Time, int) []step.Message {
	return []step.Message{o.msg}
}

func (oneMessage) Watch(string) (bool, error) { return false, nil }

// TestReceivedHeaders: a header sent twice is the list of its values, as
// the http step gives repeated headers (not one string joined with ", ",
// which a value holding a comma would make ambiguous); one sent once is
// its value.
func TestReceivedHeaders(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("{service: bus, receive: orders.created}"), &n); err != nil {
		t.Fatal(err)
	}
	errs := &diag.List{}
	a := New().Decode(decode.New("seam.yaml", errs), n.Content[0])
	if errs.Len() > 0 {
		t.Fatal(errs.Errors())
	}
	svc := oneMessage{step.Message{Time: time.Now(), Subject: "orders.created", Data: []byte("{}"),
		Headers: map[string][]string{"Tag": {"a", "b"}, "Note": {"x, y"}}}}
	res, err := a.Run(context.Background(), &step.Env{Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Tag": []any{"a", "b"}, "Note": "x, y"}
	if got := res.Fields["headers"]; !reflect.DeepEqual(got, want) {
		t.Errorf("headers = %#v; want %#v", got, want)
	}
}
