// Package statetest is the contract every state.Store meets. A store's
// tests call Run with a constructor that returns an empty store.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/state"
)

// record is a value with the shapes the bot stores: strings, numbers,
// times, maps and nested structs.
type record struct {
	Name   string         `json:"name"`
	Count  int            `json:"count"`
	At     time.Time      `json:"at"`
	Teams  map[string]int `json:"teams,omitempty"`
	Nested *record        `json:"nested,omitempty"`
}

// Run runs the contract against stores made by newStore, each empty.
func Run(t *testing.T, newStore func(t *testing.T) state.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s state.Store)
	}{
		{"MissingKeyIsNotFound", testMissing},
		{"RoundTrip", testRoundTrip},
		{"SaveReplaces", testReplace},
		{"Delete", testDelete},
		{"KeysAreIndependent", testKeys},
		{"EmptyKeyRefused", testEmptyKey},
		{"UnencodableValueKeepsOld", testUnencodable},
		{"WrongShapeIsCorrupt", testWrongShape},
		{"CancelledContext", testCancelled},
		{"Concurrent", testConcurrent},
		{"Update", testUpdate},
		{"UpdateIsAtomic", testUpdateAtomic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustSave(t *testing.T, s state.Store, key string, v any) {
	t.Helper()
	if err := s.Save(ctx(t), key, v); err != nil {
		t.Fatalf("Save(%q): %v", key, err)
	}
}

func mustLoad(t *testing.T, s state.Store, key string) (record, bool) {
	t.Helper()
	var r record
	found, err := s.Load(ctx(t), key, &r)
	if err != nil {
		t.Fatalf("Load(%q): %v", key, err)
	}
	return r, found
}

func equal(a, b record) bool {
	if a.Name != b.Name || a.Count != b.Count || !a.At.Equal(b.At) || len(a.Teams) != len(b.Teams) {
		return false
	}
	for k, v := range a.Teams {
		if w, ok := b.Teams[k]; !ok || w != v {
			return false
		}
	}
	if (a.Nested == nil) != (b.Nested == nil) {
		return false
	}
	return a.Nested == nil || equal(*a.Nested, *b.Nested)
}

func testMissing(t *testing.T, s state.Store) {
	r := record{Name: "untouched"}
	found, err := s.Load(ctx(t), "nothing-here", &r)
	if err != nil || found {
		t.Fatalf("Load of a missing key = %v, %v; want false, nil", found, err)
	}
	if r.Name != "untouched" {
		t.Errorf("Load of a missing key changed the value to %+v", r)
	}
}

func testRoundTrip(t *testing.T, s state.Store) {
	want := record{
		Name:   "alerts <&> ünïcode",
		Count:  42,
		At:     time.Date(2025, 3, 4, 10, 30, 15, 123456789, time.FixedZone("IST", 5*3600+1800)),
		Teams:  map[string]int{"sales_team": 3, "support_team": 0},
		Nested: &record{Name: "inner", Count: -1},
	}
	mustSave(t, s, "alerts", want)
	got, found := mustLoad(t, s, "alerts")
	if !found || !equal(got, want) {
		t.Errorf("Load after Save = %+v, %v; want %+v, true", got, found, want)
	}
}

func testReplace(t *testing.T, s state.Store) {
	mustSave(t, s, "k", record{Name: "first", Count: 1, Teams: map[string]int{"a": 1}})
	mustSave(t, s, "k", record{Name: "second", Count: 2})
	got, _ := mustLoad(t, s, "k")
	if want := (record{Name: "second", Count: 2}); !equal(got, want) {
		t.Errorf("got %+v, want %+v (the second Save replaces the first whole)", got, want)
	}
}

func testDelete(t *testing.T, s state.Store) {
	mustSave(t, s, "gone", record{Name: "x"})
	if err := s.Delete(ctx(t), "gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, found := mustLoad(t, s, "gone"); found {
		t.Errorf("Load after Delete found the value, want not found")
	}
	if err := s.Delete(ctx(t), "gone"); err != nil {
		t.Errorf("Delete of a missing key: got %v, want nil", err)
	}
}

func testKeys(t *testing.T, s state.Store) {
	// Keys that a careless mapping to file names or paths would merge or
	// let escape.
	keys := []string{
		"a", "A", "a/b", "a_b", "a%2Fb", "a%b", "a.b", "..", "../escape", ".hidden",
		"team:sales_team", "team sales", "ünï", "a\x00b", "a.json",
	}
	for i, k := range keys {
		mustSave(t, s, k, record{Name: k, Count: i})
	}
	for i, k := range keys {
		got, found := mustLoad(t, s, k)
		if want := (record{Name: k, Count: i}); !found || !equal(got, want) {
			t.Errorf("key %q: got %+v, %v; want %+v, true", k, got, found, want)
		}
	}
	if err := s.Delete(ctx(t), "a/b"); err != nil {
		t.Fatalf("Delete(a/b): %v", err)
	}
	if _, found := mustLoad(t, s, "a_b"); !found {
		t.Errorf("Delete(a/b) removed a_b too")
	}
}

func testEmptyKey(t *testing.T, s state.Store) {
	if err := s.Save(ctx(t), "", record{}); !errors.Is(err, state.ErrEmptyKey) {
		t.Errorf("Save with an empty key: got %v, want ErrEmptyKey", err)
	}
	var r record
	if _, err := s.Load(ctx(t), "", &r); !errors.Is(err, state.ErrEmptyKey) {
		t.Errorf("Load with an empty key: got %v, want ErrEmptyKey", err)
	}
}

func testUnencodable(t *testing.T, s state.Store) {
	mustSave(t, s, "k", record{Name: "kept"})
	if err := s.Save(ctx(t), "k", map[string]any{"ch": make(chan int)}); err == nil {
		t.Fatal("Save of a channel: got nil error, want one")
	}
	if got, _ := mustLoad(t, s, "k"); got.Name != "kept" {
		t.Errorf("after a failed Save got %+v, want the old value kept", got)
	}
}

func testWrongShape(t *testing.T, s state.Store) {
	mustSave(t, s, "k", []string{"not", "a", "record"})
	var r record
	found, err := s.Load(ctx(t), "k", &r)
	if !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("Load into the wrong shape: got %v, %v; want ErrCorrupt", found, err)
	}
}

func testCancelled(t *testing.T, s state.Store) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Save(c, "k", record{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a cancelled context: got %v, want context.Canceled", err)
	}
	var r record
	if _, err := s.Load(c, "k", &r); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, found := mustLoad(t, s, "k"); found {
		t.Errorf("a Save with a cancelled context stored its value")
	}
}

func testConcurrent(t *testing.T, s state.Store) {
	const writers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				if err := s.Save(context.Background(), "shared", record{Name: fmt.Sprint("w", w), Count: i}); err != nil {
					errs <- err
				}
				var r record
				if _, err := s.Load(context.Background(), "shared", &r); err != nil {
					errs <- err // a reader must never see a half-written value
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Save/Load: %v", err)
	}
	if got, found := mustLoad(t, s, "shared"); !found || got.Count != rounds-1 {
		t.Errorf("after concurrent saves got %+v, %v; want some writer's last value (count %d)", got, found, rounds-1)
	}
}

func testUpdate(t *testing.T, s state.Store) {
	// Missing: change sees found=false and a zero value, and saves.
	var r record
	err := s.Update(ctx(t), "u", &r, func(found bool) (bool, error) {
		if found || r.Count != 0 {
			t.Errorf("missing key: found=%v count=%d, want false and 0", found, r.Count)
		}
		r.Name, r.Count = "first", 1
		return true, nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	// Present: change sees the saved value.
	var r2 record
	if err := s.Update(ctx(t), "u", &r2, func(found bool) (bool, error) {
		if !found || r2.Name != "first" {
			t.Errorf("present key: found=%v value=%+v", found, r2)
		}
		r2.Count++
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	// A change that says no, or fails, saves nothing.
	boom := errors.New("boom")
	var r3 record
	if err := s.Update(ctx(t), "u", &r3, func(bool) (bool, error) { r3.Count = 99; return false, nil }); err != nil {
		t.Fatal(err)
	}
	var r4 record
	if err := s.Update(ctx(t), "u", &r4, func(bool) (bool, error) { r4.Count = 98; return true, boom }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the change's error", err)
	}
	var got record
	if _, err := s.Load(ctx(t), "u", &got); err != nil {
		t.Fatal(err)
	}
	if got.Count != 2 {
		t.Errorf("count = %d, want 2: declined or failed changes must not be saved", got.Count)
	}
}

// testUpdateAtomic: concurrent read-modify-writes lose no update.
func testUpdateAtomic(t *testing.T, s state.Store) {
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			var r record
			errs <- s.Update(ctx(t), "counter", &r, func(bool) (bool, error) {
				r.Count++
				return true, nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	var got record
	if _, err := s.Load(ctx(t), "counter", &got); err != nil {
		t.Fatal(err)
	}
	if got.Count != n {
		t.Errorf("count = %d after %d concurrent increments, want %d", got.Count, n, n)
	}
}
