package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxResponseURLUses is how often Slack accepts a post to one response_url.
const maxResponseURLUses = 5

// verificationToken is the deprecated token Slack still puts in payloads.
const verificationToken = "fake-verification-token"

// SlashCommand is a slash command invocation. Empty fields get defaults:
// TeamID the fake's team, ChannelID C0GENERAL (#general), UserName the
// user's name from AddUser (else the lower-cased ID), ChannelName from the
// channel's kind.
type SlashCommand struct {
	Command, Text, UserID, ChannelID, TeamID string
	UserName, ChannelName                    string
}

// slashPayload is the payload of a slash_commands envelope: the fields Slack
// would post to a request URL.
type slashPayload struct {
	Token       string `json:"token"`
	TeamID      string `json:"team_id"`
	TeamDomain  string `json:"team_domain"`
	ChannelID   string `json:"channel_id"`
	ChannelName string `json:"channel_name"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Command     string `json:"command"`
	Text        string `json:"text"`
	APIAppID    string `json:"api_app_id"`
	ResponseURL string `json:"response_url"`
	TriggerID   string `json:"trigger_id"`
}

// responseURL is what a response_url was issued for.
type responseURL struct {
	envelopeID, channel, user string
	uses                      int
}

// SendSlashCommand sends a slash_commands envelope with its own response_url
// and returns the envelope ID.
func (s *Server) SendSlashCommand(cmd SlashCommand) (string, error) {
	if !strings.HasPrefix(cmd.Command, "/") || cmd.UserID == "" {
		return "", fmt.Errorf("fakeslack: slash command needs a /command and a user ID, got %q from %q", cmd.Command, cmd.UserID)
	}
	if cmd.TeamID == "" {
		cmd.TeamID = TeamID
	}
	if cmd.ChannelID == "" {
		cmd.ChannelID, cmd.ChannelName = "C0GENERAL", "general"
	}
	if cmd.ChannelName == "" {
		cmd.ChannelName = channelName(cmd.ChannelID)
	}
	if cmd.UserName == "" {
		s.mu.Lock()
		cmd.UserName = s.users[cmd.UserID].Name
		s.mu.Unlock()
		if cmd.UserName == "" {
			cmd.UserName = strings.ToLower(cmd.UserID)
		}
	}
	id := s.nextID("E")
	payload, err := json.Marshal(slashPayload{
		Token:       verificationToken,
		TeamID:      cmd.TeamID,
		TeamDomain:  "fake",
		ChannelID:   cmd.ChannelID,
		ChannelName: cmd.ChannelName,
		UserID:      cmd.UserID,
		UserName:    cmd.UserName,
		Command:     cmd.Command,
		Text:        cmd.Text,
		APIAppID:    AppID,
		ResponseURL: s.issueResponseURL(id, cmd.ChannelID, cmd.UserID),
		TriggerID:   s.nextID("trigger."),
	})
	if err != nil {
		return "", fmt.Errorf("encode slash command: %w", err)
	}
	env := &envelope{id: id, typ: "slash_commands", payload: payload, acceptsResponse: true}
	return id, s.send(env, 0, "", 0)
}

// SendInteractive sends an interactive envelope. The payload (a map, a struct
// or raw JSON) must encode to an object; missing type (block_actions), team,
// api_app_id, token, trigger_id and response_url are filled in.
func (s *Server) SendInteractive(payload any) (string, error) {
	fields, err := object(payload)
	if err != nil {
		return "", fmt.Errorf("fakeslack: interactive payload: %w", err)
	}
	id := s.nextID("E")
	typ := stringField(fields, "type")
	if typ == "" {
		typ = "block_actions"
		fields["type"] = mustJSON(typ)
	}
	var team struct {
		ID string `json:"id"`
	}
	if _ = json.Unmarshal(fields["team"], &team); team.ID == "" {
		fields["team"] = mustJSON(map[string]string{"id": TeamID, "domain": "fake"})
	}
	setDefault(fields, "api_app_id", AppID)
	setDefault(fields, "token", verificationToken)
	setDefault(fields, "trigger_id", s.nextID("trigger."))
	if stringField(fields, "response_url") == "" {
		var ref struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(fields["channel"], &ref)
		channel := ref.ID
		ref.ID = ""
		_ = json.Unmarshal(fields["user"], &ref)
		fields["response_url"] = mustJSON(s.issueResponseURL(id, channel, ref.ID))
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("encode interactive payload: %w", err)
	}
	// Slack takes a response in the ack only where it can show one.
	accepts := typ == "view_submission" || typ == "block_suggestion"
	env := &envelope{id: id, typ: "interactive", payload: b, acceptsResponse: accepts}
	return id, s.send(env, 0, "", 0)
}

// SendEvent sends an events_api envelope. The event is the inner event (e.g.
// {"type":"app_home_opened","user":…}) and is wrapped in an event_callback;
// an event whose type is already event_callback is sent as it is.
func (s *Server) SendEvent(event any) (string, error) {
	fields, err := object(event)
	if err != nil {
		return "", fmt.Errorf("fakeslack: event: %w", err)
	}
	typ := stringField(fields, "type")
	if typ == "" {
		return "", errors.New("fakeslack: event has no type")
	}
	var payload []byte
	if typ == "event_callback" {
		payload, err = json.Marshal(fields)
	} else {
		payload, err = json.Marshal(map[string]any{
			"token":      verificationToken,
			"team_id":    TeamID,
			"api_app_id": AppID,
			"event":      fields,
			"type":       "event_callback",
			"event_id":   s.nextID("Ev"),
			"event_time": s.now().Unix(),
			"authorizations": []map[string]any{
				{"team_id": TeamID, "user_id": BotUserID, "is_bot": true},
			},
		})
	}
	if err != nil {
		return "", fmt.Errorf("encode event: %w", err)
	}
	env := &envelope{id: s.nextID("E"), typ: "events_api", payload: payload}
	return env.id, s.send(env, 0, "", 0)
}

// Redeliver sends an envelope again with retry_attempt and retry_reason set
// (Slack's reasons include "timeout"), on a different connection than its
// last delivery when there is one, as Slack does when an ack is late.
func (s *Server) Redeliver(envelopeID string, attempt int, reason string) error {
	s.mu.Lock()
	env := s.envelopes[envelopeID]
	avoid := 0
	if env != nil {
		avoid = env.deliveries[len(env.deliveries)-1].conn
	}
	s.mu.Unlock()
	if env == nil {
		return fmt.Errorf("fakeslack: redeliver unknown envelope %q", envelopeID)
	}
	return s.send(env, attempt, reason, avoid)
}

// issueResponseURL makes a new response_url for an envelope.
func (s *Server) issueResponseURL(envelopeID, channel, user string) string {
	id := s.nextID("R")
	s.mu.Lock()
	s.responses[id] = &responseURL{envelopeID: envelopeID, channel: channel, user: user}
	s.mu.Unlock()
	return s.base + "/response/" + id
}

func channelName(id string) string {
	switch {
	case strings.HasPrefix(id, "D"):
		return "directmessage"
	case strings.HasPrefix(id, "G"):
		return "privategroup"
	default:
		return strings.ToLower(id)
	}
}

// object encodes v and decodes it as a JSON object.
func object(v any) (map[string]json.RawMessage, error) {
	b, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("not a JSON object: %s", truncate(string(b), 80))
	}
	return fields, nil
}

// stringField returns a string field, or "" when it is absent, null or not a
// string.
func stringField(fields map[string]json.RawMessage, key string) string {
	var v string
	_ = json.Unmarshal(fields[key], &v)
	return v
}

func setDefault(fields map[string]json.RawMessage, key, value string) {
	if stringField(fields, key) == "" {
		fields[key] = mustJSON(value)
	}
}

// mustJSON encodes values that cannot fail to encode (strings, maps of them).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: encode %T: %v", v, err))
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
