package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
)

// SettleFromReport settles the jobs whose outcome was unknown by a delivery report: when ev is
// a report of a message you sent (Direction Outbound) carrying a Reference, the API accepted a
// send with that reference, so each cancelled job of that reference whose [Output] says
// [OutcomeUnknown] gets an output that says [OutcomeSent], with the report's idMensaje and
// SettledBy saying so. The jobs stay cancelled: River never works them again. It returns the
// jobs it settled; none, without an error, for any other event. Call it from the webhook
// handler (mensatek.NewWebhookHandler) for each report. Use references unique per message
// (SendArgs makes jobs unique by them): a report proves only that a send with its reference
// went out.
func SettleFromReport[TTx any](ctx context.Context, rc *river.Client[TTx], ev *mensatek.Event) ([]*rivertype.JobRow, error) {
	if ev == nil || ev.Direction != mensatek.Outbound || ev.Reference == "" {
		return nil, nil
	}
	fragment, err := json.Marshal(map[string]any{"output": map[string]any{"outcome": OutcomeUnknown, "reference": ev.Reference}})
	if err != nil {
		return nil, err
	}
	list, err := rc.JobList(ctx, river.NewJobListParams().Kinds(Kind).States(rivertype.JobStateCancelled).Metadata(string(fragment)).First(100))
	if err != nil {
		return nil, fmt.Errorf("outbox: SettleFromReport: listing jobs of reference %q: %w", ev.Reference, err)
	}
	var settled []*rivertype.JobRow
	for _, job := range list.Jobs {
		old, _ := OutputOf(job)
		out := &Output{Outcome: OutcomeSent, Reference: ev.Reference, MessageID: ev.MessageID,
			SettledBy: fmt.Sprintf("a delivery report (status %d) of idMensaje %d", ev.Status, ev.MessageID)}
		if old != nil {
			out.Error = old.Error
		}
		row, err := rc.JobUpdate(ctx, job.ID, &river.JobUpdateParams{Output: out})
		if err != nil {
			return settled, fmt.Errorf("outbox: SettleFromReport: job %d: %w", job.ID, err)
		}
		settled = append(settled, row)
	}
	return settled, nil
}
