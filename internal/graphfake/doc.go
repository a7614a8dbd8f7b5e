// Package graphfake is an in-process fake of Meta's WhatsApp Cloud API
// (the Graph API surface Switchboard uses), faithful to the wire format of
// /work/shared/reference/whatsapp-cloud-api.md: same paths, same
// validation, same error envelopes and codes, same webhooks, signed the
// same way. It is an http.Handler: tests serve it with httptest
// (NewServer), the demo mounts it under a prefix with http.StripPrefix.
//
// # Graph routes (under any /vNN.N prefix; unversioned means v23.0)
//
//	POST   /{phone-number-id}/messages                  send any type; {"status":"read"} marks read (+ typing_indicator)
//	POST   /{phone-number-id}/media                     multipart upload (messaging_product, file, type)
//	GET    /{phone-number-id}[?fields=…]                number info ("test connection"), conversational_automation
//	GET    /{phone-number-id}/conversational_automation ice breakers and commands (older form)
//	POST   /{phone-number-id}/conversational_automation set them (JSON or form/query)
//	GET    /{media-id}[?phone_number_id=]               media descriptor with a 5-minute download URL
//	DELETE /{media-id}                                  forget media
//	GET    /whatsapp_business/attachments/?mid=…&hash=… download (Bearer of the owning number; Range)
//	GET    /{waba-id}                                   account info
//	GET    /{waba-id}/phone_numbers                     the account's numbers
//	GET    /{waba-id}/message_templates                 list: fields, limit, after/before cursors, name/status/category/language filters
//	POST   /{waba-id}/message_templates                 create (PENDING, then APPROVED/REJECTED + webhook)
//	DELETE /{waba-id}/message_templates?name=[&hsm_id=] delete (+ DELETED webhook)
//	GET    /{template-id}, POST /{template-id}          one template; edit (back to PENDING)
//	GET|POST|DELETE /{waba-id}/subscribed_apps          app subscription
//
// Every call needs the access token of the number (or of a number of the
// account) in "Authorization: Bearer" or access_token; a missing or
// unknown token is 401/190, an expired one (ExpireToken) 401/190/463, and
// another number's token 400/100/33 as for an unknown object.
//
// # Using it in a test
//
//	fake := graphfake.NewServer(graphfake.Options{Retry: graphfake.FastRetry, Seed: 1})
//	defer fake.Close()
//	num := fake.AddNumber(graphfake.Number{AppSecret: "s3cret", WebhookURL: switchboardURL + "/webhooks/whatsapp"})
//	// point Switchboard at fake.URL (SWITCHBOARD_WHATSAPP_GRAPH_URL) with num.ID, num.Token, num.WABAID
//
//	ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
//	in, _ := fake.Inbound(num.ID, ann, graphfake.Text("Hello"))          // signed webhook, retried until 200
//	fake.Inbound(num.ID, ann, graphfake.Image(pngBytes, "image/png", "my cat")) // media downloadable by id
//	... Switchboard replies ...
//	sent := fake.Sent()                                                   // what the business sent, as accepted
//	fake.Inbound(num.ID, ann, graphfake.ButtonReply(sent[0].ID, "yes", "Yes"))
//	fake.WaitWebhooks(ctx)                                                // everything acknowledged
//
// Customers: Customer{Name, Phone} for a phone user; Customer{Name,
// Username: "@ann"} (no Phone) for a user whose number is withheld, known
// by the BSUID (UserID, derived when empty; AddCustomer returns it).
//
// Inbound messages (In): Text, Image, Video, Audio, Document, Sticker
// (real media, downloadable with the number's token), Place, ContactCards,
// ButtonReply, ListReply (context.id = the message answered), QuickReply
// (a template button), React (empty emoji removes), RequestWelcome,
// UnsupportedType, ChangedNumber (system, no contacts); refine with
// ReplyTo, Forwarded, FromAd, AboutProduct. Batch collects many messages
// (entries per account, changes per number and customer) into one POST;
// InboundErrors sends value-level errors; PostRaw signs any body.
//
// Statuses: after each accepted send the fake posts the ladder of
// Options.Statuses (default: sent at once, delivered 50 ms later) with
// biz_opaque_callback_data, contacts (2026 shape), conversation (≤v23)
// and pricing; read comes when the customer reads (Read) or via
// SetStatuses/SetStatus (any order, read without delivered, …);
// FailMessage sends a failed status. Reactions only get "sent". A
// free-form message outside the 24-hour window is accepted and then
// failed with 131047 (or refused at once with SyncWindowErrors); a phone
// marked Unreachable fails with 131026.
//
// Webhooks: every POST carries X-Hub-Signature-256 (HMAC-SHA256 of the
// exact body with the app secret; Sign computes it), the legacy
// X-Hub-Signature, User-Agent facebookexternalua, and a body escaped as
// Meta escapes it (MetaJSON: "\/" and \uXXXX for non-ASCII). Anything but
// a 200 within WebhookTimeout is retried with backoff (Options.Retry) until
// acknowledged: Deliveries lists every attempt, Pending counts what is not
// acknowledged, WaitWebhooks waits for it, PauseWebhooks/ResumeWebhooks
// hold them, Redeliver duplicates one, SetDuplicateRate duplicates a
// fraction of them on its own, Batch.BadSignature signs wrong,
// VerifyWebhook performs the GET handshake.
//
// Accounting: Sent (accepted messages, in order), Attempts (every call
// to /messages, refused ones too), Accepted/AcceptedByCallback/Duplicates
// (by biz_opaque_callback_data: a business that sends exactly once has
// no duplicates), Violations (sends beyond Options.Throughput, answered
// 130429, or beyond Options.PairRate, answered 131056), Injected.
//
// Errors: FailNext(endpoint, errs...) answers the next calls with the
// given errors; SetErrorRate(endpoint, 0.2) answers a fraction at random
// (Seed makes it repeatable) with the Injectable mix (500/1, 503/2, 429
// 130429 and 429/4 with Retry-After). Presets: ErrUnknown,
// ErrUnavailable, ErrThroughput, ErrPairRate, ErrAppRateLimit,
// ErrWABARateLimit, ErrInvalidToken, ErrExpiredToken, ErrReengagement,
// or any *Error; LostAnswer accepts a send and closes the connection
// without answering (the ambiguous failure a sender must not double).
//
// Templates and automation: AddTemplate seeds an APPROVED template
// without webhook; created ones are reviewed after TemplateReview
// (adjacent or leading/trailing variables are REJECTED INVALID_FORMAT,
// the rest APPROVED); ApproveTemplate, RejectTemplate and
// SetTemplateStatus (PAUSED, DISABLED, …) post
// message_template_status_update. Template sends are checked against the
// template (132001, 132000, 132012, 132015, 132016). SetAutomation sets
// ice breakers and commands with the endpoint's validation.
//
// The customer's side (for the simulator): Chat returns a chat as the
// phone shows it, Subscribe streams its changes (messages, statuses,
// typing, automation), Read reads, Typing reports the indicator, Media
// serves bytes.
//
// Where Meta's documentation disagrees with itself (§12 of the
// reference), the fake picks one and says so: prompts ≤ 4 (MaxPrompts),
// file_size as a string, 130429/131056 from the limiters with HTTP 400,
// injected throttling with 429.
package graphfake
