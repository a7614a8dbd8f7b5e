// Package phone reads phone numbers as people write them ("+34 612 34 56
// 78", "0034 612-34-56-78") and gives them in E.164 ("+34612345678"),
// checked against the numbering plans of github.com/nyaruka/phonenumbers.
// It is the one place that decides what a phone number is: customers',
// agents', WhatsApp's and the text provider's.
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Check is how strictly Normalize checks a number.
type Check int

const (
	// Possible accepts a number of a length its country's plan allows.
	// It is for numbers that others vouch for or that need not be dialled
	// by us: Meta's wa_id and business numbers (Meta's test numbers are
	// in the unassigned +1 555 range), customers' numbers on a contact.
	Possible Check = iota
	// Valid accepts only a number in a range its country assigns.
	Valid
	// Mobile is Valid and refuses a fixed line, which texts cannot reach.
	Mobile
)

// maxLength bounds what is parsed; no number written with spaces and
// dashes is longer.
const maxLength = 32

// Normalize returns s in E.164, or what is wrong with it in a message for
// the person who wrote it. The number must be international: with "+" or
// "00" and the country code.
func Normalize(s string, c Check) (string, string) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", "Enter the number in international format, with + and the country code, like +34 612 34 56 78."
	}
	if len(s) > maxLength {
		return "", "This is not a valid phone number."
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil {
		return "", "This is not a valid phone number."
	}
	return check(n, c)
}

// check returns n in E.164 when it passes c, else what is wrong.
func check(n *phonenumbers.PhoneNumber, c Check) (string, string) {
	switch c {
	case Possible:
		if !phonenumbers.IsPossibleNumber(n) {
			return "", "This is not a valid phone number."
		}
	case Valid, Mobile:
		if !phonenumbers.IsValidNumber(n) {
			return "", "This is not a valid phone number."
		}
		if c == Mobile && phonenumbers.GetNumberType(n) == phonenumbers.FIXED_LINE {
			return "", "This is a landline number: enter a mobile number, which can receive text messages."
		}
	}
	return phonenumbers.Format(n, phonenumbers.E164), ""
}

// IsE164 reports whether s is already a possible number in E.164, as
// Normalize returns it.
func IsE164(s string) bool {
	n, msg := Normalize(s, Possible)
	return msg == "" && n == s
}

// NormalizeIn is Normalize for a number that may be written without its
// country code ("612 34 56 78"): such a number is read as a number of
// region, an ISO 3166 country code like "ES". With region "" it is
// Normalize. A number with "+" or "00" keeps its own country.
func NormalizeIn(s, region string, c Check) (string, string) {
	t := strings.TrimSpace(s)
	if region == "" || strings.HasPrefix(t, "+") || strings.HasPrefix(t, "00") {
		return Normalize(s, c)
	}
	if len(t) > maxLength {
		return "", "This is not a valid phone number."
	}
	n, err := phonenumbers.Parse(t, strings.ToUpper(region))
	if err != nil {
		return "", "This is not a valid phone number."
	}
	return check(n, c)
}

// Region returns region in upper case when it is a country whose numbers
// NormalizeIn can read ("es" → "ES"), ok=false otherwise.
func Region(region string) (string, bool) {
	r := strings.ToUpper(strings.TrimSpace(region))
	if len(r) != 2 || phonenumbers.GetCountryCodeForRegion(r) == 0 {
		return "", false
	}
	return r, true
}
