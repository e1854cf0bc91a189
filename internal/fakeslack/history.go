package fakeslack

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checkMetadata reads a message's metadata as
// https://docs.slack.dev/messaging/message-metadata describes it: an
// object with an event_type string and an event_payload object, or
// nothing. Anything else is invalid_metadata_format.
func checkMetadata(raw json.RawMessage) (json.RawMessage, *apiError) {
	if len(raw) == 0 {
		return nil, nil
	}
	var m struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.EventType == "" || m.EventPayload == nil {
		return nil, errCode("invalid_metadata_format")
	}
	out, _ := json.Marshal(m)
	return out, nil
}

const historyMaxLimit = 999 // the reference's maximum

// history is conversations.history as documented at
// https://docs.slack.dev/reference/methods/conversations.history: the
// channel's messages (not thread replies), newest first, after oldest and
// before latest (Unix timestamps; inclusive=true takes the bounds in),
// limit (default 100, at most 999) with an opaque cursor. Each message's
// metadata is given only with include_all_metadata=true. The answer is
// {"ok":true,"messages":[…],"has_more":…,"pin_count":0,
// "response_metadata":{"next_cursor":…}}. The messages are those
// chat.postMessage recorded here.
func (s *Server) history(p params, _ time.Time) (map[string]any, *Message, *apiError) {
	channel := p.str("channel")
	if channel == "" {
		return nil, nil, errCode("channel_not_found")
	}
	limit := defaultListLimit
	if v := p.str("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > historyMaxLimit {
			return nil, nil, errCode("invalid_limit")
		}
		if n > 0 {
			limit = n
		}
	}
	inclusive := isTrue(p.str("inclusive"))
	withMeta := isTrue(p.str("include_all_metadata"))
	oldest, okOld := parseTS(p.str("oldest"))
	latest, okLatest := parseTS(p.str("latest"))
	if !okOld || !okLatest {
		return nil, nil, errCode("invalid_ts_oldest")
	}
	offset, ok := cursorOffset(p)
	if !ok {
		return nil, nil, errCode("invalid_cursor")
	}

	s.mu.Lock()
	var msgs []Message
	for _, m := range s.messages {
		if m.Method != "chat.postMessage" || dmChannel(m.Channel) != channel || m.ThreadTS != "" {
			continue
		}
		ts, _ := parseTS(m.TS)
		if after(ts, oldest, inclusive) && (latest.zero() || after(latest, ts, inclusive)) {
			msgs = append(msgs, m)
		}
	}
	s.mu.Unlock()
	slices.Reverse(msgs) // newest first

	offset = min(offset, len(msgs))
	end := min(offset+limit, len(msgs))
	out := []map[string]any{}
	for _, m := range msgs[offset:end] {
		v := posted(&m)
		if !withMeta {
			delete(v, "metadata")
		}
		out = append(out, v)
	}
	next := ""
	if end < len(msgs) {
		next = base64.StdEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(end)))
	}
	return map[string]any{
		"messages":          out,
		"has_more":          next != "",
		"pin_count":         0,
		"response_metadata": map[string]any{"next_cursor": next},
	}, &Message{Channel: channel}, nil
}

func isTrue(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

// slackTS is a message timestamp, "1700000000.000123", as two integers:
// a float64 would round its last digits.
type slackTS struct{ sec, micro int64 }

func (t slackTS) zero() bool { return t == slackTS{} }

// parseTS reads a timestamp; "" is the zero one.
func parseTS(v string) (slackTS, bool) {
	if v == "" {
		return slackTS{}, true
	}
	secs, frac, _ := strings.Cut(v, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return slackTS{}, false
	}
	var micro int64
	if frac != "" {
		frac = (frac + "000000")[:6]
		if micro, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return slackTS{}, false
		}
	}
	return slackTS{sec, micro}, true
}

// after reports a > b, or a >= b when inclusive.
func after(a, b slackTS, inclusive bool) bool {
	if a == b {
		return inclusive
	}
	return a.sec > b.sec || a.sec == b.sec && a.micro > b.micro
}
