package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ReadTimeout bounds how long ReadState and ReadAllLimited wait for the
// end of their input. Runtimes write the state (podman: config.json) into
// a pipe and close it at once; a writer that never closes must not hang a
// container start. When the time is up and what arrived is one complete
// JSON document, it is used; otherwise the read fails with ErrTimeout.
var ReadTimeout = 5 * time.Second

// ErrTimeout means stdin was neither closed nor complete in ReadTimeout.
var ErrTimeout = errors.New("stdin was not closed")

// readBounded reads r to EOF, at most limit+1 bytes, for at most timeout.
// The reader goroutine is left behind on a timeout: callers are
// short-lived processes.
func readBounded(r io.Reader, limit int64, timeout time.Duration) ([]byte, error) {
	var (
		mu   sync.Mutex
		buf  []byte
		done = make(chan error, 1)
	)
	go func() {
		lr := io.LimitReader(r, limit+1)
		chunk := make([]byte, 32<<10)
		for {
			n, err := lr.Read(chunk)
			mu.Lock()
			buf = append(buf, chunk[:n]...)
			mu.Unlock()
			if errors.Is(err, io.EOF) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		return buf, err
	case <-t.C:
	}
	mu.Lock()
	data := append([]byte(nil), buf...)
	mu.Unlock()
	if len(data) <= int(limit) && json.Valid(data) {
		return data, nil // complete; the writer just did not close
	}
	return nil, fmt.Errorf("%w within %s and holds %d bytes that are not one complete JSON document (the runtime must write it and close stdin)", ErrTimeout, timeout, len(data))
}
