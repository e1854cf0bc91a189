package app_test

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

func TestCheck(t *testing.T) {
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	sim.Add(roster()...)
	ccm := httptest.NewServer(sim)
	defer ccm.Close()
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	mapFile := filepath.Join(t.TempDir(), "agents.yml")
	if err := os.WriteFile(mapFile, []byte(mapping), 0o600); err != nil {
		t.Fatal(err)
	}

	const wrongSlack = "xoxb-WRONG-5e1d"
	const wrongApp = "xapp-WRONG-77aa"
	const wrongExotel = "exo-WRONG-0b0b"
	tests := []struct {
		name    string
		env     map[string]string
		ok      bool
		wants   []string
		secrets []string
	}{
		{"everything answers", nil, true,
			[]string{"ok      agent mapping", "2 agents, 1 supervisors", "ok      slack bot token", fakeslack.TeamID,
				"ok      slack app token", "ok      contact center", "4 agents, 2 available", "Everything answers"}, nil},
		{"wrong bot token", map[string]string{"SLACK_BOT_TOKEN": wrongSlack}, false,
			[]string{"FAILED  slack bot token", "invalid_auth", "hint:", "ok      slack app token"}, []string{wrongSlack}},
		{"wrong app token", map[string]string{"SLACK_APP_TOKEN": wrongApp}, false,
			[]string{"ok      slack bot token", "FAILED  slack app token", "hint:"}, []string{wrongApp}},
		{"wrong contact-center token", map[string]string{"EXOTEL_ACCESS_TOKEN": wrongExotel}, false,
			[]string{"FAILED  contact center", "unauthorized", "hint: the contact center refused EXOTEL_ACCESS_TOKEN"}, []string{wrongExotel}},
		{"contact center unreachable", map[string]string{"EXOTEL_BASE_URL": dead}, false,
			[]string{"FAILED  contact center", "unavailable", "hint: nothing answered"}, nil},
		{"wrong account", map[string]string{"EXOTEL_ACCOUNT_SID": "ACnope"}, false,
			[]string{"FAILED  contact center", "hint: no such account"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"SLACK_APP_TOKEN":     fakeslack.AppToken,
				"SLACK_BOT_TOKEN":     fakeslack.BotToken,
				"SLACK_API_URL":       fs.URL(),
				"EXOTEL_ACCOUNT_SID":  sim.AccountSID(),
				"EXOTEL_ACCESS_TOKEN": secretToken,
				"EXOTEL_BASE_URL":     ccm.URL,
				"AGENT_MAP_FILE":      mapFile,
			}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ok := app.Check(ctx, cfg, &out, app.WithPresenceOptions(presence.WithAttemptTimeout(2*time.Second)))
			if ok != tt.ok {
				t.Errorf("Check = %v, want %v:\n%s", ok, tt.ok, out.String())
			}
			for _, w := range tt.wants {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, s := range append(tt.secrets, secretToken, fakeslack.BotToken, fakeslack.AppToken) {
				if strings.Contains(out.String(), s) {
					t.Errorf("output shows a secret %q:\n%s", s, out.String())
				}
			}
		})
	}
}
