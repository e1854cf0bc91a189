package presence

import (
	"testing"
)

// FuzzDecode feeds arbitrary bodies to the answer decoders: nothing may
// panic, and what they accept must be data the bot can trust.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"request_id":"r","http_code":200,"response":{"code":200,"status":"success","data":{"agents":[{"user_id":"agent_001","name":"John","status":"available","status_since":"2024-06-15T09:00:00.000Z","team":{"team_id":"sales","name":"Sales"}}],"summary":{"total_agents":1,"available":1}},"metadata":{"total":1,"limit":20,"offset":0}}}`,
		`{"response":{"data":{"user_id":"agent_001","status":"on-call","current_call":{"call_sid":"c","direction":"outbound","customer_number":"+1","duration":5}}}}`,
		`{"response":{"data":{"agents":null}}}`,
		`{"response":{"data":{"user_id":"","status":"busy"}}}`,
		`{"response":{"error":{"message":"nope"}}}`,
		`{"response":null}`,
		`[]`, `null`, `{`, ``, `{"response":{"data":{"agents":[{"user_id":"a","status":"napping"}],"summary":{}},"metadata":{"total":-1}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := decodeEnvelope(body)
		if err != nil {
			return
		}
		_ = env.message()
		if page, err := decodePage(env); err == nil {
			for _, a := range page.Agents {
				if a.ID == "" || !a.Status.Valid() {
					t.Fatalf("decodePage accepted an agent it cannot trust: %+v", a)
				}
			}
		}
		if a, err := decodeAgent(env); err == nil && (a.ID == "" || !a.Status.Valid()) {
			t.Fatalf("decodeAgent accepted an agent it cannot trust: %+v", a)
		}
	})
}
