package ccmsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// The simulator's own wire types. They follow the spec's examples key for
// key and deliberately share nothing with presence.Agent's JSON tags, so a
// mistake in either side's tags shows up in the client's tests.

// envelope wraps every answer, success or failure.
type envelope struct {
	RequestID string       `json:"request_id"`
	Method    string       `json:"method"`
	HTTPCode  int          `json:"http_code"`
	Response  wireResponse `json:"response"`
}

type wireResponse struct {
	Code     int           `json:"code"`
	Status   string        `json:"status"` // "success" or "failure"
	Data     any           `json:"data,omitempty"`
	Metadata *wireMetadata `json:"metadata,omitempty"`
	Error    *wireError    `json:"error,omitempty"`
}

type wireError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type wireMetadata struct {
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

type wireList struct {
	Agents  []wireAgent `json:"agents"`
	Summary wireSummary `json:"summary"`
}

type wireSummary struct {
	TotalAgents   int `json:"total_agents"`
	Available     int `json:"available"`
	OnCall        int `json:"on_call"`
	Busy          int `json:"busy"`
	AfterCallWork int `json:"after_call_work"`
	Offline       int `json:"offline"`
}

type wireAgent struct {
	UserID      string      `json:"user_id"`
	Name        string      `json:"name"`
	Email       string      `json:"email,omitempty"`
	Status      string      `json:"status"`
	StatusSince string      `json:"status_since"`
	Device      *wireDevice `json:"device,omitempty"`
	Team        *wireTeam   `json:"team,omitempty"`
	Stats       *wireStats  `json:"stats,omitempty"`
	CurrentCall *wireCall   `json:"current_call,omitempty"`
}

type wireDevice struct {
	Type       string `json:"type"`
	ContactURI string `json:"contact_uri"`
}

type wireTeam struct {
	TeamID string `json:"team_id"`
	Name   string `json:"name"`
}

type wireStats struct {
	CallsHandledToday int `json:"calls_handled_today"`
	AvgHandleTime     int `json:"avg_handle_time"`
	TotalTalkTime     int `json:"total_talk_time"`
}

type wireCall struct {
	CallSID        string `json:"call_sid"`
	Direction      string `json:"direction"`
	CustomerNumber string `json:"customer_number"`
	Duration       int    `json:"duration"`
}

// wirePut is the PUT body. Status is a pointer to tell a missing key from
// an empty one.
type wirePut struct {
	Status *string `json:"status"`
}

// timeLayout is the spec's "2024-06-15T09:00:00.000Z": UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// wireTime is t as the wire can carry it.
func wireTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}

// toWire encodes one stored agent as of now. The call is included only when
// withCall is set: the spec shows current_call on the single-agent answer.
func toWire(a *presence.Agent, now time.Time, withCall bool) wireAgent {
	w := wireAgent{
		UserID:      a.ID,
		Name:        a.Name,
		Email:       a.Email,
		Status:      string(a.Status),
		StatusSince: a.StatusSince.UTC().Format(timeLayout),
	}
	if a.Device != nil {
		w.Device = &wireDevice{Type: a.Device.Type, ContactURI: a.Device.ContactURI}
	}
	if a.Team != nil {
		w.Team = &wireTeam{TeamID: a.Team.ID, Name: a.Team.Name}
	}
	if a.Stats != nil {
		w.Stats = &wireStats{
			CallsHandledToday: a.Stats.CallsHandledToday,
			AvgHandleTime:     a.Stats.AvgHandleTime,
			TotalTalkTime:     a.Stats.TotalTalkTime,
		}
	}
	if withCall && a.CurrentCall != nil {
		w.CurrentCall = &wireCall{
			CallSID:        a.CurrentCall.SID,
			Direction:      a.CurrentCall.Direction,
			CustomerNumber: a.CurrentCall.CustomerNumber,
			Duration:       callSeconds(a.StatusSince, now),
		}
	}
	return w
}

func toWireSummary(s presence.Summary) wireSummary {
	return wireSummary{
		TotalAgents:   s.Total,
		Available:     s.Available,
		OnCall:        s.OnCall,
		Busy:          s.Busy,
		AfterCallWork: s.AfterCallWork,
		Offline:       s.Offline,
	}
}

// reply is an endpoint's answer before it is written, so an ApplyFirst
// fault can replace it after the change is made.
type reply struct {
	code   int
	data   any
	meta   *wireMetadata
	msg    string // failure message; set when code >= 400
	header http.Header
	// bare answers body as it is, outside the envelope: a PUT's success
	// in the shapes real services send.
	bare bool
	body string
}

func success(data any, meta *wireMetadata) reply {
	return reply{code: http.StatusOK, data: data, meta: meta}
}

func bare(code int, body string) reply {
	return reply{code: code, bare: true, body: body}
}

func failure(code int, msg string) reply {
	return reply{code: code, msg: msg}
}

func failuref(code int, format string, args ...any) reply {
	return failure(code, fmt.Sprintf(format, args...))
}

// write sends rep in the spec's envelope, or bare.
func (s *Sim) write(w http.ResponseWriter, r *http.Request, rep reply) {
	if rep.bare {
		if rep.body == "" {
			if rep.code != http.StatusNoContent {
				w.Header().Set("Content-Length", "0")
			}
			w.WriteHeader(rep.code)
			return
		}
		writeBody(w, rep.code, []byte(rep.body))
		return
	}
	env := envelope{
		RequestID: fmt.Sprintf("req_sim_%06d", s.requests.Add(1)),
		Method:    r.Method,
		HTTPCode:  rep.code,
		Response:  wireResponse{Code: rep.code, Status: "success", Data: rep.data, Metadata: rep.meta},
	}
	if rep.code >= http.StatusBadRequest {
		env.Response.Status = "failure"
		env.Response.Error = &wireError{Code: rep.code, Message: rep.msg}
	}
	body, err := json.Marshal(env)
	if err != nil {
		// Only our own wire types are marshalled, so this is a bug; answer
		// it plainly rather than with half an envelope.
		http.Error(w, "encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	writeBody(w, rep.code, body)
}

// writeBody sends a JSON body with its length, so clients can tell a
// truncated answer from a complete one.
func writeBody(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body) // a write error means the client left
}
