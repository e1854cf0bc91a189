// Package message is the chat-platform-neutral shape of everything the bot
// says: command answers, summaries, alerts. bot/ renders it as Slack Block
// Kit, console/ as terminal text. Text is Slack mrkdwn in which everything
// from the API or a user is already escaped with Escape.
package message

// Visibility says who sees a message.
type Visibility int

const (
	// Ephemeral messages are seen by the person who asked only.
	Ephemeral Visibility = iota
	// InChannel messages are posted for the whole channel.
	InChannel
)

// Message is one answer or post.
type Message struct {
	Visibility Visibility
	// Text is the plain summary Slack shows in notifications and where
	// blocks cannot be shown.
	Text   string
	Blocks []Block
	// ReplaceOriginal asks to replace the message a button was clicked in.
	ReplaceOriginal bool
	// Failed marks an answer that reports a failure of the contact center
	// or of Slack, for the command's log line and metrics.
	Failed bool
	// Refused marks an answer that turns the request down: bad input, not
	// allowed, an invalid transition, a stale button. Set where the
	// refusal is decided, never guessed from the text.
	Refused bool
	// Changed is the Slack user whose status (or queued status) this
	// answer changed, so their App Home can be refreshed; "" when none.
	Changed string
	// Drawing names an answer drawn once and given to many people (a
	// burst of /presence on one roster): a sender may encode it once for
	// all of them. nil: drawn for this answer alone. Whoever changes an
	// answer's text or blocks must set it to nil.
	Drawing *Drawing
}

// Drawing is the identity of one drawing of an answer (Message.Drawing).
type Drawing struct{ _ byte } // not zero-sized: each is a pointer of its own

// Outcomes of a command or click, the same in its log line and in
// presence_bot_commands_total.
const (
	OutcomeOK      = "ok"      // done as asked
	OutcomeRefused = "refused" // bad input, not allowed, invalid transition, unknown command
	OutcomeError   = "error"   // the person was told something failed
)

// Outcome is the answer's outcome: a failure wins over a refusal.
func (m Message) Outcome() string {
	switch {
	case m.Failed:
		return OutcomeError
	case m.Refused:
		return OutcomeRefused
	}
	return OutcomeOK
}

// Kind is the kind of a Block.
type Kind int

const (
	Header  Kind = iota // a title in plain text
	Section             // a paragraph of mrkdwn
	Fields              // up to 10 short mrkdwn fields in two columns
	Context             // small print
	Divider             // a rule
	Actions             // a row of buttons
	Chart               // a native line chart (Slack data_visualization)
	Table               // a native sortable, paged table (Slack data_table)
)

// Block is one piece of a message.
type Block struct {
	Kind    Kind
	Text    string
	Fields  []string
	Buttons []Button
	// Chart and Table are set only for those kinds.
	Chart *ChartData
	Table *TableData
	// Fallback is what replaces a Chart or Table block where rich blocks
	// are refused: classic blocks; may be empty.
	Fallback []Block
}

// Button is a one-click action. Value carries everything the click needs,
// because Slack sends no message content back for ephemeral messages.
type Button struct {
	Label    string
	ActionID string
	Value    string
	Style    Style
}

// ActionAckAlert is the action ID of an alert's Acknowledge button: the
// alerts make the button and the commands answer its click, so both name
// it from here.
const ActionAckAlert = "alert_ack"

// ActionSnoozeAlert is the action ID of an alert's [Snooze 1h] button.
const ActionSnoozeAlert = "alert_snooze"

// ActionEndSilence is the action ID of a silence's [End silence] button;
// its value is the silence's ID.
const ActionEndSilence = "silence_end"

// Style colours a button.
type Style string

const (
	StyleDefault Style = ""
	StylePrimary Style = "primary"
	StyleDanger  Style = "danger"
)

// Slack's limits, which every message must fit.
const (
	MaxBlocks      = 50
	MaxViewBlocks  = 100
	MaxSectionText = 3000
	MaxFields      = 10
	MaxFieldText   = 2000
	MaxHeaderText  = 150
	MaxButtons     = 25
	MaxButtonText  = 75
	MaxButtonValue = 2000
	MaxMessageText = 40000
)

// NewHeader is a title; s is plain text, already escaped.
func NewHeader(s string) Block { return Block{Kind: Header, Text: truncateEscaped(s, MaxHeaderText)} }

// NewSection is a paragraph of mrkdwn.
func NewSection(s string) Block {
	return Block{Kind: Section, Text: truncateEscaped(s, MaxSectionText)}
}

// NewContext is small print.
func NewContext(s string) Block {
	return Block{Kind: Context, Text: truncateEscaped(s, MaxSectionText)}
}

// NewFields is a block of short fields.
func NewFields(fields ...string) Block {
	if len(fields) > MaxFields {
		fields = fields[:MaxFields]
	}
	for i, f := range fields {
		fields[i] = truncateEscaped(f, MaxFieldText)
	}
	return Block{Kind: Fields, Fields: fields}
}

// NewDivider is a rule.
func NewDivider() Block { return Block{Kind: Divider} }

// NewActions is a row of buttons.
func NewActions(buttons ...Button) Block {
	if len(buttons) > MaxButtons {
		buttons = buttons[:MaxButtons]
	}
	return Block{Kind: Actions, Buttons: buttons}
}

// Reply is an ephemeral message of one section.
func Reply(text string) Message {
	return Message{Visibility: Ephemeral, Text: Summary(text), Blocks: []Block{NewSection(text)}}
}

// Summary turns mrkdwn into notification text: the first line, without
// bold or code marks, still escaped.
func Summary(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' {
			break
		}
		if r == '*' || r == '`' {
			continue
		}
		out = append(out, r)
	}
	return truncateEscaped(string(out), 200)
}
