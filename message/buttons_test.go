package message

import (
	"net/url"
	"testing"
)

// A status button's value names the agent, the status it was made for
// and the target, so the click handler can catch a stale one; an empty
// status is left out rather than sent as "".
func TestStatusButtonValue(t *testing.T) {
	tests := []struct {
		name            string
		agent, from, to string
		want            url.Values
	}{
		{"a move", "agent_001", "after-call-work", "available",
			url.Values{"agent": {"agent_001"}, "from": {"after-call-work"}, "to": {"available"}}},
		{"a queued status: no from", "agent_002", "", "offline",
			url.Values{"agent": {"agent_002"}, "to": {"offline"}}},
		{"a cancel: the agent alone", "agent_003", "", "",
			url.Values{"agent": {"agent_003"}}},
		{"odd characters survive", "a&b=c", "busy", "available",
			url.Values{"agent": {"a&b=c"}, "from": {"busy"}, "to": {"available"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := StatusButtonValue(tt.agent, tt.from, tt.to)
			got, err := url.ParseQuery(v)
			if err != nil {
				t.Fatalf("value %q does not parse: %v", v, err)
			}
			if got.Encode() != tt.want.Encode() {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// The action IDs are the ones buttons already posted carry: changing one
// would break every button in Slack's history.
func TestActionIDsAreStable(t *testing.T) {
	for got, want := range map[string]string{
		ActionSetStatus: "status_set", ActionQueueStatus: "status_queue", ActionCancelQueue: "status_cancel",
		ActionAckAlert: "alert_ack", ActionNudgeMore: "nudge_more",
	} {
		if got != want {
			t.Errorf("got action ID %q, want %q", got, want)
		}
	}
}
