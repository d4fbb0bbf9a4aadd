package mensatek

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTemplateByNamePrefersApproved(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.reply(t, "GetPlantillasWhatsapp", 200, `{"Res":1,"Plantillas":{
		"1":{"Nombre":"promo","Idioma":"en","Estado":"PENDING","Verificada":0},
		"2":{"Nombre":"promo","Idioma":"es","Estado":"APPROVED","Verificada":1},
		"3":{"Nombre":"promo","Idioma":"fr","Estado":"REJECTED","Verificada":0}}}`)
	vars := fx.reply(t, "GetVariablesPlantillaWhatsapp", 200, `{"Res":1,"Nombre":"promo","Idioma":"es","Verificada":1,"Variables":{}}`)
	d, err := fx.client.TemplateByName(context.Background(), "promo")
	require.NoError(t, err)
	assert.Equal(t, "2", d.ID)
	assert.Equal(t, "2", vars.last(t)["Idplantilla"])
}

// The cache hands out copies: changing what TemplateByName returned changes nothing cached.
func TestTemplateCacheReturnsCopies(t *testing.T) {
	t.Parallel()
	ts := newTemplateServer(t)
	ctx := context.Background()
	d, err := ts.client.TemplateByName(ctx, "customer_welcome")
	require.NoError(t, err)
	d.Variables[2].Field = "changed"
	d.Verified = false
	d2, err := ts.client.TemplateByName(ctx, "customer_welcome")
	require.NoError(t, err)
	assert.Equal(t, refDetails(), d2)
	d2.Variables[3].Format = "changed"
	d3, err := ts.client.TemplateByName(ctx, "customer_welcome")
	require.NoError(t, err)
	assert.Equal(t, refDetails(), d3)
	assert.Equal(t, [3]int64{1, 1, 0}, ts.counts())
}

// However many goroutines find the cache cold, one list and one variables request go out.
func TestTemplateCacheMergesConcurrentFetches(t *testing.T) {
	t.Parallel()
	const n = 50
	ts := newTemplateServer(t)
	release := make(chan struct{})
	ts.onList = func(http.ResponseWriter, *http.Request) bool {
		<-release // hold the first fetch while the others arrive
		return false
	}
	var started, done sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		started.Add(1)
		done.Add(1)
		go func(i int) {
			defer done.Done()
			started.Done()
			_, err := ts.client.SendTemplateChecked(context.Background(), "customer_welcome", goodRecipient(fmt.Sprintf("346000%05d", i)))
			errs <- err
		}(i)
	}
	started.Wait()
	// Let the first fetch arrive before releasing it, so the others find it under way.
	require.Eventually(t, func() bool { return ts.lists.Load() > 0 }, 10*time.Second, time.Millisecond)
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, [3]int64{1, 1, n}, ts.counts(), "lists, variables, sends")
}

func TestTemplateCacheFetchSurvivesOneCallerGivingUp(t *testing.T) {
	t.Parallel()
	ts := newTemplateServer(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	ts.onList = func(http.ResponseWriter, *http.Request) bool {
		close(arrived)
		<-release
		return false
	}
	impatient, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := ts.client.TemplateByName(impatient, "customer_welcome")
		first <- err
	}()
	<-arrived
	second := make(chan error, 1)
	go func() {
		_, err := ts.client.TemplateByName(context.Background(), "customer_welcome")
		second <- err
	}()
	cancel()
	require.ErrorIs(t, <-first, context.Canceled, "the caller that gave up returns at once")
	close(release)
	require.NoError(t, <-second, "the shared fetch went on for the others")
	assert.Equal(t, int64(1), ts.lists.Load())
}

func TestTemplateCacheDoesNotKeepFailures(t *testing.T) {
	t.Parallel()
	ts := newTemplateServer(t)
	var fail atomic.Bool
	fail.Store(true)
	ts.onList = func(w http.ResponseWriter, _ *http.Request) bool {
		if fail.Load() {
			writeReply(w, 503, "down")
			return true
		}
		return false
	}
	_, err := ts.client.TemplateByName(context.Background(), "customer_welcome")
	require.Error(t, err)
	fail.Store(false)
	_, err = ts.client.TemplateByName(context.Background(), "customer_welcome")
	require.NoError(t, err)
	assert.Equal(t, int64(2), ts.lists.Load(), "the failure was not kept")
}
