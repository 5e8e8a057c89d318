package batch

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// journal is the file that makes batches durable. It is rewritten whole on
// every change (a temporary file in the same directory, fsync, atomic
// rename, fsync of the directory), so a crash leaves either the old or the
// new version, never a torn one. A batch is recorded before it is
// submitted; its remote id is added once the server has given one.
//
// Records are kept, also for batches that finished and after Close: a run
// that is restarted from its beginning (after a crash, or after Ctrl-C cut
// its tasks short once their answers had come) asks again for the answers
// it already had, and they must come from the batch that was paid for, not
// from a new one. The journal is the caller's to remove once the work it
// records is done (the refine command removes its journals after a run
// that finished every task).
type journal struct {
	path string
	data journalData
}

type journalData struct {
	// ID is the journal's own id, sent with every batch (OpenAI batch
	// metadata, Bedrock clientRequestToken) so that a batch submitted
	// just before a crash, and not yet recorded with its remote id, can be
	// found on the server.
	ID      string   `json:"id"`
	Batches []record `json:"batches"`
}

// record is one batch in the journal.
type record struct {
	Key     string    `json:"key"`              // the batch's id in the journal, sent with it
	Remote  string    `json:"remote,omitempty"` // the server's id; "" until submitted
	Created time.Time `json:"created"`
	Items   []entry   `json:"items"`
}

// entry is one request of a recorded batch: the body itself is not kept,
// only its hash, by which a restarted caller finds its line again.
type entry struct {
	ID   string `json:"id"`
	Hash string `json:"hash"`
}

// openJournal reads the journal at path, or starts a new one (with a fresh
// id) when the file does not exist. The new one is written at once, so the
// id stays the same from the first batch on.
func openJournal(path string) (*journal, error) {
	j := &journal{path: path}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		j.data.ID = "rj-" + randomHex(8)
		if err := j.save(); err != nil {
			return nil, err
		}
		return j, nil
	case err != nil:
		return nil, fmt.Errorf("batch journal %q: %w", path, err)
	}
	if err := json.Unmarshal(raw, &j.data); err != nil {
		return nil, fmt.Errorf("batch journal %q is not a journal this package wrote: %w", path, err)
	}
	if j.data.ID == "" {
		return nil, fmt.Errorf("batch journal %q has no id", path)
	}
	return j, nil
}

// save writes the journal atomically and durably.
func (j *journal) save() error {
	raw, err := json.Marshal(&j.data)
	if err != nil {
		return fmt.Errorf("batch journal %q: %w", j.path, err)
	}
	dir := filepath.Dir(j.path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(j.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("batch journal %q: %w", j.path, err)
	}
	tmp := f.Name()
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("batch journal %q: %w", j.path, err)
	}
	// The rename is durable once the directory is; some systems cannot
	// open a directory for syncing, and then the file's own sync is all
	// there is.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (j *journal) find(key string) int {
	for i := range j.data.Batches {
		if j.data.Batches[i].Key == key {
			return i
		}
	}
	return -1
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
