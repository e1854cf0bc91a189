package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Message is one successful Web API call (apps.connections.open and
// auth.test included, with only Method and At) or response_url post, as the
// fake recorded it. Calls that fail (bad token, FailNext, invalid blocks…)
// are counted by Calls but not recorded.
type Message struct {
	// Method is the Web API method ("chat.postMessage", "views.publish", …)
	// or "response_url".
	Method string
	// Channel is the channel as sent; for response_url posts, the channel
	// of the envelope whose URL was used.
	Channel string
	// User is the user argument (user, user_id, users); for response_url
	// posts, the user of the envelope.
	User                             string
	Text, TS, ThreadTS, ResponseType string
	ReplaceOriginal, DeleteOriginal  bool
	// Blocks is the "blocks" field as sent, or the view for views.publish.
	Blocks json.RawMessage
	// EnvelopeID is set for response_url posts: the envelope whose URL was
	// used.
	EnvelopeID string
	// Metadata is the message metadata as sent (chat.postMessage,
	// chat.update), {"event_type":…,"event_payload":{…}}; nil for none.
	Metadata json.RawMessage
	At       time.Time
}

type failure struct {
	slackErr   string
	retryAfter time.Duration
	n          int
}

// apiError is a Web API error code with optional detail lines, as Slack puts
// them in response_metadata.messages.
type apiError struct {
	code     string
	messages []string
}

func errCode(code string) *apiError { return &apiError{code: code} }

// tokenKind is the token a method needs.
type tokenKind int

const (
	botToken tokenKind = iota
	appToken
)

type apiMethod struct {
	token tokenKind
	call  func(s *Server, p params, at time.Time) (map[string]any, *Message, *apiError)
}

// apiMethods is the Web API subset the fake serves.
var apiMethods = map[string]apiMethod{
	"apps.connections.open": {appToken, (*Server).connectionsOpen},
	"auth.test":             {botToken, (*Server).authTest},
	"chat.postMessage":      {botToken, (*Server).postMessage},
	"chat.postEphemeral":    {botToken, (*Server).postEphemeral},
	"chat.update":           {botToken, (*Server).updateMessage},
	"chat.delete":           {botToken, (*Server).deleteMessage},
	"views.publish":         {botToken, (*Server).publishView},
	"users.info":            {botToken, (*Server).userInfo},
	"conversations.open":    {botToken, (*Server).openConversation},
	"conversations.list":    {botToken, (*Server).listConversations},
	"conversations.history": {botToken, (*Server).history},
}

// FailNext makes the next n calls of method ("response_url" for response_url
// posts) answer {"ok":false,"error":slackErr}. For "rate_limited" (or Slack's
// own "ratelimited") the answer is HTTP 429 with Retry-After set to
// retryAfter in whole seconds, rounded up. Calls queue behind earlier
// FailNext calls for the same method.
func (s *Server) FailNext(method string, n int, slackErr string, retryAfter time.Duration) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], failure{slackErr: slackErr, retryAfter: retryAfter, n: n})
}

// SetLatency delays every answer to method by d (zero removes the delay).
func (s *Server) SetLatency(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.latency, method)
		return
	}
	s.latency[method] = d
}

// Calls is how many requests for method arrived, failed ones included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Messages returns the recorded messages in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// WaitMessage waits for the first recorded message, in arrival order, that
// match accepts; earlier ones count. match runs without the server's lock.
func (s *Server) WaitMessage(ctx context.Context, match func(Message) bool) (Message, error) {
	next := 0
	for {
		s.mu.Lock()
		// Recorded messages are never modified, so the tail can be read
		// after unlocking even if appends move the slice.
		tail := s.messages[next:]
		ch := s.msgSig.wait()
		closed := s.closed
		s.mu.Unlock()
		for _, m := range tail {
			if match(m) {
				return m, nil
			}
		}
		next += len(tail)
		if closed {
			return Message{}, fmt.Errorf("wait message: %w", ErrClosed)
		}
		select {
		case <-ch:
		case <-s.done:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("fakeslack: wait message: %w", ctx.Err())
		}
	}
}

// begin counts a call and takes its latency and any queued failure.
func (s *Server) begin(method string) (time.Duration, *failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	lat := s.latency[method]
	q := s.failures[method]
	if len(q) == 0 {
		return lat, nil
	}
	f := q[0]
	if q[0].n--; q[0].n == 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.failures, method)
	} else {
		s.failures[method] = q
	}
	return lat, &f
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	s.msgSig.broadcast()
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	defer discard(r.Body)
	method := r.PathValue("method")
	at := s.now()
	lat, f := s.begin(method)
	leave, ok := s.arrive(r.Context(), method)
	defer leave()
	if !ok {
		return
	}
	if !s.sleep(r.Context(), lat) {
		return
	}
	if f != nil {
		writeFailure(w, f)
		return
	}
	m, known := apiMethods[method]
	if !known {
		writeJSON(w, http.StatusOK, errorBody(errCode("unknown_method")))
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.log.Debug("fakeslack: bad request body", "method", method, "err", err)
		writeJSON(w, http.StatusOK, errorBody(errCode("invalid_form_data")))
		return
	}
	if code := checkToken(requestToken(r, p), m.token); code != "" {
		writeJSON(w, http.StatusOK, errorBody(errCode(code)))
		return
	}
	res, msg, apiErr := m.call(s, p, at)
	if apiErr != nil {
		writeJSON(w, http.StatusOK, errorBody(apiErr))
		return
	}
	if msg == nil {
		msg = &Message{}
	}
	msg.Method, msg.At = method, at
	s.record(*msg)
	if res == nil {
		res = make(map[string]any, 1)
	}
	res["ok"] = true
	writeJSON(w, http.StatusOK, res)
}

// responseBody is what a response_url accepts.
type responseBody struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	defer discard(r.Body)
	const method = "response_url"
	at := s.now()
	lat, f := s.begin(method)
	leave, ok := s.arrive(r.Context(), method)
	defer leave()
	if !ok {
		return
	}
	s.mu.Lock()
	ru := s.responses[r.PathValue("id")]
	s.mu.Unlock()
	if ru == nil || at.Sub(ru.issued) > responseURLLife {
		writeJSON(w, http.StatusNotFound, errorBody(errCode("expired_url")))
		return
	}
	if !s.sleep(r.Context(), lat) {
		return
	}
	if f != nil {
		writeFailure(w, f)
		return
	}
	var body responseBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&body); err != nil {
		writeJSON(w, http.StatusOK, errorBody(errCode("invalid_payload")))
		return
	}
	blocks := normalizeBlocks(body.Blocks)
	if !body.DeleteOriginal {
		if apiErr := checkContent(body.Text, blocks, maxMessageBlocks, s.refuseRich.Load()); apiErr != nil {
			// Slack refuses a response_url post as it does an incoming
			// webhook's: an HTTP 400 whose body is the error code as plain
			// text (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks;
			// "400 invalid_blocks" with no detail, as reported in
			// https://github.com/slackapi/java-slack-sdk/issues/1017).
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, apiErr.code)
			return
		}
	}
	s.mu.Lock()
	ru.uses++
	used := ru.uses > maxResponseURLUses
	s.mu.Unlock()
	if used {
		writeJSON(w, http.StatusOK, errorBody(errCode("used_url")))
		return
	}
	s.record(Message{
		Method:          method,
		Channel:         ru.channel,
		User:            ru.user,
		Text:            body.Text,
		ThreadTS:        body.ThreadTS,
		ResponseType:    body.ResponseType,
		ReplaceOriginal: body.ReplaceOriginal,
		DeleteOriginal:  body.DeleteOriginal,
		Blocks:          blocks,
		EnvelopeID:      ru.envelopeID,
		At:              at,
	})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) connectionsOpen(params, time.Time) (map[string]any, *Message, *apiError) {
	ticket := randomHex(16)
	s.mu.Lock()
	s.tickets[ticket] = true
	s.mu.Unlock()
	u := "ws" + strings.TrimPrefix(s.base, "http") + "/link/?ticket=" + ticket + "&app_id=" + AppID
	return map[string]any{"url": u}, nil, nil
}

func (s *Server) authTest(params, time.Time) (map[string]any, *Message, *apiError) {
	return map[string]any{
		"url":     TeamURL,
		"team":    TeamName,
		"user":    "presence-bot",
		"team_id": TeamID,
		"user_id": BotUserID,
		"bot_id":  BotID,
	}, nil, nil
}

func (s *Server) postMessage(p params, at time.Time) (map[string]any, *Message, *apiError) {
	msg, apiErr := chatMessage(p, s.refuseRich.Load())
	if apiErr != nil {
		return nil, nil, apiErr
	}
	msg.TS = s.newTS(at)
	return map[string]any{
		"channel": dmChannel(msg.Channel),
		"ts":      msg.TS,
		"message": posted(msg),
	}, msg, nil
}

func (s *Server) postEphemeral(p params, at time.Time) (map[string]any, *Message, *apiError) {
	msg, apiErr := chatMessage(p, s.refuseRich.Load())
	if apiErr != nil {
		return nil, nil, apiErr
	}
	if msg.User == "" {
		return nil, nil, errCode("user_not_in_channel")
	}
	msg.TS = s.newTS(at)
	return map[string]any{"message_ts": msg.TS}, msg, nil
}

func (s *Server) updateMessage(p params, _ time.Time) (map[string]any, *Message, *apiError) {
	msg, apiErr := chatMessage(p, s.refuseRich.Load())
	if apiErr != nil {
		return nil, nil, apiErr
	}
	if msg.TS = p.str("ts"); msg.TS == "" {
		return nil, nil, errCode("message_not_found")
	}
	return map[string]any{
		"channel": dmChannel(msg.Channel),
		"ts":      msg.TS,
		"text":    msg.Text,
		"message": posted(msg),
	}, msg, nil
}

func (s *Server) deleteMessage(p params, _ time.Time) (map[string]any, *Message, *apiError) {
	msg := &Message{Channel: p.str("channel"), TS: p.str("ts")}
	if msg.Channel == "" {
		return nil, nil, errCode("channel_not_found")
	}
	if msg.TS == "" {
		return nil, nil, errCode("message_not_found")
	}
	return map[string]any{"channel": dmChannel(msg.Channel), "ts": msg.TS}, msg, nil
}

func (s *Server) publishView(p params, _ time.Time) (map[string]any, *Message, *apiError) {
	user := p.str("user_id")
	view := p.raw("view")
	if user == "" || len(view) == 0 {
		return nil, nil, errCode("invalid_arguments")
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(view, &v); err != nil || v == nil {
		return nil, nil, errCode("invalid_arguments")
	}
	if typ := stringField(v, "type"); typ != "home" {
		return nil, nil, &apiError{code: "invalid_arguments", messages: []string{fmt.Sprintf("[ERROR] view type must be home, not %q [json-pointer:/view/type]", typ)}}
	}
	if apiErr := validateBlocks(v["blocks"], maxViewBlocks, "/view/blocks", s.refuseRich.Load()); apiErr != nil {
		return nil, nil, apiErr
	}
	// The view object as Slack returns it and later sends back in
	// block_actions (views.publish reference, "Response"): the fields we
	// set, plus the ones Slack adds.
	v["id"] = mustJSON(s.nextID("V"))
	v["team_id"] = mustJSON(TeamID)
	v["app_id"] = mustJSON(AppID)
	v["app_installed_team_id"] = mustJSON(TeamID)
	v["bot_id"] = mustJSON(BotID)
	v["hash"] = mustJSON(s.nextID("hash."))
	v["state"] = mustJSON(map[string]any{"values": map[string]any{}})
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		setDefault(v, k, "")
	}
	// A Home view comes back with a title and the modal fields, null or
	// false, as in the corpus's block_actions_home.json.
	if _, ok := v["title"]; !ok {
		v["title"] = mustJSON(map[string]any{"type": "plain_text", "text": "View Title", "emoji": true})
	}
	for _, k := range []string{"close", "submit"} {
		if _, ok := v[k]; !ok {
			v[k] = json.RawMessage("null")
		}
	}
	for _, k := range []string{"clear_on_close", "notify_on_close"} {
		if _, ok := v[k]; !ok {
			v[k] = json.RawMessage("false")
		}
	}
	v["previous_view_id"], v["root_view_id"] = json.RawMessage("null"), v["id"]
	stored, err := json.Marshal(v)
	if err != nil {
		return nil, nil, errCode("internal_error")
	}
	s.mu.Lock()
	s.homes[user] = stored
	s.mu.Unlock()
	return map[string]any{"view": v}, &Message{User: user, Blocks: view}, nil
}

func (s *Server) userInfo(p params, _ time.Time) (map[string]any, *Message, *apiError) {
	id := p.str("user")
	s.mu.Lock()
	u, ok := s.users[id]
	s.mu.Unlock()
	if !ok {
		return nil, nil, errCode("user_not_found")
	}
	return map[string]any{"user": map[string]any{
		"id":        u.ID,
		"team_id":   TeamID,
		"name":      u.Name,
		"real_name": u.RealName,
		"is_bot":    u.IsBot,
		"deleted":   false,
		"tz":        "UTC",
		"profile": map[string]any{
			"real_name":    u.RealName,
			"display_name": u.Name,
			"email":        u.Email,
			"team":         TeamID,
		},
	}}, &Message{User: id}, nil
}

// openConversation is conversations.open as documented at
// https://docs.slack.dev/reference/methods/conversations.open: 1 to 8
// user IDs (one opens their IM), or the ID of an IM or MPIM to resume.
// Opening a conversation again returns it with no_op and already_open.
// Users are not looked up (tests DM users they never added), but what is
// no user ID at all is user_not_found, as Slack answers.
func (s *Server) openConversation(p params, _ time.Time) (map[string]any, *Message, *apiError) {
	users, channel := p.str("users"), p.str("channel")
	ids := strings.Split(users, ",")
	switch {
	case channel != "":
		if channel[0] != 'D' && channel[0] != 'G' {
			return nil, nil, errCode("method_not_supported_for_channel_type")
		}
	case users == "":
		return nil, nil, errCode("users_list_not_supplied")
	case len(ids) > 8:
		return nil, nil, errCode("too_many_users")
	case slices.ContainsFunc(ids, func(id string) bool { return len(id) < 2 || id[0] != 'U' && id[0] != 'W' }):
		return nil, nil, errCode("user_not_found")
	case len(ids) > 1:
		slices.Sort(ids)
		channel = "G" + strings.Join(ids, "")
	default:
		channel = dmChannel(users)
	}
	s.mu.Lock()
	already := s.opened[channel]
	if s.opened == nil {
		s.opened = make(map[string]bool)
	}
	s.opened[channel] = true
	s.mu.Unlock()
	return map[string]any{
		"channel":      map[string]any{"id": channel, "is_im": strings.HasPrefix(channel, "D")},
		"no_op":        already,
		"already_open": already,
	}, &Message{Channel: channel, User: users}, nil
}

// chatMessage reads and checks the fields chat.postMessage, postEphemeral
// and update share; refuseRich refuses every rich block.
func chatMessage(p params, refuseRich bool) (*Message, *apiError) {
	msg := &Message{
		Channel:  p.str("channel"),
		User:     p.str("user"),
		Text:     p.str("text"),
		ThreadTS: p.str("thread_ts"),
		Blocks:   normalizeBlocks(p.raw("blocks")),
	}
	if msg.Channel == "" {
		return nil, errCode("channel_not_found")
	}
	if len(msg.Blocks) == 0 && msg.Text == "" && len(p.raw("attachments")) == 0 {
		return nil, errCode("no_text")
	}
	if apiErr := checkContent(msg.Text, msg.Blocks, maxMessageBlocks, refuseRich); apiErr != nil {
		return nil, apiErr
	}
	meta, apiErr := checkMetadata(p.raw("metadata"))
	if apiErr != nil {
		return nil, apiErr
	}
	msg.Metadata = meta
	return msg, nil
}

// posted is the message object chat.postMessage and chat.update answer with.
func posted(m *Message) map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "user": BotUserID, "bot_id": BotID, "ts": m.TS}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if len(m.Metadata) > 0 {
		out["metadata"] = m.Metadata
	}
	return out
}

// dmChannel maps a user ID to the ID of the bot's DM with them, as Slack
// does when a message is posted to a user ID; other IDs are returned as is.
func dmChannel(id string) string {
	if len(id) > 1 && (id[0] == 'U' || id[0] == 'W') {
		return "D" + id[1:]
	}
	return id
}

// newTS makes a message timestamp unique within the server.
func (s *Server) newTS(at time.Time) string {
	return fmt.Sprintf("%d.%06d", at.Unix(), s.seq.Add(1)%1_000_000)
}

// params are a request's arguments, from a form or a JSON body.
type params struct {
	form url.Values
	json map[string]json.RawMessage
}

func parseParams(w http.ResponseWriter, r *http.Request) (params, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var p params
		if err := json.NewDecoder(r.Body).Decode(&p.json); err != nil && !errors.Is(err, io.EOF) {
			return params{}, fmt.Errorf("decode JSON body: %w", err)
		}
		p.form = r.URL.Query()
		return p, nil
	}
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return params{}, fmt.Errorf("parse multipart form: %w", err)
		}
	} else if err := r.ParseForm(); err != nil {
		return params{}, fmt.Errorf("parse form: %w", err)
	}
	return params{form: r.Form}, nil
}

// str returns an argument as a string; JSON numbers and booleans as written.
func (p params) str(key string) string {
	if raw, ok := p.json[key]; ok {
		var v string
		if err := json.Unmarshal(raw, &v); err == nil {
			return v
		}
		if s := string(raw); s != "null" {
			return s
		}
		return ""
	}
	return p.form.Get(key)
}

// raw returns an argument as JSON: a form field holds JSON text.
func (p params) raw(key string) json.RawMessage {
	if raw, ok := p.json[key]; ok {
		if string(raw) == "null" {
			return nil
		}
		return raw
	}
	if v := p.form.Get(key); v != "" {
		return json.RawMessage(v)
	}
	return nil
}

// requestToken takes the token from the Authorization header, else from the
// token argument (slack-go sends form methods that way).
func requestToken(r *http.Request, p params) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return p.str("token")
}

func checkToken(tok string, want tokenKind) string {
	switch {
	case want == botToken && tok == BotToken, want == appToken && tok == AppToken:
		return ""
	case tok == BotToken, tok == AppToken:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

func errorBody(e *apiError) map[string]any {
	body := map[string]any{"ok": false, "error": e.code}
	if len(e.messages) > 0 {
		body["response_metadata"] = map[string]any{"messages": e.messages}
	}
	return body
}

func writeFailure(w http.ResponseWriter, f *failure) {
	if f.slackErr == "rate_limited" || f.slackErr == "ratelimited" {
		secs := int64((f.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeJSON(w, http.StatusTooManyRequests, errorBody(errCode(f.slackErr)))
		return
	}
	writeJSON(w, http.StatusOK, errorBody(errCode(f.slackErr)))
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
