// Package phone reads phone numbers as libphonenumber (github.com/nyaruka/phonenumbers) does,
// from a copy of its metadata (data.go), without the library: it would bring protobuf, about
// 8 MB of binary and 6 ms and 2.5 MB of start-up work to every program that sends a message.
//
// Only what the SDK needs is here: Parse and IsValidNumber for numbers written with digits and
// the usual separators, and E.164 out. The CLI module, which depends on the library, proves the
// answers are the library's (TestPhoneAgreesWithLibrary over every region's example numbers)
// and regenerates data.go from the library's metadata:
//
//go:generate sh -c "cd ../../cmd/mensatek && go test -run TestPhoneDataIsCurrent -update-phone-data ."
package phone

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Problem says why a number was refused.
type Problem int

// The problems Parse reports.
const (
	OK             Problem = iota
	Empty                  // nothing but white space
	BadChar                // a character other than digits, a leading "+" and separators
	NoCountry              // a national number and no region to read it in
	UnknownCountry         // the country prefix is no country's
	TooShort               // too few digits for the country
	TooLong                // too many digits for the country
	WrongLength            // a length between the country's shortest and longest that it does not use
	Invalid                // the right length, but no kind of line of the country starts so
)

// MaxInput is the longest input read, in bytes; libphonenumber reads at most 250.
const MaxInput = 250

// Number is a number Parse read.
type Number struct {
	E164    string // the international digits, without "+"
	Country int    // the country calling code (34 for Spain); 0 when unknown
	Region  string // "ES"; "001" for a non-geographic code such as +800; "" when unknown
	Char    rune   // the character refused, for BadChar
}

// Region returns the region with that code (ISO 3166-1 alpha-2, any case), or nil.
func Region(code string) *RegionData {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) != 2 {
		return nil
	}
	i := sort.Search(len(regions), func(i int) bool { return regions[i].id >= code })
	if i < len(regions) && regions[i].id == code {
		return &regions[i]
	}
	return nil
}

// Code returns the region's code, such as "ES".
func (r *RegionData) Code() string { return r.id }

// CountryCode returns the region's country calling code, such as 34.
func (r *RegionData) CountryCode() int { return r.cc }

// Parse reads raw as libphonenumber's Parse(raw, region) and IsValidNumber do, with def as the
// region (nil for none). Without a region, a number is international with or without its "+"
// or "00" ("34600123456" is +34 600 123 456), as the Mensatek API writes phones. raw may hold
// digits, one leading "+" and the separators space, tab, no-break space, "-", ".", "(", ")"
// and "/"; anything else is BadChar, although the library would read some of it (letters,
// extensions, "tel:" URIs).
func Parse(raw string, def *RegionData) (Number, Problem) {
	if len(raw) > MaxInput {
		return Number{}, TooLong // before reading it: the cost stays bounded
	}
	var buf [32]byte
	digits, plus, bad := scan(raw, buf[:0])
	if bad != 0 {
		return Number{Char: bad}, BadChar
	}
	if digits == "" {
		if strings.TrimSpace(raw) == "" {
			return Number{}, Empty
		}
		return Number{}, TooShort
	}
	if def == nil && !plus {
		// The API's own form: the country prefix without "+", or after "00".
		if len(digits) >= 2 && digits[0] == '0' && digits[1] == '0' {
			digits = digits[2:]
		}
		plus = true
	}
	return parse(digits, plus, def)
}

// scan returns the digits of raw (in buf when raw is not all digits), whether a "+" led them,
// and the first character it refuses.
func scan(raw string, buf []byte) (digits string, plus bool, bad rune) {
	if allDigits(raw) {
		return raw, false, 0
	}
	for _, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			buf = append(buf, byte(r))
		case r == '+' && !plus && len(buf) == 0: // only separators before it
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\t' || r == '\u00a0':
		default:
			return "", false, r
		}
	}
	return string(buf), plus, 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parse is libphonenumber's parseHelper followed by IsValidNumber, for digits.
func parse(digits string, plus bool, def *RegionData) (Number, Problem) {
	cc, national, p := extractCountry(digits, plus, def)
	if p == UnknownCountry && plus && def != nil {
		// The library strips the "+" and tries again, but then needs a country code.
		cc, national, p = extractCountry(digits, false, def)
		if p == OK && cc == 0 {
			p = UnknownCountry
		}
	}
	if p != OK {
		return Number{}, p
	}
	meta := def
	if cc != 0 {
		if m := mainRegion(cc); m != nil && (def == nil || m.id != def.id) {
			meta = m
		}
	} else {
		// A national number of the default region.
		if def == nil {
			return Number{}, NoCountry
		}
		national, cc = digits, def.cc
	}
	if len(national) < minNSN {
		return Number{Country: cc}, TooShort
	}
	if meta != nil {
		if stripped, _ := stripNationalPrefix(national, meta); stripped != national {
			switch meta.lengthFit(stripped) {
			case TooShort, localOnly, WrongLength:
			default:
				national = stripped
			}
		}
	}
	if len(national) < minNSN {
		return Number{Country: cc}, TooShort
	}
	if len(national) > maxNSN {
		return Number{Country: cc}, TooLong
	}
	n := Number{Country: cc}
	region := regionForNumber(cc, national)
	if region == nil {
		m := mainRegion(cc)
		if m == nil {
			return n, UnknownCountry
		}
		n.Region = m.id
		return n, m.possible(national)
	}
	n.Region = region.id
	ccs := strconv.Itoa(cc)
	if len(digits) == len(ccs)+len(national) && strings.HasPrefix(digits, ccs) && strings.HasSuffix(digits, national) {
		n.E164 = digits // already in this form: no copy
	} else {
		n.E164 = ccs + national
	}
	return n, OK
}

// Lengths the library allows a national significant number.
const (
	minNSN        = 2
	maxNSN        = 17
	maxCountryLen = 3
)

// localOnly is libphonenumber's IS_POSSIBLE_LOCAL_ONLY, only used inside parse.
const localOnly Problem = -1

// extractCountry is maybeExtractCountryCode: the country code and the rest, or cc 0 when the
// number carries none.
func extractCountry(digits string, plus bool, def *RegionData) (cc int, national string, p Problem) {
	if !plus && def != nil {
		if rest, ok := def.stripIDD(digits); ok {
			digits, plus = rest, true
		}
	}
	if plus {
		if len(digits) <= minNSN {
			return 0, "", TooShort
		}
		if cc, rest := countryPrefix(digits); cc != 0 {
			return cc, rest, OK
		}
		return 0, "", UnknownCountry
	}
	if def == nil {
		return 0, "", OK
	}
	ccs := strconv.Itoa(def.cc)
	if !strings.HasPrefix(digits, ccs) {
		return 0, "", OK
	}
	c := def.compiled()
	potential, _ := stripNationalPrefix(digits[len(ccs):], def)
	fullValid := c.general.re.MatchString(digits)
	nationalValid := c.general.re.MatchString(potential)
	if (!fullValid && nationalValid) || def.lengthFit(digits) == TooLong {
		return def.cc, potential, OK
	}
	return 0, "", OK
}

// countryPrefix is extractCountryCode: the country code digits start with, and the rest.
func countryPrefix(digits string) (int, string) {
	if digits == "" || digits[0] == '0' {
		return 0, ""
	}
	for i := 1; i <= maxCountryLen && i <= len(digits); i++ {
		cc, _ := strconv.Atoi(digits[:i])
		if regionsOf(cc) != nil {
			return cc, digits[i:]
		}
	}
	return 0, ""
}

// stripIDD is parsePrefixAsIdd with the region's international prefix.
func (r *RegionData) stripIDD(digits string) (string, bool) {
	c := r.compiled()
	if c.idd == nil {
		return "", false
	}
	loc := c.idd.FindStringIndex(digits)
	if loc == nil || loc[0] != 0 {
		return "", false
	}
	rest := digits[loc[1]:]
	if rest != "" && rest[0] == '0' {
		return "", false // country codes do not start with 0
	}
	return rest, true
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode (the carrier code dropped).
func stripNationalPrefix(number string, r *RegionData) (string, bool) {
	c := r.compiled()
	if number == "" || c.natPrefix == nil {
		return number, false
	}
	groups := c.natPrefix.FindStringSubmatchIndex(number)
	if groups == nil {
		return number, false
	}
	viableOriginal := c.general.re.MatchString(number)
	last := len(groups)/2 - 1
	if r.natTransform == "" || groups[last*2] < 0 {
		if viableOriginal && !c.general.re.MatchString(number[groups[1]:]) {
			return number, false
		}
		return number[groups[1]:], true
	}
	transformed := c.natPrefix.ReplaceAllString(number, r.natTransform)
	if viableOriginal && !c.general.re.MatchString(transformed) {
		return number, false
	}
	return transformed, true
}

// regionForNumber is GetRegionCodeForNumber followed by IsValidNumberForRegion: the region
// whose rules the number is valid by, or nil when it is not valid.
func regionForNumber(cc int, nsn string) *RegionData {
	idx := regionsOf(cc)
	if len(idx) == 0 {
		return nil
	}
	if len(idx) == 1 {
		r := &regions[idx[0]]
		if r.compiled().known(nsn) {
			return r
		}
		return nil
	}
	for _, i := range idx {
		r := &regions[i]
		c := r.compiled()
		if c.leading != nil {
			if c.leading.MatchString(nsn) {
				if c.known(nsn) {
					return r
				}
				return nil
			}
		} else if c.known(nsn) {
			return r
		}
	}
	return nil
}

// mainRegion is the region GetRegionCodeForCountryCode names, or nil.
func mainRegion(cc int) *RegionData {
	idx := regionsOf(cc)
	if len(idx) == 0 {
		return nil
	}
	return &regions[idx[0]]
}

// regionsOf returns the indexes in regions of the country code's regions, the main one first.
func regionsOf(cc int) []uint16 {
	i := sort.Search(len(countries), func(i int) bool { return countries[i].cc >= cc })
	if i < len(countries) && countries[i].cc == cc {
		return countries[i].regions
	}
	return nil
}

// possible is IsPossibleNumberWithReason for a number that is not valid: why not, in words a
// caller can act on.
func (r *RegionData) possible(nsn string) Problem {
	if r.general.pattern == "" {
		switch {
		case len(nsn) < minNSN:
			return TooShort
		case len(nsn) > maxNSN:
			return TooLong
		}
		return Invalid
	}
	switch p := r.lengthFit(nsn); p {
	case TooShort, TooLong, WrongLength:
		return p
	case localOnly:
		return TooShort // a local number needs its area code
	}
	return Invalid
}

// lengthFit is testNumberLength(nsn, r, UNKNOWN): OK, localOnly, TooShort, TooLong or
// WrongLength.
func (r *RegionData) lengthFit(nsn string) Problem {
	lengths := r.general.lengths
	if len(lengths) == 0 || lengths[0] == -1 {
		return WrongLength
	}
	n := int8(min(len(nsn), 127))
	for _, l := range r.localOnly {
		if l == n {
			return localOnly
		}
	}
	switch {
	case lengths[0] == n:
		return OK
	case lengths[0] > n:
		return TooShort
	case lengths[len(lengths)-1] < n:
		return TooLong
	}
	for _, l := range lengths[1:] {
		if l == n {
			return OK
		}
	}
	return WrongLength
}

// RegionData is one region's metadata (or a non-geographic code's, with id "001").
type RegionData struct {
	id              string
	cc              int
	idd             string // international prefix (pattern)
	natPrefix       string // national prefix for parsing (pattern)
	natTransform    string // its transform rule
	leading         string // leading digits (pattern), for regions that share a code
	sameMobileFixed bool
	localOnly       []int8 // lengths of the general description that are local only
	general         desc
	fixed, mobile   desc
	other           [8]desc // premium rate, toll free, shared cost, VoIP, personal, pager, UAN, voicemail

	once sync.Once
	c    *compiledRegion
}

// desc is one kind of line: its pattern ("" for none) and possible lengths (nil: the general
// description's; {-1}: none).
type desc struct {
	pattern string
	lengths []int8
}

// compiledRegion holds a region's patterns, compiled on first use: a program that sends to
// Spain compiles Spain's.
type compiledRegion struct {
	idd, natPrefix, leading *regexp.Regexp
	general                 compiledDesc
	kinds                   []compiledDesc // the other kinds, in the library's order
	fixed, mobile           compiledDesc
	sameMobileFixed         bool
}

type compiledDesc struct {
	lengths []int8
	re      *regexp.Regexp // nil: matches nothing
}

func (d compiledDesc) matches(nsn string) bool {
	if d.re == nil {
		return false
	}
	if len(d.lengths) > 0 {
		n, ok := int8(min(len(nsn), 127)), false
		for _, l := range d.lengths {
			if l == n {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return d.re.MatchString(nsn)
}

func (r *RegionData) compiled() *compiledRegion {
	r.once.Do(func() {
		c := &compiledRegion{
			general:         compileDesc(r.general),
			fixed:           compileDesc(r.fixed),
			mobile:          compileDesc(r.mobile),
			sameMobileFixed: r.sameMobileFixed,
		}
		if c.general.re == nil {
			// The library matches "^(?:)$": nothing but the empty number.
			c.general.re = regexp.MustCompile(`^$`)
		}
		for _, d := range r.other {
			if d.pattern != "" {
				c.kinds = append(c.kinds, compileDesc(d))
			}
		}
		if r.idd != "" {
			c.idd = regexp.MustCompile("^(?:" + r.idd + ")")
		}
		if r.natPrefix != "" {
			c.natPrefix = regexp.MustCompile("^(?:" + r.natPrefix + ")")
		}
		if r.leading != "" {
			c.leading = regexp.MustCompile("^(?:" + r.leading + ")")
		}
		r.c = c
	})
	return r.c
}

func compileDesc(d desc) compiledDesc {
	if d.pattern == "" {
		return compiledDesc{}
	}
	return compiledDesc{lengths: d.lengths, re: regexp.MustCompile("^(?:" + d.pattern + ")$")}
}

// known is getNumberTypeHelper(nsn) != UNKNOWN. Which kind of line a number is does not
// matter here, only whether it is one, so the common kinds are tried first, mobile before
// fixed (WhatsApp numbers are nearly all mobile): a mobile number costs two patterns, not
// eleven.
func (c *compiledRegion) known(nsn string) bool {
	if !c.general.matches(nsn) {
		return false
	}
	if (!c.sameMobileFixed && c.mobile.matches(nsn)) || c.fixed.matches(nsn) {
		return true
	}
	for _, d := range c.kinds {
		if d.matches(nsn) {
			return true
		}
	}
	return false
}

// country is one country calling code and its regions (indexes in regions), the main first.
type country struct {
	cc      int
	regions []uint16
}
