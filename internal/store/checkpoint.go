package store

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointEvery is how often the background checkpointer copies the
// write-ahead log into the SQLite database file.
const checkpointEvery = 250 * time.Millisecond

// writerCheckpointPages is the writer's own fallback: SQLite checkpoints
// inside a commit only once the log has this many pages (64 MiB of 4 KiB
// pages), which happens only if the background checkpointer falls behind.
const writerCheckpointPages = 16384

// checkpointer copies SQLite's write-ahead log into the database file from
// a connection of its own. SQLite's default does it inside the commit that
// takes the log past 1,000 pages, fsync included: under a stream of uploads
// that was about half of the time the only writer connection was held. A
// PASSIVE checkpoint runs beside the writer and readers and never waits.
type checkpointer struct {
	conn *sql.DB
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(path string, log *slog.Logger) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_time_format=sqlite")
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxIdleTime(0)
	c := &checkpointer{conn: conn, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			c.checkpoint()
		}
	}
}

func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logPages, copied int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &copied); err != nil {
		c.log.Warn("checkpointing the SQLite write-ahead log", "err", err)
	}
}

// close stops the checkpointer; the last connection to close checkpoints
// what is left.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.conn.Close()
}
