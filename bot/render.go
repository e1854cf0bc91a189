package bot

import (
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/message"
)

// Render turns a message into Block Kit. It is pure, so golden files pin
// exactly what Slack receives. The message package already keeps each
// piece within Slack's limits; Render keeps the whole within them.
func Render(m message.Message) []slack.Block {
	return renderBlocks(m.Blocks, message.MaxBlocks)
}

// RenderView renders blocks for an App Home view, whose limit is higher.
func RenderView(blocks []message.Block) []slack.Block {
	return renderBlocks(blocks, message.MaxViewBlocks)
}

func renderBlocks(in []message.Block, limit int) []slack.Block {
	if len(in) > limit {
		// Keep the first limit-1 and say the rest was cut, rather than
		// have Slack refuse the whole message.
		in = append(in[:limit-1:limit-1], message.NewContext("_…more than fits in one message; narrow the query._"))
	}
	out := make([]slack.Block, 0, len(in))
	for _, b := range in {
		if sb := renderBlock(b); sb != nil {
			out = append(out, sb)
		}
	}
	return out
}

func renderBlock(b message.Block) slack.Block {
	switch b.Kind {
	case message.Header:
		return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, nonEmpty(b.Text), true, false))
	case message.Section:
		return slack.NewSectionBlock(mrkdwn(b.Text), nil, nil)
	case message.Fields:
		fields := make([]*slack.TextBlockObject, 0, len(b.Fields))
		for _, f := range b.Fields {
			fields = append(fields, mrkdwn(f))
		}
		if len(fields) == 0 {
			return nil
		}
		return slack.NewSectionBlock(nil, fields, nil)
	case message.Context:
		return slack.NewContextBlock("", mrkdwn(b.Text))
	case message.Divider:
		return slack.NewDividerBlock()
	case message.Actions:
		if len(b.Buttons) == 0 {
			return nil
		}
		elems := make([]slack.BlockElement, 0, len(b.Buttons))
		for _, btn := range b.Buttons {
			if utf8.RuneCountInString(btn.Value) > message.MaxButtonValue {
				// Slack refuses the whole message for one such button, and
				// a cut value would act on the wrong thing: the button is
				// left out, the text beside it still says what to type.
				continue
			}
			e := slack.NewButtonBlockElement(btn.ActionID, btn.Value,
				slack.NewTextBlockObject(slack.PlainTextType, message.Truncate(nonEmpty(btn.Label), message.MaxButtonText), true, false))
			if btn.Style != message.StyleDefault {
				e.Style = slack.Style(btn.Style)
			}
			elems = append(elems, e)
		}
		if len(elems) == 0 {
			return nil
		}
		return slack.NewActionBlock("", elems...)
	case message.Chart:
		if b.Chart == nil {
			return nil
		}
		return renderChart(*b.Chart)
	case message.Table:
		if b.Table == nil {
			return nil
		}
		return renderTable(*b.Table)
	}
	return nil
}

// renderChart is a line chart as a data_visualization block:
// https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block/
// (each series' points are labelled with their categories). Text is passed
// as the message model holds it, escaped like every text Slack receives.
func renderChart(c message.ChartData) *slack.DataVisualizationBlock {
	axis := slack.NewDataVisualizationAxisConfig(c.Categories...).WithXLabel(c.XLabel).WithYLabel(c.YLabel)
	series := make([]slack.DataVisualizationDataSeries, 0, len(c.Series))
	for _, s := range c.Series {
		points := make([]slack.DataVisualizationDataPoint, 0, len(s.Values))
		for i, v := range s.Values {
			if i < len(c.Categories) {
				points = append(points, slack.NewDataVisualizationDataPoint(c.Categories[i], v))
			}
		}
		series = append(series, slack.NewDataVisualizationDataSeries(s.Name, points...))
	}
	return slack.NewDataVisualizationBlock(c.Title, slack.NewDataVisualizationLineChart(axis, series...))
}

// renderTable is a table as a data_table block: a header row of raw_text,
// then raw_text cells, and raw_number cells for numeric columns so Slack
// sorts them as numbers (their text, when set, is what is shown):
// https://docs.slack.dev/reference/block-kit/blocks/data-table-block/
func renderTable(t message.TableData) *slack.DataTableBlock {
	dt := slack.NewDataTableBlock(t.Caption).WithPageSize(t.PageSize)
	header := make([]slack.DataTableCell, 0, len(t.Columns))
	for _, c := range t.Columns {
		header = append(header, slack.NewDataTableRawTextCell(c.Name))
	}
	dt.AddRow(header...)
	for _, row := range t.Rows {
		cells := make([]slack.DataTableCell, 0, len(row))
		for i, cell := range row {
			if i < len(t.Columns) && t.Columns[i].Numeric {
				cells = append(cells, slack.NewDataTableRawNumberCell(cell.Number).WithText(cell.Text))
				continue
			}
			cells = append(cells, slack.NewDataTableRawTextCell(cell.Text))
		}
		dt.AddRow(cells...)
	}
	return dt
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, nonEmpty(s), false, false)
}

// nonEmpty guards against Slack's refusal of empty text objects.
func nonEmpty(s string) string {
	if s == "" {
		return " "
	}
	return s
}

// webhookMessage is the body of a response_url post.
func webhookMessage(m message.Message) *slack.WebhookMessage {
	w := &slack.WebhookMessage{
		Text:            message.Truncate(m.Text, message.MaxMessageText),
		ResponseType:    slack.ResponseTypeEphemeral,
		ReplaceOriginal: m.ReplaceOriginal,
	}
	if m.Visibility == message.InChannel {
		w.ResponseType = slack.ResponseTypeInChannel
	}
	if blocks := Render(m); len(blocks) > 0 {
		w.Blocks = &slack.Blocks{BlockSet: blocks}
	}
	return w
}

// msgOptions are the chat.postMessage / chat.update options for m.
func msgOptions(m message.Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(message.Truncate(m.Text, message.MaxMessageText), false)}
	if blocks := Render(m); len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	return opts
}
