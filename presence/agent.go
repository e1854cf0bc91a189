package presence

import "time"

// Agent is one agent's presence as the API reports it.
type Agent struct {
	ID          string    `json:"user_id"`
	Name        string    `json:"name"`
	Email       string    `json:"email,omitempty"`
	Status      Status    `json:"status"`
	StatusSince time.Time `json:"status_since"`
	Device      *Device   `json:"device,omitempty"`
	Team        *Team     `json:"team,omitempty"`
	Stats       *Stats    `json:"stats,omitempty"`
	// CurrentCall is set by the single-agent endpoint while the agent is on
	// a call.
	CurrentCall *Call `json:"current_call,omitempty"`
}

// TeamID returns the agent's team ID, or "" when the API gave none.
func (a Agent) TeamID() string {
	if a.Team == nil {
		return ""
	}
	return a.Team.ID
}

// TeamName returns the team's display name, falling back to its ID.
func (a Agent) TeamName() string {
	if a.Team == nil {
		return ""
	}
	if a.Team.Name != "" {
		return a.Team.Name
	}
	return a.Team.ID
}

// Device is how the agent takes calls.
type Device struct {
	Type       string `json:"type"`
	ContactURI string `json:"contact_uri"`
}

// Team is the team an agent belongs to.
type Team struct {
	ID   string `json:"team_id"`
	Name string `json:"name"`
}

// Stats are the agent's call figures for the day.
type Stats struct {
	CallsHandledToday int `json:"calls_handled_today"`
	AvgHandleTime     int `json:"avg_handle_time"` // seconds
	TotalTalkTime     int `json:"total_talk_time"` // seconds
}

// Call is the call an agent is on.
type Call struct {
	SID            string `json:"call_sid"`
	Direction      string `json:"direction"`
	CustomerNumber string `json:"customer_number"`
	Duration       int    `json:"duration"` // seconds so far
}

// Summary counts agents per status. The API spells its keys with
// underscores (on_call), unlike the statuses themselves (on-call).
type Summary struct {
	Total         int `json:"total_agents"`
	Available     int `json:"available"`
	OnCall        int `json:"on_call"`
	Busy          int `json:"busy"`
	AfterCallWork int `json:"after_call_work"`
	Offline       int `json:"offline"`
}

// Count returns the number of agents in status s.
func (s Summary) Count(st Status) int {
	switch st {
	case Available:
		return s.Available
	case OnCall:
		return s.OnCall
	case Busy:
		return s.Busy
	case AfterCallWork:
		return s.AfterCallWork
	case Offline:
		return s.Offline
	}
	return 0
}

// Add counts one more agent in status st.
func (s *Summary) Add(st Status) {
	s.Total++
	switch st {
	case Available:
		s.Available++
	case OnCall:
		s.OnCall++
	case Busy:
		s.Busy++
	case AfterCallWork:
		s.AfterCallWork++
	case Offline:
		s.Offline++
	}
}

// Page is one page of the list endpoint.
type Page struct {
	Agents []Agent
	// Summary counts every agent that matches the team filter, whatever
	// the status filter.
	Summary Summary
	// Total counts the agents that match all filters, across pages.
	Total  int
	Limit  int
	Offset int
}

// ListOptions filters the list endpoint. Zero values mean "no filter" and
// the API's defaults.
type ListOptions struct {
	Status Status
	TeamID string
	Limit  int // 1..MaxPageSize; 0 for the API's default (20)
	Offset int
}

// MaxPageSize is the largest limit the list endpoint accepts.
const MaxPageSize = 100
