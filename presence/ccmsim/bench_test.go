package ccmsim

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkList measures one list page on the benchmark's 5,000 agents,
// without HTTP, so the simulator's own cost is visible.
func BenchmarkList(b *testing.B) {
	for _, query := range []string{"limit=100&offset=2500", "limit=100&offset=2500&status=available&team_id=sales_team"} {
		b.Run(query, func(b *testing.B) {
			s := New(Options{})
			s.Add(GenerateRoster(5000, nil, t0, 1)...)
			req := httptest.NewRequest(http.MethodGet, "/v2/accounts/ACsim/agents/presence?"+query, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token())
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("got %d, want 200", rec.Code)
				}
			}
		})
	}
}
