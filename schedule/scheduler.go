// Package schedule runs the bot's periodic jobs (the alert poll, the
// summary, the after-call poll) on gocron: ticks aligned to the wall clock
// in one location, one run per tick, an injectable clock, and a tick that
// does not run here is never silent. Replicas share its ticks through the
// distributed locker they plug in (redisstate's).
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/robfig/cron/v3"
)

// JobFunc is a job body. tick is the time the run was scheduled for, in
// the scheduler's location: job bodies take "now" from it, never from the
// wall clock, so every replica computes the same answer for a tick.
type JobFunc func(ctx context.Context, tick time.Time) error

// Schedule is when a job runs: every fixed duration (aligned to the wall
// clock) or on a cron expression. It mirrors config.Schedule, which main
// converts.
type Spec struct {
	Every       time.Duration
	Cron        string
	WithSeconds bool // Cron has six fields, seconds first
}

// Scheduler runs named jobs on gocron: each job in singleton mode (a run
// still going when the next tick comes makes that tick skip), in one
// location, on an injectable clock. Every run has a deadline (see
// JobTimeout). A job's error or panic is logged with its name and tick and
// never stops the process. A tick that does not run here is never silent:
// it is logged with its reason (see TickSkip) and reported to
// WithSkipObserver.
type Scheduler struct {
	gs          gocron.Scheduler
	clock       clockwork.Clock
	loc         *time.Location
	log         *slog.Logger
	obs         func(JobRun)
	skipObs     func(TickSkip)
	lockReasons []lockReason
	leases      Leases // nil without a leasing distributed locker

	mu   sync.Mutex
	jobs map[string]*job
}

// JobRun is one run of a job, as WithObserver reports it.
type JobRun struct {
	Job  string
	Tick time.Time
	Took time.Duration
	Err  error // a panic is reported as an error
	// Repeat is set when the tick had already run and the run did
	// nothing: gocron can deliver a tick twice when its bookkeeping races.
	Repeat bool
	// Skipped is the reason when the job skipped its own tick (it
	// returned a SkipTick error); the skip is reported as a TickSkip too.
	Skipped string
}

// Reasons a tick did not run on this replica, as TickSkip.Reason, in the
// log and in presence_bot_job_ticks_skipped_total: a small fixed set.
const (
	// SkipLockUnavailable: the distributed lock could not be asked for
	// (Redis unreachable, or REDIS_URL wrong), so no replica may run the
	// tick. A warning.
	SkipLockUnavailable = "lock_unavailable"
	// SkipOtherReplica: another replica holds the tick's lock and runs it.
	// The normal case on every replica but one: logged at debug.
	SkipOtherReplica = "other_replica"
	// SkipStillRunning: the job's previous tick is still running, here
	// (gocron's singleton mode) or on another replica (its lease, mapped
	// with WithLockSkipReason). A warning: the job is slower than its
	// interval.
	SkipStillRunning = "still_running"
	// SkipStoreUnavailable: the job could not read its state and skipped
	// the tick rather than decide from nothing. A warning.
	SkipStoreUnavailable = "store_unavailable"
)

// TickSkip is a tick of a job that did not run (or did nothing) on this
// replica, and why.
type TickSkip struct {
	Job    string
	Tick   time.Time
	Reason string // one of the Skip… constants
	Err    error  // the lock's or the job's error; nil when still running here
}

// SkippedError is what a job returns, through SkipTick, when it skipped
// its tick on purpose.
type SkippedError struct {
	Reason string // one of the Skip… constants
	Err    error
}

func (e *SkippedError) Error() string {
	if e.Err == nil {
		return "tick skipped (" + e.Reason + ")"
	}
	return "tick skipped (" + e.Reason + "): " + e.Err.Error()
}
func (e *SkippedError) Unwrap() error { return e.Err }

// SkipTick wraps err to say the job skipped its tick for reason (such as
// SkipStoreUnavailable): the scheduler then logs a warning and reports a
// TickSkip instead of a failure.
func SkipTick(reason string, err error) error { return &SkippedError{Reason: reason, Err: err} }

// lockReason names the skips whose lock error wraps target.
type lockReason struct {
	target error
	reason string
}

type options struct {
	clock       clockwork.Clock
	loc         *time.Location
	log         *slog.Logger
	obs         func(JobRun)
	skipObs     func(TickSkip)
	lockReasons []lockReason
	leases      Leases
	gocron      []gocron.SchedulerOption
}

// SchedulerOption configures a Scheduler.
type Option func(*options)

// WithClock sets the clock (a clockwork fake clock in tests).
func WithClock(c clockwork.Clock) Option {
	return func(s *options) { s.clock = c }
}

// WithLocation sets the zone in which ticks are aligned and cron
// expressions read (TIMEZONE). Default UTC.
func WithLocation(loc *time.Location) Option {
	return func(s *options) { s.loc = loc }
}

// WithLogger sets where job failures are logged.
func WithLogger(l *slog.Logger) Option {
	return func(s *options) { s.log = l }
}

// WithObserver is told about every run once it is over, for metrics (and
// for tests, which wait on it).
func WithObserver(f func(JobRun)) Option {
	return func(s *options) { s.obs = f }
}

// WithSkipObserver is told about every tick that did not run here, for
// metrics.
func WithSkipObserver(f func(TickSkip)) Option {
	return func(s *options) { s.skipObs = f }
}

// WithLockSkipReason says that a distributed lock's error wrapping target
// skips the tick with reason: for a Redis locker, its "taken by another
// replica" error is SkipOtherReplica. Any other lock error is
// SkipLockUnavailable.
func WithLockSkipReason(target error, reason string) Option {
	return func(s *options) { s.lockReasons = append(s.lockReasons, lockReason{target, reason}) }
}

// WithGocronOptions passes extra options to gocron, such as a distributed
// locker; jobs are named by their stable names ("summary", "alerts"), which
// gocron hands the locker as the key.
func WithGocronOptions(opts ...gocron.SchedulerOption) Option {
	return func(s *options) { s.gocron = append(s.gocron, opts...) }
}

// Leases is a distributed locker whose locks hold a per-job lease, renewed
// while the run goes on, so that no replica starts a job's tick while its
// previous one still runs (redisstate's Locker). The scheduler binds each
// run to the lease its lock took.
type Leases interface {
	// Bind is called as a run of job starts, once its lock is held, with
	// the run's context (its deadline set). The lease is renewed until
	// that context ends, and a little longer while the run unwinds, then
	// left to expire: a run stuck past its deadline cannot hold it for
	// ever. The context returned also ends when the lease is lost, so a
	// run that can no longer be sure it is alone stops. release is called
	// when the run returns, before the lock's Unlock.
	Bind(ctx context.Context, job string) (_ context.Context, release context.CancelFunc)
}

// WithDistributedLocker makes replicas share the jobs' ticks through l
// (gocron.WithDistributedLocker), and binds each run to its lease when l
// implements Leases.
func WithDistributedLocker(l gocron.Locker) Option {
	return func(s *options) {
		s.gocron = append(s.gocron, gocron.WithDistributedLocker(l))
		if ls, ok := l.(Leases); ok {
			s.leases = ls
		}
	}
}

// NewScheduler returns a scheduler that is not yet started.
func New(opts ...Option) (*Scheduler, error) {
	cfg := options{clock: clockwork.NewRealClock(), loc: time.UTC, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.loc == nil {
		cfg.loc = time.UTC
	}
	if cfg.obs == nil {
		cfg.obs = func(JobRun) {}
	}
	if cfg.skipObs == nil {
		cfg.skipObs = func(TickSkip) {}
	}
	s := &Scheduler{clock: cfg.clock, loc: cfg.loc, log: cfg.log, obs: cfg.obs, skipObs: cfg.skipObs,
		lockReasons: cfg.lockReasons, leases: cfg.leases, jobs: make(map[string]*job)}
	// gocron drops a singleton tick whose previous run still goes with no
	// word but to a scheduler monitor; the monitor goes last so the skip
	// is reported whatever else was passed.
	gopts := append([]gocron.SchedulerOption{
		gocron.WithClock(cfg.clock),
		gocron.WithLocation(cfg.loc),
		gocron.WithLogger(gocronLogger{cfg.log}),
	}, cfg.gocron...)
	gopts = append(gopts, gocron.WithSchedulerMonitor(skipMonitor{s}))
	gs, err := gocron.NewScheduler(gopts...)
	if err != nil {
		return nil, fmt.Errorf("new scheduler: %w", err)
	}
	s.gs = gs
	return s, nil
}

// skipped logs a tick that did not run here and reports it. Another
// replica running the tick is expected and only a debug line; every other
// reason means the job's work did not happen anywhere, or late: a warning.
func (s *Scheduler) skipped(sk TickSkip) {
	level, detail := slog.LevelWarn, ""
	switch sk.Reason {
	case SkipOtherReplica:
		level, detail = slog.LevelDebug, "another replica runs this tick"
	case SkipLockUnavailable:
		detail = "the job's distributed lock could not be taken, so no replica runs this tick; check that REDIS_URL names a Redis that answers"
	case SkipStillRunning:
		detail = "the job's previous tick is still running, here or on another replica"
	case SkipStoreUnavailable:
		detail = "the job could not read its state"
	}
	attrs := []any{"job", sk.Job, "tick", sk.Tick, "reason", sk.Reason, "detail", detail}
	if sk.Err != nil {
		attrs = append(attrs, "err", sk.Err)
	}
	s.log.Log(context.Background(), level, "job tick skipped", attrs...)
	s.skipObs(sk)
}

// lockFailed is gocron's report that a job's distributed lock was not
// taken, so the tick is skipped.
func (s *Scheduler) lockFailed(j *job, err error) {
	reason := SkipLockUnavailable
	for _, lr := range s.lockReasons {
		if errors.Is(err, lr.target) {
			reason = lr.reason
			break
		}
	}
	tick, _ := j.tickOf(s.clock.Now().In(s.loc))
	s.skipped(TickSkip{Job: j.name, Tick: tick, Reason: reason, Err: err})
}

// skipMonitor is the gocron.SchedulerMonitor that hears of singleton
// skips; the rest of what it is told is for others.
type skipMonitor struct{ s *Scheduler }

var _ gocron.SchedulerMonitor = skipMonitor{}

// ConcurrencyLimitReached implements gocron.SchedulerMonitor: "singleton"
// is a tick dropped because the job's previous run still goes.
func (m skipMonitor) ConcurrencyLimitReached(limitType string, gj gocron.Job) {
	if limitType != "singleton" {
		return
	}
	m.s.mu.Lock()
	j, ok := m.s.jobs[gj.Name()]
	m.s.mu.Unlock()
	if !ok {
		return
	}
	tick, _ := j.tickOf(m.s.clock.Now().In(m.s.loc))
	m.s.skipped(TickSkip{Job: j.name, Tick: tick, Reason: SkipStillRunning})
}

func (skipMonitor) SchedulerStarted()                                   {}
func (skipMonitor) SchedulerStopped()                                   {}
func (skipMonitor) SchedulerShutdown()                                  {}
func (skipMonitor) JobRegistered(gocron.Job)                            {}
func (skipMonitor) JobUnregistered(gocron.Job)                          {}
func (skipMonitor) JobStarted(gocron.Job)                               {}
func (skipMonitor) JobRunning(gocron.Job)                               {}
func (skipMonitor) JobFailed(gocron.Job, error)                         {}
func (skipMonitor) JobCompleted(gocron.Job)                             {}
func (skipMonitor) JobExecutionTime(gocron.Job, time.Duration)          {}
func (skipMonitor) JobSchedulingDelay(gocron.Job, time.Time, time.Time) {}

// DefaultJobTimeout is the longest a run may take when its job sets no
// JobTimeout: its deadline is its period or this, whichever is shorter, so
// a stuck run ends by the next tick and an hourly one within minutes.
const DefaultJobTimeout = 5 * time.Minute

// JobOption configures one job.
type JobOption func(*jobOptions)

type jobOptions struct {
	timeout time.Duration
}

// JobTimeout sets the job's deadline: each run's context ends d after the
// run starts, on the scheduler's clock, whatever the period. A deadline
// past the period is fine: the ticks that come meanwhile are skipped as
// still running, on every replica.
func JobTimeout(d time.Duration) JobOption {
	return func(o *jobOptions) { o.timeout = d }
}

// job is one named job and the schedule its ticks are computed from.
type job struct {
	name    string
	fn      JobFunc
	timeout time.Duration // 0: the period, at most DefaultJobTimeout
	// tickOf returns the scheduled instant nearest to now and the period
	// around it, so a run that fires a hair early or late, or on a replica
	// whose clock is a second off, still names the same tick.
	tickOf func(now time.Time) (time.Time, time.Duration)

	mu       sync.Mutex
	lastTick time.Time
}

// Add adds a job on a Schedule: AddEvery when Every is set, else AddCron.
func (s *Scheduler) Add(name string, sched Spec, fn JobFunc, opts ...JobOption) error {
	if sched.Every > 0 {
		return s.AddEvery(name, sched.Every, fn, opts...)
	}
	return s.AddCron(name, sched.Cron, sched.WithSeconds, fn, opts...)
}

// AddEvery adds a job that runs every d on ticks aligned to the wall clock
// in the scheduler's location: a 2s job at :00, :02, …, a 30m job at :00
// and :30, a 1h job on the hour, a 24h job at midnight, before and after
// a daylight-saving change alike. The ticks are a function of d, the zone
// and nothing else (see alignedTicks), so every replica computes the same
// ones whenever it started. d is at least a second.
func (s *Scheduler) AddEvery(name string, d time.Duration, fn JobFunc, opts ...JobOption) error {
	if d < time.Second {
		return fmt.Errorf("add job %q: interval must be at least 1s, got %s", name, d)
	}
	ticks := alignedTicks{every: d, loc: s.loc}
	tickOf := func(now time.Time) (time.Time, time.Duration) {
		prev := ticks.atOrBefore(now)
		next := ticks.after(prev)
		tick := prev
		if now.Sub(prev) >= next.Sub(now) { // rounded to the nearest tick
			tick = next
		}
		// The period is the gap to the tick after, so a lock on this tick
		// lasts until the next one even on a 23- or 25-hour day.
		return tick.In(s.loc), ticks.after(tick).Sub(tick)
	}
	// gocron has no custom schedule but a custom cron: its CronJob asks
	// ticks for each next run. It starts from the tick at or before now, so
	// a job added on a tick runs for that tick.
	return s.add(name, gocron.CronJob(ticks.String(), false), tickOf, fn, opts,
		gocron.WithCronImplementation(ticks),
		gocron.WithStartAt(gocron.WithStartDateTimePast(ticks.atOrBefore(s.clock.Now()).UTC())))
}

// alignedTicks are the ticks of a duration schedule: the instants whose
// wall-clock time in loc, read in the offset in force at that instant, is
// a whole multiple of every since 1970-01-01 00:00. Between offset changes
// they are every apart; at a change the next one is on the new offset's
// boundaries, so midnight stays midnight and the hour stays the hour.
//
// Around a daylight-saving change: a boundary whose wall time the clock
// skips has no tick (a 1h job in Europe/London has no 01:00 on the spring
// night, and a 24h job in a zone that skips midnight, America/Santiago,
// has no tick that day); a wall time the clock repeats ticks at each of
// its distinct instants, once (a 1h job in London runs at 01:00 BST and
// again an hour later at 01:00 GMT). Ticks are distinct UTC instants, so
// neither the tick a job is handed nor a distributed lock's key is ever
// the same for two runs.
//
// It is also the gocron.Cron behind every duration job. Times go to gocron
// in UTC, the job's start time included: gocron drops a next run whose
// wall-clock date and time, each read in its own zone, equal the previous
// run's, as the two 01:00s of an autumn night in London do, but two
// distinct instants at least a second apart never do in UTC.
type alignedTicks struct {
	every time.Duration
	loc   *time.Location
}

var _ gocron.Cron = alignedTicks{}

// String names the schedule in gocron's job definition.
func (a alignedTicks) String() string {
	return "@every " + a.every.String() + " aligned in " + a.loc.String()
}

// IsValid implements gocron.Cron: the schedule was checked when built.
func (alignedTicks) IsValid(string, *time.Location, time.Time) error { return nil }

// Next implements gocron.Cron: the first tick after lastRun, in UTC.
func (a alignedTicks) Next(lastRun time.Time) time.Time { return a.after(lastRun).UTC() }

// after returns the first tick strictly after t.
func (a alignedTicks) after(t time.Time) time.Time { return a.atOrAfter(t.Add(1)) }

// atOrAfter returns the first tick at or after t. It looks for a boundary
// in the offset in force at t; one that falls past the end of that offset
// is not a tick, and the search goes on from the change in the next
// offset. Each round moves to the next change, so it ends within a few
// rounds (offsets change about twice a year).
func (a alignedTicks) atOrAfter(t time.Time) time.Time {
	for {
		local := t.In(a.loc)
		_, offset := local.Zone()
		_, end := local.ZoneBounds()
		c := t.Add(-a.sinceBoundary(t, offset))
		if c.Before(t) {
			c = c.Add(a.every)
		}
		if end.IsZero() || c.Before(end) {
			return c.In(a.loc)
		}
		t = end
	}
}

// atOrBefore returns the last tick at or before t, looking back the same
// way.
func (a alignedTicks) atOrBefore(t time.Time) time.Time {
	for {
		local := t.In(a.loc)
		_, offset := local.Zone()
		start, _ := local.ZoneBounds()
		c := t.Add(-a.sinceBoundary(t, offset))
		if start.IsZero() || !c.Before(start) {
			return c.In(a.loc)
		}
		t = start.Add(-1)
	}
}

// sinceBoundary returns how far t's wall-clock time, read at offset
// (seconds east of UTC), is past a multiple of every.
func (a alignedTicks) sinceBoundary(t time.Time, offset int) time.Duration {
	wall := t.UnixNano() + int64(offset)*int64(time.Second)
	r := wall % int64(a.every)
	if r < 0 {
		r += int64(a.every)
	}
	return time.Duration(r)
}

// AddCron adds a job on a cron expression of 5 fields, or 6 with leading
// seconds when withSeconds is set, read in the scheduler's location.
func (s *Scheduler) AddCron(name, expr string, withSeconds bool, fn JobFunc, opts ...JobOption) error {
	fields := cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow
	if withSeconds {
		fields |= cron.Second
	}
	sched, err := cron.NewParser(fields).Parse(expr)
	if err != nil {
		return fmt.Errorf("add job %q: cron %q: %w", name, expr, err)
	}
	// The tick is the latest cron instant at or before the run. It is found
	// by stepping from the last one found (or from when the job was added),
	// a step or two per run.
	var (
		mu     sync.Mutex
		anchor = s.clock.Now().In(s.loc)
	)
	prev := func(now time.Time) time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := anchor
		for {
			n := sched.Next(t)
			if n.IsZero() || n.After(now) {
				break
			}
			t = n
		}
		anchor = t
		return t
	}
	tickOf := func(now time.Time) (time.Time, time.Duration) {
		p := prev(now)
		next := sched.Next(p)
		period := next.Sub(p)
		if now.Sub(p) > period/2 {
			return next, period
		}
		return p, period
	}
	return s.add(name, gocron.CronJob(expr, withSeconds), tickOf, fn, opts)
}

func (s *Scheduler) add(name string, def gocron.JobDefinition, tickOf func(time.Time) (time.Time, time.Duration), fn JobFunc,
	jopts []JobOption, opts ...gocron.JobOption) error {
	if name == "" {
		return errors.New("add job: empty name")
	}
	var jo jobOptions
	for _, o := range jopts {
		o(&jo)
	}
	if jo.timeout < 0 {
		return fmt.Errorf("add job %q: timeout must not be negative, got %s", name, jo.timeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[name]; dup {
		return fmt.Errorf("add job %q: a job of that name exists", name)
	}
	j := &job{name: name, fn: fn, tickOf: tickOf, timeout: jo.timeout}
	opts = append(opts,
		gocron.WithName(name),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		// A lock not taken skips the tick; gocron says so only here.
		gocron.WithEventListeners(gocron.AfterLockError(func(_ uuid.UUID, _ string, err error) { s.lockFailed(j, err) })),
	)
	if _, err := s.gs.NewJob(def, gocron.NewTask(func(ctx context.Context) error { return s.run(ctx, j) }), opts...); err != nil {
		return fmt.Errorf("add job %q: %w", name, err)
	}
	s.jobs[name] = j
	return nil
}

// run is one run of a job: it finds the tick, skips a tick that already
// ran (gocron can deliver one twice), sets the run's deadline, binds it to
// its lease, and turns a failure or a panic into a log line.
func (s *Scheduler) run(ctx context.Context, j *job) (err error) {
	tick, period := j.tickOf(s.clock.Now().In(s.loc))
	j.mu.Lock()
	if !tick.After(j.lastTick) {
		j.mu.Unlock()
		s.log.Debug("job tick already ran", "job", j.name, "tick", tick)
		s.obs(JobRun{Job: j.name, Tick: tick, Repeat: true})
		return nil
	}
	j.lastTick = tick
	j.mu.Unlock()

	timeout := j.timeout
	if timeout == 0 {
		timeout = min(period, DefaultJobTimeout)
	}
	ctx, cancel := s.withTimeout(ctx, timeout)
	defer cancel()
	if s.leases != nil {
		var release context.CancelFunc
		ctx, release = s.leases.Bind(ctx, j.name)
		defer release()
	}

	start := s.clock.Now()
	defer func() {
		var skip *SkippedError
		switch p := recover(); {
		case p != nil:
			err = fmt.Errorf("job %s panicked: %v", j.name, p)
			s.log.Error("job panicked", "job", j.name, "tick", tick, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		case errors.As(err, &skip):
			s.skipped(TickSkip{Job: j.name, Tick: tick, Reason: skip.Reason, Err: skip.Err})
		case err != nil:
			// Say why the run was stopped (its deadline, its lease lost)
			// when the job's own error does not.
			if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
				err = fmt.Errorf("%w (%w)", err, cause)
			}
			s.log.Error("job failed", "job", j.name, "tick", tick, "err", err)
		default:
			s.log.Debug("job done", "job", j.name, "tick", tick, "took", s.clock.Since(start))
		}
		run := JobRun{Job: j.name, Tick: tick, Took: s.clock.Since(start), Err: err}
		if skip != nil {
			run.Skipped = skip.Reason
		}
		s.obs(run)
	}()
	return j.fn(ctx, tick)
}

// withTimeout is context.WithTimeout on the scheduler's clock. On a fake
// clock the run ends when the test moves the clock past its deadline; its
// timer is stopped with the run (clockwork.WithTimeout leaves it on the
// clock, which tests count), and Deadline reports the deadline in real
// time, which is what the I/O below (go-redis, net) compares it with.
func (s *Scheduler) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, fake := s.clock.(*clockwork.FakeClock); !fake {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	t := s.clock.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return &fakeDeadline{Context: ctx, deadline: time.Now().Add(d)}, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// fakeDeadline is a run's context on a fake clock: cancelled by the
// clock's timer, with DeadlineExceeded as its error once that fired.
type fakeDeadline struct {
	context.Context
	deadline time.Time
}

func (c *fakeDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *fakeDeadline) Err() error {
	err := c.Context.Err()
	if err != nil && errors.Is(context.Cause(c.Context), context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// TickOf names the tick of a job at now: the scheduled instant nearest to
// it, and the period. A distributed locker keys its lock by it, so the
// lock and the job body agree on the tick. ok is false for an unknown job.
func (s *Scheduler) TickOf(name string, now time.Time) (tick time.Time, period time.Duration, ok bool) {
	s.mu.Lock()
	j, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}, 0, false
	}
	tick, period = j.tickOf(now.In(s.loc))
	return tick, period, true
}

// Start starts running jobs. It does not block.
func (s *Scheduler) Start() { s.gs.Start() }

// NextRun is when the named job runs next.
func (s *Scheduler) NextRun(name string) (time.Time, error) {
	for _, j := range s.gs.Jobs() {
		if j.Name() == name {
			t, err := j.NextRun()
			if err != nil {
				return time.Time{}, fmt.Errorf("next run of %q: %w", name, err)
			}
			return t.In(s.loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("next run of %q: no such job", name)
}

// RunNow runs the named job now, for the latest tick at or before now,
// unless that tick already ran or a run is still going (singleton).
func (s *Scheduler) RunNow(name string) error {
	for _, j := range s.gs.Jobs() {
		if j.Name() == name {
			if err := j.RunNow(); err != nil {
				return fmt.Errorf("run %q now: %w", name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("run %q now: no such job", name)
}

// Shutdown stops scheduling, cancels the context of running jobs and
// waits for them until ctx ends. The scheduler cannot be started again.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	if err := s.gs.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("stop scheduler: %w", err)
	}
	return nil
}

// gocronLogger passes gocron's own messages on at debug level, but its
// errors as errors: its "scheduler started" chatter is not news.
type gocronLogger struct{ l *slog.Logger }

func (g gocronLogger) Debug(msg string, args ...any) { g.l.Debug(msg, args...) }
func (g gocronLogger) Info(msg string, args ...any)  { g.l.Debug(msg, args...) }
func (g gocronLogger) Warn(msg string, args ...any)  { g.l.Warn(msg, args...) }
func (g gocronLogger) Error(msg string, args ...any) { g.l.Error(msg, args...) }
