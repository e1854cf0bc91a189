package presence

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// The compact form of a roster, as the fleet shares it: a magic naming
// the format, then, deflated, the fetch time, the counts, a table of the
// teams (each agent names its team by number), and per agent the fields
// the snapshot's readers use: ID, name, email (the directory matches
// Slack users by it), status, status_since and the day's stats. The
// device and the current call are left out: lists do not carry the call,
// and one agent's details come from Get. Under 30 bytes per agent: 143 KB
// for 5,000 agents, 577 KB for 20,000 (redisstate's
// TestRosterStoreCompactSize).
const (
	rosterMagic = "PBR1"
	agentMagic  = "PBA1"
	// maxDecoded bounds what a stored roster may inflate to, so damaged
	// data cannot exhaust memory: far above 20,000 agents' ~2 MB.
	maxDecoded = 64 << 20
)

// Per-agent flags.
const (
	hasSince byte = 1 << iota
	hasTeam
	hasStats
)

var errShort = errors.New("data ends early")

// EncodeRoster is the compact form of a roster fetched at fetchedAt, with
// its counts.
func EncodeRoster(fetchedAt time.Time, sum Summary, agents []Agent) []byte {
	var raw []byte
	raw = binary.AppendVarint(raw, fetchedAt.UnixNano())
	for _, n := range []int{sum.Total, sum.Available, sum.OnCall, sum.Busy, sum.AfterCallWork, sum.Offline} {
		raw = binary.AppendVarint(raw, int64(n))
	}
	teams := map[Team]int{}
	var order []Team
	for _, a := range agents {
		if a.Team != nil {
			if _, ok := teams[*a.Team]; !ok {
				teams[*a.Team] = len(order)
				order = append(order, *a.Team)
			}
		}
	}
	raw = binary.AppendUvarint(raw, uint64(len(order)))
	for _, t := range order {
		raw = appendString(raw, t.ID)
		raw = appendString(raw, t.Name)
	}
	raw = binary.AppendUvarint(raw, uint64(len(agents)))
	for _, a := range agents {
		raw = appendAgent(raw, a, fetchedAt, teams)
	}
	var b bytes.Buffer
	b.WriteString(rosterMagic)
	// Deflate at its fastest: names and emails repeat enough that it
	// still shrinks the roster about threefold, in a few milliseconds.
	w, _ := flate.NewWriter(&b, flate.BestSpeed) // the level is valid
	_, _ = w.Write(raw)                          // a bytes.Buffer never fails
	_ = w.Close()
	return b.Bytes()
}

// DecodeRoster reads EncodeRoster's form: the fetch time, the counts and
// the agents. Damaged or foreign data is an error.
func DecodeRoster(data []byte) (time.Time, Summary, []Agent, error) {
	fail := func(err error) (time.Time, Summary, []Agent, error) {
		return time.Time{}, Summary{}, nil, fmt.Errorf("decode roster: %w", err)
	}
	rest, ok := bytes.CutPrefix(data, []byte(rosterMagic))
	if !ok {
		return fail(errors.New("not a roster of this format"))
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(rest)), maxDecoded+1))
	if err != nil {
		return fail(err)
	}
	if len(raw) > maxDecoded {
		return fail(errors.New("too large"))
	}
	r := &reader{b: raw}
	at := time.Unix(0, r.varint()).UTC()
	var counts [6]int
	for i := range counts {
		counts[i] = int(r.varint())
	}
	sum := Summary{Total: counts[0], Available: counts[1], OnCall: counts[2], Busy: counts[3], AfterCallWork: counts[4], Offline: counts[5]}
	nteams := r.count(2) // each team takes at least two bytes
	teams := make([]*Team, 0, nteams)
	for range nteams {
		teams = append(teams, &Team{ID: r.string(), Name: r.string()})
	}
	n := r.count(5)
	agents := make([]Agent, 0, n)
	for range n {
		agents = append(agents, r.agent(at, teams))
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("data after the last agent")
	}
	if r.err != nil {
		return fail(r.err)
	}
	return at, sum, agents, nil
}

// EncodeAgent is one agent's compact form, without compression: a change
// the bot made, shared with the other replicas.
func EncodeAgent(a Agent) []byte {
	b := []byte(agentMagic)
	var teams map[Team]int
	if a.Team != nil {
		b = appendString(b, a.Team.ID)
		b = appendString(b, a.Team.Name)
		teams = map[Team]int{*a.Team: 0}
	} else {
		b = appendString(b, "")
		b = appendString(b, "")
	}
	// Times relative to the epoch: there is no fetch to count from.
	return appendAgent(b, a, time.Unix(0, 0), teams)
}

// DecodeAgent reads EncodeAgent's form.
func DecodeAgent(data []byte) (Agent, error) {
	rest, ok := bytes.CutPrefix(data, []byte(agentMagic))
	if !ok {
		return Agent{}, errors.New("decode agent: not an agent of this format")
	}
	r := &reader{b: rest}
	team := &Team{ID: r.string(), Name: r.string()}
	a := r.agent(time.Unix(0, 0), []*Team{team})
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("data after the agent")
	}
	if r.err != nil {
		return Agent{}, fmt.Errorf("decode agent: %w", r.err)
	}
	return a, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendAgent writes one agent; its status_since is counted from base,
// so it takes a few bytes, not eight.
func appendAgent(b []byte, a Agent, base time.Time, teams map[Team]int) []byte {
	b = appendString(b, a.ID)
	b = appendString(b, a.Name)
	b = appendString(b, a.Email)
	b = appendString(b, string(a.Status))
	var flags byte
	if !a.StatusSince.IsZero() {
		flags |= hasSince
	}
	if a.Team != nil {
		flags |= hasTeam
	}
	if a.Stats != nil {
		flags |= hasStats
	}
	b = append(b, flags)
	if flags&hasSince != 0 {
		b = binary.AppendVarint(b, a.StatusSince.UnixNano()-base.UnixNano())
	}
	if flags&hasTeam != 0 {
		b = binary.AppendUvarint(b, uint64(teams[*a.Team]))
	}
	if st := a.Stats; st != nil {
		for _, n := range []int{st.CallsHandledToday, st.AvgHandleTime, st.TotalTalkTime} {
			b = binary.AppendVarint(b, int64(n))
		}
	}
	return b
}

// reader reads the compact form; the first error sticks and every later
// read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of items each at least min bytes long, refusing
// one the rest of the data cannot hold, so nothing is sized by a lie.
func (r *reader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/min) {
		r.err = errShort
		return 0
	}
	return int(n)
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errShort
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) agent(base time.Time, teams []*Team) Agent {
	a := Agent{ID: r.string(), Name: r.string(), Email: r.string(), Status: Status(r.string())}
	flags := r.byte()
	if flags&hasSince != 0 {
		a.StatusSince = time.Unix(0, base.UnixNano()+r.varint()).UTC()
	}
	if flags&hasTeam != 0 {
		i := r.uvarint()
		if r.err == nil && i >= uint64(len(teams)) {
			r.err = fmt.Errorf("team %d of %d", i, len(teams))
		}
		if r.err == nil {
			a.Team = teams[i] // shared by the team's agents: readers never change it
		}
	}
	if flags&hasStats != 0 {
		a.Stats = &Stats{CallsHandledToday: int(r.varint()), AvgHandleTime: int(r.varint()), TotalTalkTime: int(r.varint())}
	}
	if r.err == nil && !slices.Contains(Statuses, a.Status) {
		r.err = fmt.Errorf("agent %q: unknown status %q", a.ID, a.Status)
	}
	return a
}
