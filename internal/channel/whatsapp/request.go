package whatsapp

// SendRequest is the body of POST /{phone-number-id}/messages
// (whatsapp-cloud-api.md §3).
type SendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	// To is the customer's wa_id; Recipient their business-scoped id when
	// the phone number is not known.
	To        string          `json:"to,omitempty"`
	Recipient string          `json:"recipient,omitempty"`
	Type      string          `json:"type"`
	Context   *RequestContext `json:"context,omitempty"`
	// BizOpaque comes back on every status webhook of the message:
	// Switchboard's message id.
	BizOpaque string `json:"biz_opaque_callback_data,omitempty"`

	Text        *TextBody        `json:"text,omitempty"`
	Image       *MediaBody       `json:"image,omitempty"`
	Video       *MediaBody       `json:"video,omitempty"`
	Audio       *MediaBody       `json:"audio,omitempty"`
	Document    *MediaBody       `json:"document,omitempty"`
	Sticker     *MediaBody       `json:"sticker,omitempty"`
	Interactive *InteractiveBody `json:"interactive,omitempty"`
	Template    *TemplateBody    `json:"template,omitempty"`
	Reaction    *ReactionBody    `json:"reaction,omitempty"`
}

// RequestContext quotes the message being answered.
type RequestContext struct {
	MessageID string `json:"message_id"`
}

// TextBody is a text message.
type TextBody struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url,omitempty"`
}

// MediaBody is uploaded media by id (or a public link).
type MediaBody struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// InteractiveBody is an interactive message on the wire.
type InteractiveBody struct {
	Type   string      `json:"type"`
	Header *HeaderBody `json:"header,omitempty"`
	Body   struct {
		Text string `json:"text"`
	} `json:"body"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer,omitempty"`
	Action ActionBody `json:"action"`
}

// HeaderBody is an interactive header: text or media.
type HeaderBody struct {
	Type     string     `json:"type"`
	Text     string     `json:"text,omitempty"`
	Image    *MediaBody `json:"image,omitempty"`
	Video    *MediaBody `json:"video,omitempty"`
	Document *MediaBody `json:"document,omitempty"`
}

// ActionBody holds buttons, a list, or a link.
type ActionBody struct {
	Buttons    []ReplyButtonBody `json:"buttons,omitempty"`
	Button     string            `json:"button,omitempty"`
	Sections   []Section         `json:"sections,omitempty"`
	Name       string            `json:"name,omitempty"`
	Parameters *struct {
		DisplayText string `json:"display_text"`
		URL         string `json:"url"`
	} `json:"parameters,omitempty"`
}

// ReplyButtonBody is a reply button on the wire.
type ReplyButtonBody struct {
	Type  string `json:"type"`
	Reply Button `json:"reply"`
}

// TemplateBody is a template message on the wire.
type TemplateBody struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []ComponentBody `json:"components,omitempty"`
}

// ComponentBody fills a template component's variables.
type ComponentBody struct {
	Type       string          `json:"type"`
	SubType    string          `json:"sub_type,omitempty"`
	Index      string          `json:"index,omitempty"`
	Parameters []ParameterBody `json:"parameters"`
}

// ParameterBody is one variable's value.
type ParameterBody struct {
	Type          string     `json:"type"`
	ParameterName string     `json:"parameter_name,omitempty"`
	Text          string     `json:"text,omitempty"`
	Payload       string     `json:"payload,omitempty"`
	CouponCode    string     `json:"coupon_code,omitempty"`
	Image         *MediaBody `json:"image,omitempty"`
	Video         *MediaBody `json:"video,omitempty"`
	Document      *MediaBody `json:"document,omitempty"`
	Location      *Location  `json:"location,omitempty"`
}

// ReactionBody is a reaction on the wire; an empty emoji removes it.
type ReactionBody struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// wire builds the Graph form of an interactive message, with the header
// media (already uploaded) when it has one.
func (in *Interactive) wire(mediaID string) *InteractiveBody {
	b := &InteractiveBody{Type: in.Type}
	b.Body.Text = in.Body
	if in.Footer != "" {
		b.Footer = &struct {
			Text string `json:"text"`
		}{in.Footer}
	}
	if h := in.Header; h != nil {
		hb := &HeaderBody{Type: h.Type}
		switch h.Type {
		case "text":
			hb.Text = h.Text
		case "image":
			hb.Image = &MediaBody{ID: mediaID}
		case "video":
			hb.Video = &MediaBody{ID: mediaID}
		case "document":
			hb.Document = &MediaBody{ID: mediaID}
		}
		b.Header = hb
	}
	switch in.Type {
	case InteractiveButtons:
		for _, x := range in.Buttons {
			b.Action.Buttons = append(b.Action.Buttons, ReplyButtonBody{Type: "reply", Reply: x})
		}
	case InteractiveList:
		b.Action.Button, b.Action.Sections = in.ListButton, in.Sections
	case InteractiveLink:
		b.Action.Name = "cta_url"
		b.Action.Parameters = &struct {
			DisplayText string `json:"display_text"`
			URL         string `json:"url"`
		}{in.DisplayText, in.URL}
	}
	return b
}
