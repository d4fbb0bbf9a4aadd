package outbox

import (
	"encoding/json"

	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
)

// Outcome is how a job's send ended, as its [Output] records it.
type Outcome string

const (
	// OutcomeSent: the API accepted the send; Output holds its idMensaje and counts.
	OutcomeSent Outcome = "sent"
	// OutcomeUnknown: the send (or an earlier attempt of it) may have reached the API without
	// a usable answer ([mensatek.ErrOutcomeUnknown]); the job was cancelled instead of sending
	// again. A delivery report carrying the job's reference settles it.
	OutcomeUnknown Outcome = "unknown"
	// OutcomeRefused: nothing was sent, and retrying cannot help: a local mistake, a consent
	// refusal, or an API refusal such as wrong data or a template not found or not approved.
	OutcomeRefused Outcome = "refused"
)

// Output is what the worker records as a finished job's output (River's RecordOutput): in SQL,
// river_job.metadata->'output', such as metadata->'output'->>'outcome' = 'unknown'. A job
// that will be retried records none.
type Output struct {
	// Outcome is how the send ended.
	Outcome Outcome `json:"outcome"`
	// Reference is the request's Reference (Referenciausuario), which delivery reports carry.
	Reference string `json:"reference,omitempty"`
	// MessageID is the send's idMensaje; 0 unless Outcome is OutcomeSent.
	MessageID int64 `json:"message_id,omitempty"`
	// Sent and NotSent count the recipients the API sent to and did not (Enviados, NoEnviados).
	Sent    int `json:"sent,omitempty"`
	NotSent int `json:"not_sent,omitempty"`
	// Credits is what the API said was left after the send.
	Credits float64 `json:"credits,omitempty"`
	// Skipped lists the phones the send left out for consent (mensatek.SkipRefusedRecipients).
	Skipped []string `json:"skipped,omitempty"`
	// Error says why the outcome is unknown or the send was refused; a settled job keeps it.
	Error string `json:"error,omitempty"`
	// SettledBy says what proved that a job whose outcome was unknown was sent
	// ([SettleFromReport]); empty otherwise.
	SettledBy string `json:"settled_by,omitempty"`
}

func outputOf(ref string, res *mensatek.SendResult) *Output {
	out := &Output{Outcome: OutcomeSent, Reference: ref, MessageID: res.MessageID, Sent: res.Sent,
		NotSent: res.NotSent, Credits: res.Credits}
	for _, s := range res.Skipped {
		out.Skipped = append(out.Skipped, s.Phone)
	}
	return out
}

// OutputOf returns the output the worker recorded on job, if any: a completed job's result,
// or why a cancelled one was not sent or may have been.
func OutputOf(job *rivertype.JobRow) (*Output, bool) {
	if job == nil {
		return nil, false
	}
	raw := job.Output()
	if len(raw) == 0 {
		return nil, false
	}
	var out Output
	if err := json.Unmarshal(raw, &out); err != nil || out.Outcome == "" {
		return nil, false
	}
	return &out, true
}
