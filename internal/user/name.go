package user

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/problem"
)

// A person's name is kept in two parts, a first and a last name (the
// profile's fields), and whole: the two joined by a space, which is what
// lists, assignments and mentions show. A name may be given either way: in
// parts (first_name, last_name), or whole (name), which is split at its
// first space, the way the migration split the names that existed before
// the parts; people correct a split in their profile.

// maxNamePart is the longest first or last name, in characters.
const maxNamePart = 100

// SplitName divides a whole name into a first name (up to the first
// space) and a last name (the rest).
func SplitName(name string) (first, last string) {
	first, last, _ = strings.Cut(strings.TrimSpace(name), " ")
	return first, strings.TrimSpace(last)
}

// JoinName is the whole name of a first and a last name.
func JoinName(first, last string) string { return strings.TrimSpace(first + " " + last) }

// nameChange is how a write changes a name: First and Last are the parts
// to store (nil: as they are); the whole name follows the parts when
// either is set.
type nameChange struct {
	First, Last *string
}

// changes reports whether the name changes at all.
func (c nameChange) changes() bool { return c.First != nil || c.Last != nil }

// columns is the SET clause of the change, with its first and last name
// as the parameters $n and $n+1: the whole name is computed from the
// parts as they are after the change, in the same statement.
func (c nameChange) columns(n int) string {
	first, last := fmt.Sprintf("$%d", n), fmt.Sprintf("$%d", n+1)
	return `first_name = COALESCE(` + first + `, first_name), last_name = COALESCE(` + last + `, last_name),
		name = CASE WHEN ` + first + ` IS NULL AND ` + last + ` IS NULL THEN name
			ELSE trim(COALESCE(` + first + `, first_name) || ' ' || COALESCE(` + last + `, last_name)) END`
}

// readName checks a name given whole (name) or in parts (first, last; nil
// for not given) and adds what is wrong to f, field by field. It trims
// what it was given in place.
func readName(f problem.Fields, name, first, last *string) nameChange {
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	trim(name)
	trim(first)
	trim(last)
	switch {
	case name != nil && (first != nil || last != nil):
		f.Add("name", "Give the name whole or as first and last name, not both.")
		return nameChange{}
	case name != nil:
		if m := validName(*name); m != "" {
			f.Add("name", "%s", m)
			return nameChange{}
		}
		fn, ln := SplitName(*name)
		return nameChange{First: &fn, Last: &ln}
	}
	if first != nil {
		switch {
		case *first == "":
			f.Add("first_name", "Enter a first name.")
		case utf8.RuneCountInString(*first) > maxNamePart:
			f.Add("first_name", "A first name has at most 100 characters.")
		case !printable(*first):
			f.Add("first_name", "The name is not valid text.")
		}
	}
	if last != nil {
		switch {
		case utf8.RuneCountInString(*last) > maxNamePart:
			f.Add("last_name", "A last name has at most 100 characters.")
		case !printable(*last):
			f.Add("last_name", "The name is not valid text.")
		}
	}
	return nameChange{First: first, Last: last}
}

// maxLocation is the longest location, in characters.
const maxLocation = 100

// readLocation checks a location ("Madrid, Spain"; "" for none), trimming
// it in place.
func readLocation(f problem.Fields, loc *string) {
	if loc == nil {
		return
	}
	*loc = strings.TrimSpace(*loc)
	switch {
	case utf8.RuneCountInString(*loc) > maxLocation:
		f.Add("location", "A location has at most 100 characters.")
	case !printable(*loc):
		f.Add("location", "The location is not valid text.")
	}
}

// printable reports whether s is valid text without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}
