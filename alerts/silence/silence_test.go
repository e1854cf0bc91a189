package silence_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/state"
)

// t0 is the morning the tests' silences start.
var t0 = time.Date(2024, 6, 15, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func newStore(t *testing.T, st state.Store) (*silence.Store, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	return silence.New(st, slog.New(slog.NewTextHandler(logs, nil))), logs
}

func mustAdd(t *testing.T, s *silence.Store, target string, d time.Duration, by, reason string, now time.Time) silence.Silence {
	t.Helper()
	got, err := s.Add(context.Background(), target, d, by, reason, now)
	if err != nil {
		t.Fatalf("Add(%q, %s): %v", target, d, err)
	}
	return got
}

func activeIDs(t *testing.T, s *silence.Store, now time.Time) []string {
	t.Helper()
	list, err := s.Active(context.Background(), now)
	if err != nil {
		t.Fatalf("Active: %v", err)
	}
	ids := make([]string, 0, len(list))
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	return ids
}

// TestSilenceActive: a silence holds from its start up to, not including,
// its end.
func TestSilenceActive(t *testing.T) {
	s := silence.Silence{Start: t0, End: t0.Add(time.Hour)}
	tests := []struct {
		at   time.Time
		want bool
	}{
		{t0.Add(-time.Second), false}, // before it starts
		{t0, true},                    // at its start
		{t0.Add(59 * time.Minute), true},
		{t0.Add(time.Hour), false}, // at its end: over
		{t0.Add(2 * time.Hour), false},
	}
	for _, tc := range tests {
		if got := s.Active(tc.at); got != tc.want {
			t.Errorf("Active(%s) = %v, want %v", tc.at.Format(time.TimeOnly), got, tc.want)
		}
	}
}

// TestCoversAndFind: a silence covers a rule by its name or by one of the
// rule's teams; Find picks the active one covering it, and nothing else.
func TestCoversAndFind(t *testing.T) {
	byRule := silence.Silence{ID: "r1", Target: "sales-floor", Start: t0, End: t0.Add(time.Hour)}
	byTeam := silence.Silence{ID: "t1", Target: "support_team", Start: t0, End: t0.Add(time.Hour)}
	over := silence.Silence{ID: "o1", Target: "long-wrap-up", Start: t0.Add(-2 * time.Hour), End: t0.Add(-time.Hour)}

	covers := []struct {
		s     silence.Silence
		rule  string
		teams []string
		want  bool
	}{
		{byRule, "sales-floor", nil, true},                                     // the rule's name
		{byRule, "sales-floor-2", []string{"sales_team"}, false},               // another rule
		{byTeam, "support-rule", []string{"sales_team", "support_team"}, true}, // one of its teams
		{byTeam, "support_team", nil, true},                                    // a team rule named as the team
		{byTeam, "all", nil, false},                                            // all agents: no team listed
		{silence.Silence{Target: "Sales-Floor"}, "sales-floor", nil, false},    // as given: exact
	}
	for _, tc := range covers {
		if got := tc.s.Covers(tc.rule, tc.teams); got != tc.want {
			t.Errorf("%q.Covers(%q, %v) = %v, want %v", tc.s.Target, tc.rule, tc.teams, got, tc.want)
		}
	}

	list := []silence.Silence{over, byRule, byTeam}
	finds := []struct {
		rule   string
		teams  []string
		at     time.Time
		wantID string // "" for none
	}{
		{"sales-floor", []string{"sales_team"}, t0.Add(time.Minute), "r1"},
		{"support-rule", []string{"support_team"}, t0.Add(time.Minute), "t1"},
		{"long-wrap-up", nil, t0.Add(time.Minute), ""}, // its silence is over
		{"sales-floor", nil, t0.Add(time.Hour), ""},    // at the end: over
		{"sales-floor", nil, t0.Add(-time.Minute), ""}, // not yet started
		{"nobody", []string{"ops_team"}, t0.Add(time.Minute), ""},
	}
	for _, tc := range finds {
		got, ok := silence.Find(list, tc.rule, tc.teams, tc.at)
		if ok != (tc.wantID != "") || got.ID != tc.wantID {
			t.Errorf("Find(%q, %v, %s) = %q, %v; want %q", tc.rule, tc.teams, tc.at.Format(time.TimeOnly), got.ID, ok, tc.wantID)
		}
	}
}

// TestAddActiveEnd: an added silence is active, recorded with who, what,
// until when and why, and logged; ending it records who ended it and
// takes it off the active list.
func TestAddActiveEnd(t *testing.T) {
	ctx := context.Background()
	s, logs := newStore(t, state.NewMemoryStore())

	a := mustAdd(t, s, "sales-floor", 2*time.Hour, "U0SUPER01", "team offsite", t0)
	if a.ID == "" || len(a.ID) > 12 {
		t.Errorf("ID = %q, want a short one", a.ID)
	}
	if a.Target != "sales-floor" || a.By != "U0SUPER01" || a.Reason != "team offsite" ||
		!a.Start.Equal(t0) || !a.End.Equal(t0.Add(2*time.Hour)) || a.EndedBy != "" {
		t.Errorf("Add returned %+v", a)
	}
	b := mustAdd(t, s, "support_team", 30*time.Minute, "U0SUPER02", "", t0.Add(time.Minute))
	if a.ID == b.ID {
		t.Errorf("two silences share the ID %q", a.ID)
	}
	if got := activeIDs(t, s, t0.Add(2*time.Minute)); fmt.Sprint(got) != fmt.Sprint([]string{a.ID, b.ID}) {
		t.Errorf("active = %v, want [%s %s]", got, a.ID, b.ID)
	}
	if got := logs.String(); !containsAll(got, "level=INFO", "silence added", "id="+a.ID, "target=sales-floor",
		"by=U0SUPER01", "until=2024-06-15T11:00:00Z", `reason="team offsite"`) {
		t.Errorf("the add is not logged as the audit wants:\n%s", got)
	}

	ended, err := s.End(ctx, a.ID, "U0SUPER02", t0.Add(10*time.Minute))
	if err != nil {
		t.Fatalf("End: %v", err)
	}
	if ended.EndedBy != "U0SUPER02" || !ended.End.Equal(t0.Add(10*time.Minute)) || ended.By != "U0SUPER01" {
		t.Errorf("End returned %+v", ended)
	}
	if got := activeIDs(t, s, t0.Add(11*time.Minute)); fmt.Sprint(got) != fmt.Sprint([]string{b.ID}) {
		t.Errorf("active after the end = %v, want [%s]", got, b.ID)
	}
	if got := logs.String(); !containsAll(got, "silence ended", "id="+a.ID, "ended_by=U0SUPER02", "target=sales-floor") {
		t.Errorf("the end is not logged:\n%s", got)
	}

	// A second end, a silence that ran out, an unknown ID.
	if _, err := s.End(ctx, a.ID, "U0SUPER01", t0.Add(12*time.Minute)); !errors.Is(err, silence.ErrEnded) {
		t.Errorf("ending it twice: err = %v, want ErrEnded", err)
	}
	if got, err := s.End(ctx, b.ID, "U0SUPER01", t0.Add(31*time.Minute)); !errors.Is(err, silence.ErrEnded) || got.ID != b.ID {
		t.Errorf("ending one that ran out: %+v, %v; want it with ErrEnded", got, err)
	}
	if _, err := s.End(ctx, "nosuch", "U0SUPER01", t0); !errors.Is(err, silence.ErrNotFound) {
		t.Errorf("ending an unknown ID: err = %v, want ErrNotFound", err)
	}
}

// TestAddRefuses: bad silences are refused with ErrInvalid and nothing is
// stored.
func TestAddRefuses(t *testing.T) {
	tests := []struct {
		name, target, reason string
		d                    time.Duration
		want                 string
	}{
		{"empty target", "  ", "", time.Hour, "target"},
		{"under a minute", "sales-floor", "", 59 * time.Second, "at least 1m"},
		{"over 7 days", "sales-floor", "", 7*day + time.Second, "at most 7d"},
		{"reason too long", "sales-floor", strings.Repeat("é", silence.MaxReason+1), time.Hour, "reason"},
		{"target too long", strings.Repeat("x", silence.MaxTarget+1), "", time.Hour, "target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, state.NewMemoryStore())
			_, err := s.Add(context.Background(), tc.target, tc.d, "U0SUPER01", tc.reason, t0)
			if !errors.Is(err, silence.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalid naming %q", err, tc.want)
			}
			if got := activeIDs(t, s, t0); len(got) != 0 {
				t.Errorf("a refused silence was stored: %v", got)
			}
		})
	}
	t.Run("the limits themselves", func(t *testing.T) {
		s, _ := newStore(t, state.NewMemoryStore())
		mustAdd(t, s, "sales-floor", time.Minute, "U0SUPER01", strings.Repeat("é", silence.MaxReason), t0)
		mustAdd(t, s, "sales-floor", 7*day, "U0SUPER01", "", t0)
	})
}

// TestAddRefusesTooMany: the list under one key stays bounded.
func TestAddRefusesTooMany(t *testing.T) {
	s, _ := newStore(t, state.NewMemoryStore())
	for i := range silence.MaxActive {
		mustAdd(t, s, fmt.Sprintf("team_%d", i), time.Hour, "U0SUPER01", "", t0)
	}
	if _, err := s.Add(context.Background(), "one-more", time.Hour, "U0SUPER01", "", t0); !errors.Is(err, silence.ErrInvalid) {
		t.Errorf("silence %d: err = %v, want ErrInvalid", silence.MaxActive+1, err)
	}
	// Once some run out, there is room again.
	mustAdd(t, s, "one-more", time.Hour, "U0SUPER01", "", t0.Add(time.Hour))
}

// TestRetention: an ended silence stays in the store for 7 days after its
// end, as the audit trail, then is dropped at the next write.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	mem := state.NewMemoryStore()
	s, _ := newStore(t, mem)
	old := mustAdd(t, s, "sales-floor", time.Hour, "U0SUPER01", "", t0)

	stored := func() []string {
		var v struct {
			Silences []silence.Silence `json:"silences"`
		}
		if _, err := mem.Load(ctx, silence.Key, &v); err != nil {
			t.Fatalf("load: %v", err)
		}
		var ids []string
		for _, x := range v.Silences {
			ids = append(ids, x.ID)
		}
		return ids
	}
	// A write 7 days after its end keeps it.
	keep := mustAdd(t, s, "support_team", time.Hour, "U0SUPER01", "", t0.Add(time.Hour+7*day))
	if got := stored(); fmt.Sprint(got) != fmt.Sprint([]string{old.ID, keep.ID}) {
		t.Errorf("7 days after its end: stored %v, want both", got)
	}
	// A write after that drops it.
	mustAdd(t, s, "ops_team", time.Hour, "U0SUPER01", "", t0.Add(time.Hour+7*day+time.Second))
	if got := stored(); len(got) != 2 || got[0] != keep.ID {
		t.Errorf("past 7 days after its end: stored %v, want the old one dropped", got)
	}
	if _, err := s.End(ctx, old.ID, "U0SUPER01", t0.Add(8*day)); !errors.Is(err, silence.ErrNotFound) {
		t.Errorf("ending a dropped silence: err = %v, want ErrNotFound", err)
	}
}

// TestNoteSuppressed: every message held back is counted; the first few
// are kept as notes, each cut to one short line.
func TestNoteSuppressed(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, state.NewMemoryStore())
	a := mustAdd(t, s, "sales-floor", time.Hour, "U0SUPER01", "", t0)
	for i := range 8 {
		if err := s.NoteSuppressed(ctx, a.ID, fmt.Sprintf("warning %d", i), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("NoteSuppressed: %v", err)
		}
	}
	if err := s.NoteSuppressed(ctx, a.ID, "line one\nline two "+strings.Repeat("x", 500), t0.Add(9*time.Minute)); err != nil {
		t.Fatalf("NoteSuppressed: %v", err)
	}
	list, err := s.Active(ctx, t0.Add(10*time.Minute))
	if err != nil || len(list) != 1 {
		t.Fatalf("Active = %v, %v", list, err)
	}
	got := list[0]
	if got.Suppressed != 9 {
		t.Errorf("Suppressed = %d, want 9 (every one counted)", got.Suppressed)
	}
	if len(got.Notes) != silence.MaxNotes || got.Notes[0] != "warning 0" || got.Notes[silence.MaxNotes-1] != fmt.Sprintf("warning %d", silence.MaxNotes-1) {
		t.Errorf("Notes = %q, want the first %d", got.Notes, silence.MaxNotes)
	}
	if err := s.NoteSuppressed(ctx, "nosuch", "x", t0); !errors.Is(err, silence.ErrNotFound) {
		t.Errorf("unknown ID: err = %v, want ErrNotFound", err)
	}

	// A note is one plain, short line.
	b := mustAdd(t, s, "support_team", time.Hour, "U0SUPER01", "", t0)
	if err := s.NoteSuppressed(ctx, b.ID, "line one\nline two "+strings.Repeat("x", 500), t0); err != nil {
		t.Fatalf("NoteSuppressed: %v", err)
	}
	list, _ = s.Active(ctx, t0)
	for _, x := range list {
		if x.ID != b.ID {
			continue
		}
		if len(x.Notes) != 1 || strings.Contains(x.Notes[0], "\n") || len([]rune(x.Notes[0])) > silence.MaxNote {
			t.Errorf("note = %q, want one line of at most %d characters", x.Notes, silence.MaxNote)
		}
	}
}

// TestTakeEnded: a silence that ran out or was ended is taken once; an
// active one is not taken.
func TestTakeEnded(t *testing.T) {
	ctx := context.Background()
	s, logs := newStore(t, state.NewMemoryStore())
	short := mustAdd(t, s, "sales-floor", time.Hour, "U0SUPER01", "", t0)
	long := mustAdd(t, s, "support_team", 3*time.Hour, "U0SUPER01", "", t0)
	early := mustAdd(t, s, "ops_team", 3*time.Hour, "U0SUPER01", "", t0)
	if _, err := s.End(ctx, early.ID, "U0SUPER02", t0.Add(30*time.Minute)); err != nil {
		t.Fatalf("End: %v", err)
	}

	got, err := s.TakeEnded(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("TakeEnded: %v", err)
	}
	if ids := idsOf(got); fmt.Sprint(ids) != fmt.Sprint([]string{short.ID, early.ID}) {
		t.Errorf("taken %v, want [%s %s] (ran out, ended early)", ids, short.ID, early.ID)
	}
	for _, x := range got {
		if !x.Reported {
			t.Errorf("taken silence %s not marked reported", x.ID)
		}
	}
	if got, _ := s.TakeEnded(ctx, t0.Add(2*time.Hour)); len(got) != 0 {
		t.Errorf("taken again: %v", idsOf(got))
	}
	if got, _ := s.TakeEnded(ctx, t0.Add(3*time.Hour)); fmt.Sprint(idsOf(got)) != fmt.Sprint([]string{long.ID}) {
		t.Errorf("at the long one's end: taken %v, want [%s]", idsOf(got), long.ID)
	}
	if got := logs.String(); !containsAll(got, "silence ran out", "id="+short.ID) {
		t.Errorf("a silence that ran out is not logged:\n%s", got)
	}
}

// TestTakeEndedOnceAcrossStores: two replicas (two Stores over one state
// store) taking at once get each ended silence exactly once between them.
func TestTakeEndedOnceAcrossStores(t *testing.T) {
	ctx := context.Background()
	mem := state.NewMemoryStore()
	s1, _ := newStore(t, mem)
	s2, _ := newStore(t, mem)
	const n = 20
	for i := range n {
		mustAdd(t, s1, fmt.Sprintf("team_%d", i), time.Duration(i+1)*time.Minute, "U0SUPER01", "", t0)
	}
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range []*silence.Store{s1, s2, s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range n + 1 {
				got, err := s.TakeEnded(ctx, t0.Add(time.Duration(m)*time.Minute))
				if err != nil {
					t.Errorf("TakeEnded: %v", err)
					return
				}
				mu.Lock()
				for _, x := range got {
					counts[x.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(counts) != n {
		t.Errorf("%d silences taken, want %d", len(counts), n)
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("silence %s taken %d times", id, c)
		}
	}
}

// TestSurvivesRestart: a new Store over the same state directory sees the
// silences, ended or not.
func TestSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs1, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := newStore(t, fs1)
	a := mustAdd(t, s1, "sales-floor", time.Hour, "U0SUPER01", "maintenance", t0)
	b := mustAdd(t, s1, "support_team", time.Hour, "U0SUPER01", "", t0)
	if _, err := s1.End(ctx, b.ID, "U0SUPER02", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	fs2, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := newStore(t, fs2)
	list, err := s2.Active(ctx, t0.Add(2*time.Minute))
	if err != nil || len(list) != 1 || list[0].ID != a.ID || list[0].Reason != "maintenance" || !list[0].End.Equal(a.End) {
		t.Fatalf("after a restart: Active = %+v, %v; want %s", list, err, a.ID)
	}
	if _, err := s2.End(ctx, b.ID, "U0SUPER01", t0.Add(3*time.Minute)); !errors.Is(err, silence.ErrEnded) {
		t.Errorf("the ended one after a restart: err = %v, want ErrEnded", err)
	}
}

// TestCorruptStateStartsAfresh: an unreadable list fails the reads (the
// engines then post as if nothing were silenced) and the next write
// starts a new list rather than stay stuck.
func TestCorruptStateStartsAfresh(t *testing.T) {
	ctx := context.Background()
	mem := state.NewMemoryStore()
	if err := mem.Save(ctx, silence.Key, "not a list"); err != nil {
		t.Fatal(err)
	}
	s, logs := newStore(t, mem)
	if _, err := s.Active(ctx, t0); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("Active on a corrupt list: err = %v, want ErrCorrupt", err)
	}
	a := mustAdd(t, s, "sales-floor", time.Hour, "U0SUPER01", "", t0)
	if got := activeIDs(t, s, t0); fmt.Sprint(got) != fmt.Sprint([]string{a.ID}) {
		t.Errorf("after the write: active %v, want [%s]", got, a.ID)
	}
	if got := logs.String(); !containsAll(got, "level=ERROR", "corrupt") {
		t.Errorf("starting afresh is not logged as an error:\n%s", got)
	}
}

// TestStoreErrors: a failing state store fails every call, wrapped.
func TestStoreErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("redis: i/o timeout")
	s, _ := newStore(t, failing{boom})
	if _, err := s.Add(ctx, "sales-floor", time.Hour, "U0SUPER01", "", t0); !errors.Is(err, boom) {
		t.Errorf("Add: err = %v", err)
	}
	if _, err := s.End(ctx, "abc", "U0SUPER01", t0); !errors.Is(err, boom) {
		t.Errorf("End: err = %v", err)
	}
	if _, err := s.Active(ctx, t0); !errors.Is(err, boom) {
		t.Errorf("Active: err = %v", err)
	}
	if err := s.NoteSuppressed(ctx, "abc", "x", t0); !errors.Is(err, boom) {
		t.Errorf("NoteSuppressed: err = %v", err)
	}
	if _, err := s.TakeEnded(ctx, t0); !errors.Is(err, boom) {
		t.Errorf("TakeEnded: err = %v", err)
	}
}

// failing is a state store that is down.
type failing struct{ err error }

func (f failing) Load(context.Context, string, any) (bool, error) { return false, f.err }
func (f failing) Save(context.Context, string, any) error         { return f.err }
func (f failing) Delete(context.Context, string) error            { return f.err }
func (f failing) Update(context.Context, string, any, func(bool) (bool, error)) error {
	return f.err
}

func idsOf(list []silence.Silence) []string {
	ids := make([]string, 0, len(list))
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	return ids
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
