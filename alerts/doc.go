// Package alerts holds the bot's scheduled jobs: the team summary posted on
// a schedule, and the low-availability alert polled every interval, both
// run by a Scheduler (gocron, singleton jobs, aligned ticks, injectable
// clock).
//
// The availability alerts work like a real alerting system, one state per
// AvailabilityRule (all agents, a team, or several teams summed). Decide,
// a pure function, takes a rule's previous state, this poll's
// observation (available, logged in, silenced), the rule and the time,
// and says what to do: fire once at warning or critical (after the For
// period, counted from the first poll below warning), edit the episode's
// one message in place as the level moves, ping the rule's Mention once
// per rise to critical (in the alert, or in a reply in its thread),
// repeat no sooner than the Repeat period, resolve with a recovery only
// at resolve_at (hysteresis), or nothing. Acknowledged alerts do not
// repeat; snoozed ones neither repeat nor ping until the snooze ends. A
// rule a silence covers decides the same and saves its state as if it
// posted, but posts nothing; the silence keeps a line per post held back,
// and its end is announced with them. Nobody logged in in a rule's scope
// is its own state ("no agents logged in", at the rule's worst level),
// never "0 available" noise: outside active hours nothing fires and a
// firing alert closes quietly. DecideData does the same for the one
// "presence data unavailable" notice and its "back" notice (in every
// rule's channel): a failed poll is never read as "0 available". The
// Alerter saves each decision before it posts (a compare-and-set on the
// state's revision, so a decision made from an old read is refused and
// made again), then posts, then records the message, or undoes the
// decision when the post failed, so a failed post is tried again on the
// next tick and none is posted twice (see Alerter.Poll). State lives in a
// state.Store, shared by the replicas, so a restart while firing stays
// quiet. One poll counts the roster once into per-team tallies and then
// decides every rule from them: O(agents + rules).
//
// # API cost
//
// One alert poll, for N agents and T teams named by rules, first looks
// at the roster snapshot the bot shares (Settings.Roster): when another
// reader fetched it within PRESENCE_CACHE_TTL, on any replica, the poll
// counts from it and asks the contact center nothing. Otherwise it reads
// whichever way costs fewer requests, judging N and the available count
// from the last roster known:
//
//   - ceil(N/100) requests (at least 1): a refresh of the snapshot, when
//     that costs no more than the lists below (a floor of up to 100
//     agents, or more when many are available in many teams); the fresh
//     snapshot then serves every other reader too.
//   - 1 request when at most 100 agents are available, whatever N and T:
//     GET agents/presence?status=available&limit=100. Its metadata.total
//     is the total available count and its agents give each team's count
//     and who is available.
//   - 1 + T requests when more than 100 are available: the same, plus one
//     GET agents/presence?status=available&team_id=X&limit=100 per team
//     a rule names, whose total is that team's count and whose summary
//     says who is logged in.
//
// In the 1-request case, a team rule that finds nobody available (and
// could fire now) asks one more GET agents/presence?team_id=X&limit=1
// per team of it, whose summary tells "nobody logged in" from "0
// available".
//
// So the cost never grows with N beyond what a fresh snapshot already
// paid. The client retries a failed request (its attempts setting), which
// adds requests only while the API fails.
//
// A summary reads the whole roster through the shared snapshot:
// ceil(N/100) requests (at least 1), none when any reader fetched it
// within the TTL. Under pressure on the API budget the snapshot lives
// longer, and a summary drawn from one older than the TTL says how old.
package alerts
