// Package alerts holds the bot's scheduled jobs: the team summary posted on
// a schedule, and the low-availability alert polled every interval, both
// run by a Scheduler (gocron, singleton jobs, aligned ticks, injectable
// clock).
//
// The alert works like a real alerting system. Decide, a pure function,
// takes a rule's previous state, this poll's count, the rule and the time,
// and says what to send: fire once (after the For period, if any), repeat
// no sooner than the Repeat period, resolve with a recovery, or nothing.
// DecideData does the same for the one "presence data unavailable" notice
// and its "back" notice: a failed poll is never read as "0 available".
// Outside active hours nothing fires or repeats. The Alerter saves each
// decision before it posts (a compare-and-set on the state's revision, so
// a decision made from an old read is refused and made again), then posts,
// then records the message, or undoes the decision when the post failed,
// so a failed post is tried again on the next tick and none is posted
// twice (see Alerter.Poll). State lives in a state.Store, shared by the
// replicas, so a restart while firing stays quiet.
//
// # API cost
//
// One alert poll, for N agents and T teams with a threshold, first looks
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
//     GET agents/presence?status=available&team_id=X&limit=100 per
//     thresholded team, whose total is that team's count.
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
