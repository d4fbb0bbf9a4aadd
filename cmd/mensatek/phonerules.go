package main

import (
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// phoneRules answers libphonenumber's IsValidNumber for a country code and a national
// significant number, from the same metadata, about ten times as fast: the library builds each
// pattern's string and looks its compiled form up in a locked map for every number and every
// kind of line, before it even compares the length. Here the patterns of a region are compiled
// once, and a kind of line whose lengths do not fit is skipped without touching its pattern.
// A campaign checks every row, so this is most of its local check. phone_test.go compares it
// with the library on many numbers.
type phoneRules struct {
	once    sync.Once
	meta    map[string]*phonenumbers.PhoneMetadata // by region; non-geographic ones by "001/code"
	mu      sync.Mutex
	regions map[*phonenumbers.PhoneMetadata]*regionRules
}

var rules phoneRules

// regionRules are the compiled rules of one region.
type regionRules struct {
	leadingDigits      *regexp.Regexp // nil when the region has none
	general            descRule
	other              []descRule // premium rate, toll free, shared cost, VoIP, personal, pager, UAN, voicemail
	fixed, mobile      descRule
	sameMobileAndFixed bool
}

// descRule is one kind of line: its lengths and its pattern (nil: the kind does not exist).
type descRule struct {
	lengths []int32
	re      *regexp.Regexp
}

func (d descRule) matches(nsn string) bool {
	if d.re == nil {
		return false
	}
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	return d.re.MatchString(nsn)
}

func compileDesc(d *phonenumbers.PhoneNumberDesc) descRule {
	if d.GetNationalNumberPattern() == "" {
		return descRule{} // matches nothing, as in the library
	}
	return descRule{lengths: d.GetPossibleLength(), re: regexp.MustCompile("^(?:" + d.GetNationalNumberPattern() + ")$")}
}

func (p *phoneRules) load() {
	p.meta = map[string]*phonenumbers.PhoneMetadata{}
	p.regions = map[*phonenumbers.PhoneMetadata]*regionRules{}
	coll, err := phonenumbers.MetadataCollection() // parsed at the library's init: no cost
	if err != nil {
		return // then every number goes the library's way
	}
	for _, m := range coll.GetMetadata() {
		key := m.GetId()
		if key == "001" {
			key = "001/" + strconv.Itoa(int(m.GetCountryCode()))
		}
		p.meta[key] = m
	}
}

// region returns the compiled rules of a region's metadata.
func (p *phoneRules) region(m *phonenumbers.PhoneMetadata) *regionRules {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.regions[m]; ok {
		return r
	}
	r := &regionRules{
		general:            compileDesc(m.GetGeneralDesc()),
		fixed:              compileDesc(m.GetFixedLine()),
		mobile:             compileDesc(m.GetMobile()),
		sameMobileAndFixed: m.GetSameMobileAndFixedLinePattern(),
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
		m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
		r.other = append(r.other, compileDesc(d))
	}
	if ld := m.GetLeadingDigits(); ld != "" {
		r.leadingDigits = regexp.MustCompile("^(?:" + ld + ")")
	}
	p.regions[m] = r
	return r
}

// known is libphonenumber's getNumberTypeHelper(nsn) != UNKNOWN.
func (r *regionRules) known(nsn string) bool {
	if !r.general.matches(nsn) {
		return false
	}
	for _, d := range r.other {
		if d.matches(nsn) {
			return true
		}
	}
	if r.fixed.matches(nsn) {
		return true
	}
	return !r.sameMobileAndFixed && r.mobile.matches(nsn)
}

// valid reports whether the number +cc nsn is valid, as phonenumbers.IsValidNumber does. ok is
// false when the metadata could not be read: ask the library then.
func (p *phoneRules) valid(cc int, nsn string) (valid, ok bool) {
	p.once.Do(p.load)
	if len(p.meta) == 0 {
		return false, false
	}
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	var meta *phonenumbers.PhoneMetadata
	switch {
	case len(regions) == 0:
		return false, true
	case len(regions) == 1 && regions[0] == "001":
		meta = p.meta["001/"+strconv.Itoa(cc)]
	case len(regions) == 1:
		meta = p.meta[regions[0]]
	default:
		// The region of a shared code: the first whose leading digits match, or, for one
		// without them, that knows the number (GetRegionCodeForNumber).
		for _, region := range regions {
			m := p.meta[region]
			if m == nil {
				continue
			}
			r := p.region(m)
			if (r.leadingDigits != nil && r.leadingDigits.MatchString(nsn)) || (r.leadingDigits == nil && r.known(nsn)) {
				meta = m
				break
			}
		}
		if meta == nil {
			return false, true
		}
	}
	if meta == nil {
		return false, false
	}
	return p.region(meta).known(nsn), true
}
