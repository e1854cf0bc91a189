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
// Samples live in chunks: one key per 10 minutes (UTC) for the last day
// (history-recent-20250303T1010; an hour, history-hour-20250303T10, at
// a Resolution over 10 minutes), one per UTC day for older data
// (history-day-20250303), plus one key per day of alert events
// (history-alerts-20250303). A store cannot list its keys, so a small
// index (history-index) lists the chunks. A chunk's samples are packed:
// per sample its slot, the set of teams (one byte when it is the previous
// sample's), and per team a byte saying which counts changed and their
// deltas as zigzag varints; base64 in the JSON value. A team whose counts
// hold costs one byte a sample; team IDs and names are stored once per
// chunk, and so is each team's newest counts (the tail).
//
// Measured (TestStoredSizeIsBounded), for 100 teams whose every count
// moves every minute, a worse case than a real floor: 3.1 MB for 8 days,
// about 1.6 MB for the last day at 1-minute resolution and 0.2 MB for
// each older day. MaxTeams (500) bounds the teams a sample keeps, and
// the retention is at most 31 days (config), so no roster or setting can
// grow the store without bound.
//
// Upgrading from the version that kept the last day in hour chunks: its
// history-hour-* chunks stay listed and readable, and age out as before
// (compacted into their day after a day, with any 10-minute chunks of the
// same hour), so nothing is lost and nothing needs migrating.
//
// # What a Record costs
//
// O(teams): one read of the index (about 2 KB: 144 chunks of the last
// day), one atomic Update of the current 10-minute chunk that appends the
// sample without decoding the ones before it (the chunk keeps its newest
// counts), and on a chunk's first sample an Update of the index. A store
// Update rewrites the whole value, so the chunk is kept short: at
// MaxTeams teams whose every count moves every minute, the largest write
// is about 52 KB (TestRecordWriteIsBoundedAtMaxTeams, bound 64 KB), a
// millisecond of Redis, well within REDIS_TIMEOUT; 100 real teams write a
// few KB. After it, at most one step of maintenance: deleting what is past
// the retention (a day's chunk, once a day), or compacting one hour older
// than a day (its chunks) into its day chunk in one Update (once an hour:
// the day chunk is the largest write, about 0.2 MB for 100 teams, 1 MB at
// MaxTeams; one hour per tick after a downtime, so no tick's cost grows
// with the history). BenchmarkRecord100Teams: about 0.15 ms a tick for
// 100 teams against an in-memory JSON store.
//
// Record is idempotent: a second Record of the same tick (another
// replica, a retried job), or of another tick in the same slot, finds
// the slot taken and writes nothing; two replicas recording the same
// tick at once keep one sample, since each write is an atomic Update.
// Chunks are listed in the index before they are written and unlisted
// after they are deleted, so no chunk is ever left unlisted (and never
// deleted); compaction writes a day before deleting its hour's chunks,
// and readers read the last day's chunks before the days, so a sample
// being compacted is always found in one of them.
//
// # What a read costs
//
// Reading asks only the store, never the contact center. Range reads the
// chunks in the range once and thins while it reads: it keeps at most a
// point per step per team asked (a team not asked costs nothing), and
// returns slices of their own. Teams reads the chunks' headers (IDs and
// names), not their samples; Latest reads the newest chunk only, and its
// newest counts without decoding a sample. So /presence trend 192 on 100
// teams over 8 days allocates about 5 MB (the chunks' bytes, read once)
// and holds only the 6 lines it draws (TestTrendReadCostIsBounded;
// BenchmarkTrend192h100Teams in commands).
//
// # API cost
//
// Recording asks the contact center nothing itself while alerts are on:
// the app records what the alert poll read, at every poll (one replica
// runs each tick). That is the snapshot the poll counted (a floor of up
// to 100 agents, from its second poll on: the poll's own read); else the
// shared snapshot when fresh (another reader fetched it within
// PRESENCE_CACHE_TTL: free), which counts every team; else what the
// poll's own lists told (a larger floor, see the alerts package): the
// floor's counts per status, and those of each team an alert rule names,
// with a list of its own. Other teams then have no sample that tick (a
// gap in their line, not a false zero). A poll that read nothing (it
// failed, or has no availability rule) records nothing: the history never
// makes a second roster read. Without alerts, the history job is the
// roster's only regular reader: every minute it takes the shared snapshot
// when fresh, else reads it, ceil(agents/100) requests (50 for 5,000
// agents), and the fresh snapshot then serves every other reader.
package history
