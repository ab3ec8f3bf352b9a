// Package child runs untrusted Python in child processes, the one way
// arbor does it (the mine probe, the dry-run gate, the training pool):
// finding an interpreter that can import torch, one environment policy (an
// allow-list; names that look like credentials never pass), a process group
// per child that is killed whole, and resident JSON-lines workers that
// answer one request at a time under a per-request time limit.
package child

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Proc is an untrusted child process in its own process group. When the
// child exits, whatever it left behind in its group is killed too, so a
// candidate cannot leave grandchildren running.
type Proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{} // closed once the child is reaped and its group killed
	copied sync.WaitGroup
	state  *os.ProcessState
	err    error
	stderr *tailBuffer
}

// Start starts cmd in a new process group. Each stdout line goes to
// onLine (which may be nil); the last 8 KiB of stderr are kept for error
// reports. cmd.Stdin, Stdout and Stderr must be unset: Proc owns the pipes,
// so that no grandchild holding them open can block the wait.
func Start(cmd *exec.Cmd, onLine func([]byte)) (*Proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// A child whose parent dies (kill -9 of arbor) is killed too, rather
	// than left training as an orphan; the trainer also watches its parent
	// and kills its whole group.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	p := &Proc{cmd: cmd, exited: make(chan struct{}), stderr: &tailBuffer{max: 8 << 10}}

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("child: stdin pipe for %s: %w", cmd.Path, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("child: stdout pipe for %s: %w", cmd.Path, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("child: stderr pipe for %s: %w", cmd.Path, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	startErr := cmd.Start()
	// The child holds its own copies now; ours must close for EOF to come.
	inR.Close()
	outW.Close()
	errW.Close()
	if startErr != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("child: start %s: %w", cmd.Path, startErr)
	}
	p.stdin = inW
	p.copied.Add(2)
	go func() {
		defer p.copied.Done()
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			if onLine != nil {
				onLine(sc.Bytes())
			}
		}
		io.Copy(io.Discard, outR) // a line over 4 MiB: drain so the child never blocks
	}()
	go func() {
		defer p.copied.Done()
		defer errR.Close()
		io.Copy(p.stderr, errR)
	}()
	go func() {
		p.err = cmd.Wait()
		p.state = cmd.ProcessState
		p.killGroup(syscall.SIGKILL)
		close(p.exited)
	}()
	return p, nil
}

// Pid is the child's process ID, which is also its process group ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stdin is the child's standard input; close it to send EOF.
func (p *Proc) Stdin() io.WriteCloser { return p.stdin }

// Exited is closed once the child has exited and its group has been killed.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Wait blocks until the child exits and its output has been read, then
// returns its exit state.
func (p *Proc) Wait() (*os.ProcessState, error) {
	<-p.exited
	p.copied.Wait()
	return p.state, p.err
}

// Stderr returns the tail of what the child wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Stop asks the whole group to end (SIGTERM), then kills it (SIGKILL) if the
// child is still running after grace, and waits for the exit.
func (p *Proc) Stop(grace time.Duration) {
	p.stdin.Close()
	p.killGroup(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.killGroup(syscall.SIGKILL)
		<-p.exited
	}
	p.copied.Wait()
}

func (p *Proc) killGroup(sig syscall.Signal) {
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		// The group leader may already be gone; try it alone.
		_ = p.cmd.Process.Signal(sig)
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.ToValidUTF8(t.buf, []byte("?")))
}
