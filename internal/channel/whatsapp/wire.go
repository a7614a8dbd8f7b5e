package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// The webhook payload as Meta sends it (whatsapp-cloud-api.md §2). Only
// the structure is strict: an entry that is not a list, a value that is
// not an object, is a malformed delivery. Leaves are lenient (ids and
// timestamps come as strings or numbers; unknown fields are ignored), so
// that a change on Meta's side does not make every delivery fail.

type wirePayload struct {
	Object string      `json:"object"`
	Entry  []wireEntry `json:"entry"`
}

type wireEntry struct {
	ID      flexString   `json:"id"`
	Time    flexString   `json:"time"`
	Changes []wireChange `json:"changes"`
}

type wireChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// wireValue is the value of a "messages" change.
type wireValue struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         wireMetadata      `json:"metadata"`
	Contacts         []wireContact     `json:"contacts"`
	Messages         []json.RawMessage `json:"messages"`
	Statuses         []json.RawMessage `json:"statuses"`
	Errors           []wireError       `json:"errors"`
	UserIDUpdate     []wireIDUpdate    `json:"user_id_update"`
}

type wireMetadata struct {
	DisplayPhoneNumber flexString `json:"display_phone_number"`
	PhoneNumberID      flexString `json:"phone_number_id"`
}

type wireContact struct {
	Profile struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"profile"`
	WaID   flexString `json:"wa_id"`
	UserID flexString `json:"user_id"`
}

// wireHead is what identifies a message: enough to store it even when the
// rest cannot be read.
type wireHead struct {
	From       flexString `json:"from"`
	FromUserID flexString `json:"from_user_id"`
	ID         flexString `json:"id"`
	Timestamp  flexString `json:"timestamp"`
	Type       string     `json:"type"`
}

type wireMessage struct {
	From        flexString             `json:"from"`
	FromUserID  flexString             `json:"from_user_id"`
	ID          flexString             `json:"id"`
	Timestamp   flexString             `json:"timestamp"`
	Type        string                 `json:"type"`
	Context     *wireContext           `json:"context"`
	Referral    *wireReferral          `json:"referral"`
	Errors      []wireError            `json:"errors"`
	Text        *struct{ Body string } `json:"text"`
	Image       *wireMedia             `json:"image"`
	Video       *wireMedia             `json:"video"`
	Audio       *wireMedia             `json:"audio"`
	Document    *wireMedia             `json:"document"`
	Sticker     *wireMedia             `json:"sticker"`
	Location    *wireLocation          `json:"location"`
	Contacts    []wireCard             `json:"contacts"`
	Interactive *wireInteractive       `json:"interactive"`
	Button      *wireButton            `json:"button"`
	Reaction    *wireReaction          `json:"reaction"`
	System      *wireSystem            `json:"system"`
	Unsupported *struct{ Type string } `json:"unsupported"`
}

type wireContext struct {
	From                flexString `json:"from"`
	ID                  flexString `json:"id"`
	Forwarded           bool       `json:"forwarded"`
	FrequentlyForwarded bool       `json:"frequently_forwarded"`
}

type wireReferral struct {
	SourceURL  string `json:"source_url"`
	SourceType string `json:"source_type"`
	Headline   string `json:"headline"`
	Body       string `json:"body"`
}

type wireMedia struct {
	ID       flexString `json:"id"`
	MimeType string     `json:"mime_type"`
	SHA256   string     `json:"sha256"`
	Caption  string     `json:"caption"`
	Filename string     `json:"filename"`
	Voice    bool       `json:"voice"`
	Animated bool       `json:"animated"`
}

type wireLocation struct {
	Latitude  flexFloat `json:"latitude"`
	Longitude flexFloat `json:"longitude"`
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	URL       string    `json:"url"`
}

type wireCard struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Org struct {
		Company string `json:"company"`
	} `json:"org"`
	Birthday string `json:"birthday"`
	Phones   []struct {
		Phone string     `json:"phone"`
		Type  string     `json:"type"`
		WaID  flexString `json:"wa_id"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
		Type  string `json:"type"`
	} `json:"emails"`
	URLs []struct {
		URL  string `json:"url"`
		Type string `json:"type"`
	} `json:"urls"`
}

type wireInteractive struct {
	Type        string `json:"type"`
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"list_reply"`
	NFMReply *struct {
		Name         string `json:"name"`
		Body         string `json:"body"`
		ResponseJSON string `json:"response_json"`
	} `json:"nfm_reply"`
}

type wireButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

type wireReaction struct {
	MessageID flexString `json:"message_id"`
	Emoji     string     `json:"emoji"`
}

type wireSystem struct {
	Body    string     `json:"body"`
	Type    string     `json:"type"`
	WaID    flexString `json:"wa_id"`
	NewWaID flexString `json:"new_wa_id"`
	UserID  flexString `json:"user_id"`
}

type wireStatus struct {
	ID              flexString  `json:"id"`
	Status          string      `json:"status"`
	Timestamp       flexString  `json:"timestamp"`
	RecipientID     flexString  `json:"recipient_id"`
	RecipientUserID flexString  `json:"recipient_user_id"`
	BizOpaque       string      `json:"biz_opaque_callback_data"`
	Errors          []wireError `json:"errors"`
}

type wireError struct {
	Code      flexInt `json:"code"`
	Title     string  `json:"title"`
	Message   string  `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type wireIDUpdate struct {
	WaID   flexString `json:"wa_id"`
	UserID struct {
		Previous flexString `json:"previous"`
		Current  flexString `json:"current"`
	} `json:"user_id"`
}

// wireTemplateStatus is the value of a message_template_status_update.
type wireTemplateStatus struct {
	Event         string     `json:"event"`
	TemplateID    flexString `json:"message_template_id"`
	TemplateName  string     `json:"message_template_name"`
	Language      string     `json:"message_template_language"`
	Reason        *string    `json:"reason"`
	Category      string     `json:"message_template_category"`
	NewCategory   string     `json:"new_category"`
	NewQuality    string     `json:"new_quality_score"`
	RejectionInfo *struct {
		Reason         string `json:"reason"`
		Recommendation string `json:"recommendation"`
	} `json:"rejection_info"`
}

// flexString is a JSON string or number (Meta writes ids and timestamps
// both ways), or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("want a string or a number")
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexFloat is a JSON number or a numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return errors.New("want a number")
	}
	*f = flexFloat(v)
	return nil
}

// flexInt is a JSON integer or a numeric string.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil || v != float64(int(v)) {
		return errors.New("want a whole number")
	}
	*f = flexInt(int(v))
	return nil
}
