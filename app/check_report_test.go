package app_test

import (
	"bytes"
	"context"
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
