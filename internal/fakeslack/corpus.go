package fakeslack

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// corpus holds Slack frames in the exact shapes Slack sends, so tests can
// drive the bot with them and check the fake's own envelopes against them.
// They are copied from Slack's documentation and the official SDKs' test
// fixtures; testdata/slack/SOURCES.md names the source of each and what was
// adapted:
//
//   - slash_commands: slackapi/bolt-python tests/adapter_tests/socket_mode/mock_socket_mode_server.py,
//     plus is_enterprise_install as in slackapi/bolt-js src/receivers/AwsLambdaReceiver.spec.ts
//   - block_actions_message: slackapi/bolt-python tests/scenario_tests/test_block_actions.py,
//     message from docs.slack.dev/apis/events-api/using-socket-mode
//   - block_actions_home: slackapi/python-slack-sdk tests/slack_sdk/socket_mode/mock_socket_mode_server.py,
//     view made a Home tab as in slack-go slackevents/inner_events_test.go
//   - events_api_app_home_opened, events_api_app_home_opened_retry: slack-go
//     slackevents/inner_events_test.go in the envelopes of the python-slack-sdk
//     and bolt-python mock servers above
//   - hello, disconnect_warning: slack-go socketmode/socketmode_test.go
//   - disconnect_refresh_requested, disconnect_link_disabled:
//     docs.slack.dev/apis/events-api/using-socket-mode
//
// Embedding from testdata is allowed because the pattern names the files.
//
//go:embed testdata/slack/*.json
var corpus embed.FS

const corpusDir = "testdata/slack"

// Fixture returns a frame of the corpus by name, with or without ".json"
// (e.g. "slash_commands", "block_actions_home"), as its file holds it.
func Fixture(name string) (json.RawMessage, error) {
	name = strings.TrimSuffix(name, ".json")
	if name == "" || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("fakeslack: no fixture %q", name)
	}
	b, err := corpus.ReadFile(path.Join(corpusDir, name+".json"))
	if err != nil {
		return nil, fmt.Errorf("fakeslack: no fixture %q: %w", name, err)
	}
	return b, nil
}

// FixtureNames lists the corpus, without ".json", sorted.
func FixtureNames() []string {
	entries, _ := corpus.ReadDir(corpusDir) // embedded: cannot fail
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(names)
	return names
}

// SendFrame sends a Socket Mode frame (a corpus Fixture, or any frame in
// Slack's shape) over a live connection, round-robin like every envelope,
// and returns its envelope ID ("" for hello and disconnect).
//
// An envelope is sent with every field as it is except two: a fresh
// envelope_id, so its ack can be told from others', and, when its payload
// has a response_url, one this server answers (the corpus's point at
// hooks.slack.com). Its retry_attempt and retry_reason are the delivery's:
// Ack.RetryAttempt reports them, and Redeliver overwrites them. The frame
// is re-encoded, so whitespace goes and object keys may come out sorted; no
// other value changes.
//
// A hello or disconnect frame is written as it is (compacted) to the next
// connection round-robin; a disconnect takes that connection out of the
// rotation first, as Disconnect does for all of them.
func (s *Server) SendFrame(frame json.RawMessage) (string, error) {
	fields, err := object(frame)
	if err != nil {
		return "", fmt.Errorf("fakeslack: frame: %w", err)
	}
	typ := stringField(fields, "type")
	switch typ {
	case "hello", "disconnect":
		var b bytes.Buffer // compact, as Slack's frames are; order kept
		if err := json.Compact(&b, frame); err != nil {
			return "", fmt.Errorf("fakeslack: %s frame: %w", typ, err)
		}
		return "", s.sendControl(b.Bytes(), typ == "disconnect")
	case "events_api", "interactive", "slash_commands":
	default:
		return "", fmt.Errorf("fakeslack: frame of unknown type %q", typ)
	}
	if _, ok := fields["envelope_id"]; !ok {
		return "", fmt.Errorf("fakeslack: %s frame without an envelope_id", typ)
	}
	payload, err := object(fields["payload"])
	if err != nil {
		return "", fmt.Errorf("fakeslack: %s frame payload: %w", typ, err)
	}
	env := &envelope{id: s.nextID("E"), typ: typ, frame: fields}
	if stringField(payload, "response_url") != "" {
		channel, user := responseTarget(typ, payload)
		payload["response_url"] = mustJSON(s.issueResponseURL(env.id, channel, user))
		if fields["payload"], err = json.Marshal(payload); err != nil {
			return "", fmt.Errorf("fakeslack: encode payload: %w", err)
		}
	}
	env.payload = fields["payload"]
	_ = json.Unmarshal(fields["accepts_response_payload"], &env.acceptsResponse)
	var attempt int
	_ = json.Unmarshal(fields["retry_attempt"], &attempt)
	return env.id, s.send(env, attempt, stringField(fields, "retry_reason"), 0)
}

// responseTarget is the channel and user a payload's response_url answers
// in, for the Message the fake records when it is used.
func responseTarget(typ string, payload map[string]json.RawMessage) (channel, user string) {
	if typ == "slash_commands" {
		return stringField(payload, "channel_id"), stringField(payload, "user_id")
	}
	var ref struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(payload["channel"], &ref)
	channel = ref.ID
	ref.ID = ""
	_ = json.Unmarshal(payload["user"], &ref)
	return channel, ref.ID
}

// encodeFrame is a SendFrame envelope's frame for one delivery: its own
// fields, with this envelope's ID and payload. retry_attempt and
// retry_reason are the delivery's, written when the frame had them or this
// is a redelivery: Slack's slash_commands and interactive frames have none.
func (e *envelope) encodeFrame(attempt int, reason string) ([]byte, error) {
	out := maps.Clone(e.frame)
	out["envelope_id"] = mustJSON(e.id)
	out["payload"] = e.payload
	_, had := e.frame["retry_attempt"]
	if had || attempt != 0 {
		out["retry_attempt"] = mustJSON(attempt)
		out["retry_reason"] = mustJSON(reason)
	}
	return json.Marshal(out)
}

// sendControl writes a hello or disconnect frame to the next connection
// round-robin. A disconnect leaves the rotation before it is written, so no
// envelope can follow it there; acks on it are still read until the client
// closes it.
func (s *Server) sendControl(b []byte, disconnect bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.pick(0)
	if c == nil {
		s.mu.Unlock()
		return ErrNoConnection
	}
	if disconnect {
		s.open = slices.DeleteFunc(s.open, func(x *conn) bool { return x == c })
		s.draining = append(s.draining, c)
		s.connSig.broadcast()
	}
	s.mu.Unlock()

	c.wmu.Lock()
	err := c.write(b)
	c.wmu.Unlock()
	if err != nil {
		s.forget(c)
		return fmt.Errorf("fakeslack: %w", err)
	}
	return nil
}
