// Command testdb runs FerretDB v1.24.2 (SQLite backend) embedded, on loopback only, for the package's tests.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	port := flag.Int("port", 27017, "TCP port on 127.0.0.1 (0 picks a free one)")
	dataDir := flag.String("data-dir", "", "directory for the SQLite files (required; created if missing)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	exitOnStdinEOF := flag.Bool("exit-on-stdin-eof", false, "exit when standard input closes (the parent process died)")
	idPathIndex := flag.Bool("id-path-index", true, "index each collection on the expression FerretDB's _id lookups query (idindex.go)")
	flag.Parse()

	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "testdb: --data-dir is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		fmt.Fprintf(os.Stderr, "testdb: cannot create data dir: %v\n", err)
		os.Exit(1)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "testdb: bad --log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The SQLite URL must end with a slash: FerretDB keeps one file per database inside it.
	dir := *dataDir
	if dir[len(dir)-1] != '/' {
		dir += "/"
	}

	// Embedded FerretDB keeps its state in memory with telemetry disabled and locked.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: net.JoinHostPort("127.0.0.1", fmt.Sprint(*port))},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// A test runner killed without cleanup must not leave an orphaned database behind.
	if *exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	if *idPathIndex {
		go indexIDPaths(ctx, dir, logger)
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()

	// The listener is bound inside New, so the address is known now; the caller still pings before use.
	fmt.Printf("LISTENING %s\n", f.MongoDBURI())

	select {
	case <-done:
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
}
