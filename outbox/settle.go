package outbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
)

// IsOutcomeUnknown reports whether job is a finished send whose message may or may not have
// gone out: cancelled by the worker as [OutcomeUnknown], or discarded by River with its attempts
// used up after an attempt that does not prove that nothing was sent (River's rescuer ends the
// attempt of a worker that died that way). The README's query finds the same jobs in SQL.
func IsOutcomeUnknown(job *rivertype.JobRow) bool {
	if job == nil || job.Kind != Kind {
		return false
	}
	if out, ok := OutputOf(job); ok {
		return out.Outcome == OutcomeUnknown
	}
	if job.State != rivertype.JobStateDiscarded || len(job.Errors) == 0 {
		return false
	}
	last := job.Errors[len(job.Errors)-1].Error
	return !strings.HasPrefix(strings.TrimPrefix(last, "JobCancelError: "), notSentPrefix)
}

// SettleFromReport settles the jobs whose outcome was unknown by a delivery report: when ev is
// a report of a message you sent (Direction Outbound) carrying a Reference, the API accepted a
// send with that reference, so each job of that reference that [IsOutcomeUnknown] gets an
// output that says [OutcomeSent], with the report's idMensaje and SettledBy saying so. The jobs
// stay cancelled or discarded: River never works them again. It returns the jobs it settled;
// none, without an error, for any other event. Call it from the webhook handler
// (mensatek.NewWebhookHandler) for each report. Use references unique per message (SendArgs
// makes jobs unique by them): a report proves only that a send with its reference went out.
func SettleFromReport[TTx any](ctx context.Context, rc *river.Client[TTx], ev *mensatek.Event) ([]*rivertype.JobRow, error) {
	if ev == nil || ev.Direction != mensatek.Outbound || ev.Reference == "" {
		return nil, nil
	}
	params := river.NewJobListParams().Kinds(Kind).States(rivertype.JobStateCancelled, rivertype.JobStateDiscarded).
		Where("args->'request'->>'reference' = @reference", river.NamedArgs{"reference": ev.Reference}).First(100)
	list, err := rc.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("outbox: SettleFromReport: listing jobs of reference %q: %w", ev.Reference, err)
	}
	var settled []*rivertype.JobRow
	for _, job := range list.Jobs {
		if !IsOutcomeUnknown(job) {
			continue
		}
		out := &Output{Outcome: OutcomeSent, Reference: ev.Reference, MessageID: ev.MessageID,
			SettledBy: fmt.Sprintf("a delivery report (status %d) of idMensaje %d", ev.Status, ev.MessageID)}
		if old, ok := OutputOf(job); ok {
			out.Error = old.Error
		} else if n := len(job.Errors); n > 0 {
			out.Error = job.Errors[n-1].Error
		}
		row, err := rc.JobUpdate(ctx, job.ID, &river.JobUpdateParams{Output: out})
		if err != nil {
			return settled, fmt.Errorf("outbox: SettleFromReport: job %d: %w", job.ID, err)
		}
		settled = append(settled, row)
	}
	return settled, nil
}
