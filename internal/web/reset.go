package web

import (
	"fmt"
	"net/http"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Password resets: "Forgot password?" on the sign-in page, the page of
// the link, and an admin sending a link (see auth.Resets).

type resetRequest struct {
	Email string `json:"email"`
}

func (s *Server) apiRequestReset(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req resetRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Resets.Request(r.Context(), req.Email, s.clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *Server) apiConfirmReset(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req auth.NewPassword
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if _, err := s.Resets.Confirm(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiSendReset(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	by, err := s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	if err := s.Resets.Send(r.Context(), u.ID, by); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// forgotView is the page of "Forgot password?"; Sent after asking.
type forgotView struct{ Sent bool }

// forgotPage asks for the address to send a reset link to.
func (u *ui) forgotPage(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	d := pageData{Title: "Forgot password?", Form: map[string]string{"email": ""}, Data: forgotView{Sent: r.URL.Query().Get("sent") == "1"}}
	return u.render(w, r, http.StatusOK, "forgot_password", d)
}

func (u *ui) forgot(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := parseForm(r); err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	err := u.s.Resets.Request(r.Context(), email, u.s.clientIP(r))
	if p, ok := problem.As(err); ok {
		status, _, _ := classify(p, "")
		d := pageData{Title: "Forgot password?", Form: map[string]string{"email": email}, Fields: p.Fields, Data: forgotView{}}
		if len(p.Fields) == 0 {
			d.Error = p.Message
		}
		return u.render(w, r, status, "forgot_password", d)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/login/forgot?sent=1", http.StatusSeeOther)
	return nil
}

// resetView is the page of a reset link.
type resetView struct {
	Token   string
	Email   string
	Problem string
}

func (u *ui) resetPage(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	token := r.PathValue("token")
	v := resetView{Token: token}
	usr, err := u.s.Resets.Open(r.Context(), token)
	status := http.StatusOK
	if p, ok := problem.As(err); ok {
		v.Problem, status = p.Message, http.StatusNotFound
	} else if err != nil {
		return err
	} else {
		v.Email = usr.Email
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	return u.render(w, r, status, "password_reset", pageData{Title: "Choose a new password", Data: v})
}

func (u *ui) confirmReset(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := parseForm(r); err != nil {
		return err
	}
	token := r.PathValue("token")
	repeat := r.PostForm.Get("repeat_password")
	_, err := u.s.Resets.Confirm(r.Context(), auth.NewPassword{Token: token, Password: r.PostForm.Get("password"), Repeat: &repeat})
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		usr, _ := u.s.Resets.Open(r.Context(), token)
		return u.render(w, r, http.StatusUnprocessableEntity, "password_reset", pageData{Title: "Choose a new password", Fields: p.Fields,
			Data: resetView{Token: token, Email: usr.Email}})
	} else if ok {
		return u.render(w, r, http.StatusNotFound, "password_reset", pageData{Title: "Choose a new password", Data: resetView{Token: token, Problem: p.Message}})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/login?reset=1", http.StatusSeeOther)
	return nil
}

// sendReset mails the user of the path a reset link (from their admin
// page).
func (u *ui) sendReset(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	by, err := u.s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	if err := u.s.Resets.Send(r.Context(), usr.ID, by); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/users/%d?done=reset", usr.ID), http.StatusSeeOther)
	return nil
}
