// Command devdb runs FerretDB embedded with its SQLite backend: a
// MongoDB-wire-compatible server for local work, tests and the demo.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", "./.devdb-data", "directory for the SQLite database files")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	flag.Parse()
	// Never written, so it costs address space rather than memory (see ballastMiB).
	ballast := make([]byte, ballastMiB<<20)
	defer runtime.KeepAlive(ballast)

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("devdb: -log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		log.Fatalf("devdb: data directory: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatalf("devdb: data directory: %v", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *addr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		log.Fatalf("devdb: %v", err)
	}

	// SIGTERM/SIGINT cancel the context; Run returns once the listener has
	// closed and in-flight requests are done, so the SQLite files stay consistent.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	fmt.Printf("devdb listening on %s (data %s)\n", *addr, dir)
	if err := <-done; err != nil && ctx.Err() == nil {
		log.Fatalf("devdb: %v", err)
	}
	fmt.Println("devdb stopped")
}

// ballastMiB is the smallest heap the garbage collector lets grow before it runs.
//
// FerretDB keeps little live (about 1 MB between requests) but allocates for every
// document it decodes, so with Go's 4 MB minimum heap it collected every ~50
// documents of a scan: 1,170 collections to read 63,000 ledger entries, 40% of the
// server's CPU, and more per document the larger the database. With the ballast a
// collection runs per 64 MiB allocated; a live heap of gigabytes (a large sort) gets
// 64 MiB more room, where raising GOGC would multiply it.
const ballastMiB = 64
