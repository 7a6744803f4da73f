package integration

import (
	"os"
	"testing"
	"time"
)

// waitDaemon calls ready every 100 ms until it succeeds; after tries it
// fails the test with the daemon's log.
func waitDaemon(t *testing.T, logPath string, tries int, ready func() error) {
	t.Helper()
	for i := 0; ; i++ {
		err := ready()
		if err == nil {
			return
		}
		if i == tries {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%v; daemon log (tail): %s", err, tail(string(b), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
