package ccmsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

func TestListPaging(t *testing.T) {
	roster := GenerateRoster(250, nil, t0, 7)
	f := newFixture(t, roster...)

	var got []string
	for _, tc := range []struct {
		offset, wantLen int
	}{
		{0, 100},   // a full first page
		{100, 100}, // a full second page
		{200, 50},  // the rest
		{250, 0},   // just past the end: empty, not an error
		{900, 0},   // far past the end
	} {
		l, total, limit, offset := f.list(t, "limit=100&offset="+strconv.Itoa(tc.offset))
		if len(l.Agents) != tc.wantLen {
			t.Errorf("offset %d: got %d agents, want %d", tc.offset, len(l.Agents), tc.wantLen)
		}
		if total != 250 || limit != 100 || offset != tc.offset {
			t.Errorf("offset %d: got metadata total=%d limit=%d offset=%d, want 250/100/%d",
				tc.offset, total, limit, offset, tc.offset)
		}
		if l.Summary.Total != 250 {
			t.Errorf("offset %d: got summary total_agents %d, want 250", tc.offset, l.Summary.Total)
		}
		got = append(got, ids(l.Agents)...)
	}
	want := ids(roster) // generated in ID order
	if !slices.Equal(got, want) {
		t.Errorf("got pages of %d IDs, want every agent once in ID order (%d)", len(got), len(want))
	}

	// Without a limit the spec's default page of 20 applies.
	l, _, limit, offset := f.list(t, "")
	if len(l.Agents) != 20 || limit != 20 || offset != 0 {
		t.Errorf("default: got %d agents, limit %d, offset %d; want 20, 20, 0", len(l.Agents), limit, offset)
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t,
		agent("a1", "sales_team", presence.Available),
		agent("a2", "sales_team", presence.Available),
		agent("a3", "sales_team", presence.OnCall),
		agent("a4", "sales_team", presence.Offline),
		agent("b1", "support_team", presence.Available),
		agent("b2", "support_team", presence.Busy),
		agent("b3", "support_team", presence.AfterCallWork),
		agent("c1", "", presence.Available), // no team
	)
	tests := []struct {
		name        string
		query       string
		wantIDs     []string
		wantTotal   int
		wantSummary presence.Summary
	}{
		// No filter: everyone, everyone counted.
		{"none", "", []string{"a1", "a2", "a3", "a4", "b1", "b2", "b3", "c1"}, 8,
			presence.Summary{Total: 8, Available: 4, OnCall: 1, Busy: 1, AfterCallWork: 1, Offline: 1}},
		// A status filter narrows the page and total, not the summary.
		{"status", "status=available", []string{"a1", "a2", "b1", "c1"}, 4,
			presence.Summary{Total: 8, Available: 4, OnCall: 1, Busy: 1, AfterCallWork: 1, Offline: 1}},
		// A team filter narrows all three.
		{"team", "team_id=sales_team", []string{"a1", "a2", "a3", "a4"}, 4,
			presence.Summary{Total: 4, Available: 2, OnCall: 1, Offline: 1}},
		// Both: the summary follows the team only, the total both.
		{"team and status", "team_id=sales_team&status=on-call", []string{"a3"}, 1,
			presence.Summary{Total: 4, Available: 2, OnCall: 1, Offline: 1}},
		// A status nobody in the team has: empty page, full team summary.
		{"no match", "team_id=support_team&status=offline", []string{}, 0,
			presence.Summary{Total: 3, Available: 1, Busy: 1, AfterCallWork: 1}},
		// An unknown team is empty, not an error.
		{"unknown team", "team_id=nobody", []string{}, 0, presence.Summary{}},
		// Paging applies after the filters.
		{"filtered page", "status=available&limit=2&offset=1", []string{"a2", "b1"}, 4,
			presence.Summary{Total: 8, Available: 4, OnCall: 1, Busy: 1, AfterCallWork: 1, Offline: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, total, _, _ := f.list(t, tt.query)
			if got := ids(l.Agents); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("got agents %v, want %v", got, tt.wantIDs)
			}
			if total != tt.wantTotal {
				t.Errorf("got metadata total %d, want %d", total, tt.wantTotal)
			}
			if l.Summary != tt.wantSummary {
				t.Errorf("got summary %+v, want %+v", l.Summary, tt.wantSummary)
			}
		})
	}
	// An empty page is [] on the wire, never null.
	a := f.do(t, http.MethodGet, f.path("/agents/presence?team_id=nobody"), "")
	if !strings.Contains(string(a.body), `"agents":[]`) {
		t.Errorf("got %s, want \"agents\":[]", a.body)
	}
}

func TestListRejectsBadQueries(t *testing.T) {
	f := newFixture(t, agent("a1", "", presence.Available))
	tests := []struct {
		name     string
		query    string
		wantCode int
		wantMsg  string // part of the error message
	}{
		// One more than the spec's maximum.
		{"limit 101", "limit=101", http.StatusBadRequest, "limit"},
		// The maximum itself is fine.
		{"limit 100", "limit=100", http.StatusOK, ""},
		// The smallest page is fine.
		{"limit 1", "limit=1", http.StatusOK, ""},
		// An empty page size makes no sense.
		{"limit 0", "limit=0", http.StatusBadRequest, "limit"},
		// Nor does a negative one.
		{"limit negative", "limit=-5", http.StatusBadRequest, "limit"},
		// Not a number.
		{"limit word", "limit=ten", http.StatusBadRequest, "limit"},
		// Not an integer.
		{"limit fraction", "limit=1.5", http.StatusBadRequest, "limit"},
		// Too large for an int.
		{"limit huge", "limit=99999999999999999999", http.StatusBadRequest, "limit"},
		// Offsets count from zero.
		{"offset negative", "offset=-1", http.StatusBadRequest, "offset"},
		// Not a number.
		{"offset word", "offset=x", http.StatusBadRequest, "offset"},
		// A status the spec does not list.
		{"status unknown", "status=sleeping", http.StatusBadRequest, "sleeping"},
		// Statuses use hyphens on the wire; underscores are for summary keys.
		{"status underscore", "status=on_call", http.StatusBadRequest, "on_call"},
		// Statuses are lower case on the wire.
		{"status upper case", "status=BUSY", http.StatusBadRequest, "BUSY"},
		// A query that is not URL-encoded properly.
		{"bad escape", "status=%zz", http.StatusBadRequest, "query"},
		// Unknown parameters are ignored, as most APIs do.
		{"unknown parameter", "colour=blue", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, http.MethodGet, f.path("/agents/presence?"+tt.query), "")
			if a.code != tt.wantCode {
				t.Fatalf("got %d, want %d (%s)", a.code, tt.wantCode, a.body)
			}
			if !strings.Contains(a.message(), tt.wantMsg) {
				t.Errorf("got message %q, want it to mention %q", a.message(), tt.wantMsg)
			}
		})
	}
}
