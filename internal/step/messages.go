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
}

// Recorders is a Services that can return a service's MessageLog.
type Recorders interface {
	Messages(service string) (MessageLog, error)
}

// Streams is a Services that can describe a broker's stream.
type Streams interface {
	StreamInfo(ctx context.Context, service, stream string) (map[string]any, error)
}
