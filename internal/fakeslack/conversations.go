package fakeslack

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Channel is a conversation conversations.list knows.
type Channel struct {
	ID, Name string
	// Private channels are listed only with types=private_channel, and
	// only when the bot is a member, as Slack does for a bot token.
	Private bool
	// Archived channels are listed unless exclude_archived is set.
	Archived bool
	// Member is is_member: whether the bot is in the channel.
	Member bool
}

// channelDirectory is the workspace's channels, in the order added. Its
// zero value is empty; it is guarded by Server.mu.
type channelDirectory struct {
	channels []Channel
	// missing are the scopes the bot token lacks (SetMissingScopes).
	missing map[string]bool
}

// AddChannel adds a channel, or replaces the one with the same ID in
// place.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.directory
	if i := slices.IndexFunc(d.channels, func(x Channel) bool { return x.ID == c.ID }); i >= 0 {
		d.channels[i] = c
		return
	}
	d.channels = append(d.channels, c)
}

// SetMissingScopes makes the bot token lack these scopes (channels:read,
// groups:read, im:read, mpim:read), so that conversations.list answers
// missing_scope for the types that need them. No arguments: every scope
// is granted again.
func (s *Server) SetMissingScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.directory.missing = make(map[string]bool, len(scopes))
	for _, sc := range scopes {
		s.directory.missing[sc] = true
	}
}

// typeScopes is the scope each conversation type needs, per the method's
// reference.
var typeScopes = map[string]string{
	"public_channel":  "channels:read",
	"private_channel": "groups:read",
	"mpim":            "mpim:read",
	"im":              "im:read",
}

const (
	defaultListLimit = 100
	maxListLimit     = 999 // "specify a limit value under 1000"
	cursorPrefix     = "offset:"
)

// listConversations is conversations.list as documented at
// https://docs.slack.dev/reference/methods/conversations.list: types
// (default public_channel), limit (default 100, under 1000), an opaque
// cursor and exclude_archived. Filters apply after a virtual page is cut,
// as the reference says, so a page may hold fewer channels than the limit
// before the end; the answer is {"ok":true,"channels":[…],
// "response_metadata":{"next_cursor":""}} with an empty cursor on the
// last page. Only channels are known here: im and mpim list nothing.
func (s *Server) listConversations(p params, _ time.Time) (map[string]any, *Message, *apiError) {
	types := map[string]bool{"public_channel": true}
	if v := p.str("types"); v != "" {
		types = make(map[string]bool)
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if _, ok := typeScopes[t]; !ok {
				return nil, nil, errCode("invalid_types")
			}
			types[t] = true
		}
	}
	limit := defaultListLimit
	if v := p.str("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxListLimit {
			return nil, nil, errCode("invalid_limit")
		}
		if n > 0 {
			limit = n
		}
	}
	offset, ok := cursorOffset(p)
	if !ok {
		return nil, nil, errCode("invalid_cursor")
	}
	excludeArchived, _ := strconv.ParseBool(p.str("exclude_archived"))

	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range types {
		if s.directory.missing[typeScopes[t]] {
			return nil, nil, errCode("missing_scope")
		}
	}
	var visible []Channel
	for _, c := range s.directory.channels {
		if c.Private && types["private_channel"] && c.Member || !c.Private && types["public_channel"] {
			visible = append(visible, c)
		}
	}
	offset = min(offset, len(visible))
	end := min(offset+limit, len(visible))
	channels := []map[string]any{}
	for _, c := range visible[offset:end] {
		if excludeArchived && c.Archived {
			continue
		}
		channels = append(channels, conversation(c))
	}
	next := ""
	if end < len(visible) {
		next = base64.StdEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(end)))
	}
	return map[string]any{
		"channels":          channels,
		"response_metadata": map[string]any{"next_cursor": next},
	}, nil, nil
}

// conversation is a channel as conversations.list shows it (the
// reference's example, less the topic and purpose).
func conversation(c Channel) map[string]any {
	return map[string]any{
		"id":                    c.ID,
		"name":                  c.Name,
		"name_normalized":       c.Name,
		"is_channel":            true,
		"is_group":              false,
		"is_im":                 false,
		"is_mpim":               false,
		"is_private":            c.Private,
		"is_archived":           c.Archived,
		"is_general":            c.Name == "general",
		"is_member":             c.Member,
		"is_shared":             false,
		"is_ext_shared":         false,
		"is_org_shared":         false,
		"is_pending_ext_shared": false,
		"context_team_id":       TeamID,
		"created":               1449252889,
		"creator":               BotUserID,
		"unlinked":              0,
		"pending_shared":        []string{},
		"previous_names":        []string{},
	}
}

// cursorOffset reads the cursor of a paged call (one this fake issued:
// base64 of cursorPrefix and an offset); 0 without one, false for a cursor
// it did not issue.
func cursorOffset(p params) (int, bool) {
	v := p.str("cursor")
	if v == "" {
		return 0, true
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	n, aerr := strconv.Atoi(rest)
	if err != nil || !ok || aerr != nil || n < 0 {
		return 0, false
	}
	return n, true
}
