package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/dashboard"
	"github.com/arbor-nas/arbor/evolve/run"
)

// newServeCmd is `arbor serve RUN_DIR [RUN_DIR...] [--addr A] [--token T]`.
func newServeCmd() *cobra.Command {
	var addr, token, tokenFile string
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
binds to loopback by default, and answers only requests whose Host is
loopback or the bound address (a DNS-rebinding page gets 403).

A token makes every request carry it: from --token-file F, $ARBOR_SERVE_TOKEN
(neither shows in ps), or --token T. A non-loopback --addr needs one of at
least 16 characters; without one, serve generates it and prints the URL to
open. The URL's ?token= is traded on first visit for an HttpOnly,
SameSite=Strict cookie named after the port, and the page redirects to the
address without it.`,
		Example: `  arbor serve runs/                 # every run under runs/
  openssl rand -hex 16 > ~/.arbor-token
  arbor serve demo/run bench-c10 --addr 0.0.0.0:8765 --token-file ~/.arbor-token`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("serve: give at least one RUN_DIR (a run directory, an arbor bench output directory, or a directory holding them)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := serveToken(cmd, token, tokenFile, addr)
			if err != nil {
				return asUsage(err)
			}
			if err := dashboard.CheckAddr(addr, token); err != nil {
				return asUsage(err)
			}
			if poll < dashboard.MinPoll {
				return usagef("serve --poll %v: must be at least %v", poll, dashboard.MinPoll)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return asUsage(fmt.Errorf("serve --addr %s: %w", addr, err))
			}
			defer ln.Close()
			srv, err := dashboard.New(dashboard.Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: args, Token: token, Poll: poll, Addr: ln.Addr().String()})
			if err != nil {
				return asUsage(fmt.Errorf("serve: %w", err))
			}
			defer srv.Close()
			ctx, stop := signal.NotifyContext(cmdContext(cmd), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			go srv.Watch(ctx)
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			hostport := ln.Addr().String()
			if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
				// Bound to every interface: name this machine, as a
				// browser elsewhere would reach it.
				name, err := os.Hostname()
				if err != nil {
					name = "localhost"
				}
				hostport = net.JoinHostPort(name, fmt.Sprint(tcp.Port))
			}
			url := "http://" + hostport + "/"
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
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8765", "HOST:PORT to listen on; other than loopback needs a token (generated when none is given)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the secret every request must carry (header Authorization: Bearer T, or ?token=T once); also $"+dashboard.TokenEnv)
	cmd.Flags().StringVar(&token, "token", "", "the secret itself (shows in ps: prefer --token-file or $"+dashboard.TokenEnv+")")
	cmd.Flags().DurationVar(&poll, "poll", time.Second, "how often run stores are checked for changes (at least 100ms)")
	return cmd
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// serveToken picks the dashboard's token: --token-file, --token, or
// $ARBOR_SERVE_TOKEN, at most one of them; on a non-loopback address with
// none it generates one (printed in the URL).
func serveToken(cmd *cobra.Command, token, file, addr string) (string, error) {
	env := os.Getenv(dashboard.TokenEnv)
	n := 0
	for _, set := range []bool{token != "" || cmd.Flags().Changed("token"), file != "", env != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return "", fmt.Errorf("serve: give the token one way only (--token-file, --token or $%s)", dashboard.TokenEnv)
	}
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("serve --token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return "", fmt.Errorf("serve --token-file %s: the file is empty", file)
		}
	case env != "":
		token = env
	case token == "" && !cmd.Flags().Changed("token"):
		if host, _, err := net.SplitHostPort(addr); err == nil && !dashboard.IsLoopback(host) {
			b := make([]byte, 16)
			if _, err := rand.Read(b); err != nil {
				return "", err
			}
			token = hex.EncodeToString(b)
		}
	}
	return token, nil
}
