// Command sbbench is Switchboard's load generator and benchmark harness. It
// is not part of the product: it seeds a database directly and drives a
// real server (started separately) over HTTP and WebSockets on loopback.
//
//	sbbench seed    fill a database with users, inboxes, tokens, contacts,
//	                conversations and messages; write the credentials file
//	sbbench ingest  web chat visitors POST messages; an agent WebSocket
//	                receives them (throughput, latency, statements/message)
//	sbbench list    inbox list latency per view and role
//	sbbench api     API-token authenticated requests per second
//	sbbench ws      many idle agent WebSockets: server memory per connection
//	sbbench rss     the server's resident memory now
//	sbbench webhook signed WhatsApp webhooks (mixed types, batches): ingest
//	                throughput and webhook -> agent WebSocket latency
//	sbbench outbox  WhatsApp sends through the outbox to the Graph fake:
//	                throughput across numbers and each number's rate
//
// See docs/benchmarks.md for how each figure there was measured.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sbbench:", err)
		os.Exit(1)
	}
}
