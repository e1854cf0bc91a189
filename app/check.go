package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/redact"
	"github.com/presencebot/presence-bot/presence"
)

// checkTimeout bounds each of check's calls.
const checkTimeout = 10 * time.Second

// Check reaches Slack with both tokens and the contact center with its
// credentials, and reports each as ok or failed with the reason and a
// hint. It reports whether everything is ok. Secrets never appear.
func Check(ctx context.Context, cfg *config.Config, out io.Writer, opts ...Option) bool {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ok := true
	report := func(what string, err error, detail, hint string) {
		if err == nil {
			fmt.Fprintf(out, "ok      %-16s %s\n", what, detail)
			return
		}
		ok = false
		fmt.Fprintf(out, "FAILED  %-16s %v\n", what, err)
		if hint != "" {
			fmt.Fprintf(out, "        %-16s hint: %s\n", "", hint)
		}
	}

	agents, err := loadAgents(cfg.AgentMapFile)
	switch {
	case err != nil:
		report("agent mapping", err, "", "fix the file named by AGENT_MAP_FILE; each problem names its line")
	case cfg.AgentMapFile == "":
		report("agent mapping", nil, "no file: users are matched by their Slack profile email", "")
	default:
		report("agent mapping", nil, fmt.Sprintf("%s: %d agents, %d supervisors", cfg.AgentMapFile, agents.Len(), agents.NumSupervisors()), "")
	}

	web := bot.NewWebAPI(bot.Slack{AppToken: cfg.Slack.AppToken, BotToken: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL})
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	auth, err := web.AuthTest(cctx)
	cancel()
	if err != nil {
		report("slack bot token", err, "", slackHint(err, "SLACK_BOT_TOKEN"))
	} else {
		report("slack bot token", nil, fmt.Sprintf("workspace %q (%s), bot user %s", auth.Team, auth.TeamID, auth.UserID), "")
	}
	cctx, cancel = context.WithTimeout(ctx, checkTimeout)
	err = web.ConnectionsOpen(cctx)
	cancel()
	report("slack app token", err, "Socket Mode connections can be opened", slackHint(err, "SLACK_APP_TOKEN"))

	client := presence.NewClient(cfg.Exotel.AccountSID, cfg.Exotel.AccessToken,
		append([]presence.Option{presence.WithBaseURL(cfg.Exotel.BaseURL), presence.WithRetry(1, 0, 0)}, o.presence...)...)
	cctx, cancel = context.WithTimeout(ctx, checkTimeout)
	page, err := client.List(cctx, presence.ListOptions{Limit: 1})
	cancel()
	detail := ""
	if err == nil {
		detail = fmt.Sprintf("%s: %d agents, %d available", redact.URL(cfg.Exotel.BaseURL), page.Summary.Total, page.Summary.Available)
	}
	report("contact center", err, detail, contactCenterHint(err))
	if cfg.Exotel.Insecure() {
		// Allowed by EXOTEL_ALLOW_INSECURE (config refuses it otherwise),
		// but an operator should see it every time.
		fmt.Fprintf(out, "WARNING %-16s %s is plain http:// to another machine: EXOTEL_ACCESS_TOKEN travels in clear (EXOTEL_ALLOW_INSECURE=true)\n",
			"contact center", redact.URL(cfg.Exotel.BaseURL))
	}

	if ok {
		fmt.Fprintln(out, "\nEverything answers. Start the bot with: presence-bot")
	}
	return ok
}

func slackHint(err error, variable string) string {
	if err == nil {
		return ""
	}
	if h := bot.HintFor(err, variable); h != "" {
		return h
	}
	return "check SLACK_API_URL and that this machine reaches Slack"
}

func contactCenterHint(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, presence.ErrUnauthorized):
		return "the contact center refused EXOTEL_ACCESS_TOKEN: check it, and that it belongs to EXOTEL_ACCOUNT_SID"
	case errors.Is(err, presence.ErrNotFound):
		return "no such account here: check EXOTEL_ACCOUNT_SID, and EXOTEL_REGION or EXOTEL_BASE_URL"
	case errors.Is(err, presence.ErrUnavailable):
		return "nothing answered: check EXOTEL_REGION or EXOTEL_BASE_URL, and that this machine reaches it"
	case errors.Is(err, presence.ErrBadResponse):
		return "an answer that is not the Agent Presence API's: check EXOTEL_BASE_URL"
	}
	return "the contact center refused the request; try again, and check EXOTEL_BASE_URL"
}
