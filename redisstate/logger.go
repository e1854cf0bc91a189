package redisstate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// GoRedisLogger adapts a *slog.Logger for redis.SetLogger. go-redis logs
// through a process-wide logger, by default the standard log package on
// stderr, one line per failed dial; main should route it through slog
// once at start-up (redis.SetLogger(redisstate.NewGoRedisLogger(logger))),
// so those lines follow LOG_FORMAT. They go out at debug level: the
// Client already logs each loss and return of Redis once, at warn and
// info.
type GoRedisLogger struct {
	l *slog.Logger
}

// NewGoRedisLogger returns the adapter for l.
func NewGoRedisLogger(l *slog.Logger) GoRedisLogger { return GoRedisLogger{l: l} }

// Printf implements go-redis's logging interface.
func (g GoRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	g.l.DebugContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "), "component", "go-redis")
}
