package graphfake

import (
	crand "crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Fake. The zero value works: webhooks go nowhere
// until SetWebhook (or a number's WebhookURL) says where.
type Options struct {
	// WebhookURL receives the webhooks of numbers that do not set their
	// own, and AppSecret signs them.
	WebhookURL string
	AppSecret  string
	// BaseURL is the fake's address as clients reach it, used in media
	// URLs and paging links ("http://127.0.0.1:9000" or, mounted under a
	// prefix, "http://host/graphfake"). Empty: taken from each request.
	BaseURL string
	// Seed makes ids, trace ids and random errors repeatable; 0 picks a
	// random seed.
	Seed uint64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Statuses is the status ladder after each accepted send (default
	// DefaultStatuses: sent at once, delivered 50 ms later, read when the
	// customer reads). Reactions only ever get "sent".
	Statuses []Step
	// Retry is how failed webhook deliveries are retried (default
	// DefaultRetry; FastRetry suits tests).
	Retry Retry
	// WebhookConcurrency is how many webhook POSTs may be in flight at once
	// (default 8). With 1, webhooks arrive in the order they were made.
	WebhookConcurrency int
	// WebhookTimeout bounds one webhook POST (default 10 s); a timeout is
	// a failed attempt, retried like any other.
	WebhookTimeout time.Duration
	// HTTPClient posts webhooks (a client with WebhookTimeout when nil).
	HTTPClient *http.Client
	// Throughput is each number's limit in messages per second (0 means
	// no limit; Meta's default is 80). A send beyond it is answered 130429
	// and recorded as a violation.
	Throughput float64
	// PairRate limits messages to one recipient from one number (zero
	// means no limit; Meta: MetaPairRate). Beyond it: 131056, a violation.
	PairRate PairRate
	// SyncWindowErrors answers a free-form send outside the 24-hour
	// customer service window with a synchronous 400 (131047) instead of
	// accepting it and failing it with a status webhook (the default, and
	// what Meta usually does).
	SyncWindowErrors bool
	// IgnoreWindow lets free-form messages through outside the window.
	IgnoreWindow bool
	// MaxPrompts is how many ice breakers a number may have (default 4,
	// per Meta's guide; its OpenAPI says 3).
	MaxPrompts int
	// TemplateReview is how long a new or edited template stays PENDING
	// before the fake decides it (default 50 ms; negative: only
	// ApproveTemplate/RejectTemplate decide).
	TemplateReview time.Duration
	// MediaURLTTL is how long a media download URL works (default 5 min).
	MediaURLTTL time.Duration
	// OmitInboundMediaURL leaves "url" out of inbound media nodes (Meta
	// started adding it in late 2025): the business must resolve the id.
	OmitInboundMediaURL bool
	// Logger receives the fake's warnings (discarded when nil).
	Logger *slog.Logger
}

// Step is one status of the ladder and its delay after acceptance.
type Step struct {
	Status string // sent, delivered, read or failed
	After  time.Duration
}

// DefaultStatuses: sent at once, delivered 50 ms later; read waits for
// the customer (Read).
var DefaultStatuses = []Step{{"sent", 0}, {"delivered", 50 * time.Millisecond}}

// PairRate is a token bucket per (number, recipient).
type PairRate struct {
	Every time.Duration // one message per Every, sustained
	Burst int           // messages that may go at once
}

// MetaPairRate is Meta's pair rate: one message every 6 s, bursts of 45.
var MetaPairRate = PairRate{Every: 6 * time.Second, Burst: 45}

// Retry is the webhook redelivery schedule: the first retry after First,
// each next one twice as late up to Max, until GiveUp after the first
// attempt (Meta: 36 hours to 7 days) or MaxAttempts attempts.
type Retry struct {
	First       time.Duration
	Max         time.Duration
	GiveUp      time.Duration
	MaxAttempts int // 0: until GiveUp
}

// DefaultRetry is close to Meta's schedule.
var DefaultRetry = Retry{First: time.Second, Max: 5 * time.Minute, GiveUp: 36 * time.Hour}

// FastRetry retries quickly, for tests.
var FastRetry = Retry{First: 10 * time.Millisecond, Max: 200 * time.Millisecond, GiveUp: 10 * time.Minute}

// Number is a business phone number registered on the Cloud API.
type Number struct {
	// ID is the phone number id (digits; generated when empty).
	ID string
	// WABAID is its WhatsApp Business Account (the fake's default account
	// when empty).
	WABAID string
	// Phone is the number in digits, e.g. "15550783881" (generated when
	// empty).
	Phone string
	// DisplayPhoneNumber is how Graph shows it ("+1 555-078-3881"; derived
	// when empty).
	DisplayPhoneNumber string
	// VerifiedName is the business's approved display name.
	VerifiedName string
	// QualityRating is GREEN, YELLOW, RED or UNKNOWN (default GREEN).
	QualityRating string
	// Token is the access token allowed to use this number and its account
	// (generated when empty).
	Token string
	// AppSecret signs this number's webhooks and WebhookURL receives them
	// (the fake's defaults when empty); VerifyToken answers the handshake.
	AppSecret   string
	WebhookURL  string
	VerifyToken string
}

// Customer is a WhatsApp user.
type Customer struct {
	// Name is the profile name.
	Name string `json:"name"`
	// Phone is the number in digits (the wa_id). Empty means the user
	// adopted a username and the business may not see the number: webhooks
	// then carry only UserID and Username.
	Phone string `json:"phone,omitempty"`
	// UserID is the business-scoped user id (BSUID), derived from the
	// phone or the username when empty.
	UserID string `json:"user_id"`
	// Username is "@name", for users who adopted one.
	Username string `json:"username,omitempty"`
	// ParentUserID is set for users of an enrolled parent business.
	ParentUserID string `json:"parent_user_id,omitempty"`
}

// Violation is a send beyond a limit the business must respect.
type Violation struct {
	Kind          string // "throughput" or "pair_rate"
	PhoneNumberID string
	Recipient     string
	At            time.Time
}

// Violation kinds.
const (
	ViolationThroughput = "throughput"
	ViolationPairRate   = "pair_rate"
)

// Attempt is one call to POST /{phone-number-id}/messages.
type Attempt struct {
	At            time.Time
	PhoneNumberID string
	Status        int    // HTTP status answered
	Code          int    // Graph error code; 0 when accepted
	MessageID     string // wamid when accepted
	CallbackData  string // biz_opaque_callback_data of the request
	Injected      bool   // the error was injected
	Read          bool   // a mark-as-read, not a message
	// Typing: the mark-as-read asked for the typing indicator
	// (typing_indicator {"type":"text"}); Marked is the customer's
	// message it names (message_id).
	Typing bool
	Marked string
}

// ChatMessage is a message of a chat between a business number and a
// customer, as the customer's phone shows it.
type ChatMessage struct {
	ID            string `json:"id"`
	PhoneNumberID string `json:"phone_number_id"`
	// Customer is the customer's user id (BSUID).
	Customer     string `json:"customer"`
	FromBusiness bool   `json:"from_business"`
	Type         string `json:"type"`
	// Status: a business message is accepted, sent, delivered, read or
	// failed; a customer's message is sent (the fake has it), delivered
	// (the business acknowledged its webhook) or read (the business marked
	// it read).
	Status    string    `json:"status"`
	Timestamp time.Time `json:"timestamp"`
	// Body is, for a business message, the request as the business sent
	// it; for a customer's message, the message object of the webhook.
	Body         json.RawMessage `json:"body"`
	CallbackData string          `json:"biz_opaque_callback_data,omitempty"`
	// Template is the template a template message was sent with, as it
	// stood then.
	Template *Template      `json:"template,omitempty"`
	Errors   []WebhookError `json:"errors,omitempty"`
	// Recipient is what the business addressed ("to" or "recipient").
	Recipient string `json:"-"`

	version  int    // Graph major version of the send
	category string // pricing category
	byBSUID  bool   // sent with "recipient" (no phone)
	acks     int    // customer's message: webhook acknowledged
}

// Fake is an in-process Graph API for WhatsApp. It is an http.Handler
// serving /vNN.N/… and the media download path; see the package doc.
type Fake struct {
	opt    Options
	now    func() time.Time
	logger *slog.Logger
	em     *emitter

	mu sync.Mutex // guards every field below
	// rng makes ids, trace ids and random errors.
	rng         *rand.Rand
	defaultWABA string
	wabas       map[string]*waba
	numbers     map[string]*number
	expired     map[string]bool // tokens
	customers   map[string]*Customer
	byPhone     map[string]*Customer
	threads     map[threadKey]*thread
	messages    map[string]*ChatMessage // by wamid
	media       map[string]*mediaObject
	mediaURLs   map[string]mediaURL
	templates   map[string]*Template
	attempts    []Attempt
	sent        []*ChatMessage
	accepted    map[string]int // biz_opaque_callback_data → times accepted
	violations  []Violation
	failNext    map[Endpoint][]*Error
	rates       map[Endpoint]errorRate
	injected    int
	throughput  map[string]*bucket
	pairs       map[threadKey]*bucket
	plan        []Step
	timers      map[*time.Timer]struct{}
	subs        map[*subscriber]struct{}
	undeliver   map[string]bool // phones not on WhatsApp
	lastBase    string          // the fake's URL as last reached
	dupRate     float64         // webhooks redelivered after their ack
	closed      bool
}

type waba struct {
	id         string
	name       string
	subscribed bool
}

type number struct {
	Number
	automation Automation
}

type threadKey struct{ pnid, user string }

type thread struct {
	customer    *Customer
	messages    []*ChatMessage
	lastInbound time.Time
	typingUntil time.Time
}

// New returns a running fake; Close stops it.
func New(opt Options) *Fake {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Retry == (Retry{}) {
		opt.Retry = DefaultRetry
	}
	if opt.WebhookConcurrency <= 0 {
		opt.WebhookConcurrency = 8
	}
	if opt.WebhookTimeout <= 0 {
		opt.WebhookTimeout = 10 * time.Second
	}
	if opt.MaxPrompts <= 0 {
		opt.MaxPrompts = 4
	}
	if opt.TemplateReview == 0 {
		opt.TemplateReview = 50 * time.Millisecond
	}
	if opt.MediaURLTTL <= 0 {
		opt.MediaURLTTL = 5 * time.Minute
	}
	if opt.Statuses == nil {
		opt.Statuses = DefaultStatuses
	}
	seed := opt.Seed
	if seed == 0 {
		var b [8]byte
		crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Fake{
		opt: opt, now: opt.Now, logger: logger,
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wabas:      map[string]*waba{},
		numbers:    map[string]*number{},
		expired:    map[string]bool{},
		customers:  map[string]*Customer{},
		byPhone:    map[string]*Customer{},
		threads:    map[threadKey]*thread{},
		messages:   map[string]*ChatMessage{},
		media:      map[string]*mediaObject{},
		mediaURLs:  map[string]mediaURL{},
		templates:  map[string]*Template{},
		accepted:   map[string]int{},
		failNext:   map[Endpoint][]*Error{},
		rates:      map[Endpoint]errorRate{},
		throughput: map[string]*bucket{},
		pairs:      map[threadKey]*bucket{},
		plan:       slices.Clone(opt.Statuses),
		timers:     map[*time.Timer]struct{}{},
		subs:       map[*subscriber]struct{}{},
		undeliver:  map[string]bool{},
	}
	f.defaultWABA = f.digits(15)
	f.em = newEmitter(f)
	return f
}

// Close stops webhook delivery and timers. Undelivered webhooks are
// dropped (Deliveries shows them unacknowledged).
func (f *Fake) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	for t := range f.timers {
		t.Stop()
	}
	f.timers = nil
	for s := range f.subs {
		close(s.ch)
	}
	f.subs = nil
	f.mu.Unlock()
	f.em.close()
}

// Run blocks until done is closed, then closes the fake (for a
// supervisor: g.Go(func() error { return f.Run(ctx.Done()) })).
func (f *Fake) Run(done <-chan struct{}) error {
	<-done
	f.Close()
	return nil
}

// after runs fn after d unless the fake is closed by then.
func (f *Fake) after(d time.Duration, fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.afterLocked(d, fn)
}

// SetWebhook sets the default webhook URL and app secret (for numbers
// that have none of their own).
func (f *Fake) SetWebhook(url, appSecret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opt.WebhookURL, f.opt.AppSecret = url, appSecret
}

// SetStatuses replaces the status ladder for sends accepted from now on:
// the steps may be in any order (read before delivered, delivered
// without sent, …) to test out-of-order statuses.
func (f *Fake) SetStatuses(steps ...Step) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plan = slices.Clone(steps)
}

// DefaultWABA is the account of numbers added without one.
func (f *Fake) DefaultWABA() string { return f.defaultWABA }

// AddNumber registers a business number and returns it with its
// generated fields filled in.
func (f *Fake) AddNumber(n Number) Number {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n.ID == "" {
		n.ID = f.digits(15)
	}
	if n.WABAID == "" {
		n.WABAID = f.defaultWABA
	}
	if n.Phone == "" {
		n.Phone = "1555" + f.digits(7)
	}
	n.Phone = digitsOnly(n.Phone)
	if n.DisplayPhoneNumber == "" {
		n.DisplayPhoneNumber = displayNumber(n.Phone)
	}
	if n.VerifiedName == "" {
		n.VerifiedName = "Test Business"
	}
	if n.QualityRating == "" {
		n.QualityRating = "GREEN"
	}
	if n.Token == "" {
		n.Token = "EAAG" + f.alnum(40)
	}
	if _, ok := f.wabas[n.WABAID]; !ok {
		f.wabas[n.WABAID] = &waba{id: n.WABAID, name: n.VerifiedName}
	}
	f.numbers[n.ID] = &number{Number: n}
	return n
}

// UpdateNumber changes a registered number (its token, webhook, name…).
func (f *Fake) UpdateNumber(n Number) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.numbers[n.ID]
	if !ok {
		return fmt.Errorf("graphfake: no number %s", n.ID)
	}
	n.Phone = digitsOnly(n.Phone)
	if n.DisplayPhoneNumber == "" {
		n.DisplayPhoneNumber = displayNumber(n.Phone)
	}
	if n.WABAID == "" {
		n.WABAID = old.WABAID
	}
	if _, ok := f.wabas[n.WABAID]; !ok {
		f.wabas[n.WABAID] = &waba{id: n.WABAID, name: n.VerifiedName}
	}
	old.Number = n
	return nil
}

// Number returns a registered number.
func (f *Fake) Number(id string) (Number, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.numbers[id]
	if !ok {
		return Number{}, false
	}
	return n.Number, true
}

// Numbers returns every registered number, by phone number id.
func (f *Fake) Numbers() []Number {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Number, 0, len(f.numbers))
	for _, n := range f.numbers {
		out = append(out, n.Number)
	}
	slices.SortFunc(out, func(a, b Number) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ExpireToken makes a token answer 401/190/463 until RestoreToken.
func (f *Fake) ExpireToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expired[token] = true
}

// RestoreToken undoes ExpireToken.
func (f *Fake) RestoreToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.expired, token)
}

// AddCustomer registers a WhatsApp user (or updates one with the same
// user id or phone) and returns it with UserID filled in. Inbound does
// this too; businesses can only send to a phone number or user id the
// fake knows, or to any phone number (a new user is then created).
func (f *Fake) AddCustomer(c Customer) Customer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.customer(c)
}

// customer finds or creates the customer c describes. f.mu is held.
func (f *Fake) customer(c Customer) *Customer {
	c.Phone = digitsOnly(c.Phone)
	if c.Username != "" && !strings.HasPrefix(c.Username, "@") {
		c.Username = "@" + c.Username
	}
	var have *Customer
	switch {
	case c.UserID != "":
		have = f.customers[c.UserID]
	case c.Phone != "":
		have = f.byPhone[c.Phone]
	case c.Username != "":
		for _, x := range f.customers {
			if x.Username == c.Username {
				have = x
				break
			}
		}
	}
	if have == nil && c.Phone != "" {
		have = f.byPhone[c.Phone]
	}
	if have != nil {
		if c.Name != "" {
			have.Name = c.Name
		}
		if c.Username != "" {
			have.Username = c.Username
		}
		if c.Phone != "" && have.Phone != c.Phone {
			if have.Phone != "" {
				delete(f.byPhone, have.Phone)
			}
			have.Phone = c.Phone
			f.byPhone[c.Phone] = have
		}
		if c.ParentUserID != "" {
			have.ParentUserID = c.ParentUserID
		}
		return have
	}
	if c.UserID == "" {
		c.UserID = bsuid(c.Phone, c.Username, c.Name)
	}
	if c.Name == "" {
		c.Name = c.Phone
		if c.Name == "" {
			c.Name = strings.TrimPrefix(c.Username, "@")
		}
	}
	nc := c
	f.customers[nc.UserID] = &nc
	if nc.Phone != "" {
		f.byPhone[nc.Phone] = &nc
	}
	return &nc
}

// bsuid derives a stable business-scoped user id: a country code from the
// phone's calling code and a number from a hash.
func bsuid(phone, username, name string) string {
	h := fnv.New64a()
	h.Write([]byte(phone + "|" + username + "|" + name))
	return fmt.Sprintf("%s.%d", countryOf(phone), h.Sum64()%1e19)
}

var callingCodes = []struct{ prefix, country string }{
	{"1", "US"}, {"7", "RU"}, {"20", "EG"}, {"27", "ZA"}, {"31", "NL"}, {"32", "BE"}, {"33", "FR"}, {"34", "ES"},
	{"39", "IT"}, {"41", "CH"}, {"43", "AT"}, {"44", "GB"}, {"45", "DK"}, {"46", "SE"}, {"47", "NO"}, {"48", "PL"},
	{"49", "DE"}, {"51", "PE"}, {"52", "MX"}, {"54", "AR"}, {"55", "BR"}, {"56", "CL"}, {"57", "CO"}, {"60", "MY"},
	{"61", "AU"}, {"62", "ID"}, {"63", "PH"}, {"64", "NZ"}, {"65", "SG"}, {"66", "TH"}, {"81", "JP"}, {"82", "KR"},
	{"84", "VN"}, {"86", "CN"}, {"90", "TR"}, {"91", "IN"}, {"92", "PK"}, {"234", "NG"}, {"254", "KE"}, {"351", "PT"},
	{"353", "IE"}, {"358", "FI"}, {"971", "AE"}, {"972", "IL"}, {"966", "SA"},
}

func countryOf(phone string) string {
	best := ""
	country := "US"
	for _, c := range callingCodes {
		if strings.HasPrefix(phone, c.prefix) && len(c.prefix) > len(best) {
			best, country = c.prefix, c.country
		}
	}
	return country
}

// displayNumber formats digits the way Graph shows a number.
func displayNumber(phone string) string {
	if strings.HasPrefix(phone, "1") && len(phone) == 11 {
		return fmt.Sprintf("+1 %s-%s-%s", phone[1:4], phone[4:7], phone[7:])
	}
	return "+" + phone
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// digits returns n random digits not starting with 0. f.mu is held (or
// the fake is not shared yet).
func (f *Fake) digits(n int) string {
	b := make([]byte, n)
	b[0] = byte('1' + f.rng.IntN(9))
	for i := 1; i < n; i++ {
		b[i] = byte('0' + f.rng.IntN(10))
	}
	return string(b)
}

const alnumChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (f *Fake) alnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnumChars[f.rng.IntN(len(alnumChars))]
	}
	return string(b)
}

// wamid makes a message id shaped like Meta's: "wamid." and the base64 of
// a small protobuf naming the user and a random hex id. f.mu is held.
func (f *Fake) wamid(user string, fromBusiness bool) string {
	if len(user) > 100 {
		user = user[:100]
	}
	b := []byte{0x1c, 0x18, byte(len(user))}
	b = append(b, user...)
	b = append(b, 0x15, 0x02, 0x00)
	n, tag := 20, byte(0x12)
	if fromBusiness {
		n, tag = 18, 0x11
	}
	b = append(b, tag, 0x18, byte(n))
	for range n {
		b = append(b, "0123456789ABCDEF"[f.rng.IntN(16)])
	}
	b = append(b, 0)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

func (f *Fake) traceID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return "A" + f.alnum(22)
}

func unix(t time.Time) string { return fmt.Sprint(t.Unix()) }

// Sent returns every message the fake accepted from the business, in the
// order it accepted them.
func (f *Fake) Sent() []ChatMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ChatMessage, len(f.sent))
	for i, m := range f.sent {
		out[i] = *m
	}
	return out
}

// Attempts returns every call to POST /{phone-number-id}/messages, the
// refused ones included.
func (f *Fake) Attempts() []Attempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attempts)
}

// Accepted returns how many times a message with this
// biz_opaque_callback_data was accepted.
func (f *Fake) Accepted(callbackData string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accepted[callbackData]
}

// AcceptedByCallback returns, for every biz_opaque_callback_data seen on
// an accepted message, how many times it was accepted.
func (f *Fake) AcceptedByCallback() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.accepted))
	for k, v := range f.accepted {
		out[k] = v
	}
	return out
}

// Duplicates returns the biz_opaque_callback_data values accepted more
// than once, with their counts: a business that sends exactly once has
// none.
func (f *Fake) Duplicates() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.accepted {
		if v > 1 {
			out[k] = v
		}
	}
	return out
}

// Violations returns the sends that exceeded the throughput or pair rate.
func (f *Fake) Violations() []Violation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.violations)
}

// Injected returns how many answers were injected errors.
func (f *Fake) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Message returns a message by wamid.
func (f *Fake) Message(wamid string) (ChatMessage, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[wamid]
	if !ok {
		return ChatMessage{}, false
	}
	return *m, true
}

// Chat returns the messages between a number and a customer (by user
// id or phone), oldest first, and the customer.
func (f *Fake) Chat(pnid, customer string) ([]ChatMessage, Customer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookup(customer)
	if c == nil {
		return nil, Customer{}, errNoCustomer
	}
	t := f.threads[threadKey{pnid, c.UserID}]
	if t == nil {
		return []ChatMessage{}, *c, nil
	}
	out := make([]ChatMessage, len(t.messages))
	for i, m := range t.messages {
		out[i] = *m
	}
	return out, *c, nil
}

// Typing reports whether the business shows a typing indicator to the
// customer.
func (f *Fake) Typing(pnid, customer string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookup(customer)
	if c == nil {
		return false
	}
	t := f.threads[threadKey{pnid, c.UserID}]
	return t != nil && f.now().Before(t.typingUntil)
}

var errNoCustomer = errors.New("graphfake: no such customer")

// lookup finds a customer by user id or phone. f.mu is held.
func (f *Fake) lookup(key string) *Customer {
	if c := f.customers[key]; c != nil {
		return c
	}
	return f.byPhone[digitsOnly(key)]
}

// threadOf returns (creating) the chat of a number and a customer. f.mu
// is held.
func (f *Fake) threadOf(pnid string, c *Customer) *thread {
	k := threadKey{pnid, c.UserID}
	t := f.threads[k]
	if t == nil {
		t = &thread{customer: c}
		f.threads[k] = t
	}
	return t
}
