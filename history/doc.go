// Package history keeps per-team agent counts over time, and the alerts'
// events, in the bot's shared state.Store (Redis when configured, else
// STATE_DIR), for the charts (/presence trend, the summaries) and the
// daily report. Every replica's Recorder over one store sees the same
// history; a Recorder holds no state of its own.
//
// # What is kept
//
// One Sample per tick: each team's agents per status (Counts), the whole
// floor under "", and the teams' display names. The last day (FineFor) is
// kept at Options.Resolution (the alert interval, at least a minute);
// older samples at CoarseStep (the last sample of each 5 minutes, at its
// own time); nothing past Options.Retention (HISTORY_RETENTION, 8 days
// by default). Alert events (fired, level, acked, resolved) are kept for
// the retention too, at most 500 a day.
//
// # Storage, bounded by design
//
// Samples live in chunks: one key per UTC hour for the last day
// (history-hour-20250303T10), one per UTC day for older data
// (history-day-20250303), plus one key per day of alert events
// (history-alerts-20250303). A store cannot list its keys, so a small
// index (history-index) lists the chunks. A chunk's samples are packed:
// per sample its slot, the set of teams (one byte when it is the previous
// sample's), and per team a byte saying which counts changed and their
// deltas as zigzag varints; base64 in the JSON value. A team whose counts
// hold costs one byte a sample; team IDs and names are stored once per
// chunk.
//
// Measured (TestStoredSizeIsBounded), for 100 teams whose every count
// moves every minute, a worse case than a real floor: 2.5 MB for 8 days,
// about 1.1 MB for the last day at 1-minute resolution and 0.2 MB for
// each older day. MaxTeams (1000) bounds the teams a sample keeps, and
// the retention is at most 31 days (config), so no roster or setting can
// grow the store without bound.
//
// # What a Record costs
//
// O(teams): one read of the index (a few hundred bytes), one atomic
// Update of the current hour's chunk that appends the sample without
// decoding the ones before it (the chunk keeps its newest counts), and
// on an hour's first sample an Update of the index. After it, at most
// one step of maintenance: deleting what is past the retention (a day's
// chunk, once a day), or compacting one hour older than a day into its
// day chunk (once an hour; one per tick after a downtime, so no tick's
// cost grows with the history). BenchmarkRecord100Teams: about 0.4 ms a
// tick for 100 teams against an in-memory JSON store, most of it JSON.
//
// Record is idempotent: a second Record of the same tick (another
// replica, a retried job), or of another tick in the same slot, finds
// the slot taken and writes nothing; two replicas recording the same
// tick at once keep one sample, since each write is an atomic Update.
// Chunks are listed in the index before they are written and unlisted
// after they are deleted, so no chunk is ever left unlisted (and never
// deleted); compaction writes a day before deleting its hour, and
// readers read hours before days, so a sample being compacted is always
// found in one of them.
//
// # API cost
//
// Recording asks the contact center nothing itself: the app records the
// snapshot the alert poll counted (with alerts on, at every poll; one
// replica runs each tick). When the poll made its own cheaper lists
// instead (a floor of more than 100 agents, see the alerts package), the
// shared snapshot is taken if fresh (another reader fetched it within
// PRESENCE_CACHE_TTL, on any replica: free), else read: ceil(agents/100)
// requests, once per minute at most on a replica (a sub-minute alert
// interval records the minute's first tick), and the fresh snapshot then
// serves every other reader. Without alerts, the history job does the
// same every minute. So a tick costs 0 requests on a floor of up to 100
// agents with alerts on (the poll's own read), and at most
// ceil(agents/100) otherwise, 50 for 5,000 agents. Reading (Range, Teams,
// Alerts) asks only the store: a chunk per hour or day in the range.
package history
