package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A response_url takes up to 5 posts within 30 minutes of its issue
// (docs.slack.dev/interactivity/handling-user-interaction, "Message
// responses"); later posts are refused as expired.
const (
	maxResponseURLUses = 5
	responseURLLife    = 30 * time.Minute
)

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
// would post to a request URL, all strings (corpus: slash_commands.json).
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
	// IsEnterpriseInstall is "true" or "false": a form field over HTTP,
	// and still a string in Socket Mode.
	IsEnterpriseInstall string `json:"is_enterprise_install"`
	ResponseURL         string `json:"response_url"`
	TriggerID           string `json:"trigger_id"`
}

// responseURL is what a response_url was issued for.
type responseURL struct {
	envelopeID, channel, user string
	uses                      int
	issued                    time.Time
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
		// The fake is a workspace install, never an org-wide one.
		IsEnterpriseInstall: "false",
		ResponseURL:         s.issueResponseURL(id, cmd.ChannelID, cmd.UserID),
		TriggerID:           s.nextID("trigger."),
	})
	if err != nil {
		return "", fmt.Errorf("encode slash command: %w", err)
	}
	env := &envelope{id: id, typ: "slash_commands", payload: payload, acceptsResponse: true}
	return id, s.send(env, 0, "", 0)
}

// SendInteractive sends an interactive envelope. The payload (a map, a struct
// or raw JSON) must encode to an object; missing type (block_actions), team,
// api_app_id, token, trigger_id and container are filled in.
//
// A click in a message gets a response_url, as Slack sends. A click in a view
// (a "view" in the payload, or container type "view") gets none, and neither
// has a channel: Slack sends neither for App Home or modal interactions (the
// block_actions payload reference, docs.slack.dev/reference/interaction-payloads/block_actions-payload,
// and the corpus's block_actions_home.json), so a payload that gives one is
// refused rather than sent in a shape Slack never produces.
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
	var container struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(fields["container"], &container)
	var view struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	_ = json.Unmarshal(fields["view"], &view)
	inView := container.Type == "view" || view.ID != "" || view.Type != ""
	var ref struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(fields["channel"], &ref)
	channel := ref.ID
	if err := s.fillClick(fields, channel); err != nil {
		return "", err
	}
	switch {
	case inView && typ == "block_actions":
		if channel != "" || stringField(fields, "response_url") != "" {
			return "", errors.New("fakeslack: a click in a view has no channel and no response_url in Slack's payloads")
		}
		if view.ID == "" {
			return "", errors.New("fakeslack: a click in a view needs the view (with its id) it was made in")
		}
		if container.Type == "" {
			fields["container"] = mustJSON(map[string]string{"type": "view", "view_id": view.ID})
		}
	case typ == "block_actions":
		if container.Type == "" {
			var msg struct {
				TS string `json:"ts"`
			}
			_ = json.Unmarshal(fields["message"], &msg)
			// Slack sends the clicked message only when it is not
			// ephemeral; for ephemeral ones the container says so.
			ephemeral := len(fields["message"]) == 0
			if msg.TS == "" {
				msg.TS = s.newTS(s.now())
			}
			fields["container"] = mustJSON(map[string]any{
				"type": "message", "message_ts": msg.TS, "channel_id": channel, "is_ephemeral": ephemeral,
			})
		}
		fallthrough
	default:
		if stringField(fields, "response_url") == "" {
			ref.ID = ""
			_ = json.Unmarshal(fields["user"], &ref)
			fields["response_url"] = mustJSON(s.issueResponseURL(id, channel, ref.ID))
		}
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

// fillClick completes a click's payload with what Slack always sends and a
// test need not spell out (the corpus's block_actions_message.json and
// block_actions_home.json): the user's name and team, the channel's name,
// the clicked message's author, each action's text and action_ts, and the
// enterprise fields.
func (s *Server) fillClick(fields map[string]json.RawMessage, channel string) error {
	var user map[string]json.RawMessage
	if err := json.Unmarshal(fields["user"], &user); err != nil || user == nil || stringField(user, "id") == "" {
		return errors.New("fakeslack: a click needs the user who clicked ({\"user\":{\"id\":…}})")
	}
	s.mu.Lock()
	name := s.users[stringField(user, "id")].Name
	s.mu.Unlock()
	if name == "" {
		name = strings.ToLower(stringField(user, "id"))
	}
	setDefault(user, "username", name)
	setDefault(user, "name", name)
	setDefault(user, "team_id", TeamID)
	fields["user"] = mustJSON(user)
	if channel != "" {
		var ch map[string]json.RawMessage
		_ = json.Unmarshal(fields["channel"], &ch)
		setDefault(ch, "name", channelName(channel))
		fields["channel"] = mustJSON(ch)
	}
	if len(fields["message"]) > 0 {
		var msg map[string]json.RawMessage
		if err := json.Unmarshal(fields["message"], &msg); err != nil || msg == nil {
			return errors.New("fakeslack: a click's message must be an object")
		}
		setDefault(msg, "type", "message")
		setDefault(msg, "user", BotUserID)
		setDefault(msg, "bot_id", BotID)
		fields["message"] = mustJSON(msg)
	}
	if len(fields["actions"]) > 0 {
		var actions []map[string]json.RawMessage
		if err := json.Unmarshal(fields["actions"], &actions); err != nil {
			return errors.New("fakeslack: a click's actions must be a list of objects")
		}
		for _, a := range actions {
			if len(a["text"]) == 0 || string(a["text"]) == "null" {
				// The label is the bot's own; it never reads it back.
				a["text"] = mustJSON(map[string]any{"type": "plain_text", "text": stringField(a, "action_id"), "emoji": true})
			}
			setDefault(a, "action_ts", s.newTS(s.now()))
		}
		fields["actions"] = mustJSON(actions)
	}
	if _, ok := fields["enterprise"]; !ok {
		fields["enterprise"] = json.RawMessage("null")
	}
	if _, ok := fields["is_enterprise_install"]; !ok {
		fields["is_enterprise_install"] = json.RawMessage("false")
	}
	return nil
}

// ErrNoSuchButton is returned by SendHomeClick when the user's Home shows no
// such button: a person can only click what Slack shows them.
var ErrNoSuchButton = errors.New("fakeslack: no such button in the published view")

// SendHomeClick clicks a button in the App Home last published for user
// (views.publish), as Slack sends it: container type "view", the view
// object as published (id, hash, blocks…), no channel and no response_url.
// The button must be in that view, with that action_id and value.
func (s *Server) SendHomeClick(user, actionID, value string) (string, error) {
	s.mu.Lock()
	raw := s.homes[user]
	s.mu.Unlock()
	if raw == nil {
		return "", fmt.Errorf("fakeslack: %s has no published Home to click in", user)
	}
	var view struct {
		ID     string `json:"id"`
		Blocks []struct {
			Type     string `json:"type"`
			BlockID  string `json:"block_id"`
			Elements []struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
				Text     any    `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &view); err != nil {
		return "", fmt.Errorf("fakeslack: stored view: %w", err)
	}
	for i, b := range view.Blocks {
		for _, el := range b.Elements {
			if el.Type != "button" || el.ActionID != actionID || el.Value != value {
				continue
			}
			blockID := b.BlockID
			if blockID == "" {
				blockID = fmt.Sprintf("b%d", i) // Slack fills in a random one
			}
			s.mu.Lock()
			name := s.users[user].Name
			s.mu.Unlock()
			return s.SendInteractive(map[string]any{
				"type":      "block_actions",
				"user":      map[string]string{"id": user, "username": name, "name": name, "team_id": TeamID},
				"container": map[string]string{"type": "view", "view_id": view.ID},
				"view":      json.RawMessage(raw),
				"actions": []map[string]any{{
					"type": "button", "action_id": actionID, "block_id": blockID, "value": value,
					"text": el.Text, "action_ts": s.newTS(s.now()),
				}},
				"is_enterprise_install": false,
				"enterprise":            nil,
			})
		}
	}
	return "", fmt.Errorf("%w: %s/%q in %s's Home", ErrNoSuchButton, actionID, value, user)
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
		// The event_callback as Slack wraps an event (corpus:
		// events_api_app_home_opened.json): a workspace install, so no
		// enterprise, and a channel shared with no other organisation.
		payload, err = json.Marshal(map[string]any{
			"token":      verificationToken,
			"team_id":    TeamID,
			"api_app_id": AppID,
			"event":      fields,
			"type":       "event_callback",
			"event_id":   s.nextID("Ev"),
			"event_time": s.now().Unix(),
			"authorizations": []map[string]any{{
				"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID,
				"is_bot": true, "is_enterprise_install": false,
			}},
			"is_ext_shared_channel": false,
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
	s.responses[id] = &responseURL{envelopeID: envelopeID, channel: channel, user: user, issued: s.now()}
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
