package mensatek

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the reference the built-in rule is compared with; a test import reaches no user's binary

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMadridRuleEqualsTzdata proves the built-in rule, used when the system has no zoneinfo
// database, gives tzdata's answers for every hour from 2000 to 2040: the zone and offset of each
// instant, and the instant each Madrid wall-clock hour is read as (the hour the clocks skip in
// March and the one they repeat in October included).
func TestMadridRuleEqualsTzdata(t *testing.T) {
	want, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	got := madridRule()
	if got.String() != "Europe/Madrid" {
		t.Errorf("the rule's location is named %q", got)
	}
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)
	const layout = "2006-01-02 15:04:05"
	hours, bad := 0, 0
	for at := start; at.Before(end); at = at.Add(time.Hour) {
		hours++
		wn, wo := at.In(want).Zone()
		gn, gotOffset := at.In(got).Zone()
		if gn != wn || gotOffset != wo {
			bad++
			if bad <= 5 {
				t.Errorf("%s: the rule says %s %+d s, tzdata %s %+d s", at.Format(time.RFC3339), gn, gotOffset, wn, wo)
			}
		}
		// at's fields read as a Madrid wall-clock time: every hour of the calendar, once.
		wall := at.Format(layout)
		wt, err1 := time.ParseInLocation(layout, wall, want)
		gt, err2 := time.ParseInLocation(layout, wall, got)
		if err1 != nil || err2 != nil || !wt.Equal(gt) || wt.Format(time.RFC3339) != gt.Format(time.RFC3339) {
			bad++
			if bad <= 5 {
				t.Errorf("%s in Madrid: the rule reads %s, tzdata %s (%v, %v)", wall, gt.Format(time.RFC3339), wt.Format(time.RFC3339), err2, err1)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d differences in %d hours", bad, hours)
	}
	if hours != 359424 {
		t.Fatalf("checked %d hours, want the 359,424 of 2000 to 2040 (14,976 days)", hours)
	}
}

// TestMadridRuleChanges pins the rule's changes of one year, as the EU's rule puts them.
func TestMadridRuleChanges(t *testing.T) {
	loc := madridRule()
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), "2026-03-29 01:59:59 CET"},
		{time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "2026-03-29 03:00:00 CEST"},
		{time.Date(2026, 10, 25, 0, 59, 59, 0, time.UTC), "2026-10-25 02:59:59 CEST"},
		{time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), "2026-10-25 02:00:00 CET"},
	} {
		if got := c.at.In(loc).Format("2006-01-02 15:04:05 MST"); got != c.want {
			t.Errorf("%s: %s, want %s", c.at.Format(time.RFC3339), got, c.want)
		}
	}
}

// TestNoTzdataInLibrary: importing time/tzdata adds about 450 KB to every program that uses the
// SDK; that is the program's choice, so no library package of the module imports it.
func TestNoTzdataInLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	// A copy in a module cache (a user's "go test all") is no module to list.
	modcache, err := exec.Command(goCmd, "env", "GOMODCACHE").Output()
	if wd, _ := os.Getwd(); err == nil && len(bytes.TrimSpace(modcache)) > 0 && strings.HasPrefix(wd, string(bytes.TrimSpace(modcache))) {
		t.Skip("a downloaded copy of the module")
	}
	out, err := exec.Command(goCmd, "list", "-f", `{{if ne .Name "main"}}{{.ImportPath}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	libs := strings.Fields(string(out))
	if len(libs) == 0 {
		t.Fatal("go list found no library package")
	}
	args := append([]string{"list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`}, libs...)
	out, err = exec.Command(goCmd, args...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if imp == "time/tzdata" {
				t.Errorf("%s imports time/tzdata", pkg)
			}
		}
	}
}

func TestScheduleAt(t *testing.T) {
	t.Parallel()
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"summer (CEST, UTC+2)", time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC), "2026-07-01 12:00"},
		{"winter (CET, UTC+1)", time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC), "2026-01-15 11:00"},
		{"last minute of winter time", time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), "2026-03-29 01:59"},
		{"first minute of summer time", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "2026-03-29 03:00"},
		{"last hour of summer time", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), "2026-10-25 02:30"},
		{"repeated hour in winter time", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), "2026-10-25 02:30"},
		{"after the switch back", time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC), "2026-10-25 03:00"},
		{"new year in Madrid, not yet in UTC", time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "2027-01-01 00:30"},
		{"seconds are dropped", time.Date(2026, 7, 1, 10, 0, 59, 999, time.UTC), "2026-07-01 12:00"},
		{"from New York", time.Date(2026, 7, 1, 6, 0, 0, 0, newYork), "2026-07-01 12:00"},
		{"from a fixed zone", time.Date(2026, 1, 15, 15, 30, 0, 0, time.FixedZone("IST", 5*3600+1800)), "2026-01-15 11:00"},
		{"already Madrid", time.Date(2026, 7, 1, 12, 0, 0, 0, MadridTime()), "2026-07-01 12:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, formatSchedule(tt.at))
		})
	}
	assert.Equal(t, "Europe/Madrid", MadridTime().String())

	// Through a send.
	got := sendOnce(t, SendRequest{To: one, Message: Text{Body: "hola"}, ScheduleAt: tests[0].at})
	assert.Equal(t, "2026-07-01 12:00", got.Body["Fecha"])
	got = sendOnce(t, SendRequest{To: one, Message: Text{Body: "hola"}, ScheduleAt: tests[3].at})
	assert.Equal(t, "2026-03-29 03:00", got.Body["Fecha"])
}
