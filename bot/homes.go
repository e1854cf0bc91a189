package bot

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/presencebot/presence-bot/commands"
)

// HomeSet remembers who opened the App Home, so that their view is
// refreshed when what it shows changes. With replicas it is shared: the
// replica that changes a status is seldom the one that got the
// app_home_opened event.
type HomeSet interface {
	// Opened records that user opened their App Home now.
	Opened(ctx context.Context, user string)
	// IsOpen reports whether user opened it within the set's TTL.
	IsOpen(ctx context.Context, user string) bool
	// Open lists the users who opened it within the TTL.
	Open(ctx context.Context) []string
}

// Defaults of the HomeSet.
const (
	// DefaultHomeTTL: Slack sends app_home_opened on every visit, so a
	// day covers a shift; someone away longer gets a fresh view on return.
	DefaultHomeTTL = 24 * time.Hour
	// DefaultMaxHomes bounds the set, well above any floor's head count.
	DefaultMaxHomes = 10_000
	// homeRefreshLimit bounds the Homes published at once by RefreshHomes:
	// views.publish is rate limited per workspace, and commands share it.
	homeRefreshLimit = 4
)

// MemoryHomeSet is the HomeSet of a single instance, and the fallback
// when shared state is unreachable.
type MemoryHomeSet struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu     sync.Mutex
	opened map[string]time.Time // user → when they last opened it
}

// NewMemoryHomeSet remembers each user for ttl after they open the Home,
// and at most max users (the oldest are forgotten first); ttl <= 0 and
// max <= 0 mean the defaults, now nil the wall clock.
func NewMemoryHomeSet(ttl time.Duration, max int, now func() time.Time) *MemoryHomeSet {
	if ttl <= 0 {
		ttl = DefaultHomeTTL
	}
	if max <= 0 {
		max = DefaultMaxHomes
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryHomeSet{ttl: ttl, max: max, now: now, opened: map[string]time.Time{}}
}

// Opened implements HomeSet.
func (h *MemoryHomeSet) Opened(_ context.Context, user string) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opened[user] = now
	if len(h.opened) <= h.max {
		return
	}
	// Full: drop what expired, then the oldest. Only a full set pays
	// for the scan.
	var oldest string
	for u, at := range h.opened {
		if !h.live(at, now) {
			delete(h.opened, u)
		} else if oldest == "" || at.Before(h.opened[oldest]) {
			oldest = u
		}
	}
	if len(h.opened) > h.max {
		delete(h.opened, oldest)
	}
}

// IsOpen implements HomeSet.
func (h *MemoryHomeSet) IsOpen(_ context.Context, user string) bool {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.opened[user]
	return ok && h.live(at, now)
}

// Open implements HomeSet.
func (h *MemoryHomeSet) Open(_ context.Context) []string {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	var users []string
	for u, at := range h.opened {
		if h.live(at, now) {
			users = append(users, u)
		} else {
			delete(h.opened, u)
		}
	}
	return users
}

func (h *MemoryHomeSet) live(at, now time.Time) bool { return now.Sub(at) < h.ttl }

// refresher runs RefreshHomes's passes, one at a time.
type refresher struct {
	mu      sync.Mutex
	running bool
	pending bool
	keep    func(string) bool // of the pending pass; nil keeps everyone
	stopped bool
	ctx     context.Context
	cancel  context.CancelFunc
}

// RefreshHomes publishes again, in the background, the App Home of
// everyone who opened it and whom keep (nil: everyone) keeps: an alert
// that fires, changes level or resolves changes what supervisors' Homes
// show. It never waits, so the alert poll that calls it is not held up;
// asked again while a pass runs, it runs one more pass after it, for all
// the users asked for, rather than one per call.
func (b *Bot) RefreshHomes(keep func(user string) bool) {
	if _, ok := b.cfg.Commands.(Homes); !ok {
		return
	}
	r := &b.refresh
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if r.running {
		if r.pending {
			keep = either(r.keep, keep)
		}
		r.pending, r.keep = true, keep
		return
	}
	r.running = true
	b.refreshes.Go(func() { b.refreshLoop(keep) })
}

// either keeps whom a or b keeps; nil keeps everyone.
func either(a, b func(string) bool) func(string) bool {
	if a == nil || b == nil {
		return nil
	}
	return func(u string) bool { return a(u) || b(u) }
}

func (b *Bot) refreshLoop(keep func(string) bool) {
	r := &b.refresh
	for {
		b.refreshPass(r.ctx, keep)
		r.mu.Lock()
		if !r.pending || r.stopped {
			r.running, r.pending, r.keep = false, false, nil
			r.mu.Unlock()
			return
		}
		keep = r.keep
		r.pending, r.keep = false, nil
		r.mu.Unlock()
	}
}

// refreshPass publishes the kept opened Homes, homeRefreshLimit at once,
// each within the command timeout.
func (b *Bot) refreshPass(ctx context.Context, keep func(string) bool) {
	var g errgroup.Group
	g.SetLimit(homeRefreshLimit)
	for _, user := range b.homes.Open(ctx) {
		if ctx.Err() != nil {
			break
		}
		if keep != nil && !keep(user) {
			continue
		}
		g.Go(func() error {
			b.safely(job{req: refreshReq(user)})(func() {
				cctx, cancel := context.WithTimeout(ctx, b.cfg.CommandTimeout)
				defer cancel()
				b.publishHome(cctx, user) // failures are logged there
			})
			return nil
		})
	}
	_ = g.Wait()
}

// refreshReq names a refresh in the logs of a panic.
func refreshReq(user string) commands.Request {
	return commands.Request{UserID: user, Command: "home_refresh"}
}

// stopRefreshes stops the refreshes: none starts from now on and the one
// running is cancelled. Run calls it at shutdown and waits for refreshes.
func (b *Bot) stopRefreshes() {
	r := &b.refresh
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cancel()
}
