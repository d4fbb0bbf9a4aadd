package redisstore_test

import (
	"testing"
	"time"

	"github.com/mensatek-go/mensatek/dedupstoretest"
	"github.com/mensatek-go/mensatek/redisstore"
)

// The dedup store on Redis Cluster, which refuses any command or script across slots.
func TestDedupStoreConformanceOnCluster(t *testing.T) {
	rdb := clusterClient(t)
	dedupstoretest.Run(t, dedupstoretest.Harness{
		New: func(t *testing.T, retention time.Duration) dedupstoretest.Store {
			return dedupstoretest.Store{DedupStore: redisstore.NewDedupStore(rdb,
				redisstore.WithPrefix(testPrefix()), redisstore.WithRetention(retention))}
		},
	})
}
