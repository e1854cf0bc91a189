package message

import "net/url"

// Action IDs of the status buttons. The commands answer their clicks;
// the commands and the nudges both make them, so both name them from here
// and carry the same values (StatusButtonValue).
const (
	ActionSetStatus   = "status_set"    // set a status now
	ActionQueueStatus = "status_queue"  // set a status when the call ends
	ActionCancelQueue = "status_cancel" // drop a queued status
	// ActionNudgeMore is a nudge's [5 more minutes]: the nudges make it,
	// the commands route its click back to them.
	ActionNudgeMore = "nudge_more"
)

// StatusButtonValue is what a status button carries: the agent and the
// status it was made for, so a stale click is caught, and the target.
// Empty statuses are left out.
func StatusButtonValue(agentID, from, to string) string {
	v := url.Values{}
	v.Set("agent", agentID)
	if from != "" {
		v.Set("from", from)
	}
	if to != "" {
		v.Set("to", to)
	}
	return v.Encode()
}
