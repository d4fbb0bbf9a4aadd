package mensatek_test

import (
	"testing"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/contactstoretest"
)

func TestMemoryContactStoreConformance(t *testing.T) {
	t.Parallel()
	contactstoretest.Run(t, contactstoretest.Harness{
		New: func(t *testing.T) mensatek.ContactStore { return mensatek.NewMemoryContactStore() },
	})
}

func TestMemoryContactStoreReplicas(t *testing.T) {
	t.Parallel()
	// Two replicas cannot share a memory store; one value shared by two "replicas" in one
	// process can, which checks the suite's replica checks themselves.
	s := mensatek.NewMemoryContactStore()
	contactstoretest.RunReplicas(t, s, s)
}

func BenchmarkMemoryContactStoreContacts10k(b *testing.B) {
	contactstoretest.BenchmarkContacts(b, mensatek.NewMemoryContactStore(), 10000)
}
