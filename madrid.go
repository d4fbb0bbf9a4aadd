package mensatek

import (
	"encoding/binary"
	"time"
)

// The API reads and writes dates as Madrid wall-clock time (Fecha). The zone comes from the
// system's zoneinfo database, or from time/tzdata if the program imports it; a library importing
// time/tzdata would add about 450 KB to every program that uses it, so when neither has
// Europe/Madrid the SDK uses madridRule, Spain's rule built in.

// madridPOSIX is Spain's rule since 1996, the EU's: CET (UTC+1), and CEST (UTC+2) from the last
// Sunday of March at 01:00 UTC (02:00 CET) to the last Sunday of October at 01:00 UTC (03:00
// CEST). Earlier dates, which the API never sees, followed other rules.
const madridPOSIX = "CET-1CEST,M3.5.0,M10.5.0/3"

// madrid returns the system's Europe/Madrid, or madridRule when the system has no zoneinfo.
func madrid() *time.Location {
	if loc, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return loc
	}
	return madridRule()
}

// madridRule returns a location named Europe/Madrid that follows madridPOSIX at every instant.
// The time package reads such a rule from the footer of a zoneinfo (TZif) file, where it
// describes the times after the last listed change; a TZif holding no changes, the two zones and
// the footer is therefore a *time.Location that In, Format and ParseInLocation use as they use
// the system's (a skipped or repeated wall-clock hour included). TestMadridRuleEqualsTzdata
// compares it with tzdata for every hour from 2000 to 2040.
func madridRule() *time.Location {
	loc, err := time.LoadLocationFromTZData("Europe/Madrid", madridTZif())
	if err != nil {
		panic("mensatek: built-in Madrid zone: " + err.Error()) // constant input: a test proves it loads
	}
	return loc
}

// madridTZif builds the TZif (RFC 8536, version 2) file for madridPOSIX: a version 1 block with
// the standard zone, as the format asks, then the version 2 block with both zones, then the rule.
func madridTZif() []byte {
	type zone struct {
		offset int32
		dst    bool
		name   string
	}
	block := func(b []byte, zones ...zone) []byte {
		var names []byte
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		for _, name := range zones {
			names = append(names, name.name...)
			names = append(names, 0)
		}
		// Counts: UT/local indicators, standard/wall indicators, leap seconds, transitions,
		// zones, bytes of zone names.
		for _, n := range []int{0, 0, 0, 0, len(zones), len(names)} {
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		at := 0
		for _, z := range zones {
			b = binary.BigEndian.AppendUint32(b, uint32(z.offset))
			dst := byte(0)
			if z.dst {
				dst = 1
			}
			b = append(b, dst, byte(at))
			at += len(z.name) + 1
		}
		return append(b, names...)
	}
	cet := zone{offset: 3600, name: "CET"}
	cest := zone{offset: 7200, dst: true, name: "CEST"}
	b := block(nil, cet)
	b = block(b, cet, cest)
	return append(append(append(b, '\n'), madridPOSIX...), '\n')
}

// MadridTime returns the location the API reads dates in (CET/CEST, Europe/Madrid): the system's,
// or Spain's rule built in when the system has no zoneinfo database.
func MadridTime() *time.Location { return madridLoc }

// madridLoc is set once at start-up and never changed.
var madridLoc = madrid()

// formatSchedule returns t as the API's Fecha: Madrid wall-clock time, "2006-01-02 15:04".
func formatSchedule(t time.Time) string { return t.In(madridLoc).Format("2006-01-02 15:04") }
