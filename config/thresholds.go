package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// TeamThreshold is one team's alert threshold (ALERT_TEAM_THRESHOLDS), with
// the same meaning as Alert.Threshold but counting only the team's agents.
type TeamThreshold struct {
	TeamID string
	Min    int
}

// ParseTeamThresholds reads "sales_team=3,support_team=5", tolerating
// spaces around names, numbers and commas, and keeping the order given. An
// empty string is no thresholds. The error lists every bad entry, each on
// its own line and named.
func ParseTeamThresholds(s string) ([]TeamThreshold, error) {
	teams, errs := parseTeamThresholds(s)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return teams, nil
}

// parseTeamThresholds returns the good entries and one error per bad one, so
// Load can report each as its own problem.
func parseTeamThresholds(s string) ([]TeamThreshold, []error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var (
		teams []TeamThreshold
		errs  []error
		seen  = map[string]bool{}
	)
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			errs = append(errs, fmt.Errorf("entry %d is empty", i+1))
			continue
		}
		team, num, ok := strings.Cut(entry, "=")
		team, num = strings.TrimSpace(team), strings.TrimSpace(num)
		n, err := strconv.Atoi(num)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("entry %q: want team_id=number", entry))
		case team == "":
			errs = append(errs, fmt.Errorf("entry %q: empty team ID", entry))
		case strings.ContainsFunc(team, unicode.IsSpace):
			errs = append(errs, fmt.Errorf("entry %q: team ID %q contains spaces", entry, team))
		case err != nil || n < 0:
			errs = append(errs, fmt.Errorf("entry %q: threshold %q is not a non-negative whole number", entry, num))
		case seen[team]:
			errs = append(errs, fmt.Errorf("entry %q: team %q is listed twice", entry, team))
		default:
			seen[team] = true
			teams = append(teams, TeamThreshold{TeamID: team, Min: n})
		}
	}
	return teams, errs
}
