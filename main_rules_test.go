package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// A rules file with an unknown key stops the run: exit 2 within a
// second, naming ALERT_RULES_FILE, the key and its line; check reports
// every problem as a FAILED line and exits 2 as well.
func TestBadRulesFileExitsTwo(t *testing.T) {
	isolate(t)
	reachable(t)
	unsetForTest(t, "ALERT_RULES_FILE")
	t.Setenv("ALERT_CHANNEL", "C0ALERTS")
	doc := "rules:\n  - name: sales\n    available_below: {warning: 3}\n    treshold: 3\n  - name: wrap\n    status_longer_than: {status: offline, after: 5m}\n"
	if err := os.WriteFile("alerts.yml", []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	start := time.Now()
	if code := run(nil, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("run: exit %d, want %d\nstderr:\n%s", code, exitConfig, stderr.String())
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("run: took %v, want under a second", took)
	}
	for _, w := range []string{`ALERT_RULES_FILE: alerts.yml:4: rule "sales": unknown key "treshold"`,
		`ALERT_RULES_FILE: alerts.yml:6: rule "wrap": status_longer_than.status: offline is not watched`} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("run: stderr lacks %q:\n%s", w, stderr.String())
		}
	}

	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"check"}, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("check: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitConfig, stdout.String(), stderr.String())
	}
	for _, w := range []string{`FAILED  alert rules      ALERT_RULES_FILE: alerts.yml:4: rule "sales": unknown key "treshold"`,
		`FAILED  alert rules      ALERT_RULES_FILE: alerts.yml:6: rule "wrap"`, "ok      slack bot token"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("check: stdout lacks %q:\n%s", w, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "alerts.yml:4") {
		t.Errorf("check: stderr does not name the problem:\n%s", stderr.String())
	}
}
