package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// check says when the daily report goes out, and when next, in TIMEZONE,
// and checks its channel with the others.
func TestCheckReport(t *testing.T) {
	w := newCheckWorld(t)
	w.slack.AddChannel(fakeslack.Channel{ID: "C0REPORT", Name: "floor-reports", Member: true})
	env := w.env("REPORT_CHANNEL", "C0REPORT", "REPORT_SCHEDULE", "0 18 * * Mon-Fri", "TIMEZONE", "Asia/Kolkata")
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, config.AllowChannelNames())
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	// Friday 7 March 2025, 19:00 in Kolkata: today's report is past, the
	// next is Monday's.
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 7, 13, 30, 0, 0, time.UTC))
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.Check(ctx, cfg, &out, app.WithClock(clock)); err != nil {
		t.Fatalf("Check = %v:\n%s", err, out.String())
	}
	contains(t, out.String(),
		"ok      daily report     to C0REPORT at \"0 18 * * Mon-Fri\" (Asia/Kolkata); next Mon 10 Mar 18:00 IST\n",
		"REPORT_CHANNEL C0REPORT (#floor-reports)",
		"\nSwitched on: daily report to C0REPORT at \"0 18 * * Mon-Fri\" (Asia/Kolkata)")
}

// The report covers the day from local midnight to its tick: a schedule
// early in the morning covers almost nothing, and check says so; one at
// 06:00 or later says nothing of it.
func TestCheckReportEarlySchedule(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		want     string // "" for no warning
	}{
		{"5 0 * * *", "WARNING daily report     the report covers the day so far from midnight: a schedule at 00:05 covers 5 minutes"},
		{"30 5 * * Mon-Fri", "a schedule at 05:30 covers 5 hours 30 minutes"},
		// Several times a day: the earliest is what covers least.
		{"0 1,18 * * *", "a schedule at 01:00 covers 1 hour"},
		{"0 6 * * *", ""},
		{"0 18 * * Mon-Fri", ""},
	} {
		t.Run(tc.schedule, func(t *testing.T) {
			w := newCheckWorld(t)
			w.slack.AddChannel(fakeslack.Channel{ID: "C0REPORT", Name: "floor-reports", Member: true})
			env := w.env("REPORT_CHANNEL", "C0REPORT", "REPORT_SCHEDULE", tc.schedule, "TIMEZONE", "Asia/Kolkata")
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, config.AllowChannelNames())
			if err != nil {
				t.Fatalf("config.Load: %v", err)
			}
			clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 7, 13, 30, 0, 0, time.UTC))
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := app.Check(ctx, cfg, &out, app.WithClock(clock)); err != nil {
				t.Fatalf("Check = %v:\n%s", err, out.String())
			}
			warned := strings.Contains(out.String(), "covers the day so far from midnight")
			switch {
			case tc.want == "" && warned:
				t.Errorf("a warning for %q:\n%s", tc.schedule, out.String())
			case tc.want != "":
				contains(t, out.String(), tc.want)
			}
		})
	}
}
