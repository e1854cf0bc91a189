package observe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// scrape serves m's handler over real HTTP, fetches /metrics in the text
// format and parses it.
func scrape(t *testing.T, m *Metrics) families {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	return scrapeURL(t, srv.Client(), srv.URL)
}

// scrapeURL fetches a text exposition from url and parses it.
func scrapeURL(t *testing.T, c *http.Client, url string) families {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ask for the plain text format, which is what the parser reads.
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: got HTTP %d (%s), want 200", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return families(mfs)
}

// families is a parsed scrape.
type families map[string]*dto.MetricFamily

// find returns the series of name whose labels include want, or nil.
func (f families) find(name string, want map[string]string) *dto.Metric {
	mf := f[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if hasLabels(m, want) {
			return m
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// value returns a counter's or gauge's value, failing when the series is
// missing.
func (f families) value(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	m := f.find(name, labels)
	if m == nil {
		t.Fatalf("%s%v: series missing; have %s", name, labels, f.series(name))
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

// histogram returns a histogram series, failing when it is missing.
func (f families) histogram(t *testing.T, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	m := f.find(name, labels)
	if m == nil || m.Histogram == nil {
		t.Fatalf("%s%v: histogram missing; have %s", name, labels, f.series(name))
	}
	return m.GetHistogram()
}

// bucket returns the cumulative count of h at upper bound le.
func bucket(t *testing.T, h *dto.Histogram, le float64) uint64 {
	t.Helper()
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Fatalf("no bucket with le=%g", le)
	return 0
}

// series lists the label sets of name, for failure messages.
func (f families) series(name string) string {
	mf := f[name]
	if mf == nil {
		return "no such metric"
	}
	var out []string
	for _, m := range mf.GetMetric() {
		var ls []string
		for _, lp := range m.GetLabel() {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		out = append(out, "{"+strings.Join(ls, ",")+"}")
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// l builds a label set from name, value pairs.
func l(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
