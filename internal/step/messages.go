package step

import (
	"context"
	"time"
)

// Message is one message a broker carried, as a service kind recorded it.
type Message struct {
	Time    time.Time
	Subject string
	Data    []byte
	Headers map[string][]string
}

// MessageLog is what a message broker service recorded of its traffic.
type MessageLog interface {
	// Wait returns the messages on subjects matching subject (broker
	// wildcards allowed) received since since; it waits up to ctx's end
	// for at least min of them.
	Wait(ctx context.Context, subject string, since time.Time, min int) []Message
	// Watch makes sure messages on subject are recorded from now on. A
	// broker records only what the suite's steps watch (a subscription
	// on every subject would change the system's behaviour: nobody
	// would ever be told "no responders"), known at load; late reports
	// that subject was not among them (a template that could not be
	// told then), so messages before this call were not recorded.
	Watch(subject string) (late bool, err error)
}

// Recorders is a Services that can return a service's MessageLog.
type Recorders interface {
	Messages(service string) (MessageLog, error)
}

// Streams is a Services that can describe a broker's stream.
type Streams interface {
	StreamInfo(ctx context.Context, service, stream string) (map[string]any, error)
}

// HeaderFields is a message's or an answer's headers as steps give them
// to expectations: a header sent once is its value, one sent more than
// once the list of its values in order (a value may hold a comma, so they
// are never joined). The http and nats steps share it, so one suite reads
// both alike.
func HeaderFields(h map[string][]string) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		if len(vs) == 1 {
			out[k] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		out[k] = list
	}
	return out
}
