// Package outbox sends WhatsApp messages through River, a transactional job queue on
// PostgreSQL: a message is queued in the transaction that makes the change it is about, sent if
// and only if that transaction commits, by any number of worker processes, once.
//
// Queue a message with River's own API, in your transaction:
//
//	_, err := riverClient.InsertTx(ctx, tx, outbox.SendArgs{Request: mensatek.SendRequest{
//		To:        []mensatek.Recipient{{Phone: phone}},
//		Message:   mensatek.Template{Name: "order_shipped"},
//		Reference: "order-42", // unique: the same reference is queued (and sent) once
//	}}, nil)
//
// and work the queue with a [Worker]:
//
//	workers := river.NewWorkers()
//	river.AddWorker(workers, outbox.NewWorker(client))
//
// The worker retries a send only when nothing can have reached the API; a send that may have
// ([mensatek.ErrOutcomeUnknown], or an attempt cut short by a killed worker) ends its job
// cancelled instead of being repeated, with an [Output] that operators can list and
// [SettleFromReport] settles from delivery reports. The module's README shows the operator
// queries and the whole loop (the example program in outbox/example).
//
// The module needs Go 1.26, as River does; the core module does not depend on it.
package outbox
