package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/dashboard"
)

// newServeCmd is `arbor serve RUN_DIR [RUN_DIR...] [--addr A] [--token T]`.
func newServeCmd() *cobra.Command {
	var addr, token string
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "serve RUN_DIR [RUN_DIR...] [--addr 127.0.0.1:8765] [--token T]",
		Short: "Serve a live web dashboard of runs (and arbor bench output directories)",
		Long: `serve shows runs in the browser while searches write them: state, progress,
best so far, jobs in flight, gate rejections, LLM use and spend, ETA; charts
of the best so far, accuracy against params/FLOPs/latency with the Pareto
front, planner posteriors and rejections; a sortable, filterable candidates
table; each candidate's tree (params and MACs per node, the node changed
against its parent), PyTorch source, lineage and LLM calls; and the run's
family tree. It also opens arbor bench output directories.

Each argument is a run directory, a bench output directory, or a directory
holding them (runs that appear there later are picked up). Stores are read
read-only; a search writing them is never blocked. The server is read-only,
binds to loopback by default, and a non-loopback --addr needs --token: every
request must then carry it (open the printed URL, which includes it).`,
		Example: `  arbor serve runs/                 # every run under runs/
  arbor serve demo/run bench-c10 --addr 0.0.0.0:8765 --token "$(openssl rand -hex 16)"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("serve: give at least one RUN_DIR (a run directory, an arbor bench output directory, or a directory holding them)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := dashboard.CheckAddr(addr, token); err != nil {
				return asUsage(err)
			}
			srv, err := dashboard.New(dashboard.Options{Dirs: args, Token: token, Poll: poll})
			if err != nil {
				return asUsage(fmt.Errorf("serve: %w", err))
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return asUsage(fmt.Errorf("serve --addr %s: %w", addr, err))
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			go srv.Watch(ctx)
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			url := "http://" + ln.Addr().String() + "/"
			if token != "" {
				url += "?token=" + token
			}
			fmt.Fprintf(cmd.OutOrStdout(), "arbor serve: %s (Ctrl-C to stop)\n", url)
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					return fmt.Errorf("serve: %w", err)
				}
				return nil
			case <-ctx.Done():
			}
			shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			hs.Shutdown(shut)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8765", "HOST:PORT to listen on; other than loopback needs --token")
	cmd.Flags().StringVar(&token, "token", "", "secret every request must carry (header Authorization: Bearer T, or ?token=T once)")
	cmd.Flags().DurationVar(&poll, "poll", time.Second, "how often run stores are checked for changes")
	return cmd
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
