// Adds to every collection table an index that FerretDB's own `_id` lookups can use (its `_id_` index never is).
package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB's SQLite backend registers as "sqlite"; the same package, not a second copy
)

// FerretDB v1.24.2's SQLite backend pushes a filter `{_id: <string or ObjectId>}` down as
// `WHERE _ferretdb_sjson->'$._id' = ?` (and updates and deletes by id the same way), but it creates the
// collection's `_id_` index on `_ferretdb_sjson->"_id"`. SQLite uses an expression index only for the same
// expression, so every read, update and delete of one document by id scans the whole table: 0.5 s for a read and
// 1.5 s for an update at 100,000 documents, against milliseconds with an index. This index is on the very
// expression the queries use. FerretDB does not know it (listIndexes does not show it, its metadata does not hold
// it); it goes with its table.
const idIndexSuffix = "_udapi_id_path"

// How often the data directory is looked over: a new collection is indexed within this much of its creation.
const idIndexSweepInterval = 250 * time.Millisecond

// indexIDPaths sweeps the data directory until ctx ends, adding the index to each table that lacks it.
func indexIDPaths(ctx context.Context, dataDir string, logger *slog.Logger) {
	ticker := time.NewTicker(idIndexSweepInterval)
	defer ticker.Stop()
	for {
		sweepIDIndexes(ctx, dataDir, logger)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func sweepIDIndexes(ctx context.Context, dataDir string, logger *slog.Logger) {
	files, err := filepath.Glob(filepath.Join(dataDir, "*.sqlite"))
	if err != nil {
		return
	}
	for _, file := range files {
		if err := indexDatabaseFile(ctx, file); err != nil && ctx.Err() == nil && !isGone(err) {
			// Only a lost speed-up: the queries still work without the index.
			logger.Debug("testdb: _id path index not added", "file", filepath.Base(file), "error", err)
		}
	}
}

// indexDatabaseFile opens one database's file without creating it (FerretDB may have just dropped it), and indexes
// the tables its collection list names that have no such index yet.
func indexDatabaseFile(ctx context.Context, file string) error {
	uri := "file:" + (&url.URL{Path: file}).EscapedPath() + "?mode=rw&_pragma=busy_timeout(2000)"
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM "_ferretdb_collections" c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master s WHERE s.type = 'index' AND s.name = c.table_name || ?)`,
		idIndexSuffix)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	for _, table := range tables {
		statement := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+idIndexSuffix, table)
		if _, err := db.ExecContext(ctx, statement); err != nil {
			return err
		}
	}
	return nil
}

// isGone tells the errors of a database or table dropped while it was being looked at: nothing to index any more.
func isGone(err error) bool {
	if os.IsNotExist(err) {
		return true
	}
	text := err.Error()
	return strings.Contains(text, "no such table") || strings.Contains(text, "unable to open database file")
}
