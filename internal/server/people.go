package server

import (
	"crypto/rand"
	"encoding/hex"
	"os"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/sms"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/web"
)

// assemblePeople builds what people need: translations, mail (SMTP, or
// the log without a server), texts (Twilio, or the log), two-factor
// authentication, invitations, changes of address, teams, statuses (told
// to routing), presence and avatars.
func (a *App) assemblePeople(box *secret.Box) error {
	cfg := a.Config
	var err error
	if a.Catalog, err = web.Catalog(); err != nil {
		return err
	}
	var mailer mail.Sender = mail.Log{Logger: a.Logger}
	if cfg.SMTP != nil {
		from := cfg.MailFrom
		if from == nil {
			if from, err = mail.ParseFrom("Switchboard <switchboard@" + cfg.BaseURL.Hostname() + ">"); err != nil {
				return err
			}
		}
		mailer = mail.NewSMTP(*cfg.SMTP, from)
	}
	var texter sms.Sender = sms.Log{Logger: a.Logger}
	if cfg.SMS != nil {
		texter = sms.NewTwilio(*cfg.SMS, nil)
	}
	a.Mail = mail.NewOutbox(a.Queue, box, mailer)
	a.Runner.Handle(mail.Job, a.Mail)
	a.SMS = sms.NewOutbox(a.Queue, box, texter)
	a.Runner.Handle(sms.Job, a.SMS)
	a.Factors = auth.NewFactors(a.DB, a.Log, a.Users, box, a.Mail, a.SMS, a.Catalog)
	a.Invites = invite.New(a.DB, a.Mail, a.Catalog, cfg.BaseURL, auth.HashPassword)
	a.EmailChanges = emailchange.New(a.DB, a.Log, a.Mail, a.Catalog, cfg.BaseURL)
	a.Teams = team.NewStore(a.DB)
	a.Availability = availability.New(a.DB, a.Log, a.Routing)
	away := cfg.AwayAfter
	if away <= 0 {
		away = config.DefaultAwayAfter
	}
	a.Presence = availability.NewPresence(a.DB, a.Log, a.Queue, a.Routing, nodeName(), away, a.Logger)
	a.Runner.Handle(availability.AwayJob, a.Presence)
	a.Avatars = avatar.NewStore(a.DB, a.Log, a.Images)
	return nil
}

// nodeName names this process among the nodes: the host and a random
// suffix (a restarted node is a new one; its old rows go stale).
func nodeName() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
