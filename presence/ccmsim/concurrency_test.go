package ccmsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

func TestConcurrentRequests(t *testing.T) {
	const agents, workers, perWorker = 1000, 32, 25
	f := newFixture(t, GenerateRoster(agents, nil, t0, 11)...)
	client := f.srv.Client()

	ctx, stop := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	// Alive mode and fault flips run alongside the requests.
	bg.Go(func() {
		for ctx.Err() == nil {
			f.clock.Advance(1)
			f.sim.Step()
		}
	})
	bg.Go(func() {
		for ctx.Err() == nil {
			f.sim.Inject(Fault{Code: 503, Times: 1})
			f.sim.SetLatency(0)
			f.sim.ClearFaults()
			_ = f.sim.Agents()
		}
	})

	errs := make(chan error, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("agent_%04d", 1+(w*perWorker+i)%agents)
				var req *http.Request
				switch i % 3 {
				case 0:
					req, _ = http.NewRequest(http.MethodGet, f.srv.URL+f.path(fmt.Sprintf("/agents/presence?limit=100&offset=%d", i*40)), nil)
				case 1:
					req, _ = http.NewRequest(http.MethodGet, f.srv.URL+f.path("/agents/"+id+"/presence"), nil)
				default:
					body := `{"status":"` + string(presence.ManualStatuses[i%len(presence.ManualStatuses)]) + `"}`
					req, _ = http.NewRequest(http.MethodPut, f.srv.URL+f.path("/agents/"+id+"/presence"), strings.NewReader(body))
				}
				req.Header.Set("Authorization", "Bearer "+f.sim.Token())
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && req.Method == http.MethodPut && resp.StatusCode == http.StatusNoContent && len(raw) == 0 {
					continue // a change made: the default PUT answer has no body
				}
				var env testEnvelope
				if err == nil {
					err = json.Unmarshal(raw, &env)
				}
				if err != nil || env.HTTPCode != resp.StatusCode {
					errs <- fmt.Errorf("%s %s: got %d %s (%v), want an envelope with the same code",
						req.Method, req.URL.Path, resp.StatusCode, raw, err)
				}
			}
		})
	}
	wg.Wait()
	stop()
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if got := f.sim.Stats().Total; got != workers*perWorker {
		t.Errorf("got %d requests counted, want %d", got, workers*perWorker)
	}
	l, total, _, _ := f.list(t, "")
	var sum int
	for _, st := range presence.Statuses {
		sum += l.Summary.Count(st)
	}
	if l.Summary.Total != agents || sum != agents || total != agents {
		t.Errorf("got summary %+v (statuses add to %d), total %d; want %d everywhere", l.Summary, sum, total, agents)
	}
}
