package fakeslack_test

import (
	"context"
	"sync"
	"testing"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// ackAll acks every request-bearing event of the bots until the benchmark
// ends.
func ackAll(b *testing.B, bots ...*bot) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, bt := range bots {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-bt.events:
					if e.Request != nil && e.Request.EnvelopeID != "" {
						_ = bt.client.Ack(*e.Request)
					}
				}
			}
		})
	}
	b.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// BenchmarkSlashCommandAck is one envelope's round trip through the real
// slack-go client: send, receive, ack, WaitAck.
func BenchmarkSlashCommandAck(b *testing.B) {
	s := newServer(b, fakeslack.Options{})
	bt := startBot(b, s)
	if err := s.WaitConnections(testCtx(b), 1); err != nil {
		b.Fatal(err)
	}
	ackAll(b, bt)
	ctx := testCtx(b)
	b.ReportAllocs()
	for b.Loop() {
		id, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WaitAck(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSlashCommandAckParallel spreads concurrent round trips over two
// connections, as two replicas would see them.
func BenchmarkSlashCommandAckParallel(b *testing.B) {
	s := newServer(b, fakeslack.Options{})
	bots := []*bot{startBot(b, s), startBot(b, s)}
	if err := s.WaitConnections(testCtx(b), len(bots)); err != nil {
		b.Fatal(err)
	}
	ackAll(b, bots...)
	ctx := testCtx(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1"})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := s.WaitAck(ctx, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
