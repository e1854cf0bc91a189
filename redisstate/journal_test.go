package redisstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/internal/testlog"
)

// journalAt opens a replica's journal on its own connection, owned by
// owner, reading now from clock.
func journalAt(t *testing.T, srv *redistest.Server, owner string, clock clockwork.Clock, o JournalOptions, co Options) *Journal {
	t.Helper()
	if co.Prefix == "" {
		co.Prefix = "bot:"
	}
	o.Owner, o.Now = owner, clock.Now
	return open(t, srv, co).Journal(o)
}

func payloadOf(id string) []byte {
	return []byte(`{"response_url":"https://hooks.slack.com/commands/T1/` + id + `/secret"}`)
}

// Several replicas sweep at once for the entries of one that died: each
// entry is claimed by exactly one of them, and none before its lease ran
// out.
func TestJournalClaimIsExactlyOnce(t *testing.T) {
	srv := redistest.Start(t)
	const (
		entries  = 50
		claimers = 8
		lease    = time.Second
	)
	dead := clockwork.NewFakeClockAt(base)
	a := journalAt(t, srv, "replica-a", dead, JournalOptions{Lease: lease}, Options{})
	var ids []string
	for i := range entries {
		id := fmt.Sprintf("envelope:E%03d", i)
		ids = append(ids, id)
		if err := a.Put(bg(t), id, base, payloadOf(id)); err != nil {
			t.Fatalf("Put %s: %v", id, err)
		}
	}

	// Within the lease nobody may take them.
	early := journalAt(t, srv, "early", clockwork.NewFakeClockAt(base.Add(lease-time.Millisecond)), JournalOptions{Lease: lease}, Options{})
	if got, err := early.Claim(bg(t), entries); err != nil || len(got) != 0 {
		t.Fatalf("Claim within the lease = %d entries, %v; want none", len(got), err)
	}

	var js []*Journal
	for i := range claimers {
		js = append(js, journalAt(t, srv, fmt.Sprintf("claimer-%d", i), clockwork.NewFakeClockAt(base.Add(2*lease)), JournalOptions{Lease: lease}, Options{}))
	}
	var (
		mu      sync.Mutex
		claimed = map[string][]int{} // entry → the claimers that got it
		start   = make(chan struct{})
		wg      sync.WaitGroup
	)
	for i, j := range js {
		wg.Go(func() {
			<-start
			// Small batches, again and again, so the claimers interleave.
			for {
				got, err := j.Claim(bg(t), 3)
				if err != nil {
					t.Errorf("claimer %d: Claim: %v", i, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for id, p := range got {
					claimed[id] = append(claimed[id], i)
					if string(p) != string(payloadOf(id)) {
						t.Errorf("claimer %d got %s with payload %q, want %q", i, id, p, payloadOf(id))
					}
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, id := range ids {
		if len(claimed[id]) != 1 {
			t.Errorf("%s claimed by %v, want exactly one claimer", id, claimed[id])
		}
	}
	if extra := slices.DeleteFunc(slices.Collect(maps.Keys(claimed)), func(id string) bool { return slices.Contains(ids, id) }); len(extra) > 0 {
		t.Errorf("claimed entries never put: %v", extra)
	}

	// A claimed entry has a fresh lease, its claimer's: the dead replica
	// cannot renew or remove it, and no one else claims it meanwhile.
	id := ids[0]
	if len(claimed[id]) != 1 {
		t.FailNow()
	}
	if lost, err := a.Renew(bg(t), []string{id}); err != nil || !slices.Equal(lost, []string{id}) {
		t.Errorf("the old owner's Renew = %v, %v; want %s lost", lost, err, id)
	}
	if err := a.Remove(bg(t), id); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the old owner's Remove = %v, want ErrLeaseLost", err)
	}
	if got, _ := early.Claim(bg(t), entries); len(got) != 0 {
		t.Errorf("entries claimed again within the claimers' lease: %v", slices.Collect(maps.Keys(got)))
	}
	owner := js[claimed[id][0]]
	if err := owner.Remove(bg(t), id); err != nil {
		t.Errorf("the claimer's Remove: %v", err)
	}
}

// A replica that keeps renewing keeps its entry, however long the command
// runs; once it stops, the entry is claimed a lease later, and once it is
// removed it is gone.
func TestJournalRenewalKeepsAnEntryAlive(t *testing.T) {
	srv := redistest.Start(t)
	const lease = time.Second
	aClock := clockwork.NewFakeClockAt(base)
	bClock := clockwork.NewFakeClockAt(base)
	a := journalAt(t, srv, "replica-a", aClock, JournalOptions{Lease: lease}, Options{})
	b := journalAt(t, srv, "replica-b", bClock, JournalOptions{Lease: lease}, Options{})
	const id = "envelope:E1"
	if err := a.Put(bg(t), id, base, payloadOf(id)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	// Renewed every 600 ms for 5 s, it is never free.
	for at := 600 * time.Millisecond; at <= 5*time.Second; at += 600 * time.Millisecond {
		aClock.Advance(600 * time.Millisecond)
		if lost, err := a.Renew(bg(t), []string{id}); err != nil || len(lost) != 0 {
			t.Fatalf("Renew at +%s = %v, %v; want kept", at, lost, err)
		}
		bClock.Advance(at + 900*time.Millisecond - bClock.Since(base))
		if got, err := b.Claim(bg(t), 10); err != nil || len(got) != 0 {
			t.Fatalf("Claim at +%s, within the renewed lease = %v, %v; want none", at+900*time.Millisecond, slices.Collect(maps.Keys(got)), err)
		}
	}
	// Renewing what is not ours (never put) reports it lost.
	if lost, err := a.Renew(bg(t), []string{"envelope:unknown", id}); err != nil || !slices.Equal(lost, []string{"envelope:unknown"}) {
		t.Errorf("Renew of an unknown entry = %v, %v; want it lost", lost, err)
	}
	// Renewals stop: a lease after the last one, it is claimed.
	bClock.Advance(aClock.Now().Add(lease + time.Millisecond).Sub(bClock.Now()))
	got, err := b.Claim(bg(t), 10)
	if err != nil || len(got) != 1 || string(got[id]) != string(payloadOf(id)) {
		t.Fatalf("Claim after the lease = %v, %v; want %s", slices.Collect(maps.Keys(got)), err, id)
	}
	// Removed once answered: nothing left for anyone, ever.
	if err := b.Remove(bg(t), id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	bClock.Advance(time.Hour)
	if got, err := b.Claim(bg(t), 10); err != nil || len(got) != 0 {
		t.Errorf("Claim after Remove = %v, %v; want none", slices.Collect(maps.Keys(got)), err)
	}
	// Removing it again is no error: an answer is removed at most once
	// anyway, and a retry after a lost reply must not fail.
	if err := b.Remove(bg(t), id); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// An entry found older than a response_url's life cannot be answered: it
// is dropped, logged and counted, not run.
func TestJournalDropsEntriesOlderThanTheResponseURL(t *testing.T) {
	srv := redistest.Start(t)
	const lease = time.Second
	var dropped atomic.Int32
	logs := &testlog.Buffer{}
	dead := clockwork.NewFakeClockAt(base)
	a := journalAt(t, srv, "replica-a", dead, JournalOptions{Lease: lease}, Options{})
	if err := a.Put(bg(t), "envelope:old", base, payloadOf("old")); err != nil {
		t.Fatal(err)
	}
	dead.Advance(29 * time.Minute)
	if err := a.Put(bg(t), "envelope:young", dead.Now(), payloadOf("young")); err != nil {
		t.Fatal(err)
	}
	b := journalAt(t, srv, "replica-b", clockwork.NewFakeClockAt(base.Add(ResponseURLLife+time.Second)),
		JournalOptions{Lease: lease, OnDropped: func() { dropped.Add(1) }},
		Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	got, err := b.Claim(bg(t), 10)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if ids := slices.Collect(maps.Keys(got)); !slices.Equal(ids, []string{"envelope:young"}) {
		t.Errorf("claimed %v, want only the entry younger than %s", ids, ResponseURLLife)
	}
	if n := dropped.Load(); n != 1 {
		t.Errorf("OnDropped called %d times, want once", n)
	}
	l := logs.String()
	if !strings.Contains(l, "envelope:old") || !strings.Contains(l, "dropped") {
		t.Errorf("no log line names the dropped entry:\n%s", l)
	}
	if strings.Contains(l, "hooks.slack.com") {
		t.Errorf("the log shows a response_url:\n%s", l)
	}
	// Dropped means gone: no later sweep finds it again.
	c := journalAt(t, srv, "replica-c", clockwork.NewFakeClockAt(base.Add(ResponseURLLife+time.Hour)), JournalOptions{Lease: lease}, Options{})
	if _, err := c.Claim(bg(t), 10); err != nil {
		t.Fatal(err)
	}
	if n := dropped.Load(); n != 1 {
		t.Errorf("the dropped entry was found again (%d drops)", n)
	}
}

// With Redis down, journaling fails fast, counted as a fallback, and says
// nothing of the entry's content.
func TestJournalFailsFastWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	var h hooks
	o := Options{Timeout: quickTimeout}
	h.install(&o)
	j := journalAt(t, srv, "replica-a", clockwork.NewRealClock(), JournalOptions{}, o)
	srv.Stop()
	for i := range 3 {
		var err error
		within(t, 2*quickTimeout, "Put with Redis down", func() {
			err = j.Put(context.Background(), "envelope:E1", time.Now(), payloadOf("E1"))
		})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Put %d with Redis down = %v, want ErrUnavailable", i, err)
		}
		if strings.Contains(err.Error(), "hooks.slack.com") || strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the entry: %v", err)
		}
	}
	if n := h.Fallbacks(OpJournal); n != 3 {
		t.Errorf("journal fallbacks = %d, want 3", n)
	}
}

// BenchmarkJournal is what the journal costs a command: Put before it
// runs and Remove once answered, plus its share of the renewals (one
// round trip every third of a lease for all the commands in flight; here
// one per command, the worst case of a command alone). BenchmarkDedupe's
// redis case, the one Redis call a command made before the journal, is
// the yardstick.
func BenchmarkJournal(b *testing.B) {
	srv := redistest.Start(b)
	c := open(b, srv, Options{Prefix: "bench:"})
	j := c.Journal(JournalOptions{})
	payload := payloadOf("E1") // a /status command's entry is about this size
	ctx := context.Background()
	b.Run("put+remove", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			id := "envelope:E" + strconv.Itoa(i)
			if err := j.Put(ctx, id, time.Now(), payload); err != nil {
				b.Fatal(err)
			}
			if err := j.Remove(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("put+renew+remove", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			id := "envelope:E" + strconv.Itoa(i)
			if err := j.Put(ctx, id, time.Now(), payload); err != nil {
				b.Fatal(err)
			}
			if _, err := j.Renew(ctx, []string{id}); err != nil {
				b.Fatal(err)
			}
			if err := j.Remove(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}
