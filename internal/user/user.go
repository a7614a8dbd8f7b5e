// Package user keeps the people who work in Switchboard: their email, name
// (first and last, and whole), role, the inboxes they are members of, and
// their profile and preferences.
package user

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// User is a person who signs in.
type User struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	// Name is the whole name, FirstName and LastName joined.
	Name      string      `json:"name"`
	FirstName string      `json:"first_name"`
	LastName  string      `json:"last_name"`
	Role      policy.Role `json:"role"`
	InboxIDs  []int64     `json:"inbox_ids"`
	CreatedAt time.Time   `json:"created_at"`
	// PublicName is what customers see ("" means they see no name).
	PublicName string `json:"public_name"`
	// Language is the interface language ("en", "es").
	Language string `json:"language"`
	// Landline and Mobile are E.164 numbers, "" for none. The mobile
	// number receives sign-in codes by SMS; it changes only with codes
	// sent to the previous and the new number.
	Landline string `json:"landline"`
	Mobile   string `json:"mobile"`
	// Status is the availability status.
	Status Status `json:"status"`
	// AvatarURL is where the avatar is served, "" for none.
	AvatarURL string `json:"avatar_url"`
	// Location is where they work ("Madrid, Spain"), "" for not given.
	Location string `json:"location"`
	// DeactivatedAt is when an admin deactivated the account (nil while
	// it is active): it cannot sign in and gets no conversations.
	DeactivatedAt *time.Time `json:"deactivated_at"`
}

// NewUser is what it takes to create a user. The name is given whole
// (Name) or in parts (FirstName, LastName).
type NewUser struct {
	Email     string      `json:"email"`
	Name      string      `json:"name,omitempty"`
	FirstName string      `json:"first_name,omitempty"`
	LastName  string      `json:"last_name,omitempty"`
	Role      policy.Role `json:"role"`
	Password  string      `json:"password"`
	InboxIDs  []int64     `json:"inbox_ids,omitempty"`
	// Language is the interface language; English when empty.
	Language string `json:"language,omitempty"`
}

// Hasher turns a password into a stored hash.
type Hasher func(password string) (string, error)

// Store reads and writes users.
type Store struct {
	db   *db.DB
	log  *event.Log
	hash Hasher
}

// NewStore returns a store hashing passwords with hash.
func NewStore(d *db.DB, log *event.Log, hash Hasher) *Store {
	return &Store{db: d, log: log, hash: hash}
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// NormalizeEmail lowercases and trims an address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail reports what is wrong with an email address, or "".
func ValidateEmail(email string) string {
	switch {
	case email == "":
		return "Enter an email address."
	case len(email) > 254:
		return "An email address has at most 254 characters."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.IndexByte(email, '@')+1:], ".") {
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

// ValidatePassword reports what is wrong with a new password, or "".
func ValidatePassword(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	case n > 200:
		return "Use at most 200 characters."
	case !utf8.ValidString(pw):
		return "The password is not valid text."
	}
	return ""
}

// validName reports what is wrong with a person's name, or "".
func validName(name string) string {
	switch {
	case name == "":
		return "Enter a name."
	case utf8.RuneCountInString(name) > 100:
		return "A name has at most 100 characters."
	case !utf8.ValidString(name):
		return "The name is not valid text."
	}
	return ""
}

// Validate normalises n and reports what is wrong with it, field by field.
func (n *NewUser) Validate() error {
	f := problem.Fields{}
	n.Email = NormalizeEmail(n.Email)
	if m := ValidateEmail(n.Email); m != "" {
		f.Add("email", "%s", m)
	}
	var name, first, last *string
	if n.FirstName != "" || n.LastName != "" {
		first, last = &n.FirstName, &n.LastName
	}
	if n.Name != "" || first == nil {
		name = &n.Name
	}
	if c := readName(f, name, first, last); c.changes() {
		n.FirstName, n.LastName = *c.First, *c.Last
		n.Name = JoinName(n.FirstName, n.LastName)
	}
	if !n.Role.Valid() {
		f.Add("role", "Choose one of admin, inbox_manager, service, sales.")
	}
	if m := ValidatePassword(n.Password); m != "" {
		f.Add("password", "%s", m)
	}
	if n.Language == "" {
		n.Language = "en"
	} else if !languageCode.MatchString(n.Language) {
		f.Add("language", "Choose a language from the list.")
	}
	return f.Err()
}

// Create adds a user with their inbox memberships.
func (s *Store) Create(ctx context.Context, n NewUser) (User, error) {
	if err := n.Validate(); err != nil {
		return User{}, err
	}
	hash, err := s.hash(n.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		u, err = Insert(ctx, tx, n, hash)
		return err
	})
	return u, err
}

// HashPassword hashes a password the way the store does (slow: do it
// outside transactions).
func (s *Store) HashPassword(pw string) (string, error) { return s.hash(pw) }

// Insert adds a validated user (see NewUser.Validate) whose password is
// already hashed, in tx: for use cases that create a user together with
// something else (accepting an invitation).
func Insert(ctx context.Context, tx *db.Tx, n NewUser, hash string) (User, error) {
	u := User{Email: n.Email, Name: n.Name, FirstName: n.FirstName, LastName: n.LastName, Role: n.Role, CreatedAt: db.Now(), Language: n.Language, Status: Unavailable}
	err := tx.QueryRow(ctx, `INSERT INTO users (email, name, first_name, last_name, role, password_hash, language, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`, u.Email, u.Name, u.FirstName, u.LastName, u.Role, hash, u.Language, u.CreatedAt).Scan(&u.ID)
	if errors.Is(db.MapErr(err), db.ErrConflict) {
		return u, problem.Invalid("email", "A user with this email address already exists.")
	}
	if err != nil {
		return u, fmt.Errorf("user: create: %w", err)
	}
	u.InboxIDs, err = SetInboxes(ctx, tx, u.ID, n.InboxIDs)
	return u, err
}

// SetInboxes makes inboxIDs the user's memberships and returns them.
func SetInboxes(ctx context.Context, tx *db.Tx, userID int64, inboxIDs []int64) ([]int64, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM inbox_members WHERE user_id = $1`, userID); err != nil {
		return nil, fmt.Errorf("user: set inboxes: %w", err)
	}
	seen := map[int64]bool{}
	out := []int64{}
	for _, id := range inboxIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		res, err := tx.Exec(ctx, `INSERT INTO inbox_members (inbox_id, user_id) SELECT id, $2 FROM inboxes WHERE id = $1`, id, userID)
		if err != nil {
			return nil, fmt.Errorf("user: set inboxes: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, problem.Invalid("inbox_ids", "Inbox %d does not exist.", id)
		}
		out = append(out, id)
	}
	return out, nil
}

const columns = `id, email, name, first_name, last_name, role, created_at, public_name, language, landline, mobile, status, avatar_version, location, deactivated_at`

func scan(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var avatar string
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.FirstName, &u.LastName, &u.Role, &u.CreatedAt, &u.PublicName, &u.Language, &u.Landline, &u.Mobile, &u.Status, &avatar, &u.Location, &u.DeactivatedAt}, extra...)...)
	u.AvatarURL = AvatarURL(u.ID, avatar)
	return u, err
}

// AvatarURL is the address of a user's avatar of the given version ("" for
// no avatar); the version makes it cacheable for good.
func AvatarURL(id int64, version string) string {
	if version == "" {
		return ""
	}
	return fmt.Sprintf("/avatars/%d?v=%s", id, version)
}

// Get returns one user with their memberships.
func (s *Store) Get(ctx context.Context, id int64) (User, error) {
	u, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return User{}, fmt.Errorf("user: get %d: %w", id, db.MapErr(err))
	}
	u.InboxIDs, err = Inboxes(ctx, s.db, id)
	return u, err
}

// Credentials returns the user with email and their password hash.
func (s *Store) Credentials(ctx context.Context, email string) (User, string, error) {
	var hash string
	u, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+`, password_hash FROM users WHERE email = $1`, NormalizeEmail(email)), &hash)
	if err != nil {
		return User{}, "", fmt.Errorf("user: credentials: %w", db.MapErr(err))
	}
	return u, hash, nil
}

// List returns every user, by name, with their memberships.
func (s *Store) List(ctx context.Context) ([]User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM users ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("user: list: %w", err)
	}
	defer rows.Close()
	var users []User
	byID := map[int64]*User{}
	for rows.Next() {
		u, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("user: list: %w", err)
		}
		u.InboxIDs = []int64{}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range users {
		byID[users[i].ID] = &users[i]
	}
	mrows, err := s.db.Query(ctx, `SELECT user_id, inbox_id FROM inbox_members ORDER BY inbox_id`)
	if err != nil {
		return nil, fmt.Errorf("user: list: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var uid, iid int64
		if err := mrows.Scan(&uid, &iid); err != nil {
			return nil, err
		}
		if u := byID[uid]; u != nil {
			u.InboxIDs = append(u.InboxIDs, iid)
		}
	}
	return users, mrows.Err()
}

// Count returns how many users exist (none means the installation still
// needs its first admin).
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// Inboxes returns the ids of the inboxes userID is a member of.
func Inboxes(ctx context.Context, q db.Querier, userID int64) ([]int64, error) {
	ids, err := db.IDs(ctx, q, `SELECT inbox_id FROM inbox_members WHERE user_id = $1 ORDER BY inbox_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("user: inboxes: %w", err)
	}
	return ids, nil
}

// Patch changes some of a user's fields; nil fields stay as they are. The
// name is given whole (Name) or in parts (FirstName, LastName).
type Patch struct {
	Name      *string      `json:"name,omitempty"`
	FirstName *string      `json:"first_name,omitempty"`
	LastName  *string      `json:"last_name,omitempty"`
	Role      *policy.Role `json:"role,omitempty"`
	InboxIDs  *[]int64     `json:"inbox_ids,omitempty"`
}

// Update applies p to user id.
func (s *Store) Update(ctx context.Context, id int64, p Patch) (User, error) {
	f := problem.Fields{}
	name := readName(f, p.Name, p.FirstName, p.LastName)
	if p.Role != nil && !p.Role.Valid() {
		f.Add("role", "Choose one of admin, inbox_manager, service, sales.")
	}
	if err := f.Err(); err != nil {
		return User{}, err
	}
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		now := db.Now()
		res, err := tx.Exec(ctx, `UPDATE users SET `+name.columns(4)+`, role = COALESCE($2, role), updated_at = $3 WHERE id = $1`,
			id, (*string)(p.Role), now, name.First, name.Last)
		if err != nil {
			return fmt.Errorf("user: update: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.NotFound("User")
		}
		if p.Role != nil && *p.Role != policy.Admin {
			var admins int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin'`).Scan(&admins); err != nil {
				return err
			}
			if admins == 0 {
				return problem.Invalid("role", "This is the last admin: make someone else admin first.")
			}
		}
		if p.InboxIDs != nil || p.Role != nil {
			ids := p.InboxIDs
			if ids == nil {
				cur, err := Inboxes(ctx, tx, id)
				if err != nil {
					return err
				}
				ids = &cur
			} else if *ids, err = SetInboxes(ctx, tx.Tx, id, *ids); err != nil {
				return err
			}
			// The user's open tabs see different conversations now.
			e := event.New(event.MembershipChanged, map[string]any{"inbox_ids": *ids})
			e.UserID = id
			tx.Emit(e)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return s.Get(ctx, id)
}

// Active reports whether the account may sign in.
func (u User) Active() bool { return u.DeactivatedAt == nil }

// SetDeactivated deactivates user id (at is the time) or, with a nil at,
// reactivates them, in tx. Deactivating an account already deactivated,
// or reactivating an active one, is a conflict; the last active admin
// cannot be deactivated.
func SetDeactivated(ctx context.Context, tx *db.Tx, id int64, at *time.Time) (User, error) {
	u, err := scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return User{}, fmt.Errorf("user: deactivate: %w", db.MapErr(err))
	}
	switch {
	case at != nil && !u.Active():
		return User{}, problem.Conflict("This account is deactivated already.")
	case at == nil && u.Active():
		return User{}, problem.Conflict("This account is active already.")
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET deactivated_at = $2, updated_at = $3 WHERE id = $1`, id, at, db.Now()); err != nil {
		return User{}, fmt.Errorf("user: deactivate: %w", err)
	}
	if at != nil && u.Role == policy.Admin {
		var admins int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL`).Scan(&admins); err != nil {
			return User{}, err
		}
		if admins == 0 {
			return User{}, problem.Conflict("This is the last active admin: make someone else admin first.")
		}
	}
	u.DeactivatedAt = at
	u.InboxIDs, err = Inboxes(ctx, tx, id)
	return u, err
}
