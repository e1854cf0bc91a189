package nudge

import (
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

var t0 = time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC) // a Monday

func ago(d time.Duration) time.Time { return t0.Add(-d) }

// wrapUp is the rule the table runs: after-call work longer than 5m,
// escalated 3m after the nudge.
func wrapUp() Rule {
	return Rule{Name: "long-wrap-up", Status: presence.AfterCallWork, After: 5 * time.Minute,
		EscalateAfter: 3 * time.Minute, Channel: "C0FLOOR"}
}

// in is Asha, mapped, in after-call work since since.
func in(since time.Time) Observation {
	return Observation{Present: true, Status: presence.AfterCallWork, Since: since, Name: "Asha Rao",
		Team: "support_team", User: "U0ASHA"}
}

// nudged is Asha's episode, begun at started (in after-call work since
// 5m before) and nudged then.
func nudged(started time.Time) Episode {
	return Episode{Status: presence.AfterCallWork, Since: started.Add(-5 * time.Minute), Started: started,
		Name: "Asha Rao", Team: "support_team", User: "U0ASHA",
		NudgedAt: started, EscalateAt: started.Add(3 * time.Minute)}
}

func TestDecide(t *testing.T) {
	closedHours := func(time.Time) bool { return false }
	tests := []struct {
		name string
		prev Episode
		obs  Observation
		rule func(*Rule)
		want Action
		next func() Episode // zero: no episode kept
	}{
		{
			// 4 minutes in: under After, nothing starts.
			name: "under after", obs: in(ago(4 * time.Minute)),
		},
		{
			// Another status than the rule's is none of its business.
			name: "another status", obs: Observation{Present: true, Status: presence.Busy, Since: ago(time.Hour), User: "U0ASHA"},
		},
		{
			// Exactly After: the episode starts with the nudge, and the
			// escalation is due EscalateAfter later.
			name: "start: the nudge", obs: in(ago(5 * time.Minute)), want: Nudge,
			next: func() Episode { return nudged(t0) },
		},
		{
			// Nudged 2m ago, escalation due in 1m: nothing, and no second DM.
			name: "nudged, escalation not due", prev: nudged(ago(2 * time.Minute)), obs: in(ago(7 * time.Minute)),
			next: func() Episode { return nudged(ago(2 * time.Minute)) },
		},
		{
			// Still there EscalateAfter after the nudge: the channel is told.
			name: "escalate after", prev: nudged(ago(3 * time.Minute)), obs: in(ago(8 * time.Minute)), want: Escalate,
			next: func() Episode {
				ep := nudged(ago(3 * time.Minute))
				ep.EscalatedAt = t0
				return ep
			},
		},
		{
			// Escalated: nothing more, ever, however long they stay.
			name: "escalated: nothing more",
			prev: func() Episode { ep := nudged(ago(time.Hour)); ep.EscalatedAt = ago(57 * time.Minute); return ep }(),
			obs:  in(ago(65 * time.Minute)),
			next: func() Episode { ep := nudged(ago(time.Hour)); ep.EscalatedAt = ago(57 * time.Minute); return ep },
		},
		{
			// [5 more minutes] moved the escalation past now: it waits.
			name: "5 more minutes: escalation waits",
			prev: func() Episode { ep := nudged(ago(4 * time.Minute)); ep.EscalateAt = t0.Add(time.Minute); return ep }(),
			obs:  in(ago(9 * time.Minute)),
			next: func() Episode { ep := nudged(ago(4 * time.Minute)); ep.EscalateAt = t0.Add(time.Minute); return ep },
		},
		{
			// ...and escalates once the minutes are up.
			name: "5 more minutes up: escalate",
			prev: func() Episode { ep := nudged(ago(8 * time.Minute)); ep.EscalateAt = t0; return ep }(),
			obs:  in(ago(13 * time.Minute)), want: Escalate,
			next: func() Episode {
				ep := nudged(ago(8 * time.Minute))
				ep.EscalateAt, ep.EscalatedAt = t0, t0
				return ep
			},
		},
		{
			// Moved on: the episode ends and its messages are edited.
			name: "moved on: close", prev: nudged(ago(2 * time.Minute)),
			obs:  Observation{Present: true, Status: presence.Available, Since: ago(10 * time.Second), User: "U0ASHA"},
			want: Close,
		},
		{
			// Gone from the roster (or the rule's teams): over too.
			name: "left the roster: close", prev: nudged(ago(2 * time.Minute)), obs: Observation{}, want: Close,
		},
		{
			// A changed status_since is a new stretch, so a new episode:
			// the old one closes and the new one, past After already
			// (polls missed), is nudged afresh.
			name: "status_since changed: new episode", prev: nudged(ago(20 * time.Minute)), obs: in(ago(6 * time.Minute)),
			want: Close | Nudge,
			next: func() Episode { ep := nudged(t0); ep.Since = ago(6 * time.Minute); return ep },
		},
		{
			// A new stretch under After: the old episode closes, nothing starts.
			name: "status_since changed, under after", prev: nudged(ago(20 * time.Minute)), obs: in(ago(time.Minute)),
			want: Close,
		},
		{
			// Unmapped: nobody to nudge, straight to the channel.
			name: "unmapped: straight to escalation",
			obs:  func() Observation { o := in(ago(5 * time.Minute)); o.User = ""; return o }(),
			want: Escalate,
			next: func() Episode {
				return Episode{Status: presence.AfterCallWork, Since: ago(5 * time.Minute), Started: t0,
					Name: "Asha Rao", Team: "support_team", EscalatedAt: t0}
			},
		},
		{
			// Mapped after the escalation: no DM then, the episode had its message.
			name: "mapped after escalation: no DM",
			prev: Episode{Status: presence.AfterCallWork, Since: ago(10 * time.Minute), Started: ago(5 * time.Minute),
				Name: "Asha Rao", Team: "support_team", EscalatedAt: ago(5 * time.Minute)},
			obs: in(ago(10 * time.Minute)),
			next: func() Episode {
				return Episode{Status: presence.AfterCallWork, Since: ago(10 * time.Minute), Started: ago(5 * time.Minute),
					Name: "Asha Rao", Team: "support_team", EscalatedAt: ago(5 * time.Minute)}
			},
		},
		{
			// A DM that failed is tried again while escalation is not due.
			name: "failed DM: nudge again",
			prev: func() Episode {
				ep := nudged(ago(time.Minute))
				ep.NudgedAt, ep.EscalateAt = time.Time{}, time.Time{}
				return ep
			}(),
			obs: in(ago(6 * time.Minute)), want: Nudge,
			next: func() Episode {
				ep := nudged(ago(time.Minute))
				ep.NudgedAt, ep.EscalateAt = t0, t0.Add(3*time.Minute)
				return ep
			},
		},
		{
			// A DM that has failed for EscalateAfter: tell the channel anyway.
			name: "DM failing for escalate_after: escalate",
			prev: func() Episode {
				ep := nudged(ago(3 * time.Minute))
				ep.NudgedAt, ep.EscalateAt = time.Time{}, time.Time{}
				return ep
			}(),
			obs: in(ago(8 * time.Minute)), want: Escalate,
			next: func() Episode {
				ep := nudged(ago(3 * time.Minute))
				ep.NudgedAt, ep.EscalateAt, ep.EscalatedAt = time.Time{}, time.Time{}, t0
				return ep
			},
		},
		{
			// escalate_after 0: the nudge and the escalation at once.
			name: "escalate_after 0", obs: in(ago(5 * time.Minute)), rule: func(r *Rule) { r.EscalateAfter = 0 },
			want: Nudge | Escalate,
			next: func() Episode { ep := nudged(t0); ep.EscalateAt, ep.EscalatedAt = t0, t0; return ep },
		},
		{
			// Outside active hours nothing starts.
			name: "outside hours: nothing starts", obs: in(ago(time.Hour)), rule: func(r *Rule) { r.Active = closedHours },
		},
		{
			// Outside active hours an open episode ends quietly; it is kept,
			// closed, so the same stretch is never nudged again.
			name: "outside hours: episode ends quietly", prev: nudged(ago(2 * time.Minute)), obs: in(ago(7 * time.Minute)),
			rule: func(r *Rule) { r.Active = closedHours }, want: Expire,
			next: func() Episode { ep := nudged(ago(2 * time.Minute)); ep.Closed = true; return ep },
		},
		{
			// Back in hours, the same stretch: still nothing.
			name: "closed episode, same stretch: nothing",
			prev: func() Episode { ep := nudged(ago(time.Hour)); ep.Closed = true; return ep }(),
			obs:  in(ago(65 * time.Minute)),
			next: func() Episode { ep := nudged(ago(time.Hour)); ep.Closed = true; return ep },
		},
		{
			// A closed episode whose agent moved on is dropped, not edited
			// again.
			name: "closed episode, moved on: dropped",
			prev: func() Episode { ep := nudged(ago(time.Hour)); ep.Closed = true; return ep }(),
			obs:  Observation{Present: true, Status: presence.Offline, Since: ago(time.Minute)},
		},
		{
			// No status_since (the API left it out: the zero time): how
			// long is unknown, so nothing starts, mapped or not.
			name: "no status_since: nothing starts", obs: in(time.Time{}),
		},
		{
			// An open episode whose status_since goes missing is kept as
			// it is: not moved on, and not timed (no escalation).
			name: "no status_since, open episode: kept", prev: nudged(ago(5 * time.Minute)), obs: in(time.Time{}),
			next: func() Episode { return nudged(ago(5 * time.Minute)) },
		},
		{
			// Silenced: the nudge is recorded as sent, and held back.
			name: "silenced nudge", obs: func() Observation { o := in(ago(5 * time.Minute)); o.Silenced = true; return o }(),
			want: Nudge,
			next: func() Episode { ep := nudged(t0); ep.DM.Held = true; return ep },
		},
		{
			// Silenced escalation: recorded, held back, never posted later.
			name: "silenced escalation", prev: nudged(ago(3 * time.Minute)),
			obs:  func() Observation { o := in(ago(8 * time.Minute)); o.Silenced = true; return o }(),
			want: Escalate,
			next: func() Episode {
				ep := nudged(ago(3 * time.Minute))
				ep.EscalatedAt, ep.Escalation.Held = t0, true
				return ep
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wrapUp()
			if tt.rule != nil {
				tt.rule(&r)
			}
			got, next := Decide(tt.prev, tt.obs, r, t0)
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			var want Episode
			if tt.next != nil {
				want = tt.next()
			}
			if next != want {
				t.Errorf("got episode\n%+v\nwant\n%+v", next, want)
			}
		})
	}
}

// [5 more minutes] moves the escalation to at least 5 minutes from the
// click (never earlier than it was), MaxMoreTime times per episode at
// most; a further click is refused and changes nothing; after the
// escalation a click only records who asked and until when.
func TestGiveMoreTime(t *testing.T) {
	usedUp := func() Episode {
		ep := nudged(ago(2 * time.Minute))
		ep.EscalateAt, ep.MoreTimes, ep.MoreUntil, ep.MoreBy = t0.Add(time.Minute), MaxMoreTime, t0.Add(time.Minute), "U0ASHA"
		return ep
	}
	tests := []struct {
		name      string
		prev      Episode
		wantOK    bool
		wantAt    time.Time // EscalateAt after
		wantUntil time.Time
		wantTimes int
	}{
		{"escalation due in 1m: moved to 5m", nudged(ago(2 * time.Minute)), true, t0.Add(5 * time.Minute), t0.Add(5 * time.Minute), 1},
		{"escalation already 7m away: stays",
			func() Episode { ep := nudged(ago(time.Minute)); ep.EscalateAt = t0.Add(7 * time.Minute); return ep }(),
			true, t0.Add(7 * time.Minute), t0.Add(7 * time.Minute), 1},
		{"the last extension",
			func() Episode { ep := nudged(ago(2 * time.Minute)); ep.MoreTimes = MaxMoreTime - 1; return ep }(),
			true, t0.Add(5 * time.Minute), t0.Add(5 * time.Minute), MaxMoreTime},
		{"used up: refused, unchanged", usedUp(), false, t0.Add(time.Minute), t0.Add(time.Minute), MaxMoreTime},
		{"escalated: only noted",
			func() Episode { ep := nudged(ago(4 * time.Minute)); ep.EscalatedAt = ago(time.Minute); return ep }(),
			true, ago(time.Minute), t0.Add(5 * time.Minute), 0},
		{"escalated, used up: still noted",
			func() Episode { ep := usedUp(); ep.EscalatedAt = ago(time.Minute); return ep }(),
			true, t0.Add(time.Minute), t0.Add(5 * time.Minute), MaxMoreTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := GiveMoreTime(tt.prev, "U0BOSS", t0)
			if ok != tt.wantOK {
				t.Fatalf("got ok %t, want %t", ok, tt.wantOK)
			}
			if !ok {
				if got != tt.prev {
					t.Errorf("a refused click changed the episode:\n%+v\nwant\n%+v", got, tt.prev)
				}
				return
			}
			if !got.EscalateAt.Equal(tt.wantAt) || !got.MoreUntil.Equal(tt.wantUntil) || got.MoreBy != "U0BOSS" || got.MoreTimes != tt.wantTimes {
				t.Errorf("got escalate_at %s, more_until %s by %q, %d times; want %s, %s by U0BOSS, %d times",
					got.EscalateAt, got.MoreUntil, got.MoreBy, got.MoreTimes, tt.wantAt, tt.wantUntil, tt.wantTimes)
			}
			if !got.EscalatedAt.Equal(tt.prev.EscalatedAt) || got.NudgedAt != tt.prev.NudgedAt {
				t.Errorf("the click changed what was sent: %+v", got)
			}
		})
	}
}
