package app_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops what it started: a shutdown that leaves goroutines
// behind fails the package.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
