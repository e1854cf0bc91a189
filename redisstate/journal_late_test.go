package redisstate

import (
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/internal/redistest"
)

// A Put that outlasts the timeout fails, and the bot runs the command
// unjournaled. Redis, slow rather than gone, runs the Put later all the
// same. That late entry must not outlive the failure: once its lease runs
// out, no other replica may claim it and answer the command a second time.
func TestJournalPutThatTimedOutIsNeverClaimed(t *testing.T) {
	srv := redistest.Start(t)
	const lease = 10 * time.Second
	clock := clockwork.NewFakeClockAt(base)
	a := journalAt(t, srv, "replica-a", clock, JournalOptions{Lease: lease}, Options{Timeout: quickTimeout})
	b := journalAt(t, srv, "replica-b", clock, JournalOptions{Lease: lease}, Options{})
	const id = "envelope:E1"
	// A has journaled before, so Redis knows the script (EVALSHA runs it).
	if err := a.Put(bg(t), "envelope:E0", base, payloadOf("E0")); err != nil {
		t.Fatal(err)
	}
	if err := a.Remove(bg(t), "envelope:E0"); err != nil {
		t.Fatal(err)
	}

	// Redis stalls (stopped, not gone: what it was sent it runs on waking)
	// and the Put outlasts REDIS_TIMEOUT.
	srv.Pause()
	err := a.Put(bg(t), id, base, payloadOf("E1"))
	srv.Resume()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Put while Redis stalls = %v, want ErrUnavailable", err)
	}
	// Redis ran the Put on waking, after A had given up on it.
	eventuallyHas(t, srv, "bot:journal:entry", id)
	waitHealthy(t, a.c)

	// A goes on as usual (its sweep); B sweeps once A's lease is over.
	if _, err := a.Claim(bg(t), maxTestClaim); err != nil {
		t.Fatalf("A's sweep: %v", err)
	}
	clock.Advance(lease + time.Second)
	got, err := b.Claim(bg(t), maxTestClaim)
	if err != nil {
		t.Fatalf("B's sweep: %v", err)
	}
	if _, ok := got[id]; ok {
		t.Errorf("B claimed %s, whose Put failed on A (A ran it unjournaled): the command would be answered twice", id)
	}
}

// The other order: A cancels the entry of its failed Put before Redis
// runs that Put. The Put, when it comes, journals nothing.
func TestJournalPutArrivingAfterItsCancellationIsIgnored(t *testing.T) {
	srv := redistest.Start(t)
	const lease = 10 * time.Second
	clock := clockwork.NewFakeClockAt(base)
	a := journalAt(t, srv, "replica-a", clock, JournalOptions{Lease: lease}, Options{})
	b := journalAt(t, srv, "replica-b", clock, JournalOptions{Lease: lease}, Options{})
	const id = "envelope:E1"

	// A's Put of id failed after it was sent (as in the test above), and
	// A's next sweep cancels it while the Put is still on its way.
	a.mu.Lock()
	a.unsure[id] = true
	a.mu.Unlock()
	if _, err := a.Claim(bg(t), maxTestClaim); err != nil {
		t.Fatalf("A's sweep: %v", err)
	}
	// The Put arrives: the same script, run now.
	if err := a.Put(bg(t), id, base, payloadOf("E1")); err == nil {
		t.Errorf("a Put arriving after its cancellation succeeded, want it ignored")
	}
	clock.Advance(lease + time.Second)
	got, err := b.Claim(bg(t), maxTestClaim)
	if err != nil {
		t.Fatalf("B's sweep: %v", err)
	}
	if _, ok := got[id]; ok {
		t.Errorf("B claimed %s, whose Put arrived after A cancelled it: the command would be answered twice", id)
	}
}

const maxTestClaim = 64

// eventuallyHas waits (real time: Redis catching up) until the hash key
// holds field.
func eventuallyHas(t *testing.T, srv *redistest.Server, key, field string) {
	t.Helper()
	deadline := time.Now().Add(recoverWithin)
	for {
		v, err := redistest.Do(srv.Addr, "HEXISTS", key, field)
		if err == nil && v == int64(1) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %s (last: %v, %v)", key, field, v, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
