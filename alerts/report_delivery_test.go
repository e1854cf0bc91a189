package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// slackDown is a Slack answer that may succeed later (HTTP 5xx, 429), as
// slack-go's StatusCodeError says with Retryable.
type slackDown struct{ code int }

func (e slackDown) Error() string   { return fmt.Sprintf("slack server error: %d", e.code) }
func (e slackDown) Retryable() bool { return e.code >= 500 || e.code == 429 }

// errRefused is a refusal no retry fixes.
var errRefused = errors.New("channel_not_found")

// reportChannel is the report's Slack channel: posts with their metadata,
// the channel's history to find them in, and failures to order.
type reportChannel struct {
	mu    sync.Mutex
	posts []channelPost
	// fail are the errors of the next posts, in order.
	fail []error
	// lost: the next post is made, but its answer is lost (the replica
	// died before it could confirm it): the post returns errLost.
	lost bool
	// findErr fails every look-up of the history.
	findErr error
	finds   int
}

var errLost = errors.New("the replica died before its answer")

type channelPost struct {
	ts        string
	msg       message.Message
	eventType string
	payload   map[string]any
}

func (c *reportChannel) Post(ctx context.Context, channel string, m message.Message) (string, error) {
	return c.PostWithMetadata(ctx, channel, m, "", nil)
}

func (c *reportChannel) Update(context.Context, string, string, message.Message) error { return nil }

func (c *reportChannel) PostWithMetadata(_ context.Context, _ string, m message.Message, eventType string, payload map[string]any) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fail) > 0 {
		err := c.fail[0]
		c.fail = c.fail[1:]
		return "", err
	}
	ts := fmt.Sprintf("1741005000.%06d", len(c.posts)+1)
	c.posts = append(c.posts, channelPost{ts: ts, msg: m, eventType: eventType, payload: payload})
	if c.lost {
		c.lost = false
		return "", errLost
	}
	return ts, nil
}

func (c *reportChannel) FindMetadata(_ context.Context, _ string, eventType string, _ time.Time) (map[string]map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finds++
	if c.findErr != nil {
		return nil, c.findErr
	}
	out := map[string]map[string]any{}
	for _, p := range c.posts {
		if p.eventType == eventType {
			out[p.ts] = p.payload
		}
	}
	return out, nil
}

func (c *reportChannel) failNext(errs ...error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = append(c.fail, errs...)
}

func (c *reportChannel) sent() []channelPost {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.posts)
}

// deliveryWorld is one report channel, one shared store and the waits
// the reporters made between attempts.
type deliveryWorld struct {
	f     *fixture
	ch    *reportChannel
	store state.Store
	mu    sync.Mutex
	waits []time.Duration
}

func newDeliveryWorld(t *testing.T) *deliveryWorld {
	return &deliveryWorld{f: newFixture(t, reportFloor()...), ch: &reportChannel{}, store: state.NewMemoryStore()}
}

// reporter is a replica's reporter on REPORT_SCHEDULE "0 18 * * Mon-Fri";
// ledger false leaves Slack's metadata out (nil Ledger).
func (w *deliveryWorld) reporter(t *testing.T, ledger bool, log *slog.Logger) *Reporter {
	t.Helper()
	s := ReportSettings{
		Channel: "C_REPORT", Location: kolkata, History: dayHistory(), Rules: reportRules(), Resolution: time.Minute,
		Cron: "0 18 * * Mon-Fri",
		Wait: func(ctx context.Context, d time.Duration) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.waits = append(w.waits, d)
			return ctx.Err()
		},
	}
	if ledger {
		s.Ledger = w.ch
	}
	return NewReporter(presence.NewSnapshots(w.f.client, 0, func() time.Time { return reportTick }), w.ch, w.store, s, log)
}

func (w *deliveryWorld) takeWaits() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.waits
	w.waits = nil
	return out
}

func (w *deliveryWorld) state(t *testing.T) ReportState {
	t.Helper()
	var st ReportState
	if _, err := w.store.Load(context.Background(), reportStateKey, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// posts returns the texts of the reports posted, in order.
func (w *deliveryWorld) posts() []string {
	var out []string
	for _, p := range w.ch.sent() {
		out = append(out, p.msg.Text)
	}
	return out
}

// A retryable failure (Slack 503) is retried in the run, with backoff,
// and the report goes out at the tick, once, with its metadata.
func TestReportRetriesARetryableFailure(t *testing.T) {
	w := newDeliveryWorld(t)
	w.ch.failNext(slackDown{503}, slackDown{503})
	r := w.reporter(t, true, nil)
	if err := r.Run(context.Background(), reportTick); err != nil {
		t.Fatalf("Run: %v", err)
	}
	posts := w.ch.sent()
	if len(posts) != 1 {
		t.Fatalf("got %d posts, want 1", len(posts))
	}
	if got, want := w.takeWaits(), []time.Duration{2 * time.Second, 4 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	p := posts[0]
	if !strings.HasPrefix(p.msg.Text, "Daily report for Mon 3 Mar: ") {
		t.Errorf("text %q: posted on time, it says nothing of lateness", p.msg.Text)
	}
	if p.eventType != "presence_daily_report" || p.payload["tick"] != "2025-03-03T12:30:00Z" {
		t.Errorf("metadata %s %v, want presence_daily_report with the tick", p.eventType, p.payload)
	}
	if st := w.state(t); st.TS != p.ts || st.Claim != "" || st.Pending {
		t.Errorf("state %+v, want confirmed with ts %s", st, p.ts)
	}
}

// A refusal no retry fixes (channel_not_found) is not retried in the
// run: the tick is left pending for the catch-up.
func TestReportDoesNotRetryARefusal(t *testing.T) {
	w := newDeliveryWorld(t)
	w.ch.failNext(errRefused)
	err := w.reporter(t, true, nil).Run(context.Background(), reportTick)
	if !errors.Is(err, errRefused) {
		t.Fatalf("Run = %v, want the refusal", err)
	}
	if n := len(w.takeWaits()); n != 0 {
		t.Errorf("waited %d times for a refusal", n)
	}
	st := w.state(t)
	if !st.Pending || st.Claim != "" || st.Failures != 1 || !st.RetryAt.Equal(reportTick.Add(time.Minute)) {
		t.Errorf("state %+v, want pending, 1 failure, retry at 18:01", st)
	}
}

// The retries stop before the job's deadline: no wait that would leave
// no time to post and confirm.
func TestReportRetriesWithinTheDeadline(t *testing.T) {
	w := newDeliveryWorld(t)
	w.ch.failNext(slackDown{503}, slackDown{503}, slackDown{503})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := w.reporter(t, true, nil).Run(ctx, reportTick); err == nil {
		t.Fatal("Run succeeded; want the 503")
	}
	if got := w.takeWaits(); len(got) != 0 {
		t.Errorf("waits %v with 3 s left, want none (2 s + the confirmation would not fit)", got)
	}
	if w.ch.finds != 0 {
		t.Errorf("looked for the report %d times before a first post", w.ch.finds)
	}
}

// The reviewer's scenario: Slack answers 503 all through the 18:00 run.
// The catch-up posts the report at 18:01, saying it is late, once.
func TestReportCatchUpAfterADeliveryFailure(t *testing.T) {
	w := newDeliveryWorld(t)
	down := make([]error, reportPostAttempts)
	for i := range down {
		down[i] = slackDown{503}
	}
	w.ch.failNext(down...)
	a, b := w.reporter(t, true, nil), w.reporter(t, true, nil)
	// b's catch-up job has run since before the tick.
	if err := b.CatchUp(context.Background(), reportTick.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background(), reportTick); err == nil {
		t.Fatal("Run succeeded; want the 503")
	}
	if n := len(w.ch.sent()); n != 0 {
		t.Fatalf("%d posts while Slack was down", n)
	}
	// Another replica's catch-up, a minute later: Slack is back.
	if err := b.CatchUp(context.Background(), ist(18, 1)); err != nil {
		t.Fatalf("CatchUp: %v", err)
	}
	if got := w.posts(); len(got) != 1 || !strings.HasPrefix(got[0], "Daily report for Mon 3 Mar, posted at 18:01 after a delivery failure: 14 agents seen") {
		t.Fatalf("posts %q, want one, late", got)
	}
	m := w.ch.sent()[0].msg
	if m.Blocks[1].Kind != message.Context || !strings.Contains(m.Blocks[1].Text, "Posted at 18:01 after a delivery failure") {
		t.Errorf("second block %+v, want the lateness said under the header", m.Blocks[1])
	}
	// The later catch-ups and a replay of the tick post nothing more.
	for _, at := range []time.Time{ist(18, 2), ist(18, 30), ist(23, 59)} {
		if err := b.CatchUp(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Run(context.Background(), reportTick); err != nil {
		t.Fatal(err)
	}
	if n := len(w.ch.sent()); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
	// The next day's report goes out on time.
	if err := a.Run(context.Background(), reportTick.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if got := w.posts(); len(got) != 2 || !strings.HasPrefix(got[1], "Daily report for Tue 4 Mar: ") {
		t.Errorf("posts %q, want Tuesday's on time", got)
	}
}

// A tick that keeps failing is tried again less and less often: 1, 2, 4
// minutes after each failure.
func TestReportCatchUpBacksOff(t *testing.T) {
	w := newDeliveryWorld(t)
	w.ch.failNext(errRefused, errRefused, errRefused)
	r := w.reporter(t, true, nil)
	if err := r.CatchUp(context.Background(), ist(17, 59)); err != nil {
		t.Fatal(err)
	}
	_ = r.Run(context.Background(), reportTick) // fails: retry at 18:01
	attempts := func() int { w.ch.mu.Lock(); defer w.ch.mu.Unlock(); return len(w.ch.fail) }
	for _, tc := range []struct {
		at   time.Time
		left int // failures still queued after the catch-up
	}{
		{ist(18, 0).Add(30 * time.Second), 2}, // before 18:01: nothing
		{ist(18, 1), 1},                       // fails: retry at 18:03
		{ist(18, 2), 1},
		{ist(18, 3), 0}, // fails: retry at 18:07
		{ist(18, 6), 0},
	} {
		_ = r.CatchUp(context.Background(), tc.at)
		if got := attempts(); got != tc.left {
			t.Errorf("after the catch-up at %s: %d failures left, want %d", tc.at.Format("15:04:05"), got, tc.left)
		}
	}
	if n := len(w.ch.sent()); n != 0 {
		t.Fatalf("%d posts before 18:07", n)
	}
	if err := r.CatchUp(context.Background(), ist(18, 7)); err != nil {
		t.Fatal(err)
	}
	if got := w.posts(); len(got) != 1 || !strings.Contains(got[0], "posted at 18:07 after a delivery failure") {
		t.Errorf("posts %q, want one at 18:07", got)
	}
}

// No replica ran the 18:00 tick (Redis was down, or every replica was
// restarting): the catch-up posts it, late, but leaves the scheduled run
// its first two minutes.
func TestReportCatchUpOfATickThatNeverRan(t *testing.T) {
	w := newDeliveryWorld(t)
	r := w.reporter(t, true, nil)
	for _, at := range []time.Time{ist(17, 58), ist(18, 0), ist(18, 1)} {
		if err := r.CatchUp(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.ch.sent()); n != 0 {
		t.Fatalf("%d posts within the scheduled run's grace", n)
	}
	if err := r.CatchUp(context.Background(), ist(18, 2)); err != nil {
		t.Fatal(err)
	}
	if got := w.posts(); len(got) != 1 || !strings.HasPrefix(got[0], "Daily report for Mon 3 Mar, posted at 18:02, late: its run at 18:00 did not take place") {
		t.Errorf("posts %q, want one, late", got)
	}
}

// A replica started after a tick does not post that tick's report: only
// ticks it was there for, or that a run claimed, are caught up (a new
// install does not post yesterday's report).
func TestReportCatchUpIgnoresTicksBeforeItStarted(t *testing.T) {
	w := newDeliveryWorld(t)
	r := w.reporter(t, true, nil)
	for _, at := range []time.Time{ist(19, 0), ist(19, 5), ist(23, 0)} {
		if err := r.CatchUp(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.ch.sent()); n != 0 {
		t.Errorf("%d posts of a tick before the replica started", n)
	}
}

// A replica posted the report and died before confirming it. Once its
// claim lapses, another replica finds the post in the channel (its
// metadata names the tick) and confirms it: no second post.
func TestReportTakeoverFindsThePost(t *testing.T) {
	w := newDeliveryWorld(t)
	log, buf := newLogger()
	dead, other := w.reporter(t, true, nil), w.reporter(t, true, log)
	if err := other.CatchUp(context.Background(), ist(17, 59)); err != nil {
		t.Fatal(err)
	}
	w.ch.lost = true
	_ = dead.Run(context.Background(), reportTick)
	// The dead replica's claim stays (it never confirmed, nor gave it back).
	if err := w.store.Save(context.Background(), reportStateKey, ReportState{Tick: reportTick, Claim: "dead", ClaimedAt: reportTick}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{ist(18, 2), ist(18, 9)} {
		if err := other.CatchUp(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	if w.ch.finds != 0 {
		t.Errorf("looked in the channel %d times while the claim held", w.ch.finds)
	}
	if err := other.CatchUp(context.Background(), ist(18, 10)); err != nil {
		t.Fatal(err)
	}
	if n := len(w.ch.sent()); n != 1 {
		t.Errorf("%d posts, want the dead replica's only", n)
	}
	if st := w.state(t); st.TS != w.ch.sent()[0].ts || st.Claim != "" || st.Pending {
		t.Errorf("state %+v, want confirmed with the post found", st)
	}
	mustContain(t, "log", buf.String(), "found in the channel")
}

// A replica claimed the report and died before posting it: once the
// claim lapses, another posts it, late, without a warning of a repeat
// (it looked, and there was none).
func TestReportTakeoverPostsWhenNotFound(t *testing.T) {
	w := newDeliveryWorld(t)
	if err := w.store.Save(context.Background(), reportStateKey, ReportState{Tick: reportTick, Claim: "dead", ClaimedAt: reportTick}); err != nil {
		t.Fatal(err)
	}
	r := w.reporter(t, true, nil)
	if err := r.CatchUp(context.Background(), ist(18, 11)); err != nil {
		t.Fatal(err)
	}
	got := w.posts()
	if len(got) != 1 || !strings.HasPrefix(got[0], "Daily report for Mon 3 Mar, posted at 18:11 after the replica posting it stopped: ") {
		t.Fatalf("posts %q, want one, late", got)
	}
	if strings.Contains(got[0], "may repeat") {
		t.Errorf("%q warns of a repeat it checked for", got[0])
	}
	if w.ch.finds != 1 {
		t.Errorf("%d look-ups, want 1", w.ch.finds)
	}
}

// Without the channel's history (no Ledger, or the look-up fails), a
// lapsed claim is posted late rather than never, marked as a possible
// repeat of the one sent at the claim's time.
func TestReportTakeoverWithoutHistoryMayRepeat(t *testing.T) {
	for name, ledger := range map[string]bool{"no ledger": false, "look-up fails": true} {
		t.Run(name, func(t *testing.T) {
			w := newDeliveryWorld(t)
			w.ch.findErr = errors.New("missing_scope")
			if err := w.store.Save(context.Background(), reportStateKey, ReportState{Tick: reportTick, Claim: "dead", ClaimedAt: reportTick}); err != nil {
				t.Fatal(err)
			}
			if err := w.reporter(t, ledger, nil).CatchUp(context.Background(), ist(18, 12)); err != nil {
				t.Fatal(err)
			}
			got := w.posts()
			if len(got) != 1 || !strings.HasPrefix(got[0], "Daily report for Mon 3 Mar, posted at 18:12 after the replica posting it stopped; it may repeat one sent at 18:00: ") {
				t.Errorf("posts %q, want one, marked as a possible repeat", got)
			}
		})
	}
}
