package child

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The ways a Call fails without an answer. The worker process is gone
// after each of them; the next Call starts a fresh one.
var (
	// ErrExited: the process died while (or before) answering, which is
	// what a request that crashes the interpreter looks like.
	ErrExited = errors.New("worker process exited")
	// ErrTimeout: no answer within the request's time limit; the process
	// group was killed.
	ErrTimeout = errors.New("worker did not answer in time")
	// ErrClosed: the worker was closed.
	ErrClosed = errors.New("worker closed")
)

// WorkerOptions describe a resident worker: a process that reads one JSON
// request per line on stdin and writes one JSON answer per line on stdout,
// each carrying the request's "id".
type WorkerOptions struct {
	// Path and Args are the command (e.g. python, script path, flags).
	Path string
	Args []string
	// Dir is the working directory; Env the whole environment (see Env).
	Dir string
	Env []string
	// Ready checks the first line the process writes once it is ready
	// (torch imported); nil accepts any line.
	Ready func(line []byte) error
	// StartTimeout bounds the wait for the ready line (default 2 minutes).
	StartTimeout time.Duration
	// Grace is how long a stopped process gets between SIGTERM and SIGKILL
	// (default 1 second).
	Grace time.Duration
	// Sandbox confines the process (nil: unconfined); Writable are the only
	// directories it may write.
	Sandbox  *Sandbox
	Writable []string
}

// Worker is a resident child process that answers requests one at a time.
// A request that hangs or crashes the process costs a restart, never a
// wrong answer: lines that are not the answer to the current request (a
// module printing to stdout) are passed over. Calls are serialised.
type Worker struct {
	opts WorkerOptions

	mu     sync.Mutex
	closed bool
	proc   *Proc
	lines  chan []byte
	next   int64
}

// NewWorker prepares a worker; its process starts on the first Call.
func NewWorker(opts WorkerOptions) *Worker {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if opts.Grace <= 0 {
		opts.Grace = time.Second
	}
	return &Worker{opts: opts}
}

// start launches the process and waits for its ready line.
func (w *Worker) start(ctx context.Context) error {
	cmd := w.opts.Sandbox.Command(w.opts.Path, w.opts.Args, w.opts.Dir, w.opts.Writable...)
	cmd.Env = w.opts.Env
	lines := make(chan []byte, 16)
	p, err := Start(cmd, func(b []byte) {
		select {
		case lines <- bytes.Clone(b):
		default: // nobody asked; a stray line is dropped rather than block the reader
		}
	})
	if err != nil {
		return err
	}
	timer := time.NewTimer(w.opts.StartTimeout)
	defer timer.Stop()
	select {
	case line := <-lines:
		if w.opts.Ready != nil {
			if err := w.opts.Ready(line); err != nil {
				p.Stop(w.opts.Grace)
				return fmt.Errorf("child: %s said %q instead of ready: %w", w.opts.Path, line, err)
			}
		}
	case <-p.Exited():
		p.Wait()
		return fmt.Errorf("child: %s exited at start: %s", w.opts.Path, p.Stderr())
	case <-timer.C:
		p.Stop(w.opts.Grace)
		return fmt.Errorf("child: %s not ready after %v", w.opts.Path, w.opts.StartTimeout)
	case <-ctx.Done():
		p.Stop(w.opts.Grace)
		return ctx.Err()
	}
	w.proc, w.lines = p, lines
	return nil
}

// Start starts the process now rather than on the first Call, so a broken
// interpreter shows at once.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ensure(ctx)
}

func (w *Worker) ensure(ctx context.Context) error {
	if w.closed {
		return ErrClosed
	}
	if w.proc != nil {
		select {
		case <-w.proc.Exited(): // died since the last call
			w.kill()
		default:
		}
	}
	if w.proc == nil {
		return w.start(ctx)
	}
	return nil
}

func (w *Worker) kill() {
	if w.proc != nil {
		w.proc.Stop(w.opts.Grace)
		w.proc, w.lines = nil, nil
	}
}

// CallError is a failed Call: Err is ErrExited or ErrTimeout, Stderr the
// tail of what the process wrote to stderr before it was gone.
type CallError struct {
	Err    error
	Stderr string
}

func (e *CallError) Error() string {
	if e.Stderr == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Stderr
}

func (e *CallError) Unwrap() error { return e.Err }

// Call sends req with a fresh "id" added and returns the answer line whose
// "id" matches, waiting at most timeout. req must encode as a JSON object.
// On ErrExited or ErrTimeout (as a *CallError) the process is gone; when
// ctx ends the process is killed and ctx's error returned.
func (w *Worker) Call(ctx context.Context, req any, timeout time.Duration) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.ensure(ctx); err != nil {
		return nil, err
	}
	w.next++
	id := w.next
	line, err := withID(req, id)
	if err != nil {
		return nil, err
	}
	if _, err := w.proc.Stdin().Write(line); err != nil {
		stderr := w.proc.Stderr()
		w.kill()
		return nil, &CallError{Err: ErrExited, Stderr: stderr}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ans := <-w.lines:
			var head struct {
				ID *int64 `json:"id"`
			}
			if json.Unmarshal(ans, &head) != nil || head.ID == nil || *head.ID != id {
				continue // not the answer to this request
			}
			return ans, nil
		case <-w.proc.Exited():
			w.proc.Wait()
			stderr := w.proc.Stderr()
			w.kill()
			return nil, &CallError{Err: ErrExited, Stderr: stderr}
		case <-timer.C:
			stderr := w.proc.Stderr()
			w.kill()
			return nil, &CallError{Err: ErrTimeout, Stderr: stderr}
		case <-ctx.Done():
			w.kill()
			return nil, ctx.Err()
		}
	}
}

// withID encodes req as one JSON line with "id" set to id.
func withID(req any, id int64) ([]byte, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("child: encode request: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("child: a request must be a JSON object: %w", err)
	}
	fields["id"] = json.RawMessage(fmt.Sprint(id))
	b, err = json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("child: encode request: %w", err)
	}
	return append(b, '\n'), nil
}

// Close stops the process; later Calls fail with ErrClosed.
func (w *Worker) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.kill()
	w.closed = true
	return nil
}
