package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
)

// Kind is the River job kind of [SendArgs] ("mensatek_send"): the value of river_job.kind in
// SQL, and what [NewWorker]'s worker is registered for.
const Kind = "mensatek_send"

// SendArgs is a send waiting in River's queue: insert it with River's own API in the
// transaction that makes the change the message is about, and it is sent if and only if that
// transaction commits:
//
//	_, err := riverClient.InsertTx(ctx, tx, outbox.SendArgs{Request: req}, nil)
//
// A job whose Request.Reference is not empty is unique by it: while a job with that reference
// is pending, scheduled, available, running, retryable or completed (River's default unique
// states), inserting another one with the same reference inserts nothing, and the insert
// result's UniqueSkippedAsDuplicate is true; a cancelled or discarded one does not block a new
// one. Uniqueness lasts as long as the earlier job's row does: River's cleaner deletes completed
// jobs after Config.CompletedJobRetentionPeriod (24 hours by default). Jobs without a reference
// are never deduplicated. Insert options given to InsertTx may change the unique states
// (UniqueOpts.ByState); the key stays the reference.
//
// The request is stored as JSON ([mensatek.SendRequest.MarshalJSON]); a job written by one
// release of the SDK is read by the next.
type SendArgs struct {
	// Request is the send, exactly as Client.Send would take it. It is checked when the job is
	// worked, not when it is inserted: check it first with Client.Send's rules if the caller
	// must know at once (a *mensatek.ValidationError then ends the job cancelled).
	Request mensatek.SendRequest `json:"request"`

	// readErr is why the stored request could not be read (a job written by a newer release,
	// or a damaged row): the worker retries such a job instead of failing River's decode,
	// which would leave no trace that nothing was sent.
	readErr error
	// retryAt is when Work wants a refused job retried; River's executor asks Worker.NextRetry
	// with the same job value right after Work returns.
	retryAt time.Time
}

// Kind returns [Kind].
func (SendArgs) Kind() string { return Kind }

// InsertOpts makes jobs with a Reference unique (see [SendArgs]); those without one get River's
// defaults.
func (a SendArgs) InsertOpts() river.InsertOpts {
	if a.Request.Reference == "" {
		return river.InsertOpts{}
	}
	// ByArgs makes River compute a unique key and the unique states; uniqueHook then replaces
	// the key with one of the reference alone, since River's keys can only name fields of the
	// args struct, and the request's JSON holds much more than its reference.
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Hooks attaches the hook that keys unique jobs by their reference.
func (SendArgs) Hooks() []rivertype.Hook { return []rivertype.Hook{&uniqueHook{}} }

// uniqueHook sets the unique key of a SendArgs job with a reference to a hash of the kind and
// the reference, so that two jobs with the same reference and different messages are one job.
type uniqueHook struct{ river.HookDefaults }

func (uniqueHook) InsertBegin(_ context.Context, params *rivertype.JobInsertParams) error {
	var ref string
	switch a := params.Args.(type) {
	case SendArgs:
		ref = a.Request.Reference
	case *SendArgs:
		if a != nil {
			ref = a.Request.Reference
		}
	default:
		return nil
	}
	if ref == "" || params.UniqueKey == nil {
		return nil // not unique, or made not unique by the caller's insert options
	}
	key := sha256.Sum256([]byte("&kind=" + Kind + "&reference=" + ref))
	params.UniqueKey = key[:]
	return nil
}

// UnmarshalJSON reads a stored job. A request it cannot read does not fail (River would retry
// the job with an error of its own, which the worker could not tell from one after a send):
// the worker finds the error and retries the job, marked as not sent, so that a worker of a
// newer release can take it.
func (a *SendArgs) UnmarshalJSON(b []byte) error {
	var raw struct {
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		*a = SendArgs{readErr: err}
		return nil
	}
	var req mensatek.SendRequest
	if len(raw.Request) == 0 {
		*a = SendArgs{readErr: errors.New("the job has no request")}
		return nil
	}
	if err := json.Unmarshal(raw.Request, &req); err != nil {
		*a = SendArgs{readErr: err}
		return nil
	}
	*a = SendArgs{Request: req}
	return nil
}

// MarshalJSON writes the job's args: {"request": ...}.
func (a SendArgs) MarshalJSON() ([]byte, error) {
	if a.readErr != nil {
		return nil, fmt.Errorf("outbox: SendArgs holds a request that could not be read: %w", a.readErr)
	}
	return json.Marshal(struct {
		Request mensatek.SendRequest `json:"request"`
	}{a.Request})
}

var (
	_ river.JobArgs               = SendArgs{}
	_ river.JobArgsWithInsertOpts = SendArgs{}
	_ river.JobArgsWithHooks      = SendArgs{}
	_ rivertype.HookInsertBegin   = (*uniqueHook)(nil)
	_ json.Unmarshaler            = (*SendArgs)(nil)
	_ json.Marshaler              = SendArgs{}
)
