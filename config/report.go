package config

// Report configures the daily report (REPORT_CHANNEL, REPORT_SCHEDULE).
type Report struct {
	Channel string
	// Schedule is always a cron expression, read in TIMEZONE: the report
	// covers a day, so it is posted at set times, not every so often.
	Schedule Schedule
}

// Enabled reports whether the daily report is posted at all.
func (r Report) Enabled() bool { return r.Channel != "" }

// reportExample is the schedule the problems suggest.
const reportExample = "0 18 * * Mon-Fri"

// report reads REPORT_CHANNEL and REPORT_SCHEDULE. The schedule is
// checked even while the report is off, so a typo shows before the day
// the channel is set.
func (l *loader) report() Report {
	r := Report{Channel: l.channel("REPORT_CHANNEL")}
	const name = "REPORT_SCHEDULE"
	v := l.str(name)
	switch {
	case v == "" && r.Channel != "":
		l.addf(name, "required when REPORT_CHANNEL is set: a cron expression in TIMEZONE, such as %q", reportExample)
	case v != "":
		s, err := ParseSchedule(v)
		switch {
		case err != nil:
			l.addf(name, "%q: %v", v, err)
		case s.Cron == "":
			l.addf(name, "%q: want a cron expression such as %q (5 fields, or 6 with leading seconds), not a duration: the report covers a day", v, reportExample)
		default:
			r.Schedule = s
		}
	}
	l.ignoredIf(r.Channel == "", "the daily report is off (REPORT_CHANNEL is not set)", name)
	return r
}
