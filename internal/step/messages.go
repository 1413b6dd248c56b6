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
