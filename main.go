// Command presence-bot puts a contact center's agent presence into Slack.
//
//	presence-bot          run the bot (configuration from the environment and .env)
//	presence-bot demo     try it locally: a console on the built-in simulator
//	presence-bot check    check the configuration; reach Slack, the contact center and Redis
//	presence-bot bench    measure the whole path against in-process fakes
//	presence-bot rules test   dry-run the alert rules over a simulated day, or (--history) the recorded one
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // TIMEZONE works in images without zoneinfo

	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/bench"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/redisstate"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // a failure at run time, or a failed check
	exitConfig = 2 // bad configuration or usage
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: presence-bot [command]

commands:
  (none)   run the bot; configuration comes from the environment and .env
  demo     a local console on the built-in contact-center simulator (no accounts needed)
  check    validate the configuration; reach Slack, the contact center and Redis
  bench    the whole-path benchmark (5,000 agents); -short for a quick run
  rules test [--file F] [--simulate 8h]
           dry-run the alert rules over a simulated day (no accounts needed)
  rules test [--file F] --history [--from 2026-12-01] [--to 2026-12-02]
           replay the alert rules over the recorded history (REDIS_URL, else STATE_DIR)
  help     this text
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	// Only bench and rules take arguments; anything after the others is a
	// mistake (presence-bot check --verbose), not something to ignore.
	if len(args) > 1 && cmd != "bench" && cmd != "rules" {
		fmt.Fprintf(stderr, "presence-bot: %s takes no arguments, got %q\n\n%s", cmd, args[1], usage)
		return exitConfig
	}
	switch cmd {
	case "", "run":
		return serve(ctx, stderr)
	case "demo":
		return demo(ctx, stdin, stdout, stderr)
	case "check":
		return check(ctx, stdout, stderr)
	case "bench":
		return bench.Main(ctx, args[1:], stdout, stderr)
	case "rules":
		return rules(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "presence-bot: unknown command %q\n\n%s", cmd, usage)
		return exitConfig
	}
}

// loadConfig reads .env and the environment. Problems go to stderr, one
// per line, each naming its variable.
func loadConfig(stderr io.Writer, opts ...config.Option) (*config.Config, bool) {
	warnings, err := config.LoadDotEnv(".env")
	for _, w := range warnings {
		fmt.Fprintln(stderr, "presence-bot: warning:", w)
	}
	if err != nil {
		fmt.Fprintln(stderr, "presence-bot: configuration error:", err)
		return nil, false
	}
	// After LoadDotEnv, so that .env's variables are checked too.
	opts = append([]config.Option{config.WithEnviron(os.Environ())}, opts...)
	cfg, err := config.Load(os.LookupEnv, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "presence-bot: configuration errors:")
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Fprintln(stderr, "  -", p.String())
			}
			// A typo is often why a variable is missing.
			for _, p := range ve.Unknown {
				fmt.Fprintln(stderr, "  - note:", p.String())
			}
		} else {
			fmt.Fprintln(stderr, "  -", err)
		}
		return nil, false
	}
	return cfg, true
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// check exits as the run would for the same configuration: 2 when the
// bot would refuse to start (including a mapping file that does not parse
// and a channel name where an ID belongs, which check resolves), 1 when
// something it reaches fails, 0 when everything answers.
func check(ctx context.Context, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig(stderr, config.AllowChannelNames(), config.KeepRuleProblems())
	if !ok {
		return exitConfig
	}
	// go-redis logs through its own global logger; keep it on stderr, at
	// warnings, away from the report.
	redis.SetLogger(redisstate.NewGoRedisLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	err := app.Check(ctx, cfg, stdout)
	var ce *app.ConfigError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintln(stderr, "presence-bot check: the bot would not start with this configuration:")
		for _, line := range strings.Split(ce.Err.Error(), "\n") {
			fmt.Fprintln(stderr, "  -", line)
		}
		return exitConfig
	case err != nil:
		return exitFailed
	}
	return exitOK
}

func serve(ctx context.Context, stderr io.Writer) int {
	cfg, ok := loadConfig(stderr)
	if !ok {
		fmt.Fprintln(stderr, "\nSee .env.example for every setting. To try the bot without any account: presence-bot demo."+
			"\nTo test a configuration against Slack and the contact center: presence-bot check.")
		return exitConfig
	}
	log := newLogger(cfg, stderr)
	// A variable the bot does not know is likely a typo that leaves a
	// feature off: ERROR, so that log alerting sees it, but the bot runs,
	// because a stray variable must not take production down.
	for _, p := range cfg.Unknown {
		log.Error(p.String()+" (ignored)", "variable", p.Var)
	}
	for _, p := range cfg.Ignored {
		log.Warn(p.String(), "variable", p.Var)
	}
	// go-redis logs through its own global logger; route it to ours so
	// LOG_FORMAT=json stays JSON.
	redis.SetLogger(redisstate.NewGoRedisLogger(log.With("component", "redis")))
	a, err := app.New(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "presence-bot:", err)
		var ce *app.ConfigError
		if errors.As(err, &ce) {
			return exitConfig
		}
		return exitFailed
	}
	if err := a.Run(ctx); err != nil {
		log.Error("presence-bot stopped on an error", "err", err)
		var ce *app.ConfigError
		if errors.As(err, &ce) {
			return exitConfig
		}
		return exitFailed
	}
	return exitOK
}

func demo(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	// The demo needs no configuration; its logs stay quiet unless asked.
	level := slog.LevelWarn
	if v, ok := os.LookupEnv("LOG_LEVEL"); ok && strings.EqualFold(v, "debug") {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := app.Demo(ctx, stdin, stdout, log, app.DemoOptions{Interactive: isTerminal(stdin)}); err != nil {
		fmt.Fprintln(stderr, "presence-bot demo:", err)
		return exitFailed
	}
	return exitOK
}

// rules runs `presence-bot rules test`, the alert rules' dry run. It
// needs no Slack or contact-center configuration: it reads the rules file,
// TIMEZONE and the ALERT_* defaults of rules (from the environment or
// .env), and, with --history, REDIS_URL, REDIS_TIMEOUT or STATE_DIR to
// find the recorded history; nothing else.
func rules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		got := "nothing"
		if len(args) > 0 {
			got = fmt.Sprintf("%q", args[0])
		}
		fmt.Fprintf(stderr, "presence-bot: rules wants test, got %s\n\n%s", got, usage)
		return exitConfig
	}
	warnings, err := config.LoadDotEnv(".env")
	for _, w := range warnings {
		fmt.Fprintln(stderr, "presence-bot: warning:", w)
	}
	if err != nil {
		fmt.Fprintln(stderr, "presence-bot: configuration error:", err)
		return exitConfig
	}
	// --history may read Redis: go-redis's own logger, away from the report.
	redis.SetLogger(redisstate.NewGoRedisLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	return app.RulesTestMain(ctx, args[1:], os.LookupEnv, stdout, stderr)
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
